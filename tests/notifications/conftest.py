from collections.abc import Iterator

import pytest

from tests.fcm_standin import FcmStandIn


@pytest.fixture(scope="session")
def _fcm_standin_server() -> Iterator[FcmStandIn]:
    with FcmStandIn() as standin:
        yield standin


@pytest.fixture
def fcm_standin(_fcm_standin_server: FcmStandIn) -> FcmStandIn:
    """The session's FCM stand-in, emptied and without programmed failures."""
    _fcm_standin_server.reset()
    return _fcm_standin_server
