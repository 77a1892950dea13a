"""The catalogue: stores' items and first-class brands: tables."""

from __future__ import annotations
