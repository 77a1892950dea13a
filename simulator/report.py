"""The run's report: the figures as JSON, and a plot as a self-contained SVG (drawn here,
no plotting library): events per second and p50/p99 latency over the run."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

WIDTH, PANEL, MARGIN = 720, 200, 48


def write(result: dict[str, Any], path: Path) -> Path:
    """``path`` (JSON) and the plot beside it (same name, ``.svg``); returns the plot's path."""
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    plot = path.with_suffix(".svg")
    target = float(result["config"]["rate"])
    plot.write_text(svg(result["series"], title=_title(result), target=target), encoding="utf-8")
    return plot


def _title(result: dict[str, Any]) -> str:
    c = result["config"]
    return (
        f"vicinity simulate: {c['users']} users, {c['rate']:g} events/s target, "
        f"{c['duration_s']:g} s, seed {c['seed']}"
    )


def svg(series: list[dict[str, float]], *, title: str, target: float | None = None) -> str:
    """Two panels sharing the time axis: events/s (and the target rate, dashed), then p50
    and p99 latency (ms)."""
    seconds = [s["second"] for s in series] or [0.0]
    span = max(1.0, max(seconds))
    height = 2 * PANEL + 3 * MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="18" font-size="13">{escape(title)}</text>',
    ]
    events = [(s["second"], s["events"]) for s in series]
    p50 = [(s["second"], s["p50_ms"]) for s in series]
    p99 = [(s["second"], s["p99_ms"]) for s in series]
    lines = [(events, "#1f77b4", "events/s")]
    if target is not None:
        lines.append(([(0.0, target), (span, target)], "#999999", "target"))
    parts += _panel(MARGIN, span, "events/s", lines)
    parts += _panel(
        2 * MARGIN + PANEL,
        span,
        "latency (ms)",
        [(p50, "#2ca02c", "p50"), (p99, "#d62728", "p99")],
    )
    parts.append(
        f'<text x="{WIDTH / 2}" y="{height - 8}" text-anchor="middle">seconds into the run</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _panel(
    top: float,
    span: float,
    label: str,
    lines: list[tuple[list[tuple[float, float]], str, str]],
) -> list[str]:
    left, right = MARGIN + 10, WIDTH - 16
    peak = max([y for points, _, _ in lines for _, y in points] + [1.0]) * 1.1

    def xy(x: float, y: float) -> str:
        return f"{left + (right - left) * x / span:.1f},{top + PANEL - PANEL * y / peak:.1f}"

    out = [
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{PANEL}" fill="none" '
        'stroke="#999"/>',
        f'<text x="{left}" y="{top - 6}">{escape(label)}</text>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{peak:.0f}</text>',
        f'<text x="{left - 4}" y="{top + PANEL}" text-anchor="end">0</text>',
        f'<text x="{right}" y="{top + PANEL + 14}" text-anchor="end">{span:.0f}</text>',
    ]
    for n, (points, colour, name) in enumerate(lines):
        if points:
            path = " ".join(xy(x, y) for x, y in points)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
            )
        out.append(
            f'<text x="{right - 60 * (len(lines) - n)}" y="{top - 6}" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    return out
