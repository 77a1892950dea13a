"""Benchmarks, one module per figure, each printing its numbers: ``python -m bench``.

Every figure is for one core: the code measured runs in one thread, and the thread
pools of the numeric libraries are capped here, before any of them is imported.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# The load comes from one address at thousands of requests a second: the servers a
# benchmark starts (and its own Settings) run without rate limits.
os.environ.setdefault("VICINITY_RATE_LIMITS", "false")

# Name on the command line → module whose ``main()`` prints the figures.
BENCHMARKS = {
    "geofence": "bench.geofence_index",
    "locations": "bench.locations_api",
    "beacons": "bench.beacons",
    "ingest": "bench.ingest",
    "decisions": "bench.decisions",
    "decide": "bench.decide",
    "pushes": "bench.pushes",
    "webhooks": "bench.webhooks",
    "city": "bench.city",
    "growth": "bench.growth",
    "scaleout": "bench.scale_out",
}
