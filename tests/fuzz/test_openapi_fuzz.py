"""Schema-driven fuzzing: whatever a client sends, the answer is never a 500.

Schemathesis generates requests from the OpenAPI document (valid and invalid bodies,
path and query values at and past their bounds) and sends them through the real app on
PostGIS and Redis, in turn as an app user, store staff, a field tech and the operator.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine, text

from kernel.config import Settings
from kernel.db import make_session_factory, unit_of_work
from kernel.principal import Role
from preferences.segments import seed_taxonomy
from server.app import create_app
from tests.conftest import truncate
from tests.factories import (
    PARIS,
    api_key,
    auth,
    new_geofence,
    new_offer,
    new_shopper,
    new_store,
    square,
)
from tests.fcm_standin import FcmStandIn

# The document only: requests go through the ``live`` app below, lifespan and all.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@pytest.fixture(scope="module")
def live(
    migrated_engine: Engine,
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    _fcm_standin_server: FcmStandIn,
) -> Iterator[tuple[TestClient, itertools.cycle[str]]]:
    """One app for the whole module, with a store, a geofence, an offer and four keys."""
    truncate(migrated_engine)
    redis.Redis.from_url(redis_url).flushdb()
    config = Settings(
        database_url=database_url,
        redis_url=redis_url,
        var_dir=Path(tmp_path_factory.mktemp("fuzz")),
        fcm_url=_fcm_standin_server.url,
        fcm_project_id="vicinity-test",
        celery_eager=True,
        fcm_http_retries=0,
    )
    sessions = make_session_factory(migrated_engine)
    with TestClient(create_app(config)) as client:
        operator = api_key(sessions, Role.OPERATOR)
        store_id = new_store(client, operator)
        staff = api_key(sessions, Role.STORE, [store_id])
        new_geofence(client, staff, store_id, square(*PARIS, 40.0))
        new_offer(client, staff, store_id, ["fashion"])
        user = new_shopper(client, config, interests=["fashion"])
        yield client, itertools.cycle([user, staff, api_key(sessions, Role.TECH), operator])
    # The operator's turns may have edited the taxonomy, which other tests rely on.
    truncate(migrated_engine)
    with migrated_engine.begin() as conn:
        conn.execute(text("TRUNCATE segments CASCADE"))
    with unit_of_work(sessions) as session:
        seed_taxonomy(session)


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_is_a_server_error(
    case: schemathesis.Case, live: tuple[TestClient, itertools.cycle[str]]
) -> None:
    client, tokens = live
    if case.method == "DELETE" and case.path == "/v1/me":
        return  # erasing the fuzzing user would only turn the rest into 401s
    kwargs = case.as_transport_kwargs(base_url="", headers=auth(next(tokens)))
    kwargs.pop("cookies", None)  # the API uses no cookies
    if isinstance(kwargs.get("data"), bytes | str):  # requests-style raw body → httpx
        kwargs["content"] = kwargs.pop("data")
    if kwargs.get("files"):  # multipart (a look's image): httpx sends str or bytes parts only
        kwargs["files"] = [(k, (f[0], _as_bytes(f[1]))) for k, f in kwargs["files"]]
    response = client.request(**kwargs)
    response.request.read()  # a multipart body is streamed; the check reads it
    case.validate_response(response, checks=[not_a_server_error])


def _as_bytes(value: object) -> str | bytes:
    return value if isinstance(value, str | bytes) else repr(value).encode()
