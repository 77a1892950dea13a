"""``vicinity beacons …`` against the running API (uvicorn on a free port), from replay files."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from bleak.exc import BleakError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from beacons.fieldtool.adverts import Advert
from beacons.fieldtool.board import ScanBoard
from beacons.fieldtool.scan import NoAdapter, gather
from beacons.frames import APPLE_COMPANY_ID, EDDYSTONE_SERVICE_UUID, AltBeacon, IBeacon
from beacons.models import Beacon
from kernel.config import Settings
from kernel.db import unit_of_work
from kernel.principal import Role
from server.app import create_app
from server.cli import app
from tests.beacons.factories import SHOE_UUID, tlm_hex
from tests.factories import PARIS, api_key, auth

NEAR = IBeacon(SHOE_UUID, 1, 21, -59)
FAR = AltBeacon(bytes(range(20)), -58)
AT_ONE_METRE = [-61, -63, -60, -62, -61, -59, -64, -61, -60, -62, -61]  # median -61
# httpx's 5 s default is short for a first request to a server in a thread of a test
# process while the other xdist worker loads both cores (seen once in the suite).
TIMEOUT_S = 30.0


@pytest.fixture
def api(settings: Settings) -> Iterator[str]:
    """The API served by uvicorn in a thread, as a field tech's laptop would reach it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_config=None, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _advert(address: str, rssi: int, t: float, **data: Any) -> dict[str, Any]:
    return {"address": address, "rssi": rssi, "t": t, **data}


def _ibeacon_data(frame: IBeacon) -> dict[str, Any]:
    return {"manufacturer_data": {str(APPLE_COMPANY_ID): frame.to_manufacturer_payload().hex()}}


def _write(path: Path, adverts: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in adverts), encoding="utf-8")
    return path


@pytest.fixture
def scan_file(tmp_path: Path) -> Path:
    """Two beacons a tech's laptop heard for 5 s, plus telemetry and a broken frame."""
    adverts = []
    for i in range(10):
        adverts.append(_advert("C3:00:00:00:00:21", -58 - i % 3, i * 0.5, **_ibeacon_data(NEAR)))
        adverts.append(
            _advert("D4:00:00:00:00:02", -84, i * 0.5 + 0.1,
                    manufacturer_data={"0x0118": FAR.to_manufacturer_payload().hex()})
        )  # fmt: skip
    adverts.append(
        _advert("E5:00:00:00:00:03", -70, 2.0, service_data={"feaa": tlm_hex()})
    )  # fmt: skip
    adverts.append(_advert("F6:00:00:00:00:04", -75, 2.5, manufacturer_data={"76": "0215beef"}))
    return _write(tmp_path / "scan.jsonl", adverts)


@pytest.fixture
def one_metre_file(tmp_path: Path) -> Path:
    adverts = [
        _advert("C3:00:00:00:00:21", rssi, i * 0.5, **_ibeacon_data(NEAR))
        for i, rssi in enumerate(AT_ONE_METRE)
    ]
    return _write(tmp_path / "one-metre.jsonl", adverts)


def _store(api: str, sessions: sessionmaker[Session]) -> tuple[int, str]:
    operator = api_key(sessions, Role.OPERATOR)
    r = httpx.post(
        f"{api}/v1/stores", json={"name": "Chausseur"}, headers=auth(operator), timeout=TIMEOUT_S
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), api_key(sessions, Role.TECH)


def invoke(*args: str, answers: str | None = None) -> Any:
    return CliRunner().invoke(app, ["beacons", *args], input=answers, env={"COLUMNS": "240"})


def test_register_scan_and_calibrate_through_replay_files(
    api: str,
    sessions: sessionmaker[Session],
    scan_file: Path,
    one_metre_file: Path,
) -> None:
    store_id, tech = _store(api, sessions)
    where = ["--store", str(store_id), "--zone", "shoe aisle"]
    place = ["--lon", str(PARIS[0]), "--lat", str(PARIS[1])]
    connect = ["--api", api, "--key", tech]

    registered = invoke("register", "--replay", str(scan_file), *where, *place, *connect,
                        answers="1\n")  # fmt: skip
    assert registered.exit_code == 0, registered.output
    assert f"registered {NEAR.identity} as beacon" in registered.output
    assert "-59 dBm at 1 m" in registered.output  # from the frame, until calibrated

    scanned = invoke("scan", "--replay", str(scan_file), *connect)
    assert scanned.exit_code == 0, scanned.output
    lines = scanned.output.splitlines()
    near_line = next(line for line in lines if NEAR.identity in line)
    far_line = next(line for line in lines if FAR.identity in line)
    assert f"store {store_id}, shoe aisle" in near_line
    assert "ibeacon" in near_line
    assert "(near)" in near_line
    assert "not registered" in far_line
    assert "(far)" in far_line
    assert "3 transmitters; 1 malformed advertisements" in scanned.output

    calibrated = invoke("calibrate", "--replay", str(one_metre_file), *connect)
    assert calibrated.exit_code == 0, calibrated.output
    assert "measured power -59 → -61 dBm at 1 m, median of 11 readings" in calibrated.output
    beacon = httpx.post(
        f"{api}/v1/beacons/lookup",
        json={"identities": [NEAR.identity]},
        headers=auth(tech),
        timeout=TIMEOUT_S,
    ).json()["found"][NEAR.identity]
    assert beacon["measured_power_1m"] == -61

    again = invoke("register", "--replay", str(scan_file), *where, *place, *connect,
                   "--identity", NEAR.identity)  # fmt: skip
    assert again.exit_code == 1
    assert "not heard, or is registered already" in again.output


def test_register_refused_by_the_api_says_why(
    api: str, sessions: sessionmaker[Session], scan_file: Path
) -> None:
    store_id, _ = _store(api, sessions)
    staff = api_key(sessions, Role.STORE, [store_id])
    result = invoke(
        "register", "--replay", str(scan_file), "--store", str(store_id), "--zone", "door",
        "--lon", "2.35", "--lat", "48.86", "--pick", "1", "--api", api, "--key", staff,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "field tech" in result.output


def test_visit_lists_beacons_needing_attention(
    api: str, sessions: sessionmaker[Session], scan_file: Path
) -> None:
    store_id, tech = _store(api, sessions)
    connect = ["--api", api, "--key", tech]
    assert "No beacon needs a visit." in invoke("visit", *connect).output
    invoke("register", "--replay", str(scan_file), "--store", str(store_id), "--zone", "door",
           "--lon", "2.35", "--lat", "48.86", "--pick", "2", *connect)  # fmt: skip
    beacon = httpx.post(
        f"{api}/v1/beacons/lookup",
        json={"identities": [FAR.identity]},
        headers=auth(tech),
        timeout=TIMEOUT_S,
    ).json()["found"][FAR.identity]
    with unit_of_work(sessions) as session:
        row = session.get(Beacon, beacon["id"])
        assert row is not None
        row.needs_visit, row.visit_reason = True, "battery low (2100 mV)"
    listed = invoke("visit", *connect)
    assert listed.exit_code == 0, listed.output
    assert "1 beacons to visit" in listed.output
    assert "battery low (2100 mV)" in listed.output
    done = invoke("visit", "--done", str(beacon["id"]), "--note", "battery", *connect)
    assert done.exit_code == 0, done.output
    assert "No beacon needs a visit." in invoke("visit", *connect).output


def test_a_key_is_required_to_register() -> None:
    result = invoke("register", "--store", "1", "--zone", "x", "--lon", "2", "--lat", "48")
    assert result.exit_code == 1
    assert "tech API key is needed" in result.output


def test_bad_replay_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"address": "A", "rssi": -60, "t": 0}\nnot json\n', encoding="utf-8")
    result = invoke("scan", "--replay", str(bad))
    assert result.exit_code == 1
    assert "bad.jsonl:2: not a recorded advertisement" in result.output


class _NoAdapterScanner:
    """Stands in for BleakScanner on a machine without BlueZ or without an adapter."""

    def __init__(self, error: Exception, **_kwargs: Any) -> None:
        self._error = error

    async def start(self) -> None:
        raise self._error

    async def stop(self) -> None:
        pass


@pytest.mark.parametrize(
    "error",
    [FileNotFoundError(2, "No such file or directory"), BleakError("No Bluetooth adapters found.")],
)
def test_no_adapter_is_reported_as_such(error: Exception) -> None:
    with pytest.raises(NoAdapter):
        gather(
            seconds=1.0,
            replay=None,
            on_advert=lambda _: None,
            scanner_factory=lambda **kw: _NoAdapterScanner(error, **kw),  # type: ignore[arg-type,return-value]
        )


def test_scan_without_radio_says_no_adapter_found() -> None:
    result = invoke("scan", "--seconds", "0.5")
    if result.exit_code == 0:
        pytest.skip("this machine has a Bluetooth adapter")
    assert result.exit_code == 1
    assert "no Bluetooth adapter found" in result.output


def test_board_smooths_per_transmitter_and_keeps_telemetry() -> None:
    board = ScanBoard()
    for i, rssi in enumerate([-60, -80, -60, -61]):
        board.observe(Advert("A", rssi, {APPLE_COMPANY_ID: NEAR.to_manufacturer_payload()}, {}, i))
    board.observe(Advert("A", -62, {}, {EDDYSTONE_SERVICE_UUID: bytes.fromhex(tlm_hex(2600))}, 5))
    [heard] = board.beacons()
    assert heard.identity == NEAR.identity
    assert heard.samples == [-60, -80, -60, -61, -62]
    assert heard.smoothed is not None
    assert -70 < heard.smoothed.rssi < -60
    assert heard.tlm is not None
    assert heard.tlm.battery_mv == 2600


def test_register_an_eid_beacon_by_its_key(api: str, sessions: sessionmaker[Session]) -> None:
    store_id, tech = _store(api, sessions)
    result = invoke(
        "register", "--store", str(store_id), "--zone", "till", "--lon", "2.35", "--lat", "48.86",
        "--eid-key", "11" * 16, "--rotation", "9", "--beacon-clock", "86400",
        "--measured-power", "-62", "--api", api, "--key", tech,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "as beacon" in result.output
    listed = httpx.get(f"{api}/v1/stores/{store_id}/beacons", headers=auth(tech), timeout=TIMEOUT_S)
    row = listed.json()["items"][0]
    assert (row["format"], row["eid_rotation_exponent"], row["spoofable"]) == (
        "eddystone-eid",
        9,
        False,
    )
