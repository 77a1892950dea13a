"""Uploading a look's image: checked, stripped of its metadata, stored, served to those
who may see the look, and removed with it."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response
from PIL import ExifTags, Image

from kernel.config import Settings
from tests.looks.conftest import World
from tests.looks.factories import image_bytes, jpeg_with_gps
from tests.looks.test_api import post_look


def upload(client: TestClient, look_id: int, data: bytes, headers: dict[str, str]) -> Response:
    files = {"image": ("photo.jpg", data, "image/jpeg")}
    return client.put(f"/v1/me/looks/{look_id}/image", files=files, headers=headers)


def stored(settings: Settings) -> list[Path]:
    root = settings.var_dir / "images"
    return sorted(root.iterdir()) if root.exists() else []


def test_a_jpeg_is_stored_without_its_gps_position(
    client: TestClient, settings: Settings, world: World
) -> None:
    look = post_look(client, world.ann, image_url="https://cdn.example.com/a.jpg")
    source = jpeg_with_gps()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    r = upload(client, look["id"], source, world.ann.auth)
    assert r.status_code == 200, r.text
    assert r.json()["image_path"] == f"/v1/looks/{look['id']}/image"
    assert r.json()["image_url"] is None  # one image per look
    [path] = stored(settings)
    for who in (world.ann, world.bob):
        r = client.get(f"/v1/looks/{look['id']}/image", headers=who.auth)
        assert r.status_code == 200
        assert r.headers["content-type"] == "image/jpeg"
        assert r.content == path.read_bytes()
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert image.size == (64, 48)
    assert dict(image.getexif()) == {}
    assert b"PhoneCo" not in path.read_bytes()


def test_strangers_and_the_blocked_do_not_get_the_image(client: TestClient, world: World) -> None:
    look = post_look(client, world.ann)
    assert client.get(f"/v1/looks/{look['id']}/image", headers=world.ann.auth).status_code == 404
    upload(client, look["id"], jpeg_with_gps(), world.ann.auth)
    r = client.get(f"/v1/looks/{look['id']}/image", headers=world.eve.auth)
    assert r.status_code == 404
    assert r.json()["detail"] == f"no look {look['id']}"
    assert upload(client, look["id"], jpeg_with_gps(), world.bob.auth).status_code == 404


def test_a_new_image_replaces_the_old_file_and_deleting_removes_it(
    client: TestClient, settings: Settings, world: World
) -> None:
    look = post_look(client, world.ann)
    upload(client, look["id"], jpeg_with_gps(), world.ann.auth)
    [first] = stored(settings)
    assert upload(client, look["id"], image_bytes("PNG"), world.ann.auth).status_code == 200
    [second] = stored(settings)
    assert second != first
    assert second.suffix == ".png"
    r = client.patch(
        f"/v1/me/looks/{look['id']}",
        json={"image_url": "https://cdn.example.com/b.jpg"},
        headers=world.ann.auth,
    )
    assert r.json()["image_path"] is None
    assert stored(settings) == []
    upload(client, look["id"], image_bytes("WEBP"), world.ann.auth)
    assert len(stored(settings)) == 1
    assert client.delete(f"/v1/me/looks/{look['id']}", headers=world.ann.auth).status_code == 204
    assert stored(settings) == []


def test_what_is_not_an_image_is_422_and_nothing_is_kept(
    client: TestClient, settings: Settings, world: World
) -> None:
    look = post_look(client, world.ann)
    for data in (b"%PDF-1.7 not an image", image_bytes("GIF"), jpeg_with_gps()[:300], b""):
        r = upload(client, look["id"], data, world.ann.auth)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid"
        assert r.json()["detail"].startswith("image: ")
    r = client.put(f"/v1/me/looks/{look['id']}/image", headers=world.ann.auth)
    assert r.status_code == 422
    assert stored(settings) == []


def test_too_big_is_413(client: TestClient, settings: Settings, world: World) -> None:
    look = post_look(client, world.ann)
    big = jpeg_with_gps() + b"\0" * settings.look_image_max_bytes
    r = upload(client, look["id"], big, world.ann.auth)
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"
    assert stored(settings) == []
