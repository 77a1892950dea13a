"""What a phone's sensors report, as phones report them: no I/O, randomness passed in.

**Fixes** carry a reported accuracy (Android's ``getAccuracy``: the radius holding the true
position with 68 % confidence). Outdoors it is lognormal around 8 m (5-20 m in the open,
worse between tall buildings), indoors 20-50 m, and now and then (network-only location)
100-300 m. The position error is not white noise: GNSS errors drift (multipath,
atmosphere), modelled as a first-order Gauss-Markov process per axis with a 30 s
correlation time, scaled so its 68 % radius matches the reported accuracy (a 2-D
Gaussian's 68 % radius is 1.51 sigma).

**Beacon sightings**: RSSI from the log-distance path-loss model, A - 10·n·log10(d) with
A = -59 dBm at 1 m and n = 2.5 indoors, plus 4 dB Gaussian shadowing (single readings are
noisy by up to ±10 dB).
"""

from __future__ import annotations

import math
import random

RSSI_AT_1M = -59
PATH_LOSS_N = 2.5
RSSI_NOISE_DB = 4.0
GAUSS_MARKOV_TAU_S = 30.0
SIGMA_PER_68 = 1.0 / 1.5096  # sigma of each axis for a 2-D Gaussian of this 68 % radius


class GpsNoise:
    """Reported accuracy and a drifting position error (Gauss-Markov, per axis)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ex = self.ey = 0.0
        self.last_t: float | None = None

    def accuracy(self, indoors: bool) -> float:
        r = self.rng.random()
        if r < 0.02:  # network location: the GNSS fix was lost
            return round(self.rng.uniform(100.0, 300.0), 1)
        if indoors:
            return round(self.rng.uniform(20.0, 50.0), 1)
        return round(min(60.0, max(3.0, self.rng.lognormvariate(math.log(8.0), 0.4))), 1)

    def error(self, t: float, accuracy: float) -> tuple[float, float]:
        sigma = accuracy * SIGMA_PER_68
        # The first error is drawn from the process's stationary spread (no memory yet).
        phi = (
            0.0
            if self.last_t is None
            else math.exp(-max(0.0, t - self.last_t) / GAUSS_MARKOV_TAU_S)
        )
        keep = math.sqrt(max(0.0, 1.0 - phi * phi))
        self.ex = phi * self.ex + keep * self.rng.gauss(0.0, sigma)
        self.ey = phi * self.ey + keep * self.rng.gauss(0.0, sigma)
        self.last_t = t
        return self.ex, self.ey


def rssi_at(distance_m: float, rng: random.Random) -> int:
    """Log-distance path loss with Gaussian shadowing, clamped to what radios report."""
    d = max(distance_m, 0.5)
    rssi = RSSI_AT_1M - 10.0 * PATH_LOSS_N * math.log10(d) + rng.gauss(0.0, RSSI_NOISE_DB)
    return int(max(-105, min(-30, round(rssi))))
