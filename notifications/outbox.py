"""The local outbox: the embedded default's push sender, a JSON-lines file per push.

The API process and a worker may both append, so appends, rotations and erasure rewrites
take a cross-process file lock (``<outbox>.lock``). The file is rotated by size
(``outbox.jsonl`` → ``.1`` → … → ``.N``, the oldest dropped), and readers read backwards
from the end, so neither the file nor a read of it grows without bound.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from notifications.push import PushMessage, PushOutcome, PushResult

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_KEEP = 5
_BLOCK = 64 * 1024


def _lock(path: Path) -> FileLock:
    # A lock file beside the outbox, never the outbox itself: rotation renames the outbox.
    return FileLock(f"{path}.lock")


def _rotated(path: Path) -> list[Path]:
    """The rotated files, newest first (``.1``, ``.2``, …)."""
    found = []
    for candidate in path.parent.glob(f"{path.name}.*"):
        suffix = candidate.name[len(path.name) + 1 :]
        if suffix.isdigit():
            found.append((int(suffix), candidate))
    return [p for _, p in sorted(found)]


class OutboxSender:
    """Embedded default: appends each push to a JSON-lines file instead of sending it."""

    name = "outbox"

    def __init__(
        self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, keep: int = DEFAULT_KEEP
    ) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._keep = keep

    def send(
        self, messages: Sequence[PushMessage], *, now: datetime | None = None
    ) -> list[PushResult]:
        """Append one line per message; every message counts as SENT."""
        sent_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
        results: list[PushResult] = []
        lines: list[str] = []
        for message in messages:
            message_id = f"outbox-{uuid.uuid4()}"
            entry = {
                "message_id": message_id,
                "token": message.token,
                "title": message.title,
                "body": message.body,
                "data": dict(message.data),
                "collapse_key": message.collapse_key,
                "ttl_s": message.ttl_s,
                "sent_at": sent_at,
            }
            lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
            results.append(PushResult(PushOutcome.SENT, message_id=message_id))
        if lines:
            self._append("".join(lines).encode())
        for message, result in zip(messages, results, strict=True):
            logger.info(
                "outbox push %s collapse_key=%s title=%r",
                result.message_id,
                message.collapse_key,
                message.title,
            )
        return results

    def _append(self, data: bytes) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with _lock(self._path):
            size = self._path.stat().st_size if self._path.exists() else 0
            if size and size + len(data) > self._max_bytes:
                self._rotate()
                size = 0
            with self._path.open("ab+") as outbox:
                if size:
                    # A line cut short by a crash mid-append is closed, not glued to ours.
                    outbox.seek(-1, os.SEEK_END)
                    if outbox.read(1) != b"\n":
                        data = b"\n" + data
                outbox.write(data)

    def _rotate(self) -> None:
        """outbox → .1 → .2 …; whatever would become .(keep+1) is dropped. Lock held."""
        for old in reversed(_rotated(self._path)):  # oldest first: nothing overwritten
            number = int(old.name.rsplit(".", 1)[1])
            if number >= self._keep:
                old.unlink()
            else:
                old.replace(old.with_name(f"{self._path.name}.{number + 1}"))
        if self._keep > 0:
            self._path.replace(self._path.with_name(f"{self._path.name}.1"))
        else:
            self._path.unlink()


def forget_outbox_tokens(path: Path, tokens: Collection[str]) -> int:
    """Drop the lines addressed to these tokens (erasure) from the outbox and its rotated
    files; returns how many."""
    if not tokens or not path.parent.exists():
        return 0
    quoted = [json.dumps(t) for t in tokens]
    dropped = 0
    with _lock(path):
        for file in [path, *_rotated(path)]:
            if not file.exists():
                continue
            lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [ln for ln in lines if not any(q in ln for q in quoted)]
            if len(kept) != len(lines):
                tmp = file.with_name(file.name + ".tmp")
                tmp.write_text("".join(kept), encoding="utf-8")
                tmp.replace(file)
                dropped += len(lines) - len(kept)
    return dropped


def _lines_backwards(file: Path) -> Iterator[bytes]:
    """The file's complete lines, last first, reading blocks from the end."""
    with file.open("rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        rest = b""
        while end > 0:
            start = max(0, end - _BLOCK)
            f.seek(start)
            chunk = f.read(end - start) + rest
            end = start
            parts = chunk.split(b"\n")
            # parts[0] may be the tail of a line that starts in an earlier block.
            rest = parts[0]
            yield from reversed([p for p in parts[1:] if p])
        if rest:
            yield rest


def read_outbox(path: Path, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` outbox entries, newest first; [] when nothing was sent yet.

    Reads from the end of the file (and on into the rotated ones only if needed), so the
    cost is the page, not the file.
    """
    if limit <= 0 or not path.parent.exists():
        return []
    newest: list[dict[str, Any]] = []
    with _lock(path):
        for file in [path, *_rotated(path)]:
            if not file.exists():
                continue
            for line in _lines_backwards(file):
                try:
                    entry = json.loads(line)
                except ValueError:
                    # A line cut short by a crash mid-append must not hide the rest.
                    continue
                if isinstance(entry, dict):
                    newest.append(entry)
                    if len(newest) >= limit:
                        return newest
    return newest
