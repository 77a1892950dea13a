"""Rewards: redemption codes, purchases, attribution and the points ledger: tables."""

from __future__ import annotations
