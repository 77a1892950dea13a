from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.principal import Role
from tests.factories import api_key


@pytest.fixture
def operator(sessions: sessionmaker[Session]) -> str:
    return api_key(sessions, Role.OPERATOR)
