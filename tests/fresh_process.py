"""What a piece of code loads, run in a Python process of its own.

Start-up tests ask whether a command, or building the services, imports a heavy
library it does not use; the test process itself has imported everything, so
the code runs in a fresh interpreter, which reports the modules it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping

_MARK = "loaded-modules:"


def run_fresh(code: str, watched: Iterable[str],
              env: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Run ``code`` in a new Python; return which of ``watched`` it loaded (a name
    counts when the module, or any module inside it, was imported), sorted, and
    the lines the code printed. Fails the test when the code raises."""
    report = (f"\nimport json as _json, sys as _sys\n"
              f"print({_MARK!r} + _json.dumps(sorted(name for name in {sorted(watched)!r} "
              f"if any(m == name or m.startswith(name + '.') for m in _sys.modules))))\n")
    run = subprocess.run([sys.executable, "-c", code + report], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    loaded = json.loads(lines[-1].removeprefix(_MARK))
    return loaded, lines[:-1]


def modules_loaded(code: str, watched: Iterable[str],
                   env: Mapping[str, str] | None = None) -> list[str]:
    """Which of ``watched`` ``code`` loads in a new Python (see ``run_fresh``)."""
    return run_fresh(code, watched, env)[0]
