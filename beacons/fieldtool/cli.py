"""The ``vicinity beacons`` commands: scan, register, calibrate, visit."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from beacons.fieldtool.adverts import Advert, ReplayError
from beacons.fieldtool.board import ScanBoard
from beacons.fieldtool.client import Api, ApiError
from beacons.fieldtool.render import board_table, visits_table
from beacons.fieldtool.scan import NoAdapter, NoBleak, gather
from beacons.proximity import median_measured_power

console = Console()
MIN_CALIBRATION_SAMPLES = 5

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
    except NoBleak as exc:
        raise _fail(f"{exc}; or use --replay FILE") from exc
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
        with Live(
            board_table(board), console=console, refresh_per_second=4, transient=True
        ) as live:

            def tick() -> None:
                board.resolve(client)
                if console.is_terminal:
                    live.update(board_table(board))

            _listen(on_advert, seconds=seconds, replay=replay, speed=speed, tick=tick)
            board.resolve(client)
        console.print(board_table(board))
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
    power = (
        "calibration required: it advertises an impossible measured power; "
        "run `vicinity beacons calibrate` 1 m from it"
        if row["calibration_required"]
        else f"{row['measured_power_1m']} dBm at 1 m"
    )
    console.print(
        f"[green]✓[/] registered {row['identity']} as beacon {row['id']}: "
        f"store {row['store_id']}, {row['zone']}, {power}",
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
        console.print(board_table(shown, numbered=True))
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
        before = chosen.registered["measured_power_1m"] or "none (calibration required)"
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
    console.print(visits_table(rows))
