"""Tables for the terminal: the beacons a scan heard, and the beacons to visit."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from beacons.fieldtool.board import Heard, ScanBoard
from beacons.proximity import classify


def board_table(board: ScanBoard, *, numbered: bool = False) -> Table:
    table = Table(title="Beacons heard", caption=_caption(board))
    if numbered:
        table.add_column("#", justify="right")
    for name in ("identity", "format", "RSSI", "smoothed", "distance", "registered"):
        table.add_column(name, justify="right" if name in ("RSSI", "smoothed") else "left")
    for n, h in enumerate(board.beacons(), start=1):
        distance = h.distance_m
        row = [
            h.identity or "",
            h.format or "",
            str(h.samples[-1]),
            f"{h.smoothed.rssi:.1f}" if h.smoothed else "",
            "" if distance is None else f"{distance:.1f} m ({classify(distance).value})",
            _where(h),
        ]
        table.add_row(*([str(n)] if numbered else []), *row)
    return table


def _where(heard: Heard) -> str:
    if heard.registered is not None:
        r = heard.registered
        where = f"#{r['id']} store {r['store_id']}, {r['zone']}"
        return where if r["status"] == "active" else f"{where} ({r['status']})"
    if heard.looked_up == heard.identity:
        return "not registered"
    return "?"


def _caption(board: ScanBoard) -> str:
    parts = [f"{len(board.heard)} transmitters"]
    if board.malformed:
        parts.append(f"{board.malformed} malformed advertisements")
    if board.api_problem:
        parts.append(f"registry: {board.api_problem}")
    return "; ".join(parts)


def visits_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(rows)} beacons to visit")
    for name in ("id", "store", "zone", "floor", "identity", "why", "last seen", "battery"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["store_id"]),
            r["zone"],
            "" if r["floor"] is None else str(r["floor"]),
            r["identity"],
            r["visit_reason"] or "",
            r["last_seen_at"] or "never",
            "" if r["battery_mv"] is None else f"{r['battery_mv']} mV",
        )
    return table
