"""Image checks and cleaning: only JPEG, PNG and WebP, bounded, without metadata."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image

from kernel.errors import Invalid, NotFound, PayloadTooLarge
from looks.images import LocalImageStore, clean_image, content_type_of, new_key
from tests.looks.factories import image_bytes, jpeg_with_gps

MB = 1_000_000
PIXELS = 25_000_000


def test_a_jpeg_loses_its_gps_position_and_every_other_exif_field() -> None:
    source = jpeg_with_gps()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    cleaned, content_type = clean_image(source, MB, PIXELS)
    assert content_type == "image/jpeg"
    image = Image.open(io.BytesIO(cleaned))
    assert image.size == (64, 48)
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert b"PhoneCo" not in cleaned


def test_comments_and_xmp_go_too_and_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # rotated 90° clockwise
    out = io.BytesIO()
    Image.new("RGB", (40, 20)).save(
        out, "JPEG", exif=exif, comment=b"home address", xmp=b"<x:xmpmeta>me</x:xmpmeta>"
    )
    cleaned, _ = clean_image(out.getvalue(), MB, PIXELS)
    image = Image.open(io.BytesIO(cleaned))
    assert image.size == (20, 40)
    assert b"home address" not in cleaned
    assert b"xmpmeta" not in cleaned


def test_damaged_exif_is_dropped_like_any_other() -> None:
    # An IFD entry (Make) claiming 5,000 bytes at an offset past the end: Pillow warns.
    entry = struct.pack("<HHII", 0x010F, 2, 5000, 0xFFFF)
    exif = b"Exif\0\0II*\0" + struct.pack("<IH", 8, 1) + entry + struct.pack("<I", 0)
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG", exif=exif)
    cleaned, _ = clean_image(out.getvalue(), MB, PIXELS)
    assert dict(Image.open(io.BytesIO(cleaned)).getexif()) == {}


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_kept_in_their_type(fmt: str, content_type: str) -> None:
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N"}
    out = io.BytesIO()
    Image.new("RGBA", (8, 8)).save(out, fmt, exif=exif)
    cleaned, got = clean_image(out.getvalue(), MB, PIXELS)
    assert got == content_type
    assert dict(Image.open(io.BytesIO(cleaned)).getexif()) == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"just some text, not a picture", "not a JPEG, PNG or WebP"),
        (image_bytes("GIF"), "not a JPEG, PNG or WebP"),
        (image_bytes("BMP"), "not a JPEG, PNG or WebP"),
        (jpeg_with_gps()[:300], "damaged"),
        (jpeg_with_gps()[:-200], "damaged"),
    ],
)
def test_what_is_not_a_sound_jpeg_png_or_webp_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        clean_image(data, MB, PIXELS)


def test_too_many_bytes_is_413() -> None:
    with pytest.raises(PayloadTooLarge, match="over the limit of 1024"):
        clean_image(b"x" * 1025, 1024, PIXELS)


def test_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(Invalid, match="64x48 pixels is over the limit of 1000"):
        clean_image(jpeg_with_gps(), MB, 1000)
    # A small file claiming 400 million pixels: past Pillow's own bomb bound.
    bomb = image_bytes("PNG", size=(20_000, 20_000), mode="1")
    assert len(bomb) < 100_000
    with pytest.raises(Invalid, match="over the limit"):
        clean_image(bomb, MB, PIXELS)


def test_the_local_store_keeps_files_by_generated_key(tmp_path: Path) -> None:
    store = LocalImageStore(tmp_path / "images")
    key = new_key("image/webp")
    assert key.endswith(".webp")
    assert content_type_of(key) == "image/webp"
    store.put(key, b"data")
    assert store.open(key) == b"data"
    assert [p.name for p in (tmp_path / "images").iterdir()] == [key]
    store.delete(key)
    store.delete(key)  # already gone: nothing to do
    with pytest.raises(NotFound):
        store.open(key)
    with pytest.raises(ValueError, match="not an image key"):
        store.open("../../etc/passwd")


VALID = [jpeg_with_gps(), image_bytes("PNG", mode="P"), image_bytes("WEBP", mode="RGBA")]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    st.integers(0, 10_000),
)
def test_damaged_images_are_a_422_never_a_crash(
    source: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(source)
    for at, value in flips:
        data[at % len(data)] = value
    try:
        cleaned, content_type = clean_image(bytes(data[: max(1, len(data) - cut)]), MB, PIXELS)
    except Invalid:
        return
    assert content_type in {"image/jpeg", "image/png", "image/webp"}
    assert dict(Image.open(io.BytesIO(cleaned)).getexif()) == {}


@given(st.binary(max_size=2000))
def test_random_bytes_are_a_422_never_a_crash(data: bytes) -> None:
    with pytest.raises(Invalid):
        clean_image(data, MB, PIXELS)
