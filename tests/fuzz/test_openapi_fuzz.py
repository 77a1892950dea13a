"""Schema-driven fuzzing: every operation, as every role, answers as its document says.

Schemathesis generates requests from the OpenAPI document (valid and invalid bodies,
path and query values at and past their bounds) and sends them through the real app on
PostGIS and Redis. The caller is drawn inside the same Hypothesis example as the request,
so a failure names its role, shrinks with it and replays from the seed. Each answer must
be no 5xx, and its status, content type and body must be ones the document declares.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.hooks import HookContext
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
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

# Who calls: the role is part of each generated example.
CALLERS = ("user", "staff", "other_staff", "tech", "operator", "anonymous")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.hook
def flatmap_path_parameters(
    context: HookContext, path: dict[str, Any] | None
) -> st.SearchStrategy[Any]:
    """Ids as generated, or 1 or 2: the world's stores, geofence, offer and user, so
    answers past the 404 get checked too. Not for deletes, nor keys (revoking or rotating
    the callers' own keys would turn the rest of the run into 401s)."""
    method = context.operation.method.upper() if context.operation else "DELETE"
    if method == "DELETE" or not path:
        return st.just(path)
    ids = [k for k, v in path.items() if k.endswith("_id") and k != "key_id" and type(v) is int]
    known = {k: st.sampled_from([path[k], 1, 2]) for k in ids}
    return st.fixed_dictionaries(known).map(lambda chosen: {**path, **chosen})


@dataclass(frozen=True)
class World:
    client: TestClient
    tokens: dict[str, str]  # caller → bearer token; the anonymous caller has none
    key_ids: frozenset[int]  # the callers' own API keys


@pytest.fixture(scope="module")
def live(
    migrated_engine: Engine,
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    _fcm_standin_server: FcmStandIn,
) -> Iterator[World]:
    """One app for the whole module: two stores, a geofence, an offer and a key per role."""
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
        other_store_id = new_store(client, operator, "Elsewhere")
        staff = api_key(sessions, Role.STORE, [store_id])
        new_geofence(client, staff, store_id, square(*PARIS, 40.0))
        new_offer(client, staff, store_id, ["fashion"])
        tokens = {
            "user": new_shopper(client, config, interests=["fashion"]),
            "staff": staff,
            "other_staff": api_key(sessions, Role.STORE, [other_store_id]),
            "tech": api_key(sessions, Role.TECH),
            "operator": operator,
        }
        key_ids = frozenset(
            client.get("/v1/keys/me", headers=auth(tokens[caller])).json()["id"]
            for caller in ("staff", "other_staff", "tech", "operator")
        )
        yield World(client, tokens, key_ids)
    # The operator's turns may have edited the taxonomy, which other tests rely on.
    truncate(migrated_engine)
    with migrated_engine.begin() as conn:
        conn.execute(text("TRUNCATE segments CASCADE"))
    with unit_of_work(sessions) as session:
        seed_taxonomy(session)


@schema.parametrize()
@schema.given(caller=st.sampled_from(CALLERS))
# Generated cases only: the document's own examples carry no caller to go with them.
@settings(
    max_examples=12,
    derandomize=True,
    phases=[Phase.generate, Phase.shrink],
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_one_the_document_declares(
    case: schemathesis.Case, caller: str, live: World
) -> None:
    if case.method == "DELETE" and case.path == "/v1/me":
        return  # erasing the fuzzing user would only turn the rest into 401s
    if (
        case.path.startswith("/v1/keys/{key_id}")
        and (case.path_parameters or {}).get("key_id") in live.key_ids
    ):
        return  # nor revoking or rotating a caller's own key
    kwargs = case.as_transport_kwargs(base_url="")
    # The caller decides the credentials alone: schemathesis may have generated a bearer
    # header of its own (garbage) or dropped one (a negative case for the security scheme).
    headers = {k: v for k, v in kwargs["headers"].items() if k.lower() != "authorization"}
    token = live.tokens.get(caller)
    kwargs["headers"] = headers | (auth(token) if token else {})
    kwargs.pop("cookies", None)  # the API uses no cookies
    if isinstance(kwargs.get("data"), bytes | str):  # requests-style raw body → httpx
        kwargs["content"] = kwargs.pop("data")
    if kwargs.get("files"):  # multipart (a look's image): httpx sends str or bytes parts only
        kwargs["files"] = [(k, (f[0], _as_bytes(f[1]))) for k, f in kwargs["files"]]
    response = live.client.request(**kwargs)
    response.request.read()  # a multipart body is streamed; the check reads it
    event(f"{caller} answered {response.status_code}")  # see --hypothesis-show-statistics
    try:
        case.validate_response(response, checks=CHECKS)
    except Exception as failure:
        failure.add_note(f"caller: {caller}")  # the reproduction above leaves out who called
        raise


def _as_bytes(value: object) -> str | bytes:
    return value if isinstance(value, str | bytes) else repr(value).encode()
