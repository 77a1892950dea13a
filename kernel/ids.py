"""Database ids as they may appear in requests: positive and within a 32-bit integer,
so an absurd id is a clear 422 rather than an overflow deep in the database driver."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

MAX_ID = 2**31 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive id.")]
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
