"""The real ``strongroom`` command, run in a subprocess: the helpers of the end-to-end tests.

Only ``tests/e2e`` starts the CLI in a subprocess; ``tests/unit`` calls ``strongroom.cli.main``
in process (``click.testing.CliRunner``) or the use case itself, and
``tests/unit/test_layers.py`` fails when a unit test starts the CLI through this module or
names the ``strongroom.cli`` module to a new interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "batch"
#: The command line that starts the CLI: the interpreter of the tests, so the checkout is used.
CLI = [sys.executable, "-m", "strongroom.cli"]


def cli_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any STRONGROOM_* setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env.update(settings)
    return env


def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """``strongroom ARGS`` in a subprocess; stdout and stderr captured as text."""
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, check=False)


class Strongroom:
    """Runs the CLI against one data folder."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.env = cli_env(STRONGROOM_DATA_DIR=str(data), STRONGROOM_RETRY_BACKOFF="0")

    def run(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        result = run_cli(*args, env=self.env, cwd=self.data.parent)
        if expect is not None:
            assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
        return result

    def json(self, *args: str, expect: int | None = 0) -> dict:
        result = self.run(*args, "--json", expect=expect)
        return json.loads(result.stdout)  # exactly one JSON document on stdout

    @property
    def objects(self) -> Path:
        return self.data / "objects"
