"""A local HTTP server speaking enough of FCM HTTP v1 for the real firebase-admin client.

It answers `POST /v1/projects/{project}/messages:send` as FCM does: a JSON body whose
`message.token` (or `message.fid`) names the device, `{"name": "projects/{p}/messages/<id>"}`
on success, and FCM's error bodies (google.rpc status plus an FcmError detail) on failure.

Failures are programmed per token: `behaviours[token]` is a queue of outcomes, one consumed
per request ("OK", or a key of `_ERRORS`, optionally ":<seconds>" to add a Retry-After
header, e.g. "QUOTA_EXCEEDED:120"). A token without a queued outcome falls back to its
prefix (`unregistered-`, `invalid-`, `quota-`, `unavailable-`) and otherwise succeeds.
Any Authorization header, or none, is accepted.

`stop()` then `start()` is an outage: while stopped, connections are refused (as when FCM
is unreachable), and it comes back on the same port, so senders need no new URL.

`hold_after(n)` lets a sender be caught mid-batch: `n` more requests are answered, then
every further one is held unanswered (and not accepted) until `release()`, which answers
the held ones UNAVAILABLE: as if the connection had been cut before FCM took the message.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, Self


class _Error(NamedTuple):
    http_status: int
    status: str
    message: str
    fcm_error_code: str | None


_ERRORS = {
    "UNREGISTERED": _Error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
    "INVALID_TOKEN": _Error(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        "INVALID_ARGUMENT",
    ),
    "INVALID_ARGUMENT": _Error(
        400,
        "INVALID_ARGUMENT",
        "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)",
        "INVALID_ARGUMENT",
    ),
    "QUOTA_EXCEEDED": _Error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
        "QUOTA_EXCEEDED",
    ),
    "UNAVAILABLE": _Error(
        503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"
    ),
    "INTERNAL": _Error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"),
    "SENDER_ID_MISMATCH": _Error(
        403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"
    ),
    "THIRD_PARTY_AUTH_ERROR": _Error(
        401,
        "UNAUTHENTICATED",
        "Auth error from APNS or Web Push Service",
        "THIRD_PARTY_AUTH_ERROR",
    ),
}

_PREFIX_OUTCOMES = {
    "unregistered-": "UNREGISTERED",
    "invalid-": "INVALID_TOKEN",
    "quota-": "QUOTA_EXCEEDED",
    "unavailable-": "UNAVAILABLE",
}

_SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")


class FcmStandIn:
    """FCM HTTP v1 on 127.0.0.1; `messages` holds the messages it accepted, in arrival order."""

    def __init__(self) -> None:
        self.behaviours: dict[str, list[str]] = {}
        self._messages: list[dict[str, Any]] = []
        self._requests_count = 0
        self._changed = threading.Condition()
        self._hold_after: int | None = None
        self._held = 0
        self._port = 0  # the first start picks a free one; later starts reuse it
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The FCM URL template, with firebase-admin's "{0}" placeholder for the project id."""
        if self._server is None:
            raise RuntimeError("FcmStandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1/projects/{{0}}/messages:send"

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._messages)

    @property
    def requests_count(self) -> int:
        with self._changed:
            return self._requests_count

    @property
    def held_count(self) -> int:
        """Requests held unanswered by `hold_after`."""
        with self._changed:
            return self._held

    def hold_after(self, n: int) -> None:
        """Answer `n` more requests, then hold the next ones until `release`."""
        with self._changed:
            self._hold_after = self._requests_count + n

    def release(self) -> None:
        """Stop holding: held requests are answered UNAVAILABLE, never accepted."""
        with self._changed:
            self._hold_after = None
            self._changed.notify_all()

    def start(self) -> Self:
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.standin = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fcm-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def reset(self) -> None:
        self.release()
        with self._changed:
            self.behaviours.clear()
            self._messages.clear()
            self._requests_count = 0

    def wait_for(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until at least `n` messages were accepted; TimeoutError after `timeout` s."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= n, timeout):
                raise TimeoutError(
                    f"FCM stand-in accepted {len(self._messages)} messages, expected {n}"
                )
            return list(self._messages)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(self, project: str, body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(HTTP status, JSON body, extra headers) for one send request."""
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict):
            message = {}
        # firebase-admin 7.7 can also target a Firebase Installation ID ("fid").
        token = message.get("token") or message.get("fid")
        with self._changed:
            if self._hold_after is not None and self._requests_count >= self._hold_after:
                self._held += 1
                self._changed.notify_all()
                self._changed.wait_for(lambda: self._hold_after is None)
                self._held -= 1
                return _error_answer(_ERRORS["UNAVAILABLE"])
            self._requests_count += 1
            if not isinstance(token, str):
                return _error_answer(
                    _Error(400, "INVALID_ARGUMENT", "Recipient of the message is not set.", None)
                )
            queued = self.behaviours.get(token)
            outcome = queued.pop(0) if queued else _default_outcome(token)
            name, _, retry_after = outcome.partition(":")
            if name == "OK":
                message_id = f"projects/{project}/messages/{uuid.uuid4().hex}"
                if not body.get("validate_only"):
                    self._messages.append(message)
                    self._changed.notify_all()
                return HTTPStatus.OK, {"name": message_id}, {}
        status, error_body, headers = _error_answer(_ERRORS[name])
        if retry_after:
            headers["Retry-After"] = retry_after
        return status, error_body, headers


def _default_outcome(token: str) -> str:
    for prefix, outcome in _PREFIX_OUTCOMES.items():
        if token.startswith(prefix):
            return outcome
    return "OK"


def _error_answer(error: _Error) -> tuple[int, dict[str, Any], dict[str, str]]:
    payload: dict[str, Any] = {
        "code": error.http_status,
        "message": error.message,
        "status": error.status,
    }
    if error.fcm_error_code is not None:
        payload["details"] = [
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error.fcm_error_code,
            }
        ]
    return error.http_status, {"error": payload}, {}


class _Server(ThreadingHTTPServer):
    # send_each opens up to 500 connections at once; the default backlog of 5 would make
    # the kernel drop SYNs and the client wait a second to resend them.
    request_queue_size = 1024
    standin: FcmStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender gone mid-request (a killed worker) is a drill, not a stand-in fault.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        match = _SEND_PATH.match(self.path)
        if match is None:
            self._reply(HTTPStatus.NOT_FOUND, {"error": {"code": 404, "status": "NOT_FOUND"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            body = None
        status, answer, headers = self.server.standin._answer(match["project"], body)
        self._reply(status, answer, headers)

    def _reply(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""
