"""A redemption code as a QR image for the till's scanner."""

from __future__ import annotations

import io

import segno

PREFIX = "VICINITY:REDEEM:"


def payload(code: str) -> str:
    """The text the image encodes: the prefix tells a scanner what it is reading."""
    return f"{PREFIX}{code}"


def png(code: str, *, scale: int = 8) -> bytes:
    """The payload as a PNG; error correction M survives a scratched or glaring screen."""
    image = segno.make_qr(payload(code), error="m")
    out = io.BytesIO()
    image.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
