"""`vicinity items …`: the store catalogue from the command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="Store catalogues: import items from CSV.", no_args_is_help=True)
