"""Structured logs: the request id comes back in the header and follows the work it caused."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import structlog
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings
from server.app import create_app
from server.celery import celery_app
from server.celery import configure as configure_celery
from server.logs import HEADER, configure_logging
from tests.factories import auth, clock, fix, new_shopper, open_shop


@pytest.fixture
def logs(settings: Settings) -> Iterator[io.StringIO]:
    """JSON lines at DEBUG into a buffer for the test; back to stderr afterwards."""
    out = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": "json", "log_level": "DEBUG"}), out)
    yield out
    configure_logging(settings)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_the_request_id_is_returned_logged_and_carried_into_the_push_task(
    client: TestClient, settings: Settings, sessions: sessionmaker[Session], logs: io.StringIO
) -> None:
    shop = open_shop(client, sessions, name="Boutique", east_m=0.0, segments=["fashion"])
    token = new_shopper(client, settings, interests=["fashion"])
    body = {"fixes": [fix(*shop.center, next(clock()))]}
    headers = {**auth(token), HEADER: "walk-42"}
    r = client.post("/v1/me/locations", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["notifications"], "the ENTER pushes the offer"
    assert r.headers[HEADER] == "walk-42"

    mine = [line for line in lines(logs) if line.get("request_id") == "walk-42"]
    request = [line for line in mine if line["logger"] == "server.request"]
    assert request, "the request's own line"
    assert request[0]["path"] == "/v1/me/locations"
    assert request[0]["status"] == 200
    tasks = {line["task"] for line in mine if "task" in line}
    assert "notifications.deliver" in tasks, "the push task logs under the same id"
    # The next request does not inherit the id.
    r = client.get("/v1/me/consent", headers=auth(token))
    assert r.headers[HEADER] != "walk-42"
    for line in lines(logs):
        assert token not in json.dumps(line), "a token never reaches the logs"


@pytest.mark.parametrize("given", [None, "", "a b", "x" * 65, "a;b{}"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(
    client: TestClient, given: str | None
) -> None:
    headers = {} if given is None else {HEADER: given}
    r = client.get("/v1/catalogue/segments", headers=headers)
    rid = r.headers[HEADER]
    assert rid != given
    assert len(rid) == 32
    assert rid.isalnum()


@celery_app.task(name="tests.server.logged")  # type: ignore[untyped-decorator]
def logged() -> None:
    structlog.get_logger("tests.server").info("working")


def test_a_task_binds_the_request_id_of_its_headers_while_it_runs(logs: io.StringIO) -> None:
    logged.apply(headers={"request_id": "from-header"})
    logged.apply()
    working = [line for line in lines(logs) if line["event"] == "working"]
    assert working[0]["request_id"] == "from-header"
    assert working[0]["task"] == "tests.server.logged"
    assert "request_id" not in working[1], "unbound once the task is over"


def test_a_task_sent_to_the_broker_carries_the_request_id_in_its_headers(
    settings: Settings, redis_client: redis.Redis
) -> None:
    with TestClient(create_app(settings.model_copy(update={"celery_eager": False}))):
        try:
            with structlog.contextvars.bound_contextvars(request_id="sent-7"):
                celery_app.send_task("privacy.purge")
        finally:
            configure_celery(settings)
    message = json.loads(redis_client.lindex("celery", -1) or b"{}")
    assert message["headers"]["request_id"] == "sent-7"
    assert message["headers"]["published_at"] > 0
