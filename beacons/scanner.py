"""Field-tech tools, ``vicinity beacons …``: scan, register, calibrate, visit.

Scanning uses bleak: its detection callback receives a ``BLEDevice`` and an
``AdvertisementData`` per advertisement, which become :class:`Advert` s here. With
``--replay FILE`` a recorded scan is read instead, one JSON object per line::

    {"address": "C3:00:00:00:00:01", "rssi": -61, "t": 0.25,
     "manufacturer_data": {"76": "0215…"}, "service_data": {"0000feaa-…": "20…"}}

(``t`` in seconds from the start of the scan, company ids in decimal or ``0x…``,
payloads in hex, as bleak reports them.) ``scan --record FILE`` writes that format.

The API is reached with httpx at ``--api`` / ``VICINITY_API`` with the tech key
``--key`` / ``VICINITY_KEY``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from rich.console import Console
from rich.live import Live
from rich.table import Table

from beacons.core import (
    APPLE_COMPANY_ID,
    EDDYSTONE_SERVICE_UUID,
    AltBeacon,
    BeaconFrame,
    EddystoneEid,
    EddystoneTlm,
    EddystoneUid,
    IBeacon,
    MalformedFrame,
    SmoothedRssi,
    classify,
    distance_m,
    median_measured_power,
    parse_advertisement,
    update,
)
from beacons.schemas import full_service_uuid

console = Console()
LIVE_TICK_S = 0.5
MIN_CALIBRATION_SAMPLES = 5


# What was heard


@dataclass(frozen=True, slots=True)
class Advert:
    """One advertisement as bleak reports it; ``t`` in seconds since the scan started."""

    address: str
    rssi: int
    manufacturer_data: dict[int, bytes]
    service_data: dict[str, bytes]
    t: float

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "rssi": self.rssi,
            "t": round(self.t, 3),
            "manufacturer_data": {str(k): v.hex() for k, v in self.manufacturer_data.items()},
            "service_data": {k: v.hex() for k, v in self.service_data.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Advert:
        return cls(
            address=str(data["address"]),
            rssi=int(data["rssi"]),
            manufacturer_data={
                int(str(k), 0): bytes.fromhex(v)
                for k, v in data.get("manufacturer_data", {}).items()
            },
            service_data={
                full_service_uuid(str(k)): bytes.fromhex(v)
                for k, v in data.get("service_data", {}).items()
            },
            t=float(data.get("t", 0.0)),
        )


def from_bleak(device: BLEDevice, advertisement: AdvertisementData, t: float) -> Advert:
    return Advert(
        address=device.address,
        rssi=advertisement.rssi,
        manufacturer_data=dict(advertisement.manufacturer_data),
        service_data=dict(advertisement.service_data),
        t=t,
    )


class ReplayError(ValueError):
    pass


def read_replay(path: Path) -> list[Advert]:
    adverts = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                adverts.append(Advert.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ReplayError(f"{path}:{number}: not a recorded advertisement ({exc})") from exc
    return sorted(adverts, key=lambda a: a.t)


class NoAdapter(RuntimeError):
    pass


ScannerFactory = Callable[..., BleakScanner]


async def _scan_live(
    seconds: float,
    on_advert: Callable[[Advert], None],
    tick: Callable[[], None],
    scanner_factory: ScannerFactory,
) -> None:
    started = time.monotonic()

    def detected(device: BLEDevice, advertisement: AdvertisementData) -> None:
        on_advert(from_bleak(device, advertisement, time.monotonic() - started))

    scanner = scanner_factory(detection_callback=detected)
    try:
        await scanner.start()
    except (FileNotFoundError, BleakError) as exc:
        # BlueZ absent: bleak cannot reach the D-Bus socket (FileNotFoundError), or
        # finds no adapter on it (BleakError).
        raise NoAdapter(str(exc) or type(exc).__name__) from exc
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            await asyncio.sleep(min(LIVE_TICK_S, seconds - elapsed))
            tick()
    finally:
        await scanner.stop()


def gather(
    *,
    seconds: float | None,
    replay: Path | None,
    on_advert: Callable[[Advert], None],
    tick: Callable[[], None] = lambda: None,
    speed: float = 0.0,
    scanner_factory: ScannerFactory = BleakScanner,
) -> None:
    """Feed ``on_advert`` for ``seconds`` from the radio, or from a replay file (all of
    it when ``seconds`` is None). ``speed`` 1 replays in real time, 0 at once."""
    if replay is None:
        asyncio.run(_scan_live(seconds or 10.0, on_advert, tick, scanner_factory))
        return
    adverts = read_replay(replay)
    start = adverts[0].t if adverts else 0.0
    clock = time.monotonic()
    for advert in adverts:
        if seconds is not None and advert.t - start > seconds:
            break
        if speed > 0:
            time.sleep(max(0.0, (advert.t - start) / speed - (time.monotonic() - clock)))
            tick()
        on_advert(advert)


_FORMATS: dict[type, str] = {
    IBeacon: "ibeacon",
    AltBeacon: "altbeacon",
    EddystoneUid: "eddystone-uid",
    EddystoneEid: "eddystone-eid",
}


@dataclass
class Heard:
    """One transmitter heard during a scan, by address."""

    address: str
    identity: str | None = None
    format: str | None = None
    frame_power_1m: int | None = None
    advertisement: dict[str, dict[str, str]] | None = None
    samples: list[int] = field(default_factory=list)
    smoothed: SmoothedRssi | None = None
    tlm: EddystoneTlm | None = None
    registered: dict[str, Any] | None = None
    looked_up: str | None = None

    @property
    def measured_power_1m(self) -> int | None:
        if self.registered is not None:
            return int(self.registered["measured_power_1m"])
        return self.frame_power_1m

    @property
    def distance_m(self) -> float | None:
        power = self.measured_power_1m
        if self.smoothed is None or power is None:
            return None
        return distance_m(self.smoothed.rssi, power)


def _raw(frame: BeaconFrame, advert: Advert) -> dict[str, dict[str, str]]:
    """The part of the advertisement that carries ``frame``, for registering it."""
    if isinstance(frame, IBeacon | AltBeacon):
        for company_id, payload in advert.manufacturer_data.items():
            if payload == frame.to_manufacturer_payload():
                return {"manufacturer_data": {str(company_id): payload.hex()}}
        company = APPLE_COMPANY_ID
        return {"manufacturer_data": {str(company): frame.to_manufacturer_payload().hex()}}
    payload = advert.service_data.get(EDDYSTONE_SERVICE_UUID, b"")
    return {"service_data": {EDDYSTONE_SERVICE_UUID: payload.hex()}}


class ScanBoard:
    """Everything heard, smoothed per transmitter, with what the registry says about it."""

    def __init__(self) -> None:
        self.heard: dict[str, Heard] = {}
        self.malformed = 0
        self.api_problem: str | None = None

    def observe(self, advert: Advert) -> None:
        try:
            frames = parse_advertisement(advert.manufacturer_data, advert.service_data)
        except MalformedFrame:
            self.malformed += 1
            return
        if not frames:
            return
        heard = self.heard.setdefault(advert.address, Heard(advert.address))
        for frame in frames:
            if isinstance(frame, EddystoneTlm):
                heard.tlm = frame
            elif type(frame) in _FORMATS:
                if frame.identity != heard.identity:
                    heard.looked_up = None
                heard.identity, heard.format = frame.identity, _FORMATS[type(frame)]
                heard.frame_power_1m = frame.measured_power_1m
                heard.advertisement = _raw(frame, advert)
        heard.samples.append(advert.rssi)
        heard.smoothed = (
            SmoothedRssi.start(advert.rssi, advert.t)
            if heard.smoothed is None
            else update(heard.smoothed, advert.rssi, advert.t)
        )

    def beacons(self) -> list[Heard]:
        """Transmitters with an identity, nearest (loudest smoothed) first."""
        named = [h for h in self.heard.values() if h.identity is not None]
        return sorted(named, key=lambda h: -(h.smoothed.rssi if h.smoothed else -999.0))

    def resolve(self, api: Api | None) -> None:
        """Ask the registry about identities not looked up yet."""
        todo = {h.identity: h for h in self.beacons() if h.looked_up != h.identity}
        if api is None or not todo:
            return
        try:
            found = api.lookup([i for i in todo if i is not None])
        except ApiError as exc:
            self.api_problem = str(exc)
            return
        self.api_problem = None
        for identity, heard in todo.items():
            heard.registered = found.get(identity or "")
            heard.looked_up = identity

    def table(self, *, numbered: bool = False) -> Table:
        table = Table(title="Beacons heard", caption=self._caption())
        if numbered:
            table.add_column("#", justify="right")
        for name in ("identity", "format", "RSSI", "smoothed", "distance", "registered"):
            table.add_column(name, justify="right" if name in ("RSSI", "smoothed") else "left")
        for n, h in enumerate(self.beacons(), start=1):
            distance = h.distance_m
            row = [
                h.identity or "",
                h.format or "",
                str(h.samples[-1]),
                f"{h.smoothed.rssi:.1f}" if h.smoothed else "",
                "" if distance is None else f"{distance:.1f} m ({classify(distance).value})",
                self._where(h),
            ]
            table.add_row(*([str(n)] if numbered else []), *row)
        return table

    def _where(self, heard: Heard) -> str:
        if heard.registered is not None:
            r = heard.registered
            where = f"#{r['id']} store {r['store_id']}, {r['zone']}"
            return where if r["status"] == "active" else f"{where} ({r['status']})"
        if heard.looked_up == heard.identity:
            return "not registered"
        return "?"

    def _caption(self) -> str:
        parts = [f"{len(self.heard)} transmitters"]
        if self.malformed:
            parts.append(f"{self.malformed} malformed advertisements")
        if self.api_problem:
            parts.append(f"registry: {self.api_problem}")
        return "; ".join(parts)


# The API


class ApiError(RuntimeError):
    pass


class Api:
    """The few registry calls the field tools make, with the tech's key."""

    def __init__(
        self, base_url: str, key: str | None, transport: httpx.BaseTransport | None = None
    ) -> None:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        self.base_url = base_url
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=10.0, transport=transport
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.base_url}: {exc}") from exc
        if response.is_error:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(f"{response.status_code}: {detail}")
        return response.json() if response.content else None

    def lookup(self, identities: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(identities), 200):
            body = {"identities": identities[start : start + 200]}
            found.update(self._call("POST", "/v1/beacons/lookup", json=body)["found"])
        return found

    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/v1/beacons", json=body)
        return result

    def calibrate(self, beacon_id: int, measured_power_1m: int) -> dict[str, Any]:
        body = {"measured_power_1m": measured_power_1m}
        result: dict[str, Any] = self._call("PATCH", f"/v1/beacons/{beacon_id}", json=body)
        return result

    def visits(self) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = self._call("GET", "/v1/beacons/visits", params={"after": after, "limit": 200})
            yield from page["items"]
            if page["next_after"] is None:
                return
            after = page["next_after"]

    def visited(self, beacon_id: int, note: str | None, battery_replaced: bool) -> dict[str, Any]:
        body = {"note": note, "battery_replaced": battery_replaced}
        result: dict[str, Any] = self._call("POST", f"/v1/beacons/{beacon_id}/visit", json=body)
        return result

    def close(self) -> None:
        self._http.close()


# The commands

app = typer.Typer(
    help="Field-tech tools: scan for beacons, register, calibrate, and visit them.",
    no_args_is_help=True,
)

ApiUrl = Annotated[str, typer.Option("--api", envvar="VICINITY_API", help="Vicinity API base URL.")]
ApiKey = Annotated[
    str | None, typer.Option("--key", envvar="VICINITY_KEY", help="Your tech API key (vk_…).")
]
Replay = Annotated[
    Path | None,
    typer.Option(
        "--replay", exists=True, dir_okay=False, help="Replay a recorded scan (JSON lines)."
    ),
]
Seconds = Annotated[
    float | None,
    typer.Option(help="How long to listen (default 10 s live, the whole file on replay)."),
]
Speed = Annotated[float, typer.Option(help="Replay speed: 1 = as recorded, 0 = at once.", min=0.0)]
DEFAULT_API = "http://127.0.0.1:8000"


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/]", highlight=False)
    return typer.Exit(1)


def _listen(
    on_advert: Callable[[Advert], None],
    *,
    seconds: float | None,
    replay: Path | None,
    speed: float,
    tick: Callable[[], None] = lambda: None,
) -> None:
    try:
        gather(seconds=seconds, replay=replay, speed=speed, on_advert=on_advert, tick=tick)
    except NoAdapter as exc:
        raise _fail(f"no Bluetooth adapter found ({exc}); use --replay FILE without one") from exc
    except ReplayError as exc:
        raise _fail(str(exc)) from exc


def _api(api: str, key: str | None) -> Api:
    if key is None:
        raise _fail("a tech API key is needed: --key vk_… or VICINITY_KEY")
    return Api(api, key)


@app.command()
def scan(
    seconds: Seconds = None,
    replay: Replay = None,
    speed: Speed = 0.0,
    record: Annotated[
        Path | None, typer.Option(help="Also write what is heard to this file (JSON lines).")
    ] = None,
    api: ApiUrl = DEFAULT_API,
    key: ApiKey = None,
) -> None:
    """Show the beacons in range, live: identity, RSSI, distance, and where registered."""
    board = ScanBoard()
    client = None if key is None else Api(api, key)
    recording = None if record is None else record.open("w", encoding="utf-8")

    def on_advert(advert: Advert) -> None:
        board.observe(advert)
        if recording is not None:
            recording.write(json.dumps(advert.to_json()) + "\n")

    try:
        # The live table is redrawn in place and cleared at the end; the final one stays.
        with Live(board.table(), console=console, refresh_per_second=4, transient=True) as live:

            def tick() -> None:
                board.resolve(client)
                if console.is_terminal:
                    live.update(board.table())

            _listen(on_advert, seconds=seconds, replay=replay, speed=speed, tick=tick)
            board.resolve(client)
        console.print(board.table())
    finally:
        if recording is not None:
            recording.close()
        if client is not None:
            client.close()
    if client is None:
        console.print("Registry not asked: give --key to see which beacons are registered.")


@app.command()
def register(
    store: Annotated[int, typer.Option(help="Store id.")],
    zone: Annotated[str, typer.Option(help='Zone name, e.g. "shoe aisle".')],
    lon: Annotated[float, typer.Option(help="Longitude of the beacon.")],
    lat: Annotated[float, typer.Option(help="Latitude of the beacon.")],
    floor: Annotated[int | None, typer.Option(help="Floor (0 = ground).")] = None,
    pick: Annotated[
        int | None, typer.Option(help="Which unregistered beacon (1 = nearest); asked if unset.")
    ] = None,
    identity: Annotated[str | None, typer.Option(help="Register this identity.")] = None,
    measured_power: Annotated[
        int | None, typer.Option(help="RSSI at 1 m; default: what the beacon advertises.")
    ] = None,
    eid_key: Annotated[
        str | None,
        typer.Option(help="Eddystone-EID: the identity key (32 hex digits); no scan needed."),
    ] = None,
    rotation: Annotated[int, typer.Option(help="Eddystone-EID rotation exponent K.")] = 10,
    beacon_clock: Annotated[
        int, typer.Option(help="Eddystone-EID: the beacon's clock now, in seconds.")
    ] = 0,
    seconds: Seconds = None,
    replay: Replay = None,
    speed: Speed = 0.0,
    api: ApiUrl = DEFAULT_API,
    key: ApiKey = None,
) -> None:
    """Scan, choose a beacon not registered yet, and register it at a store and zone."""
    client = _api(api, key)
    try:
        body: dict[str, Any] = {
            "store_id": store,
            "zone": zone,
            "lon": lon,
            "lat": lat,
            "floor": floor,
        }
        if measured_power is not None:
            body["measured_power_1m"] = measured_power
        if eid_key is not None:
            epoch = int(time.time()) - beacon_clock
            body["eddystone_eid"] = {
                "identity_key": eid_key,
                "rotation_exponent": rotation,
                "epoch_s": epoch,
            }
        else:
            body["advertisement"] = _choose(client, seconds, replay, speed, pick, identity)
        try:
            row = client.register(body)
        except ApiError as exc:
            raise _fail(f"not registered: {exc}") from exc
    finally:
        client.close()
    console.print(
        f"[green]✓[/] registered {row['identity']} as beacon {row['id']}: "
        f"store {row['store_id']}, {row['zone']}, {row['measured_power_1m']} dBm at 1 m",
        highlight=False,
    )


def _choose(
    client: Api,
    seconds: float | None,
    replay: Path | None,
    speed: float,
    pick: int | None,
    identity: str | None,
) -> dict[str, dict[str, str]]:
    board = ScanBoard()
    _listen(board.observe, seconds=seconds, replay=replay, speed=speed)
    board.resolve(client)
    if board.api_problem:
        raise _fail(f"cannot ask the registry: {board.api_problem}")
    candidates = [
        h
        for h in board.beacons()
        if h.registered is None and h.format != "eddystone-eid" and h.advertisement is not None
    ]
    if identity is not None:
        chosen = next((h for h in candidates if h.identity == identity), None)
        if chosen is None:
            raise _fail(f"{identity} was not heard, or is registered already")
    else:
        if not candidates:
            raise _fail("no unregistered beacon heard (EID beacons need --eid-key)")
        shown = ScanBoard()
        shown.heard = {h.address: h for h in candidates}
        console.print(shown.table(numbered=True))
        number = pick or typer.prompt("Register which one", default=1, type=int)
        if not 1 <= number <= len(candidates):
            raise _fail(f"choose 1..{len(candidates)}")
        chosen = candidates[number - 1]
    assert chosen.advertisement is not None
    return chosen.advertisement


@app.command()
def calibrate(
    identity: Annotated[
        str | None, typer.Argument(help="Beacon identity; default: the nearest registered one.")
    ] = None,
    seconds: Seconds = None,
    replay: Replay = None,
    speed: Speed = 0.0,
    api: ApiUrl = DEFAULT_API,
    key: ApiKey = None,
) -> None:
    """Hold the phone or laptop 1 m from the beacon: the median RSSI becomes its measured power."""
    client = _api(api, key)
    try:
        board = ScanBoard()
        _listen(board.observe, seconds=seconds, replay=replay, speed=speed)
        board.resolve(client)
        registered = [h for h in board.beacons() if h.registered is not None]
        if identity is not None:
            chosen = next((h for h in registered if h.identity == identity), None)
        else:
            chosen = max(registered, key=lambda h: statistics.median(h.samples), default=None)
        if chosen is None or chosen.registered is None:
            problem = f" ({board.api_problem})" if board.api_problem else ""
            raise _fail(f"no {identity or 'registered beacon'} heard{problem}")
        if len(chosen.samples) < MIN_CALIBRATION_SAMPLES:
            raise _fail(
                f"only {len(chosen.samples)} readings of {chosen.identity}; "
                f"listen longer (at least {MIN_CALIBRATION_SAMPLES})"
            )
        power = median_measured_power(chosen.samples)
        before = chosen.registered["measured_power_1m"]
        try:
            row = client.calibrate(int(chosen.registered["id"]), power)
        except ApiError as exc:
            raise _fail(f"not calibrated: {exc}") from exc
    finally:
        client.close()
    console.print(
        f"[green]✓[/] beacon {row['id']} ({row['zone']}): measured power {before} → "
        f"{row['measured_power_1m']} dBm at 1 m, median of {len(chosen.samples)} readings",
        highlight=False,
    )


@app.command()
def visit(
    done: Annotated[
        int | None, typer.Option(help="Record a visit to this beacon id instead of listing.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="What was done.")] = None,
    battery_replaced: Annotated[bool, typer.Option(help="The battery was replaced.")] = False,
    api: ApiUrl = DEFAULT_API,
    key: ApiKey = None,
) -> None:
    """The beacons needing a visit (silent, low battery), or record one visit with --done."""
    client = _api(api, key)
    try:
        if done is not None:
            row = client.visited(done, note, battery_replaced)
            console.print(f"[green]✓[/] visit recorded for beacon {row['id']} ({row['zone']})")
            return
        rows = list(client.visits())
    except ApiError as exc:
        raise _fail(str(exc)) from exc
    finally:
        client.close()
    if not rows:
        console.print("No beacon needs a visit.")
        return
    table = Table(title=f"{len(rows)} beacons to visit")
    for name in ("id", "store", "zone", "floor", "identity", "why", "last seen", "battery"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["store_id"]),
            r["zone"],
            "" if r["floor"] is None else str(r["floor"]),
            r["identity"],
            r["visit_reason"] or "",
            r["last_seen_at"] or "never",
            "" if r["battery_mv"] is None else f"{r['battery_mv']} mV",
        )
    console.print(table)
