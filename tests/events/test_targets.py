"""Webhooks reach public addresses only (server-side request forgery): refused at
subscription when the host is a non-public literal or localhost, and at delivery when the
name resolves to a non-public address (DNS rebinding), with no connection made; the
connection goes to the address that was checked; no redirect is followed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from events import service, targets
from events.delivery import attempt
from events.models import WebhookDelivery
from events.schemas import WebhookCreate
from kernel.config import Settings
from kernel.errors import Invalid
from kernel.principal import Role, Staff
from server.app import create_app
from stores.models import Store
from tests.events.receiver import Receiver, tls_for
from tests.factories import api_key, auth

OPERATOR = Staff(key_id=1, role=Role.OPERATOR, store_ids=frozenset())

NOT_PUBLIC = [
    "http://127.0.0.1:8080/hook",
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "https://100.64.0.1/hook",  # shared address space (carrier NAT)
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",  # multicast
    "https://240.0.0.1/hook",  # reserved
    "https://127.0.0.1./hook",
    "https://127.1/hook",  # IPv4 shorthand, read by the resolver as 127.0.0.1
    "https://2130706433/hook",  # 127.0.0.1 as one number
    "https://0x7f000001/hook",
    "http://[::1]:8080/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[ff02::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "https://[::ffff:10.0.0.1]/hook",
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://localhost/hook",
    "https://LocalHost./hook",
    "https://api.localhost/hook",
]
PUBLIC = [
    "https://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://[::ffff:8.8.8.8]/hook",
    "https://hooks.example.com/hook",  # a name: checked when delivering
]


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_a_non_public_host_is_refused_at_subscription_unless_allowed(url: str) -> None:
    with pytest.raises(Invalid, match="public internet address"):
        targets.check_url(url, allow_private=False)
    targets.check_url(url, allow_private=True)


@pytest.mark.parametrize("url", PUBLIC)
def test_a_public_host_is_accepted_at_subscription(url: str) -> None:
    targets.check_url(url, allow_private=False)


@pytest.fixture
def strict_client(settings: Settings) -> Iterator[TestClient]:
    """The API as deployed (with Redis: private targets refused by default)."""
    strict = settings.model_copy(update={"webhook_allow_private": None})
    assert not strict.webhooks_reach_private
    with TestClient(create_app(strict)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "url", ["https://169.254.169.254/latest/meta-data/", "https://localhost/hook"]
)
def test_the_api_refuses_a_private_webhook_with_422_and_writes_nothing(
    strict_client: TestClient, sessions: sessionmaker[Session], url: str
) -> None:
    operator = auth(api_key(sessions, Role.OPERATOR))
    r = strict_client.post(
        "/v1/webhooks", json={"url": url, "events": ["push.sent"]}, headers=operator
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"
    assert "public internet address" in r.json()["detail"]
    assert strict_client.get("/v1/webhooks", headers=operator).json()["items"] == []


def test_the_embedded_default_allows_private_targets_and_a_deployment_does_not() -> None:
    assert Settings(redis_url=None).webhooks_reach_private
    assert not Settings(redis_url="redis://127.0.0.1:6379/0").webhooks_reach_private
    assert Settings(redis_url="redis://r", webhook_allow_private=True).webhooks_reach_private
    assert not Settings(redis_url=None, webhook_allow_private=False).webhooks_reach_private


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _owed(session: Session, url: str) -> int:
    """A webhook on ``url`` (stored as it was subscribed before the rules changed: plain
    http to any host, private targets allowed) and one delivery owed to it; the session is
    not committed, so nothing is enqueued."""
    store = Store(name="Boutique")
    session.add(store)
    session.flush()
    data = WebhookCreate.model_construct(url=url, events=["push.sent"], store_id=store.id)
    service.create_webhook(session, staff=OPERATOR, data=data, allow_private=True)
    now = datetime.now(UTC)
    service.emit(session, name="push.sent", store_id=store.id, user_id=None, payload={}, at=now)
    delivery_id = session.scalar(select(WebhookDelivery.id))
    assert delivery_id is not None
    return int(delivery_id)


def _attempt(session: Session, delivery_id: int, client: httpx.Client) -> WebhookDelivery:
    with client:
        attempt(session, delivery_id=delivery_id, client=client, now=datetime.now(UTC))
    delivery = session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    return delivery


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["::1"], ["93.184.216.34", "10.1.2.3"], ["::ffff:169.254.169.254"]],
    ids=["loopback", "loopback-v6", "one-private-among-public", "mapped-metadata"],
)
def test_a_name_resolving_to_a_private_address_is_refused_at_delivery_without_connecting(
    sessions: sessionmaker[Session], receiver: Receiver, answers: list[str]
) -> None:
    port = urlsplit(receiver.url).port
    url = f"http://rebound.test:{port}/hook"
    with sessions() as session:
        delivery_id = _owed(session, url)
        client = targets.client(allow_private=False, lookup=lambda _host, _port: answers)
        delivery = _attempt(session, delivery_id, client)
        assert delivery.status == "pending"  # retried with backoff, dead after 24 h
        assert delivery.attempts == 1
        assert delivery.last_error is not None
        assert delivery.last_error.startswith("RefusedTarget: rebound.test resolves to")
        assert "not a public address" in delivery.last_error
    assert receiver.received == []


def test_localhost_is_refused_at_delivery_by_the_system_resolver(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    url = receiver.url.replace("127.0.0.1", "localhost")
    with sessions() as session:
        delivery_id = _owed(session, url)
        delivery = _attempt(session, delivery_id, targets.client(allow_private=False))
        assert delivery.last_error is not None
        assert "localhost resolves to 127.0.0.1" in delivery.last_error
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    # rebound.test exists in no DNS: reaching the receiver proves the request went to the
    # address the check saw, not through a second resolution.
    port = urlsplit(receiver.url).port
    with sessions() as session:
        delivery_id = _owed(session, f"http://rebound.test:{port}/hook")
        client = targets.client(allow_private=True, lookup=lambda _h, _p: ["127.0.0.1"])
        assert _attempt(session, delivery_id, client).status == "delivered"
    [got] = receiver.received
    assert got.headers["Host"] == f"rebound.test:{port}"


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    with Receiver() as internal:
        receiver.statuses.append(302)
        receiver.location = internal.url.replace("/hook", "/admin")
        with sessions() as session:
            delivery_id = _owed(session, receiver.url)
            delivery = _attempt(session, delivery_id, targets.client(allow_private=True))
            assert (delivery.status, delivery.last_error) == ("pending", "HTTP 302")
        assert internal.received == []
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("certified", "delivered"), [("rebound.test", True), ("other.test", False)]
)
def test_https_to_the_checked_address_verifies_the_certificate_against_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, certified: str, delivered: bool
) -> None:
    """Pinning must not cost TLS: the certificate is checked for the URL's name (SNI),
    though the connection goes to an address."""
    context, ca_file = tls_for(certified, tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with Receiver(tls=context) as tls_receiver:
        port = urlsplit(tls_receiver.url).port
        client = targets.client(allow_private=True, lookup=lambda _h, _p: ["127.0.0.1"])
        with client:
            if delivered:
                assert client.post(f"https://rebound.test:{port}/hook", content=b"{}").is_success
            else:
                with pytest.raises(httpx.ConnectError, match="certificate"):
                    client.post(f"https://rebound.test:{port}/hook", content=b"{}")
        assert len(tls_receiver.received) == int(delivered)
