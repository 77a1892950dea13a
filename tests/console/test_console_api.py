"""The console's page and files: served by the API process, with a strict
Content-Security-Policy, revalidated caching, and nothing outside its folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from console.api import content_security_policy, render_index, tile_origin
from kernel.config import Settings


def test_the_page_allows_only_its_own_scripts_and_this_server(client: TestClient) -> None:
    r = client.get("/console")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "connect-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp
    assert r.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/console/static/js/main.js">' in r.text
    assert "<script>" not in r.text  # no inline script: the CSP would refuse it
    assert client.get("/console/").text == r.text


def test_static_files_are_revalidated_and_confined_to_their_folder(client: TestClient) -> None:
    r = client.get("/console/static/js/main.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    again = client.get("/console/static/js/main.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/console/static/vendor/leaflet/LICENSE").status_code == 200
    for outside in ("../api.py", "..%2Fapi.py", "nope.js"):
        missing = client.get(f"/console/static/{outside}")
        assert missing.status_code == 404, outside
        assert missing.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.fr:8443/osm/{z}/{x}/{y}.png", "https://*.tile.example.fr:8443"),
        ("http://tiles.local/{z}/{x}/{y}.png", "http://tiles.local"),
        ("", None),
        ("/tiles/{z}/{x}/{y}.png", None),
    ],
)
def test_the_tile_host_is_the_one_image_origin_allowed(url: str, origin: str | None) -> None:
    assert tile_origin(url) == origin


def test_no_tile_url_means_no_image_host_and_the_settings_are_escaped(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, tile_url="", tile_attribution='<a href="x">"Me"</a>')
    assert "img-src 'self' data:;" in content_security_policy(settings)
    page = render_index(settings)
    assert 'content="&lt;a href=&quot;x&quot;&gt;&quot;Me&quot;&lt;/a&gt;"' in page
    assert '<meta name="vicinity-tile-url" content="">' in page
