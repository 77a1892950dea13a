"""RSSI smoothing and proximity: how far a beacon is from the phone that heard it.

Pure: no I/O and no clock reads; every time is an argument in seconds.

Proximity uses log-distance path loss, d = 10^((A - RSSI) / (10 n)), with A the
RSSI at 1 m and n the path-loss exponent (about 2 in the open, 2-4 indoors).
Single RSSI readings scatter by about +-10 dB, so they are smoothed by a 1-D Kalman
filter before classifying: IMMEDIATE below 0.5 m, NEAR below 3 m, FAR beyond.

A calibration (A) outside -100..+20 dBm is impossible: BLE transmits at most +20 dBm
(the most Bluetooth 5 allows an LE radio), and at -100 dBm at 1 m a phone would hear the
beacon nowhere. Such a value (an iBeacon power byte of 0x74 reads +116) counts as no
calibration: the beacon is "calibration required", and distances use
``DEFAULT_MEASURED_POWER_1M`` until it is calibrated, rather than a value that would
put it kilometres away and make it impossible to enter.
"""

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Self, TypeVar

# Random-walk model: the true RSSI drifts by about 1 dB per sqrt(second) as people
# move, and a reading scatters with a standard deviation of 5 dB (+-10 dB at 2 sigma).
DEFAULT_PROCESS_NOISE = 1.0
DEFAULT_MEASUREMENT_NOISE = 25.0


@dataclass(frozen=True, slots=True)
class SmoothedRssi:
    """1-D Kalman estimate of one beacon's RSSI as seen by one device.

    ``rssi`` (dBm) is the estimate and ``variance`` (dB^2) its uncertainty at
    ``at_s``; ``q`` is the process noise in dB^2 per second of elapsed time, ``r``
    the variance of a single reading in dB^2.
    """

    rssi: float
    variance: float
    at_s: float
    q: float = DEFAULT_PROCESS_NOISE
    r: float = DEFAULT_MEASUREMENT_NOISE

    @classmethod
    def start(
        cls,
        rssi: float,
        at_s: float,
        *,
        q: float = DEFAULT_PROCESS_NOISE,
        r: float = DEFAULT_MEASUREMENT_NOISE,
    ) -> Self:
        """The estimate after one reading, which is as uncertain as the reading itself."""
        return cls(rssi=rssi, variance=r, at_s=at_s, q=q, r=r)


def update(state: SmoothedRssi, rssi: float, at_s: float) -> SmoothedRssi:
    """Fold one reading into the estimate."""
    # A reading older than the estimate still informs it, but must not rewind time.
    elapsed = max(0.0, at_s - state.at_s)
    predicted = state.variance + state.q * elapsed
    gain = predicted / (predicted + state.r)
    return SmoothedRssi(
        rssi=state.rssi + gain * (rssi - state.rssi),
        variance=(1 - gain) * predicted,
        at_s=max(at_s, state.at_s),
        q=state.q,
        r=state.r,
    )


MEASURED_POWER_MIN_DBM = -100
MEASURED_POWER_MAX_DBM = 20
# The RSSI at 1 m of a typical beacon advertising at 0 dBm, and the value most iBeacon
# makers ship: a reasonable stand-in until the beacon is calibrated where it hangs.
DEFAULT_MEASURED_POWER_1M = -59


Power = TypeVar("Power", int, float)


def calibration(measured_power_1m: Power | None) -> Power | None:
    """The measured power if it is a possible one, else ``None`` (calibration required)."""
    if measured_power_1m is None:
        return None
    if not MEASURED_POWER_MIN_DBM <= measured_power_1m <= MEASURED_POWER_MAX_DBM:
        return None
    return measured_power_1m


def distance_m(
    rssi: float, measured_power_1m: float | None, path_loss_exponent: float = 2.0
) -> float:
    """Log-distance path-loss estimate of the distance to the beacon; a missing or
    impossible measured power counts as ``DEFAULT_MEASURED_POWER_1M``."""
    if path_loss_exponent <= 0:
        raise ValueError(f"path-loss exponent is {path_loss_exponent}, expected > 0")
    power = calibration(measured_power_1m)
    at_1m = DEFAULT_MEASURED_POWER_1M if power is None else power
    return math.pow(10, (at_1m - rssi) / (10 * path_loss_exponent))


class Proximity(StrEnum):
    IMMEDIATE = "immediate"
    NEAR = "near"
    FAR = "far"


IMMEDIATE_BELOW_M = 0.5
NEAR_BELOW_M = 3.0


def classify(distance_m: float) -> Proximity:
    if distance_m < IMMEDIATE_BELOW_M:
        return Proximity.IMMEDIATE
    if distance_m < NEAR_BELOW_M:
        return Proximity.NEAR
    return Proximity.FAR


def median_measured_power(samples: Iterable[float]) -> int:
    """Measured power (RSSI at 1 m) from readings taken at 1 m, as the int8 frames carry it.

    The median, because single readings have outliers of 10 dB and more.
    """
    readings = list(samples)
    if not readings:
        raise ValueError("no RSSI samples to calibrate from")
    return round(statistics.median(readings))
