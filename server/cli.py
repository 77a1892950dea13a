"""The ``vicinity`` command: serve, migrate, API keys (and field-tech beacon tools)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from typer.core import TyperGroup

from accounts.audit import list_uses
from accounts.models import ApiKey
from accounts.service import (
    create_api_key,
    get_api_key,
    list_api_keys,
    revoke_api_key,
    rotate_api_key,
)
from beacons.fieldtool.cli import app as beacons_app
from catalogue.cli import items_app
from geofence.cli import geofences_app
from kernel.config import get_settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from kernel.errors import DomainError
from kernel.principal import Role
from preferences.segments import seed_taxonomy
from server.migrate import SchemaNotReady, missing_database, require_schema, upgrade

if TYPE_CHECKING:
    from demo.seed import DemoAccess

console = Console()
errors = Console(stderr=True)


class _OneLineErrors(TyperGroup):
    """A domain error ends any command with one red line and exit status 2, no traceback."""

    # ctx is typed loosely: Typer's Context class moved between click and its own copy.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as error:
            _fail(error.detail)
        except OperationalError as error:
            first = str(error.orig or error).strip().splitlines()[0]
            _fail(f"the database is unreachable: {first}")


def _fail(detail: str) -> None:
    errors.print(f"[red]error:[/] {detail}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


app = typer.Typer(
    cls=_OneLineErrors,
    help="Vicinity: privacy-first location-based marketing server.",
    no_args_is_help=True,
)
keys = typer.Typer(
    help="API keys for store staff, field techs and the operator.", no_args_is_help=True
)
app.add_typer(keys, name="keys")
app.add_typer(beacons_app, name="beacons")


@contextmanager
def _migrated() -> Iterator[Session]:
    """A transaction on the configured database, refused when its schema is missing or
    behind (a command run from the wrong folder must not create an empty database)."""
    settings = get_settings()
    if (why := missing_database(settings)) is not None:
        raise SchemaNotReady(why)
    engine = make_engine(settings)
    try:
        require_schema(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


app.add_typer(items_app(_migrated), name="items")
app.add_typer(geofences_app(_migrated), name="geofences")


def _prepare(demo: bool, host: str = "127.0.0.1", port: int = 8000) -> DemoAccess | None:
    from demo.seed import demo_access, seed_stores
    from demo.shops import ATTRIBUTION

    settings = get_settings()
    engine = make_engine(settings)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        added = seed_taxonomy(session)
        if added:
            console.print(f"[green]✓[/] seeded {added} segments")
        if not demo:
            engine.dispose()
            return None
        count = seed_stores(session)
        access = demo_access(session, policy_version=settings.policy_version)
    engine.dispose()
    lat, lon = access.inside
    base = f"http://{host}:{port}"
    console.print(
        Panel.fit(
            f"[bold]Demo city:[/] {count} Paris shops ({ATTRIBUTION})\n"
            f"API docs:       [link]{base}/docs[/]\n"
            f"Web console:    [link]{base}/console[/]  (sign in with a key below)\n"
            f"Operator key:   {access.operator_key}\n"
            f"Store key:      {access.store_key}  (store {access.store_id})\n"
            f"Shopper token:  {access.user_token}  (consented, device registered)\n"
            f"Catalogue:      {access.items} items at store {access.store_id}, reward rule set\n"
            f"Friend:         {access.friend}, whose look {access.look_id} tags one of them",
            title="Vicinity demo",
        )
    )
    now = "'$(date -u +%FT%TZ)'"
    fix = f'{{"lat":{lat:.6f},"lon":{lon:.6f},"accuracy_m":10,"recorded_at":"{now}"}}'
    console.print(
        f"Walk the shopper into the store, then read the outbox (the store's offer and "
        f"{access.friend}'s look):",
        style="bold",
    )
    console.print(
        f"curl -s -X POST {base}/v1/me/locations -H 'Authorization: Bearer {access.user_token}' "
        f"-H 'Content-Type: application/json' -d '{{\"fixes\":[{fix}]}}'",
        soft_wrap=True,
        highlight=False,
    )
    console.print(
        f"curl -s {base}/v1/outbox -H 'Authorization: Bearer {access.operator_key}'",
        soft_wrap=True,
        highlight=False,
    )
    return access


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (`PORT=… make run`).")] = 8000,
    demo: Annotated[
        bool, typer.Option(help="Migrate, seed the Paris demo city and print keys.")
    ] = False,
    simulate: Annotated[
        bool,
        typer.Option(
            help="With --demo: once the server is up, virtual shoppers walk the demo city "
            "(`vicinity simulate` with its defaults, report in var/simulation.json)."
        ),
    ] = False,
) -> None:
    """Run the API server (on a migrated database; `--demo` migrates and seeds it)."""
    if simulate and not demo:
        _fail("--simulate needs --demo (the shoppers walk the demo city)")
    if simulate:
        # Every virtual phone shares 127.0.0.1: per-IP limits would hold the demo to a
        # trickle (per-token limits stay). The live table needs a quiet log.
        for limit in ("VICINITY_RATE_SIGNUP_PER_IP", "VICINITY_RATE_EVENTS_PER_IP"):
            os.environ.setdefault(limit, "")
        os.environ.setdefault("VICINITY_LOG_LEVEL", "WARNING")  # a line per push otherwise
        get_settings.cache_clear()
    access = None
    if demo:
        access = _prepare(demo, host, port)
    else:
        with _migrated():
            pass
    from server.app import create_app

    if simulate and access is not None:
        local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        _simulate_beside(f"http://{local}:{port}", access.operator_key)
    # Per-request access lines would drown the simulator's live table.
    uvicorn.run(create_app(), host=host, port=port, log_level="info", access_log=not simulate)


def _simulate_beside(url: str, key: str) -> None:
    """The simulator on a thread of this process, starting once the server answers."""
    import threading

    from simulator.main import run, wait_for_server
    from simulator.run import Config

    def walk() -> None:
        wait_for_server(url)
        config = Config(url=url, users=100, rate=20, duration_s=600)
        report = get_settings().var_dir / "simulation.json"
        run(config, key, report=report, console=console)

    threading.Thread(target=walk, name="simulator", daemon=True).start()


@app.command("simulate")
def simulate_command(
    url: Annotated[str, typer.Option(help="The API to drive.")] = "http://127.0.0.1:8000",
    users: Annotated[int, typer.Option(min=1, help="Virtual shoppers.")] = 200,
    rate: Annotated[
        float, typer.Option(min=0.1, help="Events (fixes, sightings, taps) per second in all.")
    ] = 50.0,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of walking.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Same seed, same shoppers and walks.")] = 1,
    report: Annotated[
        Path | None, typer.Option(help="JSON report (and an SVG plot beside it).")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="VICINITY_KEY",
            help="An operator key; by default a temporary one is made in the configured "
            "database and revoked afterwards.",
        ),
    ] = None,
    batch_share: Annotated[float, typer.Option(min=0, max=1, help="Phones sending batches.")] = 0.3,
    bad_share: Annotated[float, typer.Option(min=0, max=1, help="Share of bad fixes.")] = 0.03,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at most.")] = 64,
) -> None:
    """Virtual shoppers walk the demo city and drive the API; a live summary, then a report."""
    from simulator.errors import SetupFailed
    from simulator.main import run
    from simulator.run import Config

    config = Config(url, users, rate, duration, seed, batch_share, bad_share, concurrency)
    if key is not None:
        try:
            run(config, key, report=report, console=console)
        except SetupFailed as error:
            _fail(str(error))
        return
    with _migrated() as session:
        made, secret = create_api_key(session, name="simulator", role=Role.OPERATOR, store_ids=[])
        made_id = made.id
    try:
        run(config, secret, report=report, console=console)
    except SetupFailed as error:
        _fail(str(error))
    finally:
        with _migrated() as session:
            revoke_api_key(session, key_id=made_id)


@app.command()
def migrate() -> None:
    """Apply database migrations and seed the segment taxonomy."""
    _prepare(demo=False)
    console.print(f"[green]✓[/] database is up to date ({get_settings().database_url})")


@keys.command("create")
def create_key(
    role: Annotated[Role, typer.Option(help="operator, store or tech")],
    name: Annotated[str, typer.Option(help="Who holds the key.")],
    store: Annotated[list[int] | None, typer.Option(help="Store id (repeat for several).")] = None,
    all_stores: Annotated[
        bool, typer.Option("--all-stores", help="A field-tech key for the whole fleet.")
    ] = False,
) -> None:
    """Create an API key; the secret is printed once and stored hashed."""
    with _migrated() as session:
        key, secret = create_api_key(
            session, name=name, role=role, store_ids=store or [], all_stores=all_stores
        )
        key_id, scope = key.id, _scope(key)
    console.print(f"[green]✓[/] key {key_id} ({role.value}, {scope}) for {name}:")
    console.print(secret, highlight=False, soft_wrap=True)


@keys.command("list")
def list_keys() -> None:
    """Every key: its role, scope and state (secrets are never shown again)."""
    table = Table("id", "name", "role", "scope")
    for column in ("created", "rotated", "state"):
        table.add_column(column, no_wrap=True)
    with _migrated() as session:
        after = 0
        while page := list_api_keys(session, after=after, limit=200):
            for key in page:
                state = "active" if key.revoked_at is None else f"revoked {_at(key.revoked_at)}"
                table.add_row(
                    str(key.id),
                    key.name,
                    key.role,
                    _scope(key),
                    _at(key.created_at),
                    _at(key.rotated_at),
                    state,
                    style="dim" if key.revoked_at is not None else None,
                )
            after = page[-1].id
    console.print(table)


@keys.command("revoke")
def revoke_key(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")],
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    with _migrated() as session:
        key = revoke_api_key(session, key_id=key_id)
        name, role = key.name, key.role
    console.print(f"[green]✓[/] key {key_id} ({role}, {name}) is revoked")


@keys.command("rotate")
def rotate_key(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")],
) -> None:
    """A new secret for the same key and scope; the old secret stops working at once."""
    with _migrated() as session:
        key, secret = rotate_api_key(session, key_id=key_id)
        name, role = key.name, key.role
    console.print(f"[green]✓[/] key {key_id} ({role}, {name}) has a new secret:")
    console.print(secret, highlight=False, soft_wrap=True)


@keys.command("audit")
def audit_key(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")],
    last: Annotated[int, typer.Option(min=1, max=10_000, help="How many recent uses.")] = 50,
) -> None:
    """A key's last uses, oldest first: when, from where, what it called and the answer."""
    table = Table("id", "at (UTC)", "client", "request", "status")
    with _migrated() as session:
        get_api_key(session, key_id=key_id)  # an unknown key is an error, not an empty list
        rows = list_uses(session, key_id=key_id, after=0, limit=last, newest_first=True)
        for use in reversed(rows):
            request = f"{use.method} {use.path}"
            when = f"{use.at:%Y-%m-%d %H:%M:%S}"
            table.add_row(str(use.id), when, use.client_ip or "", request, str(use.status))
    console.print(table)


def _scope(key: ApiKey) -> str:
    if key.role == Role.OPERATOR.value or key.all_stores:
        return "all stores"
    if not key.stores:
        return "no store (its stores were deleted)"
    return "stores " + ", ".join(str(s.id) for s in sorted(key.stores, key=lambda s: s.id))


def _at(when: datetime | None) -> str:
    return "" if when is None else f"{when:%Y-%m-%d %H:%M}"


if __name__ == "__main__":
    app()
