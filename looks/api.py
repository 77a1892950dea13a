"""Looks: outfits users post, tagged with catalogue items and brands: HTTP endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["looks"])
