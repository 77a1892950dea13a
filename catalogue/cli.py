"""`vicinity items …`: the store catalogue from the command line.

The app (``server.cli``) hands in how to open a transaction on the migrated database, so
this domain never imports the app and a command run against a missing or unmigrated
database is refused there, in one line, like every other command.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from catalogue.importer import parse_csv
from catalogue.service import ImportReport, import_items
from kernel.errors import Invalid

Transaction = Callable[[], AbstractContextManager[Session]]
"""Opens a transaction on the migrated database, committed when the block ends."""

console = Console()
errors = Console(stderr=True)


def items_app(transaction: Transaction) -> typer.Typer:
    app = typer.Typer(help="Store catalogues: import items from CSV.", no_args_is_help=True)

    @app.command("import")
    def import_file(
        file: Annotated[Path, typer.Argument(help="CSV file (UTF-8) with a header line.")],
        store: Annotated[int, typer.Option(help="The store's id.", min=1)],
    ) -> None:
        """Import a store's items from CSV, matched by SKU (importing twice changes nothing).

        Columns: sku,name,price,currency and optionally brand,segment,image_url,active.
        Exit status: 0 all rows imported, 1 some rows rejected (the others are imported),
        2 the file or the store refused (nothing imported).
        """
        report = run_import(transaction, file, store)
        show(report, store)
        if report.rejected:
            raise typer.Exit(1)

    return app


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise Invalid(f"cannot read {path}: {error.strerror or error}") from error


def run_import(transaction: Transaction, path: Path, store_id: int) -> ImportReport:
    """Read and check the whole file, then write it in one transaction: a file refused
    as a whole, or a failure while writing, leaves the catalogue untouched."""
    parsed = parse_csv(read_file(path))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # Drawn on a terminal only: a pipe or a log file gets the report alone.
    quiet = not errors.is_terminal
    with Progress(*columns, console=errors, transient=True, disable=quiet) as bar:
        task = bar.add_task(f"importing {path.name}", total=len(parsed.rows))
        with transaction() as session:
            return import_items(
                session,
                staff=None,
                store_id=store_id,
                rows=parsed,
                progress=lambda n: bar.advance(task, n),
            )


def show(report: ImportReport, store_id: int) -> None:
    if report.rejected:
        table = Table("line", "sku", "reason", title="Rejected rows")
        for row in report.rejected:
            table.add_row(str(row.line), row.sku or "", row.reason)
        console.print(table)
    summary = (
        f"store {store_id}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.rejected)} rejected"
    )
    mark = "[yellow]![/]" if report.rejected else "[green]✓[/]"
    console.print(f"{mark} {summary}", highlight=False)
