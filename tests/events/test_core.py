"""The pure rules: event names, signatures (with the documented snippet), backoff."""

from __future__ import annotations

import random
import time

from hypothesis import given
from hypothesis import strategies as st

import events.core
from events.core import (
    MAX_BACKOFF_S,
    RETRY_FOR_S,
    backoff_s,
    gives_up,
    signature,
    verify,
    zone_event_name,
)


def _documented_verify() -> object:
    """The receiver's snippet exactly as the module (and the API docs) print it."""
    doc = events.core.__doc__ or ""
    start = doc.index("    import hashlib")
    end = doc.index("and de-duplicates")
    code = "\n".join(line[4:] for line in doc[start:end].splitlines())
    scope: dict[str, object] = {}
    exec(code, scope)
    return scope["verify"]


def test_the_documented_snippet_verifies_a_signature() -> None:
    snippet = _documented_verify()
    body = b'{"id":1,"name":"user.entered_geofence"}'
    header = signature("whsec_abc", int(time.time()), body)
    assert snippet("whsec_abc", header, body) is True  # type: ignore[operator]
    assert snippet("whsec_other", header, body) is False  # type: ignore[operator]
    assert snippet("whsec_abc", header, body + b" ") is False  # type: ignore[operator]
    stale = signature("whsec_abc", int(time.time()) - 3600, body)
    assert snippet("whsec_abc", stale, body) is False  # type: ignore[operator]


def test_verify_refuses_tampering_staleness_and_garbage() -> None:
    body = b"{}"
    header = signature("s", 1000, body)
    assert verify("s", header, body, now=1000, tolerance_s=300)
    assert not verify("s", header, b"{ }", now=1000, tolerance_s=300)
    assert not verify("s", header, body, now=2000, tolerance_s=300)
    assert not verify("s", "garbage", body, now=1000, tolerance_s=300)
    assert not verify("s", "t=x,v1=00", body, now=1000, tolerance_s=300)


def test_zone_transitions_have_stable_names() -> None:
    assert zone_event_name("geofence:3", "enter") == "user.entered_geofence"
    assert zone_event_name("geofence:3", "dwell") == "user.dwelled_in_geofence"
    assert zone_event_name("geofence:3", "exit") == "user.exited_geofence"
    assert zone_event_name("beacon:7:entrance", "enter") == "user.entered_beacon_zone"
    assert zone_event_name("nfc:4", "enter") == "user.tapped_nfc"
    assert zone_event_name("nfc:4", "exit") is None
    assert zone_event_name("unknown:1", "enter") is None


@given(st.integers(min_value=0, max_value=200), st.integers())
def test_backoff_is_full_jitter_under_its_ceiling(attempts: int, seed: int) -> None:
    wait = backoff_s(attempts, random.Random(seed))
    assert 0.0 <= wait <= MAX_BACKOFF_S


def test_retries_stop_after_a_day() -> None:
    assert not gives_up(age_s=0.0, next_in_s=60.0)
    assert gives_up(age_s=RETRY_FOR_S - 10.0, next_in_s=60.0)
