"""Redemption codes: one-time codes for pushed offers, points spending and purchases."""
