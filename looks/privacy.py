"""looks: the personal data it keeps, registered for export and erasure."""

from __future__ import annotations
