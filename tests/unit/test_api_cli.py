"""`strongroom serve` starts uvicorn on loopback by default, with the API app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from strongroom.cli import main


@pytest.mark.parametrize("args, host, port", [
    ([], "127.0.0.1", 8000),
    (["--host", "0.0.0.0", "--port", "9001"], "0.0.0.0", 9001),
])
def test_serve_runs_uvicorn_with_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         args: list[str], host: str, port: int) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    result = CliRunner().invoke(main, ["serve", *args],
                                env={"STRONGROOM_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 0, result.output
    assert isinstance(calls[0]["app"], FastAPI)
    assert (calls[0]["host"], calls[0]["port"]) == (host, port)
    # h11 with a clock on headers and bodies (STRONGROOM_API_HEADER/UPLOAD_TIMEOUT)
    assert (calls[0]["http"].header_timeout, calls[0]["http"].upload_timeout) == (30.0, 900.0)


def test_serve_refuses_a_bad_port() -> None:
    assert CliRunner().invoke(main, ["serve", "--port", "70000"]).exit_code == 2


@pytest.fixture
def root_logger_restored() -> Any:
    """``serve`` configures logging for its process; put the root logger back afterwards."""
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield root
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.mark.parametrize("env, level", [({}, "info"), ({"STRONGROOM_LOG_LEVEL": "warning"}, "warning"),
                                        ({"STRONGROOM_LOG_LEVEL": "DEBUG"}, "debug")])
def test_serve_logs_at_the_level_of_strongroom_log_level(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root_logger_restored: Any,
        env: dict[str, str], level: str) -> None:
    import logging

    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    result = CliRunner().invoke(main, ["serve"],
                                env={"STRONGROOM_DATA_DIR": str(tmp_path / "data"), **env})
    assert result.exit_code == 0, result.output
    assert calls[0]["log_level"] == level
    assert root_logger_restored.level == logging.getLevelName(level.upper())


def test_serve_refuses_an_unknown_log_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(app))
    result = CliRunner().invoke(main, ["serve"], env={"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
                                                      "STRONGROOM_LOG_LEVEL": "chatty"})
    assert result.exit_code == 2
    assert "STRONGROOM_LOG_LEVEL" in result.output and started == []
