"""Looks: outfits users post, tagged with catalogue items and brands: tables."""

from __future__ import annotations
