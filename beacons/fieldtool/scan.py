"""Listening: from the radio through bleak, or from a replay file.

bleak is an optional extra (``vicinity[fieldtool]``) and is imported only when a live
scan starts: the server and a replay never load it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from beacons.fieldtool.adverts import Advert, read_replay

if TYPE_CHECKING:
    from bleak import BleakScanner
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

ScannerFactory: TypeAlias = "Callable[..., BleakScanner]"
LIVE_TICK_S = 0.5


class NoAdapter(RuntimeError):
    """No Bluetooth adapter this process can use."""


class NoBleak(RuntimeError):
    """bleak, the optional extra for live scans, is not installed."""


def from_bleak(device: BLEDevice, advertisement: AdvertisementData, t: float) -> Advert:
    return Advert(
        address=device.address,
        rssi=advertisement.rssi,
        manufacturer_data=dict(advertisement.manufacturer_data),
        service_data=dict(advertisement.service_data),
        t=t,
    )


def _bleak_scanner(**kwargs: Any) -> BleakScanner:
    try:
        from bleak import BleakScanner
    except ImportError as exc:
        raise NoBleak("live scans need bleak: pip install 'vicinity[fieldtool]'") from exc
    return BleakScanner(**kwargs)


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
    from bleak.exc import BleakError  # imported here: bleak is an optional extra

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
    scanner_factory: ScannerFactory = _bleak_scanner,
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
