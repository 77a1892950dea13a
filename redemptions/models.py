"""Redemption codes: models."""

from __future__ import annotations
