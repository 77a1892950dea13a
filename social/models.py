"""Friends: profiles, invitations, friendships, blocks and favourite shops: tables."""

from __future__ import annotations
