"""The webhook tests deliver to a receiver on this machine: private targets are allowed
here (``VICINITY_WEBHOOK_ALLOW_PRIVATE``); test_targets.py holds the refusals."""

from __future__ import annotations

import pytest

from kernel.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True})
