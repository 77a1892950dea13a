"""The ``vicinity`` command: serve, migrate, API keys (and field-tech beacon tools)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel

from accounts.service import Role, create_api_key
from beacons.fieldtool.cli import app as beacons_app
from kernel.config import get_settings
from kernel.db import make_engine, make_session_factory, unit_of_work
from preferences.service import seed_taxonomy
from server.migrate import upgrade

app = typer.Typer(
    help="Vicinity: privacy-first location-based marketing server.", no_args_is_help=True
)
keys = typer.Typer(
    help="API keys for store staff, field techs and the operator.", no_args_is_help=True
)
app.add_typer(keys, name="keys")
app.add_typer(beacons_app, name="beacons")
console = Console()


def _prepare(demo: bool, host: str = "127.0.0.1", port: int = 8000) -> None:
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
            return
        count = seed_stores(session)
        access = demo_access(session, policy_version=settings.policy_version)
    engine.dispose()
    lat, lon = access.inside
    base = f"http://{host}:{port}"
    console.print(
        Panel.fit(
            f"[bold]Demo city:[/] {count} Paris shops ({ATTRIBUTION})\n"
            f"API docs:       [link]{base}/docs[/]\n"
            f"Operator key:   {access.operator_key}\n"
            f"Store key:      {access.store_key}  (store {access.store_id})\n"
            f"Shopper token:  {access.user_token}  (consented, device registered)",
            title="Vicinity demo",
        )
    )
    now = "'$(date -u +%FT%TZ)'"
    fix = f'{{"lat":{lat:.6f},"lon":{lon:.6f},"accuracy_m":10,"recorded_at":"{now}"}}'
    console.print("Walk the shopper into the store, then read the outbox:", style="bold")
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


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    demo: Annotated[bool, typer.Option(help="Seed the Paris demo city and print keys.")] = False,
) -> None:
    """Migrate, seed, and run the API server."""
    _prepare(demo, host, port)
    from server.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")


@app.command()
def migrate() -> None:
    """Apply database migrations and seed the segment taxonomy."""
    _prepare(demo=False)
    console.print("[green]✓[/] database is up to date")


@keys.command("create")
def create_key(
    role: Annotated[Role, typer.Option(help="operator, store or tech")],
    name: Annotated[str, typer.Option(help="Who holds the key.")],
    store: Annotated[list[int] | None, typer.Option(help="Store id (repeat for several).")] = None,
) -> None:
    """Create an API key; the secret is printed once and stored hashed."""
    settings = get_settings()
    engine = make_engine(settings)
    if role is Role.STORE and not store:
        console.print("[red]A store key needs at least one --store.[/]")
        raise typer.Exit(2)
    with unit_of_work(make_session_factory(engine)) as session:
        key, secret = create_api_key(session, name=name, role=role, store_ids=store or [])
        key_id = key.id
    engine.dispose()
    console.print(f"[green]✓[/] key {key_id} ({role.value}) for {name}:")
    console.print(secret, highlight=False)


if __name__ == "__main__":
    app()
