from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.factories import api_key
from tests.preferences.world import restore_taxonomy


@pytest.fixture
def operator(sessions: sessionmaker[Session]) -> str:
    return api_key(sessions, Role.OPERATOR)


@pytest.fixture
def taxonomy(sessions: sessionmaker[Session]) -> Iterator[None]:
    """For tests that change the taxonomy: the seeded one is back afterwards."""
    yield
    restore_taxonomy(sessions)
