"""The catalogue: stores' items and first-class brands: HTTP endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["catalogue"])
