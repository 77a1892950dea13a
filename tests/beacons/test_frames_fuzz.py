"""Beacon frames past the happy path: damaged frames, re-reads, and raw advertisements
through the sightings API.

tests/beacons/test_frames.py holds each format's examples, round trips from fields and
uniformly random bytes. Random bytes seldom start with a format's prefix, so here the
bytes start from real frames and are damaged (a byte changed, inserted, dropped, the end
cut or padded): every result is a frame or ``MalformedFrame``, a frame read from damaged
bytes builds back to bytes that read as the same frame, and the API answers 200 or 422.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from beacons.frames import (
    APPLE_COMPANY_ID,
    EDDYSTONE_SERVICE_UUID,
    IBEACON_PREFIX,
    AltBeacon,
    BeaconFrame,
    IBeacon,
    MalformedFrame,
    parse_advertisement,
    parse_altbeacon,
    parse_eddystone,
    parse_ibeacon,
)
from kernel.config import Settings
from tests.beacons.test_frames import frames
from tests.factories import auth, new_shopper

RADIUS_NETWORKS = 0x0118


def wire(frame: BeaconFrame) -> tuple[str, bytes]:
    """Where a frame travels ("manufacturer" or "service" data) and its bytes."""
    if isinstance(frame, IBeacon | AltBeacon):
        return "manufacturer", frame.to_manufacturer_payload()
    return "service", frame.to_service_data()


@st.composite
def damaged(draw: st.DrawFn, payload: bytes) -> bytes:
    """``payload`` with one to three edits: a byte changed, inserted or dropped, the end
    cut or padded."""
    data = bytearray(payload)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["change", "insert", "drop", "cut", "pad"])):
            case "change" if at < len(data):
                data[at] = draw(st.integers(0, 255))
            case "insert":
                data.insert(at, draw(st.integers(0, 255)))
            case "drop" if at < len(data):
                del data[at]
            case "cut":
                del data[at:]
            case "pad":
                data += draw(st.binary(min_size=1, max_size=4))
            case _:
                pass
    return bytes(data)


@st.composite
def damaged_frames(draw: st.DrawFn) -> tuple[str, bytes]:
    where, payload = wire(draw(frames))
    return where, draw(damaged(payload))


def read(where: str, payload: bytes) -> BeaconFrame:
    if where == "service":
        return parse_eddystone(payload)
    if payload.startswith(IBEACON_PREFIX):
        return parse_ibeacon(payload)
    return parse_altbeacon(payload)


def advertisement(where: str, payload: bytes, company: int) -> list[BeaconFrame]:
    if where == "service":
        return parse_advertisement({}, {EDDYSTONE_SERVICE_UUID: payload})
    return parse_advertisement({company: payload}, {})


# Pure


@given(damaged_frames(), st.sampled_from([APPLE_COMPANY_ID, RADIUS_NETWORKS]))
def test_a_damaged_frame_is_read_or_refused_as_malformed(
    damage: tuple[str, bytes], company: int
) -> None:
    where, payload = damage
    try:
        found = advertisement(where, payload, company)
    except MalformedFrame as refused:
        found, problem = [], str(refused)
    else:
        problem = "read"
    assert len(found) <= 1
    assert problem  # a refusal names its problem


@given(damaged_frames())
def test_a_frame_read_from_damaged_bytes_builds_back_to_itself(damage: tuple[str, bytes]) -> None:
    where, payload = damage
    try:
        frame = read(where, payload)
    except MalformedFrame:
        return
    # Whatever was read is a frame like any other: it builds, and reads back the same.
    assert read(*wire(frame)) == frame


# Through the API: a raw advertisement as bleak reports it, in hex


@pytest.fixture
def shopper(client: TestClient, settings: Settings) -> str:
    return new_shopper(client, settings)


def heard(where: str, payload: bytes, company: int) -> dict[str, Any]:
    if where == "service":
        raw: dict[str, Any] = {"service_data": {"feaa": payload.hex()}}
    else:
        raw = {"manufacturer_data": {str(company): payload.hex()}}
    return {"advertisement": raw, "rssi": -60, "recorded_at": "2026-11-23T10:00:00Z"}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                frames.map(wire),  # readable frames, so some batches are accepted
                damaged_frames(),
                st.tuples(st.sampled_from(["manufacturer", "service"]), st.binary(max_size=30)),
            ),
            st.sampled_from([APPLE_COMPANY_ID, RADIUS_NETWORKS, 6]),
        ),
        min_size=1,
        max_size=2,
    ),
    st.none() | st.binary(min_size=14, max_size=14),
)
def test_no_advertisement_is_a_server_error(
    client: TestClient,
    shopper: str,
    sent: list[tuple[tuple[str, bytes], int]],
    tlm: bytes | None,
) -> None:
    sightings = [heard(where, payload, company) for (where, payload), company in sent]
    if tlm is not None:
        sightings[0]["tlm"] = tlm.hex()
    r = client.post("/v1/me/sightings", json={"sightings": sightings}, headers=auth(shopper))
    event(f"answered {r.status_code}")
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["error"] == "invalid"
        assert r.json()["detail"]
