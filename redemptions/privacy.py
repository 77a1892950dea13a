"""Redemption codes: privacy."""

from __future__ import annotations
