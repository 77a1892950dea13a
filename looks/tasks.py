"""The process's image store, for work outside a request (erasure, jobs): built from this
process's runtime, like the request dependency in ``looks.api``."""

from __future__ import annotations

from looks.images import ImageStore, local_store
from server.runtime import current


def process_image_store() -> ImageStore:
    return local_store(current().settings.var_dir)
