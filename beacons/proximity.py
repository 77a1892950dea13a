"""RSSI smoothing and proximity: how far a beacon is from the phone that heard it.

Pure: no I/O and no clock reads; every time is an argument in seconds.

Proximity uses log-distance path loss, d = 10^((A - RSSI) / (10 n)), with A the
RSSI at 1 m and n the path-loss exponent (about 2 in the open, 2-4 indoors).
Single RSSI readings scatter by about +-10 dB, so they are smoothed by a 1-D Kalman
filter before classifying: IMMEDIATE below 0.5 m, NEAR below 3 m, FAR beyond.
"""

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

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


def distance_m(rssi: float, measured_power_1m: float, path_loss_exponent: float = 2.0) -> float:
    """Log-distance path-loss estimate of the distance to the beacon."""
    if path_loss_exponent <= 0:
        raise ValueError(f"path-loss exponent is {path_loss_exponent}, expected > 0")
    return math.pow(10, (measured_power_1m - rssi) / (10 * path_loss_exponent))


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
