"""The field tool's bleak is an optional extra: serving never loads it."""

from __future__ import annotations

import subprocess
import sys

SERVE_IMPORTS = """
import sys
import server.cli
from kernel.config import Settings
from server.app import create_app
create_app(Settings(database_url="sqlite://", redis_url=None))
assert "bleak" not in sys.modules, sorted(m for m in sys.modules if m.startswith("bleak"))
print("ok")
"""


def test_serving_does_not_import_bleak() -> None:
    # A fresh interpreter: this test process has bleak loaded by the field-tool tests.
    done = subprocess.run(
        [sys.executable, "-c", SERVE_IMPORTS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
