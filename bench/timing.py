"""Timing: child processes with their own peak RSS, medians, A B A B rounds."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, its own peak RSS (KiB), exit code, stdout."""

    seconds: float
    max_rss_kib: int
    returncode: int
    stdout: str


def run_child(args: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: Path | None = None, ok: Sequence[int] = (0,)) -> Run:
    """Run ``args`` to its end and time it. ``os.wait4`` gives the rusage of this
    child alone (RUSAGE_CHILDREN would be the maximum over all children so far).
    Raises RuntimeError, with the tail of stderr, when the exit code is not in ``ok``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(args), env=dict(env) if env is not None else None,
                                   cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        # Reap it ourselves: Popen.wait would take the rusage away.
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code not in ok:
        raise RuntimeError(f"{' '.join(map(str, args))} exited {code}: "
                           f"{stderr.decode(errors='replace')[-2000:]}")
    rss = usage.ru_maxrss
    stdout_text = stdout.decode(errors="replace")
    return Run(seconds, rss, code, stdout_text)


#: Runs a command as its own child and writes that child's peak RSS (KiB) to a file.
_PEAK_RSS = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child_peak_rss(args: Sequence[str], env: Mapping[str, str] | None = None) -> Run:
    """``run_child``, with ``max_rss_kib`` measured truly for ``args`` alone.

    A child's ``ru_maxrss`` counts the pages it shared with its parent between
    fork and exec: a child of this (large, long-running) harness would be
    charged the harness's own size. So ``args`` is started by a small launcher
    Python, whose few MiB are all that can be charged that way, and which
    reports its own child's peak. ``seconds`` includes the launcher's start."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as figure:
        run = run_child([sys.executable, "-c", _PEAK_RSS, figure.name, *args], env)
        return Run(run.seconds, int(figure.read() or 0), run.returncode, run.stdout)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def alternate(rounds: int, sides: Mapping[str, Callable[[int], float]],
              log: Callable[[str], None] = lambda line: None) -> dict[str, list[float]]:
    """Call every side once per round, in the given order (A B A B …); a side
    returns one figure for the round. Returns each side's figures, by round."""
    figures: dict[str, list[float]] = {name: [] for name in sides}
    for index in range(rounds):
        for name, side in sides.items():
            value = side(index)
            figures[name].append(value)
            log(f"  round {index + 1}/{rounds} {name}: {value:.4g}")
    return figures


def python() -> str:
    return sys.executable


def strongroom_command() -> list[str]:
    """The installed ``strongroom`` entry point beside this Python, or ``-m``."""
    beside = Path(sys.executable).parent / "strongroom"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "strongroom.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any STRONGROOM_* or AWS_* of the caller, plus ``extra``."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("STRONGROOM_", "AWS_"))}
    env.update(extra)
    return env
