import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import firebase_admin
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import messaging
from google.auth.credentials import AnonymousCredentials, Credentials

from notifications.outbox import OutboxSender
from notifications.push import (
    FIREBASE_ADMIN_TESTED,
    FcmSender,
    PushMessage,
    PushOutcome,
    make_sender,
)
from tests.fcm_standin import FcmStandIn

PROJECT = "vicinity-test"


def make_push_message(token: str = "device-1", **overrides: Any) -> PushMessage:
    fields: dict[str, Any] = {
        "token": token,
        "title": "20% off espresso",
        "body": "Only at the Harbour St store, until 6 pm",
        "data": {"offer_id": "42", "store_id": "7"},
        "collapse_key": "offer-42",
    }
    fields.update(overrides)
    return PushMessage(**fields)


def anonymous_credentials() -> Credentials:
    """No OAuth token: the stand-in takes requests without one."""
    return AnonymousCredentials()  # type: ignore[no-untyped-call]


@pytest.fixture
def fcm_sender(fcm_standin: FcmStandIn) -> Iterator[FcmSender]:
    sender = FcmSender(
        project_id=PROJECT,
        fcm_url=fcm_standin.url,
        credentials=anonymous_credentials(),
        http_retries=0,
    )
    yield sender
    sender.close()


def outcomes(results: Sequence[Any]) -> list[PushOutcome]:
    return [r.outcome for r in results]


def test_sent_message_carries_notification_data_and_collapse_key(
    fcm_sender: FcmSender, fcm_standin: FcmStandIn
) -> None:
    [result] = fcm_sender.send([make_push_message(ttl_s=3600)])

    assert result.outcome is PushOutcome.SENT
    assert result.message_id is not None
    assert result.message_id.startswith(f"projects/{PROJECT}/messages/")
    [received] = fcm_standin.messages
    assert received["token"] == "device-1"
    assert received["notification"] == {
        "title": "20% off espresso",
        "body": "Only at the Harbour St store, until 6 pm",
    }
    assert received["data"] == {"offer_id": "42", "store_id": "7"}
    assert received["android"]["collapse_key"] == "offer-42"
    assert received["android"]["ttl"] == "3600s"
    assert received["apns"]["headers"]["apns-collapse-id"] == "offer-42"
    assert received["apns"]["payload"]["aps"]["thread-id"] == "offer-42"
    expires = int(received["apns"]["headers"]["apns-expiration"])
    assert 3590 <= expires - time.time() <= 3600


def test_unregistered_token_is_dropped(fcm_sender: FcmSender) -> None:
    [result] = fcm_sender.send([make_push_message("unregistered-1")])

    assert result.outcome is PushOutcome.DROP_TOKEN
    assert result.error_code == "UNREGISTERED"


def test_invalid_token_is_dropped(fcm_sender: FcmSender) -> None:
    [result] = fcm_sender.send([make_push_message("invalid-1")])

    assert result.outcome is PushOutcome.DROP_TOKEN
    assert result.error_code == "INVALID_ARGUMENT"


def test_payload_invalid_argument_fails_without_dropping_the_token(
    fcm_sender: FcmSender, fcm_standin: FcmStandIn
) -> None:
    fcm_standin.behaviours["device-1"] = ["INVALID_ARGUMENT"]

    [result] = fcm_sender.send([make_push_message("device-1")])

    assert result.outcome is PushOutcome.FAILED
    assert result.error_code == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("behaviour", "retry_after_s"),
    [("QUOTA_EXCEEDED", 60.0), ("QUOTA_EXCEEDED:5", 60.0), ("QUOTA_EXCEEDED:120", 120.0)],
)
def test_quota_exceeded_retries_after_at_least_a_minute(
    fcm_sender: FcmSender, fcm_standin: FcmStandIn, behaviour: str, retry_after_s: float
) -> None:
    fcm_standin.behaviours["device-1"] = [behaviour]

    [result] = fcm_sender.send([make_push_message("device-1")])

    assert result.outcome is PushOutcome.RETRY
    assert result.error_code == "QUOTA_EXCEEDED"
    assert result.retry_after_s == retry_after_s


def test_quota_prefix_token_is_retried(fcm_sender: FcmSender) -> None:
    [result] = fcm_sender.send([make_push_message("quota-1")])

    assert result.outcome is PushOutcome.RETRY
    assert result.retry_after_s is not None
    assert result.retry_after_s >= 60


@pytest.mark.parametrize(
    ("behaviour", "retry_after_s"),
    [("UNAVAILABLE", None), ("UNAVAILABLE:30", 30.0), ("INTERNAL", None), ("INTERNAL:7", 7.0)],
)
def test_unavailable_and_internal_retry_honouring_retry_after(
    fcm_sender: FcmSender, fcm_standin: FcmStandIn, behaviour: str, retry_after_s: float | None
) -> None:
    fcm_standin.behaviours["device-1"] = [behaviour]

    [result] = fcm_sender.send([make_push_message("device-1")])

    assert result.outcome is PushOutcome.RETRY
    assert result.retry_after_s == retry_after_s


def test_unavailable_prefix_token_is_retried(fcm_sender: FcmSender) -> None:
    [result] = fcm_sender.send([make_push_message("unavailable-1")])

    assert result.outcome is PushOutcome.RETRY
    assert result.error_code == "UNAVAILABLE"


def test_sender_id_mismatch_drops_the_token(fcm_sender: FcmSender, fcm_standin: FcmStandIn) -> None:
    fcm_standin.behaviours["device-1"] = ["SENDER_ID_MISMATCH"]

    [result] = fcm_sender.send([make_push_message("device-1")])

    assert result.outcome is PushOutcome.DROP_TOKEN
    assert result.error_code == "SENDER_ID_MISMATCH"


class StaticTokenCredentials(Credentials):
    """A bearer token that "refreshes" to itself, as a service account's would to a new one."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def refresh(self, request: object) -> None:  # noqa: ARG002
        self.token = "test-access-token"


def test_third_party_auth_error_is_a_configuration_failure(fcm_standin: FcmStandIn) -> None:
    # google-auth answers a 401 by refreshing the token and resending, twice.
    fcm_standin.behaviours["device-1"] = ["THIRD_PARTY_AUTH_ERROR"] * 3
    sender = FcmSender(
        project_id=PROJECT,
        fcm_url=fcm_standin.url,
        credentials=StaticTokenCredentials(),
        http_retries=0,
    )
    try:
        [result] = sender.send([make_push_message("device-1")])
    finally:
        sender.close()

    assert result.outcome is PushOutcome.FAILED
    assert result.error_code == "THIRD_PARTY_AUTH_ERROR"


def test_firebase_admin_retries_unavailable_in_process(fcm_standin: FcmStandIn) -> None:
    fcm_standin.behaviours["device-1"] = ["UNAVAILABLE", "OK"]
    sender = FcmSender(
        project_id=PROJECT,
        fcm_url=fcm_standin.url,
        credentials=anonymous_credentials(),
        http_retries=1,
    )
    try:
        [result] = sender.send([make_push_message("device-1")])
    finally:
        sender.close()

    assert result.outcome is PushOutcome.SENT
    assert fcm_standin.requests_count == 2
    assert len(fcm_standin.messages) == 1


def test_retry_after_is_left_to_the_caller_not_slept_on(fcm_standin: FcmStandIn) -> None:
    # firebase-admin's own retry config would sleep 120 s here and resend.
    fcm_standin.behaviours["device-1"] = ["QUOTA_EXCEEDED:120", "OK"]
    sender = FcmSender(
        project_id=PROJECT, fcm_url=fcm_standin.url, credentials=anonymous_credentials()
    )
    try:
        [result] = sender.send([make_push_message("device-1")])
    finally:
        sender.close()

    assert result.outcome is PushOutcome.RETRY
    assert result.retry_after_s == 120.0
    assert fcm_standin.requests_count == 1


def test_unreachable_fcm_is_retried() -> None:
    with FcmStandIn() as gone:
        url = gone.url
    sender = FcmSender(
        project_id=PROJECT, fcm_url=url, credentials=anonymous_credentials(), http_retries=0
    )
    try:
        [result] = sender.send([make_push_message()])
    finally:
        sender.close()

    assert result.outcome is PushOutcome.RETRY


def test_batch_over_the_fcm_limit_is_split(
    fcm_sender: FcmSender, fcm_standin: FcmStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_send_each = messaging.send_each
    batch_sizes: list[int] = []

    def counting_send_each(messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        batch_sizes.append(len(messages))
        return real_send_each(messages, *args, **kwargs)

    monkeypatch.setattr(messaging, "send_each", counting_send_each)
    messages = [make_push_message(f"device-{i}") for i in range(501)]

    results = fcm_sender.send(messages)

    assert batch_sizes == [500, 1]
    assert outcomes(results) == [PushOutcome.SENT] * 501
    received = fcm_standin.wait_for(501)
    assert sorted(m["token"] for m in received) == sorted(m.token for m in messages)


def test_mixed_batch_keeps_order(fcm_sender: FcmSender, fcm_standin: FcmStandIn) -> None:
    fcm_standin.behaviours["device-4"] = ["INVALID_ARGUMENT"]
    tokens = ["device-1", "unregistered-2", "quota-3", "device-4", "invalid-5", "device-6"]

    results = fcm_sender.send([make_push_message(t) for t in tokens])

    assert outcomes(results) == [
        PushOutcome.SENT,
        PushOutcome.DROP_TOKEN,
        PushOutcome.RETRY,
        PushOutcome.FAILED,
        PushOutcome.DROP_TOKEN,
        PushOutcome.SENT,
    ]
    assert sorted(m["token"] for m in fcm_standin.messages) == ["device-1", "device-6"]


def test_senders_coexist_and_leave_the_default_fcm_url_alone(fcm_standin: FcmStandIn) -> None:
    default_url = messaging._MessagingService.FCM_URL
    first = FcmSender(
        project_id="project-a", fcm_url=fcm_standin.url, credentials=anonymous_credentials()
    )
    second = FcmSender(
        project_id="project-b", fcm_url=fcm_standin.url, credentials=anonymous_credentials()
    )
    try:
        [a] = first.send([make_push_message("device-a")])
        [b] = second.send([make_push_message("device-b")])
    finally:
        first.close()
        second.close()

    assert a.message_id is not None
    assert a.message_id.startswith("projects/project-a/")
    assert b.message_id is not None
    assert b.message_id.startswith("projects/project-b/")
    assert default_url == messaging._MessagingService.FCM_URL


def test_empty_send_sends_nothing(fcm_sender: FcmSender, fcm_standin: FcmStandIn) -> None:
    assert fcm_sender.send([]) == []
    assert fcm_standin.requests_count == 0


@pytest.mark.parametrize("overrides", [{"token": ""}, {"ttl_s": -1}, {"ttl_s": 2_419_201}])
def test_push_message_rejects_what_fcm_would(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"token|ttl_s"):
        make_push_message(**overrides)


def test_make_sender_defaults_to_the_outbox(tmp_path: Path) -> None:
    sender = make_sender(credentials_path=None, project_id=None, outbox_path=tmp_path / "o.jsonl")

    assert isinstance(sender, OutboxSender)
    assert sender.name == "outbox"


def test_make_sender_uses_fcm_for_a_stand_in(tmp_path: Path, fcm_standin: FcmStandIn) -> None:
    sender = make_sender(
        credentials_path=None,
        project_id=PROJECT,
        outbox_path=tmp_path / "o.jsonl",
        fcm_url=fcm_standin.url,
    )
    assert isinstance(sender, FcmSender)
    try:
        [result] = sender.send([make_push_message()])
    finally:
        sender.close()

    assert result.outcome is PushOutcome.SENT
    assert not (tmp_path / "o.jsonl").exists()


def write_service_account(path: Path, project_id: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project_id,
                "private_key_id": "test-key",
                "private_key": pem,
                "client_email": f"push@{project_id}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        ),
        encoding="utf-8",
    )
    return path


def test_make_sender_uses_fcm_with_a_service_account(tmp_path: Path) -> None:
    credentials_path = write_service_account(tmp_path / "service-account.json", "vicinity-prod")

    sender = make_sender(
        credentials_path=str(credentials_path),
        project_id=None,
        outbox_path=tmp_path / "o.jsonl",
    )

    assert isinstance(sender, FcmSender)
    assert sender.name == "fcm"
    sender.close()


def test_the_installed_firebase_admin_has_the_internals_the_fcm_url_relies_on() -> None:
    major = int(firebase_admin.__version__.split(".")[0])
    low, high = FIREBASE_ADMIN_TESTED
    assert low <= major < high, firebase_admin.__version__
    assert "{0}" in messaging._MessagingService.FCM_URL
    assert callable(messaging._get_messaging_service)


def test_a_sender_refuses_a_url_firebase_admin_would_ignore(
    fcm_standin: FcmStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the class attribute no longer read, the sender fails instead of calling FCM."""
    real = messaging._get_messaging_service

    def ignoring_the_url(app: Any) -> Any:
        service = real(app)
        service._fcm_url = "https://fcm.googleapis.com/v1/projects/p/messages:send"
        return service

    monkeypatch.setattr(messaging, "_get_messaging_service", ignoring_the_url)
    anonymous: Credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    with pytest.raises(RuntimeError, match="ignored the FCM URL"):
        FcmSender(project_id="p", fcm_url=fcm_standin.url, credentials=anonymous)
