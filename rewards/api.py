"""Rewards: redemption codes, purchases, attribution and the points ledger: HTTP endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["rewards"])
