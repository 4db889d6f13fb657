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
import tempfile
from pathlib import Path

from tests.cli_zygote import Zygote

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "batch"
#: The command line that starts the CLI: the interpreter of the tests, so the checkout is used.
CLI = [sys.executable, "-m", "strongroom.cli"]


def cli_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any STRONGROOM_* setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env.update(settings)
    return env


#: Runs a command with its clock moved on (libfaketime's ``faketime``, from Debian's
#: package of that name; ``.ci/run`` installs it): how a test lets days pass.
FAKETIME = "faketime"


def _later(days: float | None) -> list[str]:
    """The command line prefix that runs a command ``days`` later (none for None).
    Only the wall clock moves: timers and sleeps keep the machine's monotonic clock."""
    if days is None:
        return []
    return ["env", "FAKETIME_DONT_FAKE_MONOTONIC=1", FAKETIME, "-f", f"+{days * 86400:.0f}"]


#: One per test process: commands forked from an interpreter that imported the CLI once.
_ZYGOTE = Zygote()


def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None,
            timeout: float | None = None, days_later: float | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``strongroom ARGS`` in a process of its own; stdout and stderr captured as
    text, ``stdin`` the text it reads (none: it reads nothing). The process is
    forked from one that imported the CLI once (``tests.cli_zygote``), or is a
    new interpreter with ``days_later``: the command runs with its clock that many
    days ahead of the machine's, as if it were run then (what it records is
    dated then). Raises subprocess.TimeoutExpired after ``timeout`` seconds."""
    if days_later is None:
        with tempfile.TemporaryDirectory(prefix="cli-") as folder:
            done = _ZYGOTE.run(list(args), env, cwd, Path(folder), stdin=stdin, timeout=timeout)
        if done is not None:
            return done
    return subprocess.run([*_later(days_later), *CLI, *args], env=env, capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, check=False,
                          input=stdin if stdin is not None else "")


class Strongroom:
    """Runs the CLI against one data folder."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.env = cli_env(STRONGROOM_DATA_DIR=str(data), STRONGROOM_RETRY_BACKOFF="0")

    def run(self, *args: str, expect: int | None = 0,
            days_later: float | None = None) -> subprocess.CompletedProcess[str]:
        result = run_cli(*args, env=self.env, cwd=self.data.parent, days_later=days_later)
        if expect is not None:
            assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
        return result

    def json(self, *args: str, expect: int | None = 0, days_later: float | None = None) -> dict:
        result = self.run(*args, "--json", expect=expect, days_later=days_later)
        return json.loads(result.stdout)  # exactly one JSON document on stdout

    @property
    def objects(self) -> Path:
        return self.data / "objects"


class Terminal:
    """``strongroom ARGS`` run on a pseudo-terminal, as a person at a terminal runs it:
    stdin, stdout and stderr are the terminal (or stdout a pipe, with ``stdout_to_pipe``)."""

    def __init__(self, *args: str, env: dict[str, str], cwd: Path | None = None,
                 stdout_to_pipe: bool = False, days_later: float | None = None) -> None:
        import pty

        self.master, slave = pty.openpty()
        out = subprocess.PIPE if stdout_to_pipe else slave
        env = {**env, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
        self.process = subprocess.Popen([*_later(days_later), *CLI, *args], env=env, cwd=cwd,
                                        stdin=slave, stdout=out,
                                        stderr=slave, start_new_session=True, close_fds=True)
        os.close(slave)
        self.output = b""

    def read_until(self, wanted: bytes, timeout: float = 60.0) -> bool:
        """Read what the terminal shows until ``wanted`` appears (True) or the
        command ends or ``timeout`` passes (False)."""
        import select
        import time

        deadline = time.monotonic() + timeout
        while wanted not in self.output:
            if time.monotonic() > deadline:
                return False
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the command ended and closed the terminal
                return False
            if not data:
                return False
            self.output += data
        return True

    def finish(self, timeout: float = 120.0) -> tuple[int, str, str]:
        """Wait for the end: the exit code, what the terminal showed (escapes and
        all) and what went to the stdout pipe, if any."""
        self.read_until(b"\0never\0", timeout=timeout)
        code = self.process.wait(timeout=timeout)
        piped = self.process.stdout.read().decode() if self.process.stdout else ""
        os.close(self.master)
        return code, self.output.decode(errors="replace"), piped
