"""Friends: profiles, invitations, friendships, blocks and favourite shops: HTTP endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["friends"])
