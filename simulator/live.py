"""The live summary a run shows while it walks (rich), refreshed twice a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.console import Console
from rich.live import Live
from rich.table import Table

from simulator.stats import Stats


def table(stats: Stats, now: float, target: float) -> Table:
    w = stats.window(now)
    t = Table(title=f"vicinity simulate: {now - stats.started:.0f} s", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("events/s (last 5 s)", f"{w['events_per_s']:.0f} of {target:g}")
    t.add_row("requests/s", f"{w['requests_per_s']:.0f}")
    t.add_row(
        "latency p50 / p95 / p99", f"{w['p50_ms']:.1f} / {w['p95_ms']:.1f} / {w['p99_ms']:.1f} ms"
    )
    t.add_row("events sent", str(sum(stats.events_sent.values())))
    transitions = ", ".join(f"{k} {n}" for k, n in sorted(stats.transitions.items())) or "none"
    t.add_row("transitions", transitions)
    t.add_row("decisions (notifications)", str(stats.decisions))
    actions = ", ".join(f"{k} {n}" for k, n in sorted(stats.actions.items())) or "none"
    t.add_row("pushes opened, looks, redeemed, bought", actions)
    errors = ", ".join(f"{k}: {n}" for k, n in sorted(stats.errors.items())) or "none"
    t.add_row("non-2xx by status", errors)
    return t


@asynccontextmanager
async def showing(console: Console, target: float) -> AsyncIterator[list[Stats]]:
    """Yields a slot the run puts its Stats in once walking starts; shows it until exit."""
    slot: list[Stats] = []

    async def refresh(live: Live) -> None:
        while True:
            await asyncio.sleep(0.5)
            if slot:
                live.update(table(slot[0], time.monotonic(), target))

    with Live(console=console, refresh_per_second=4, transient=False) as live:
        task = asyncio.create_task(refresh(live))
        try:
            yield slot
        finally:
            task.cancel()
            if slot:
                live.update(table(slot[0], time.monotonic(), target))
    console.print()  # the summary after the table, not beside it
