"""Look images: checked, cleaned of their metadata, and kept behind a small storage interface.

An upload is trusted for nothing: its type is read from its bytes (JPEG, PNG or WebP,
whatever the client declared), its size and pixel count are bounded before it is decoded
(a decompression bomb is refused, never decoded), and it is re-encoded from its pixels
alone, so EXIF (GPS position, camera serial, time) and text chunks are gone. The EXIF
orientation is applied to the pixels first, so the photo stands the way it was taken.
The ICC colour profile is kept: it describes colours, not the person or the place.
"""

from __future__ import annotations

import io
import re
import secrets
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from kernel.errors import Invalid, NotFound, PayloadTooLarge

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}\.(jpg|png|webp)$")
# What a decoder may raise on hostile or broken bytes: the client's bad file, a 422.
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    TypeError,
    struct.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


class ImageStore(Protocol):
    """Where uploaded images live: the local filesystem in the embedded default, an object
    store in production (an adapter with these three methods)."""

    def put(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalImageStore:
    """Files under ``root``, one per key; keys are generated here, never taken from clients."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not an image key: {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed: a reader never sees half a file.
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(data)
        partial.replace(path)

    def open(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("the image file is missing") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def local_store(var_dir: Path) -> LocalImageStore:
    """The embedded default's store: ``<var_dir>/images``."""
    return LocalImageStore(var_dir / "images")


def new_key(content_type: str) -> str:
    """A fresh, unguessable key for a cleaned image of this type."""
    return f"{secrets.token_urlsafe(18)}.{EXTENSIONS[content_type]}"


def content_type_of(key: str) -> str:
    extension = key.rsplit(".", 1)[-1]
    return next(t for t, ext in EXTENSIONS.items() if ext == extension)


@contextmanager
def _decoder_warnings() -> Iterator[None]:
    """Pillow only warns of a bomb below twice its own bound: here that is a refusal. It
    also warns of damaged EXIF (a UserWarning), which is about to be dropped anyway."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _opened(data: bytes, max_pixels: int) -> Image.Image:
    """The image, header read only, once its type and pixel count are acceptable."""
    with _decoder_warnings():
        try:
            image = Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES))
        except UnidentifiedImageError:
            raise Invalid("image: not a JPEG, PNG or WebP image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Invalid(f"image: over the limit of {max_pixels} pixels") from None
        except _DECODE_ERRORS:
            raise Invalid("image: the file is damaged or not an image") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise Invalid(f"image: {width}x{height} pixels is over the limit of {max_pixels} pixels")
    return image


def _encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    # Pillow writes some of ``info`` back by default (a JPEG's comment, XMP): keep none of it.
    info, image.info = image.info, {}
    options: dict[str, Any] = {}
    if info.get("icc_profile"):
        options["icc_profile"] = info["icc_profile"]
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        options["quality"] = 90
    elif fmt == "WEBP":
        options["quality"] = 90
    elif info.get("transparency") is not None:
        options["transparency"] = info["transparency"]
    # Only the pixels, the colour profile and a PNG's transparent colour.
    image.save(out, format=fmt, **options)
    return out.getvalue()


def clean_image(data: bytes, max_bytes: int, max_pixels: int) -> tuple[bytes, str]:
    """The upload re-encoded without metadata, and its content type.

    Raises PayloadTooLarge over ``max_bytes``; Invalid for anything but a sound JPEG,
    PNG or WebP of at most ``max_pixels`` pixels. Animated images keep their first frame.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"image: {len(data)} bytes is over the limit of {max_bytes}")
    if not data:
        raise Invalid("image: the file is empty")
    image = _opened(data, max_pixels)
    fmt = str(image.format)
    try:
        with _decoder_warnings():
            image.load()
            upright = ImageOps.exif_transpose(image)
            cleaned = _encoded(upright, fmt)
    except _DECODE_ERRORS:
        raise Invalid("image: the file is damaged or not an image") from None
    return cleaned, CONTENT_TYPES[fmt]
