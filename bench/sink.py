"""The far end of the push and webhook benchmarks: FCM HTTP v1 and a webhook receiver in
one process of its own, counting what each key received.

Real FCM and a store's webhook endpoint run on other machines; here they share the two
cores with the code measured, so the sink is made as cheap as it can be (an asyncio
protocol with uvloop, HTTP/1.1 keep-alive, no framework) and its CPU is reported beside
the figures. The tests' stand-in (``tests/fcm_standin.py``: a thread and a connection per
request, programmable failures) is the one to use for behaviour; this one only says yes.

- ``POST /v1/projects/{p}/messages:send``: FCM's success answer, counted by
  ``message.token``.
- ``POST /hook``: 200, counted by the ``Vicinity-Event-Id`` header.
- ``GET /stats``: ``{"fcm": [received, distinct], "hooks": [received, distinct]}``.
- ``POST /reset``: forget the counts.

``python -m bench.sink`` prints the port it listens on, then serves until terminated.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import httpx
import uvloop

from bench.stack import ROOT, tree
from events.core import EVENT_ID_HEADER

_FCM_PREFIX = "/v1/projects/"
_FCM_SUFFIX = "/messages:send"
_EVENT_ID = EVENT_ID_HEADER.lower()
_REASONS = {200: b"OK", 404: b"Not Found", 400: b"Bad Request"}


class _Counts:
    def __init__(self) -> None:
        self.fcm: Counter[str] = Counter()
        self.hooks: Counter[str] = Counter()
        self.sent = 0

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if method == "POST" and path.startswith(_FCM_PREFIX) and path.endswith(_FCM_SUFFIX):
            message = json.loads(body).get("message", {})
            token = message.get("token")
            if not isinstance(token, str):
                return 400, b'{"error": {"code": 400, "status": "INVALID_ARGUMENT"}}'
            self.fcm[token] += 1
            self.sent += 1
            project = path[len(_FCM_PREFIX) : -len(_FCM_SUFFIX)]
            return 200, b'{"name": "projects/%s/messages/%d"}' % (project.encode(), self.sent)
        if method == "POST" and path == "/hook":
            self.hooks[headers.get(_EVENT_ID, "")] += 1
            return 200, b""
        if method == "GET" and path == "/stats":
            stats = {
                "fcm": [self.fcm.total(), len(self.fcm)],
                "hooks": [self.hooks.total(), len(self.hooks)],
            }
            return 200, json.dumps(stats).encode()
        if method == "POST" and path == "/reset":
            self.fcm.clear()
            self.hooks.clear()
            return 200, b"{}"
        return 404, b""


class _Connection(asyncio.Protocol):
    """HTTP/1.1 with Content-Length bodies (what firebase-admin's requests and httpx send)."""

    def __init__(self, counts: _Counts) -> None:
        self._counts = counts
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio's, though they behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            lines = self._buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            size = int(headers.get("content-length", "0"))
            if len(self._buffer) < end + 4 + size:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + size])
            del self._buffer[: end + 4 + size]
            method, path, _ = lines[0].split(" ", 2)
            status, payload = self._counts.answer(method, path, headers, body)
            head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            assert self._transport is not None
            self._transport.write(
                head % (status, _REASONS.get(status, b"-"), len(payload)) + b"\r\n" + payload
            )
            if headers.get("connection", "").lower() == "close":
                self._transport.close()
                return


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    counts = _Counts()
    server = await loop.create_server(lambda: _Connection(counts), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await server.serve_forever()


@dataclass
class Sink:
    base: str
    proc: subprocess.Popen[str]

    @property
    def fcm_url(self) -> str:
        """firebase-admin's URL template ({0}: the project id)."""
        return self.base + "/v1/projects/{0}/messages:send"

    @property
    def hook_url(self) -> str:
        return self.base + "/hook"

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.base}/stats", timeout=10).json()
        return answer

    def reset(self) -> None:
        httpx.post(f"{self.base}/reset", timeout=10).raise_for_status()

    def pids(self) -> list[int]:
        return tree(self.proc.pid)


@contextmanager
def sink() -> Iterator[Sink]:
    """The sink in a process of its own, so its work shows as its own CPU."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.sink"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield Sink(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    uvloop.run(_serve())
