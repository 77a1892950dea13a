"""`vicinity geofences import|export FILE --store ID`: a store's geofences as GeoJSON.

The app (``server.cli``) hands in how to open a transaction on the migrated database, so
this domain never imports the app. The commands work on the database through the same
service functions as the API; the servers' geofence indexes pick the change up at their
next version check (``VICINITY_INDEX_CHECK_S``), as after any change they were not told of.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from geofence.bulk import (
    FeatureCollectionIn,
    FeatureCollectionOut,
    ImportRefused,
    ImportReport,
    export_geofences,
    import_geofences,
)
from geofence.schemas import GeofenceFeature
from geofence.service import Placement
from kernel.config import get_settings
from kernel.errors import Invalid

Transaction = Callable[[], AbstractContextManager[Session]]
"""Opens a transaction on the migrated database, committed when the block ends."""

console = Console()
errors = Console(stderr=True)

StoreOption = Annotated[int, typer.Option(help="The store's id.", min=1)]


def geofences_app(transaction: Transaction) -> typer.Typer:
    app = typer.Typer(
        help="A store's geofences as a GeoJSON FeatureCollection.", no_args_is_help=True
    )

    @app.command("import")
    def import_file(
        file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection (UTF-8).")],
        store: StoreOption,
    ) -> None:
        """Import geofences, matched by `properties.external_id` (importing twice changes
        nothing; the store's other geofences stay).

        Exit status: 0 imported; 2 refused, nothing imported (a table names each bad
        feature, or one line says why the file or the store was refused).
        """
        features = read_collection(file)
        settings = get_settings()
        placement = Placement(settings.store_max_spread_km, settings.max_fence_distance_m)
        try:
            with transaction() as session:
                report = import_geofences(
                    session,
                    staff=None,
                    store_id=store,
                    features=features,
                    placement=placement,
                    on_imported=lambda: None,
                )
        except ImportRefused as refused:
            show_refusal(refused)
            raise typer.Exit(2) from refused
        show(report, store)

    @app.command("export")
    def export_file(
        file: Annotated[Path, typer.Argument(help="Where to write the GeoJSON ('-': stdout).")],
        store: StoreOption,
    ) -> None:
        """Export every geofence of the store; importing the file back changes nothing."""
        with transaction() as session:
            rows = export_geofences(session, staff=None, store_id=store)
            out = FeatureCollectionOut(features=[GeofenceFeature.of(r) for r in rows])
        text = out.model_dump_json(indent=2) + "\n"
        if str(file) == "-":
            typer.echo(text, nl=False)
            return
        try:
            file.write_text(text, encoding="utf-8")
        except OSError as error:
            raise Invalid(f"cannot write {file}: {error.strerror or error}") from error
        console.print(f"[green]✓[/] store {store}: {len(out.features)} geofences → {file}")

    return app


def read_collection(path: Path) -> list[Any]:
    """The file's features, its envelope checked as the API checks it."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as error:
        raise Invalid(f"cannot read {path}: {error.strerror or error}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Invalid(f"{path} is not JSON: {error}") from error
    try:
        return FeatureCollectionIn.model_validate(data).features
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        raise Invalid(f"{path}: {where + ': ' if where else ''}{message}") from error


def show_refusal(refused: ImportRefused) -> None:
    table = Table("#", "external_id", "error", title="Invalid features", title_style="bold red")
    for problem in refused.errors:
        # Text, not markup: a message's "[longitude, latitude]" must print as written.
        table.add_row(str(problem.index), Text(problem.external_id or ""), Text(problem.error))
    errors.print(table)
    errors.print(f"[red]error:[/] {refused.detail}", highlight=False, soft_wrap=True)


def show(report: ImportReport, store_id: int) -> None:
    counts = {o: report.count(o) for o in ("created", "updated", "unchanged")}
    summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    console.print(f"[green]✓[/] store {store_id}: {summary}", highlight=False)
