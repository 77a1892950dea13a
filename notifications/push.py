"""Push-sending boundary: the `PushSender` protocol and the FCM adapter (the local outbox
is in :mod:`notifications.outbox`).

FCM HTTP v1 error handling (see the push section of the field notes):

- UNREGISTERED (404): the token is gone, delete it.
- INVALID_ARGUMENT (400): never retried; the token is deleted only when FCM says the token
  itself is invalid, because payload errors share the code.
- SENDER_ID_MISMATCH (403): the token belongs to another sender and will never work for
  this one: deleted (issue 9), like UNREGISTERED. Should our own project id be the wrong
  one, every token answered so would go: the failure is logged for an operator to notice.
- THIRD_PARTY_AUTH_ERROR (401): a configuration error (APNs/web push credentials), no retry.
- QUOTA_EXCEEDED (429): retry after at least a minute.
- UNAVAILABLE (503), INTERNAL (500), timeouts: retry, honouring Retry-After.

FCM may answer 503 and still deliver, so a retry can duplicate; the collapse key keeps a
device from showing the same offer twice (APNs apns-collapse-id; on Android the
notification tag replaces one on screen, collapse_key merges those still queued at FCM).

The FCM endpoint (``VICINITY_FCM_URL``, the tests' stand-in): firebase-admin has no public
setting for it (its emulator variables cover Auth, Firestore, Database and Storage, not
Cloud Messaging), so :func:`_start_messaging_service` sets a private class attribute for
the moment a service is created. That relies on firebase-admin internals, so the version
is pinned (``firebase-admin>=7.0,<8`` in pyproject, :data:`FIREBASE_ADMIN_TESTED`), a test
asserts the installed version and the attributes used, and the sender refuses to start if
the service did not take the URL (rather than silently sending to the real FCM).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import firebase_admin
import requests.adapters
from firebase_admin import credentials as firebase_credentials
from firebase_admin import exceptions as firebase_exceptions
from firebase_admin import messaging
from google.auth.credentials import AnonymousCredentials, Credentials
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

FCM_BATCH_LIMIT = 500
"""Most messages `messaging.send_each` accepts in one call."""

FCM_MAX_TTL_S = 2_419_200
"""FCM keeps an undelivered message at most 28 days."""

QUOTA_RETRY_AFTER_S = 60.0
"""Least wait after QUOTA_EXCEEDED: FCM's quota is counted per minute."""

FIREBASE_ADMIN_TESTED = (7, 8)
"""Major versions [7, 8) of firebase-admin whose internals `_start_messaging_service` uses."""

_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_INVALID_TOKEN_WORDING = re.compile(
    r"registration token is not a valid|invalid registration token", re.IGNORECASE
)
_FCM_URL_LOCK = threading.Lock()


@dataclass(frozen=True)
class PushMessage:
    """One notification for one device token."""

    token: str
    title: str
    body: str
    data: Mapping[str, str]
    collapse_key: str
    ttl_s: int = 86400

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("push token must not be empty")
        if not 0 <= self.ttl_s <= FCM_MAX_TTL_S:
            raise ValueError(f"ttl_s must be within 0..{FCM_MAX_TTL_S}, got {self.ttl_s}")


class PushOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    DROP_TOKEN = "drop_token"
    FAILED = "failed"


@dataclass(frozen=True)
class PushResult:
    outcome: PushOutcome
    message_id: str | None = None
    error_code: str | None = None
    detail: str | None = None
    retry_after_s: float | None = None


class PushSender(Protocol):
    name: str

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        """Send each message; one result per message, in the same order."""
        ...


class FcmSender:
    """Sends through firebase-admin on an app of its own, so several senders can coexist.

    `fcm_url` is a template like firebase-admin's, "https://host/v1/projects/{0}/messages:send",
    where {0} is the project id; it points the sender at a local stand-in.

    firebase-admin retries 500/503 itself; `http_retries` bounds those in-process retries
    (0 turns them off). Unlike firebase-admin's default, Retry-After is not slept on in-process:
    a 429 or 503 carrying it comes back as RETRY with `retry_after_s`, for the caller to schedule.
    """

    name = "fcm"

    def __init__(
        self,
        *,
        project_id: str | None = None,
        credentials_path: str | None = None,
        fcm_url: str | None = None,
        credentials: Credentials | None = None,
        http_retries: int = 4,
        http_backoff_s: float = 0.5,
    ) -> None:
        credential: Credentials | firebase_credentials.Base | None = credentials
        if credential is None and credentials_path is not None:
            credential = firebase_credentials.Certificate(credentials_path)
        options = {"projectId": project_id} if project_id else {}
        self._app = firebase_admin.initialize_app(
            credential, options=options, name=f"vicinity-push-{uuid.uuid4().hex}"
        )
        try:
            _start_messaging_service(
                self._app,
                fcm_url=fcm_url,
                retry=Retry(
                    connect=1,
                    read=1,
                    status=http_retries,
                    status_forcelist=(500, 503),
                    backoff_factor=http_backoff_s,
                    respect_retry_after_header=False,
                    raise_on_status=False,
                    allowed_methods=None,
                ),
            )
        except BaseException:
            firebase_admin.delete_app(self._app)
            raise

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        """Send in batches of at most `FCM_BATCH_LIMIT`; one result per message, in order."""
        results: list[PushResult] = []
        for start in range(0, len(messages), FCM_BATCH_LIMIT):
            results.extend(self._send_batch(messages[start : start + FCM_BATCH_LIMIT]))
        return results

    def close(self) -> None:
        """Delete this sender's firebase app; the sender is unusable afterwards."""
        firebase_admin.delete_app(self._app)

    def _send_batch(self, batch: Sequence[PushMessage]) -> list[PushResult]:
        try:
            response = messaging.send_each([_to_fcm_message(m) for m in batch], app=self._app)
        except ValueError as error:
            # firebase-admin validates the whole batch before sending any of it.
            return [
                PushResult(PushOutcome.FAILED, error_code="INVALID_MESSAGE", detail=str(error))
            ] * len(batch)
        except firebase_exceptions.FirebaseError as error:
            # Raised when the batch as a whole broke (e.g. credential refresh); some messages
            # may have gone out, so collapse keys must absorb the duplicates of a retry.
            result = PushResult(PushOutcome.RETRY, error_code=str(error.code), detail=str(error))
            return [result] * len(batch)
        return [
            PushResult(PushOutcome.SENT, message_id=str(r.message_id))
            if r.success
            else _result_for_error(r.exception)
            for r in response.responses
        ]


def make_sender(
    *,
    credentials_path: str | None,
    project_id: str | None,
    outbox_path: Path,
    fcm_url: str | None = None,
    http_retries: int = 2,
    outbox_max_bytes: int = 10 * 1024 * 1024,
    outbox_keep: int = 5,
) -> PushSender:
    """FCM when credentials (or a stand-in URL) are configured, else the local outbox."""
    if credentials_path is not None:
        return FcmSender(
            project_id=project_id,
            credentials_path=credentials_path,
            fcm_url=fcm_url,
            http_retries=http_retries,
        )
    if fcm_url is not None:
        # A local stand-in takes no OAuth token.
        anonymous: Credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return FcmSender(
            project_id=project_id, fcm_url=fcm_url, credentials=anonymous, http_retries=http_retries
        )
    # Imported here: the outbox module builds on this one's message and result types.
    from notifications.outbox import OutboxSender

    return OutboxSender(outbox_path, max_bytes=outbox_max_bytes, keep=outbox_keep)


def _start_messaging_service(app: Any, *, fcm_url: str | None, retry: Retry) -> None:
    """Create the app's messaging service against `fcm_url`, retrying as `retry` says.

    firebase-admin has no public knob for either. `_MessagingService.FCM_URL` is a class
    attribute formatted once, when an app's service is created, so it is swapped only for that
    moment (under a lock: other senders may be created concurrently). firebase-admin mounts its
    retrying adapter on the service's requests session, for "https://fcm.googleapis.com" and
    every "http://" URL; ours, mounted on the endpoint's origin, replaces or outranks it
    (requests picks the longest matching prefix).
    """
    service_class = messaging._MessagingService
    with _FCM_URL_LOCK:
        default_url = service_class.FCM_URL
        if fcm_url is not None:
            service_class.FCM_URL = fcm_url
        try:
            service = messaging._get_messaging_service(app)
        finally:
            service_class.FCM_URL = default_url
    if fcm_url is not None and service._fcm_url != fcm_url.format(app.project_id):
        raise RuntimeError(
            f"firebase-admin {firebase_admin.__version__} ignored the FCM URL {fcm_url!r}; "
            f"tested with major versions {FIREBASE_ADMIN_TESTED}"
        )
    endpoint = urlsplit(service._fcm_url)
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=100, pool_maxsize=100, max_retries=retry
    )
    service._client.session.mount(f"{endpoint.scheme}://{endpoint.netloc}", adapter)


def _to_fcm_message(message: PushMessage) -> Any:
    # APNs takes an absolute expiry; counted from now, when the message leaves.
    expires = int(time.time()) + message.ttl_s
    return messaging.Message(
        token=message.token,
        notification=messaging.Notification(title=message.title, body=message.body),
        data=dict(message.data),
        # collapse_key only merges messages still queued at FCM; the notification tag
        # replaces one already on screen, so a re-sent push is not shown twice.
        android=messaging.AndroidConfig(
            collapse_key=message.collapse_key,
            ttl=message.ttl_s,
            notification=messaging.AndroidNotification(tag=message.collapse_key),
        ),
        apns=messaging.APNSConfig(
            headers={"apns-collapse-id": message.collapse_key, "apns-expiration": str(expires)},
            payload=messaging.APNSPayload(aps=messaging.Aps(thread_id=message.collapse_key)),
        ),
    )


def _result_for_error(error: Any) -> PushResult:
    code = _fcm_error_code(error)
    detail = str(error)
    if isinstance(error, messaging.UnregisteredError):
        return PushResult(PushOutcome.DROP_TOKEN, error_code=code, detail=detail)
    if isinstance(error, messaging.SenderIdMismatchError):
        logger.warning("FCM sender id mismatch, token dropped: %s", detail)
        return PushResult(PushOutcome.DROP_TOKEN, error_code=code, detail=detail)
    if isinstance(error, messaging.ThirdPartyAuthError):
        return PushResult(PushOutcome.FAILED, error_code=code, detail=detail)
    if isinstance(error, messaging.QuotaExceededError):
        retry_after = max(QUOTA_RETRY_AFTER_S, _retry_after_s(error) or 0.0)
        return PushResult(
            PushOutcome.RETRY, error_code=code, detail=detail, retry_after_s=retry_after
        )
    if isinstance(
        error,
        firebase_exceptions.UnavailableError
        | firebase_exceptions.InternalError
        | firebase_exceptions.DeadlineExceededError,
    ):
        return PushResult(
            PushOutcome.RETRY, error_code=code, detail=detail, retry_after_s=_retry_after_s(error)
        )
    if isinstance(
        error, firebase_exceptions.InvalidArgumentError
    ) and _INVALID_TOKEN_WORDING.search(detail):
        return PushResult(PushOutcome.DROP_TOKEN, error_code=code, detail=detail)
    return PushResult(PushOutcome.FAILED, error_code=code, detail=detail)


def _fcm_error_code(error: Any) -> str:
    """FCM's own errorCode (e.g. UNREGISTERED) when the response has one, else the RPC status."""
    response = getattr(error, "http_response", None)
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = None
        details = body.get("error", {}).get("details", []) if isinstance(body, dict) else []
        for item in details if isinstance(details, list) else []:
            if isinstance(item, dict) and item.get("@type") == _FCM_ERROR_TYPE:
                return str(item.get("errorCode"))
    return str(getattr(error, "code", "UNKNOWN"))


def _retry_after_s(error: Any) -> float | None:
    """Seconds from the response's Retry-After header (delta-seconds or HTTP-date), if any."""
    response = getattr(error, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
