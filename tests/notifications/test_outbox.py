"""The local outbox across processes: a cross-process lock, size rotation, reads from the end."""

from __future__ import annotations

import json
import logging
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifications.outbox import OutboxSender, forget_outbox_tokens, read_outbox
from notifications.push import PushMessage, PushOutcome
from tests.notifications.test_push import make_push_message, outcomes

WRITERS = 2
BATCHES = 150
PER_BATCH = 3


def _message(writer: int, n: int) -> PushMessage:
    # A long body makes each append several kernel writes' worth, so unlocked appends tear.
    return PushMessage(f"w{writer}-{n}", "title", "x" * 6000, {"n": str(n)}, "k")


def _write(path: str, writer: int, max_bytes: int, keep: int) -> None:
    sender = OutboxSender(Path(path), max_bytes=max_bytes, keep=keep)
    for batch in range(BATCHES):
        sender.send([_message(writer, batch * PER_BATCH + i) for i in range(PER_BATCH)])


def _all_lines(path: Path) -> list[str]:
    files = [path, *path.parent.glob(f"{path.name}.[0-9]*")]
    return [ln for f in files for ln in f.read_text(encoding="utf-8").splitlines()]


def _run_writers(path: Path, max_bytes: int, keep: int) -> None:
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_write, args=(str(path), w, max_bytes, keep)) for w in range(WRITERS)
    ]
    for p in writers:
        p.start()
    for p in writers:
        p.join(60)
        assert p.exitcode == 0


def _erase_repeatedly(path: str) -> None:
    """Another process's erasures: each rewrites the file while the writers append."""
    sender = OutboxSender(Path(path), max_bytes=1 << 40, keep=100)
    for _ in range(BATCHES):
        sender.send([PushMessage("leaver", "t", "b", {}, "k")])
        forget_outbox_tokens(Path(path), ["leaver"])


def test_two_processes_appending_while_a_third_erases_lose_no_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    context = multiprocessing.get_context("spawn")
    # Rotating every ~200 kB (keep enough files to count every line afterwards).
    eraser = context.Process(target=_erase_repeatedly, args=(str(path),))
    eraser.start()
    _run_writers(path, max_bytes=200_000, keep=100)
    eraser.join(60)
    assert eraser.exitcode == 0

    lines = _all_lines(path)
    entries = [json.loads(ln) for ln in lines]  # a torn line would not parse
    tokens = [e["token"] for e in entries if e["token"] != "leaver"]
    assert len(tokens) == len(set(tokens)) == WRITERS * BATCHES * PER_BATCH


def test_rotation_by_size_keeps_n_files_and_reads_across_them(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    max_bytes, keep = 200_000, 3
    _run_writers(path, max_bytes=max_bytes, keep=keep)

    rotated = sorted(p.name for p in tmp_path.glob("outbox.jsonl.[0-9]*"))
    assert rotated == ["outbox.jsonl.1", "outbox.jsonl.2", "outbox.jsonl.3"]
    for file in [path, *(tmp_path / n for n in rotated)]:
        assert file.stat().st_size <= max_bytes
    entries = [json.loads(ln) for ln in _all_lines(path)]  # nothing torn across rotations
    assert len({e["token"] for e in entries}) == len(entries)

    # The newest page comes from the end of the current file, then from the end of .1.
    def tokens(file: Path) -> list[str]:
        return [json.loads(ln)["token"] for ln in file.read_text(encoding="utf-8").splitlines()]

    current, previous = tokens(path), tokens(tmp_path / "outbox.jsonl.1")
    page = read_outbox(path, limit=len(current) + 5)
    assert [e["token"] for e in page] == current[::-1] + previous[::-1][:5]


def test_erasure_reaches_rotated_files(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    sender = OutboxSender(path, max_bytes=1, keep=5)  # every send rotates
    sender.send([PushMessage("alice", "t", "b", {}, "k")])
    sender.send([PushMessage("bob", "t", "b", {}, "k")])
    sender.send([PushMessage("alice", "t", "b", {}, "k")])
    assert (tmp_path / "outbox.jsonl.2").exists()
    assert forget_outbox_tokens(path, ["alice"]) == 2
    assert [e["token"] for e in read_outbox(path)] == ["bob"]


def test_reads_cost_the_page_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    sender = OutboxSender(path)
    sender.send([PushMessage(f"d{i}", "t", "b", {}, "k") for i in range(5000)])
    with path.open("a", encoding="utf-8") as f:
        f.write('{"token": "cut sh')  # a crash mid-append
    assert [e["token"] for e in read_outbox(path, limit=2)] == ["d4999", "d4998"]
    sender.send([PushMessage("after", "t", "b", {}, "k")])
    assert [e["token"] for e in read_outbox(path, limit=2)] == ["after", "d4999"]


def test_outbox_appends_and_reads_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "var" / "outbox.jsonl"
    sender = OutboxSender(path)
    first_at = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
    later_at = datetime(2025, 5, 1, 9, 5, tzinfo=UTC)

    first = sender.send([make_push_message("device-1")], now=first_at)
    later = sender.send(
        [make_push_message("device-2"), make_push_message("device-3")], now=later_at
    )

    assert outcomes(first + later) == [PushOutcome.SENT] * 3
    assert all(r.message_id and r.message_id.startswith("outbox-") for r in first + later)
    entries = read_outbox(path)
    assert [e["token"] for e in entries] == ["device-3", "device-2", "device-1"]
    assert [e["message_id"] for e in entries] == [r.message_id for r in reversed(first + later)]
    assert entries[-1] == {
        "message_id": first[0].message_id,
        "token": "device-1",
        "title": "20% off espresso",
        "body": "Only at the Harbour St store, until 6 pm",
        "data": {"offer_id": "42", "store_id": "7"},
        "collapse_key": "offer-42",
        "ttl_s": 86400,
        "sent_at": "2025-05-01T09:00:00+00:00",
    }
    assert [e["token"] for e in read_outbox(path, limit=2)] == ["device-3", "device-2"]


def test_outbox_stamps_the_current_time_by_default(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    before = datetime.now(UTC)

    OutboxSender(path).send([make_push_message()])

    [entry] = read_outbox(path)
    assert before <= datetime.fromisoformat(entry["sent_at"]) <= datetime.now(UTC)


def test_outbox_logs_each_message(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="notifications.outbox")

    results = OutboxSender(tmp_path / "outbox.jsonl").send(
        [make_push_message("device-1"), make_push_message("device-2")]
    )

    logged = [r.getMessage() for r in caplog.records if r.name == "notifications.outbox"]
    assert len(logged) == 2
    assert all(
        r.message_id and r.message_id in line for r, line in zip(results, logged, strict=True)
    )


def test_read_outbox_without_a_file_is_empty(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "missing.jsonl") == []


def test_read_outbox_skips_a_line_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    OutboxSender(path).send([make_push_message("device-1")])
    with path.open("a", encoding="utf-8") as outbox:
        outbox.write('{"token": "device-2", "ti')

    assert [e["token"] for e in read_outbox(path)] == ["device-1"]


def test_erasure_forgets_a_users_outbox_lines(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    sender = OutboxSender(path)
    sender.send(
        [PushMessage("alice-phone", "t", "b", {}, "k"), PushMessage("bob", "t", "b", {}, "k")]
    )
    assert forget_outbox_tokens(path, ["alice-phone"]) == 1
    assert [e["token"] for e in read_outbox(path)] == ["bob"]
    assert forget_outbox_tokens(path, ["nobody"]) == 0
