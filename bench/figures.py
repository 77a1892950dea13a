"""How every benchmark prints its figures: min/median/max of its runs."""

from __future__ import annotations

import statistics


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    """``min/median/max`` of the runs (``-`` when there were none)."""
    if not values:
        return "-"
    return "/".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def per_core(cpu_s_per_1000: list[float]) -> str:
    """What a core's worth of a process's CPU allows per second, at the median cost per
    1,000: the figure other people's load on the machine does not move."""
    return f"{1000 / statistics.median(cpu_s_per_1000):,.0f}"
