"""Running a simulation from a command: the live table while it walks, then the report."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from simulator.errors import SetupFailed
from simulator.live import showing
from simulator.report import write
from simulator.run import Config, simulate


def wait_for_server(url: str, timeout_s: float = 60.0) -> None:
    """Until ``GET /health`` answers 200 (the server was just started beside us)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer /health within {timeout_s:.0f} s")
        time.sleep(0.2)


async def _run(config: Config, key: str, console: Console, live: bool) -> dict[str, Any]:
    if not live:
        return (await simulate(config, key)).as_json()
    async with showing(console, config.rate) as slot:
        result = await simulate(config, key, on_start=slot.append)
    return result.as_json()


def run(
    config: Config, key: str, *, report: Path | None, console: Console, live: bool = True
) -> dict[str, Any]:
    """Set up, walk, print the summary; write the JSON report and its SVG plot if asked."""
    # One line per request from httpx would bury the live table (and the server's own log
    # when the simulator runs inside it).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    console.print(f"Setting up {config.users} shoppers against {config.url} …")
    try:
        result = _run_sync(config, key, console, live)
    except httpx.TransportError as error:
        raise SetupFailed(f"{config.url} is unreachable: {error}") from error
    figures = result["run"]
    latency = figures["latency_ms"]
    console.print(
        f"[bold]{figures['requests']}[/] requests ({figures['ok']} 2xx), "
        f"{sum(figures['events_sent'].values())} events at {figures['events_per_s']} events/s, "
        f"p50 {latency['p50']} ms, p95 {latency['p95']} ms, p99 {latency['p99']} ms; "
        f"non-2xx {figures['errors'] or 'none'} "
        f"(meant: {figures['expected_refusals'] or 'none'}; "
        f"waited out: {figures['waited_out'] or 'none'})",
        highlight=False,
    )
    if report is not None:
        plot = write(result, report)
        console.print(f"Report: {report} (plot: {plot})", highlight=False)
    return result


def _run_sync(config: Config, key: str, console: Console, live: bool) -> dict[str, Any]:
    return asyncio.run(_run(config, key, console, live))
