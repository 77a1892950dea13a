"""``vicinity simulate`` and ``serve --simulate``: refusals are one line and exit status 2."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from server.cli import app


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_one_line_and_exit_2() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = CliRunner().invoke(
        app,
        ["simulate", "--url", url, "--key", "vk_x", "--users", "1", "--duration", "1"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2, result.output
    assert "error: GET /v1/stores: no answer" in result.output
    assert "Traceback" not in result.output


def test_bad_figures_are_refused_before_anything_is_sent() -> None:
    result = CliRunner().invoke(app, ["simulate", "--users", "0"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "--users" in result.output


def test_serve_simulate_needs_the_demo_city() -> None:
    result = CliRunner().invoke(app, ["serve", "--simulate"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "--simulate needs --demo" in result.output
