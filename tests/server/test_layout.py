"""Small modules named for what they hold: a module past ~400 lines holds two things."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kernel", "server", "accounts", "stores", "geofence", "offers", "preferences")
PACKAGES += ("presence", "notifications", "beacons", "privacy", "demo", "bench")
PACKAGES += ("catalogue", "social", "looks", "redemptions", "rewards", "nfc")
PACKAGES += ("events", "funnel", "broadcast", "console", "simulator")
MAX_LINES = 400


def test_no_module_is_too_long() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
