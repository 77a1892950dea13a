"""Domain errors. Services and cores raise these; ``server.handlers`` maps them to HTTP.

Each carries its status code and a sentence naming the problem.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds; sent as ``Retry-After`` when set
    extra: dict[str, Any] | None = None  # more fields of the answer (a per-item report)

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Busy(Conflict):
    """Someone else is changing the same thing right now: retry shortly."""

    code = "busy"
    retry_after = 1


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"
