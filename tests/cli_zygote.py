"""The ``strongroom`` command run in a forked child of an interpreter that has
imported it once: the end-to-end tests' commands without an interpreter's start
each time.

Every end-to-end test runs the real command in a process of its own, and most of
the CPU of the end-to-end tests went into starting Python and importing the CLI,
SQLAlchemy and the catalog's tables again for each of several hundred commands
(about 0.5 s of CPU each). Here one process per test process imports them once
and forks a child per command: the child takes the command's environment,
working folder and arguments, reads nothing on stdin, writes its stdout and
stderr to files, and exits with the command's exit code, as
``python -m strongroom.cli ARGS`` does.

What a fork cannot stand for still starts a new interpreter (``tests.cli_runner``):
a command whose clock is moved on (``faketime`` preloads a library), one run on
a terminal or started to be stopped (``subprocess.Popen``), and what measures the command's own start
(``tests/e2e/test_help_starts_fast.py``, ``tests/fresh_process.py``). No module
of the project reads the environment when it is imported (settings are read by
``Settings.from_env`` when a command runs; ``tests/unit/test_layers.py`` holds
to it), so a child sees only its command's environment.

Run as ``python -m tests.cli_zygote``: one JSON request per line on stdin
(``args``, ``env``, ``cwd``, ``stdout``, ``stderr``: file paths), one JSON
reply per line on stdout (``code``).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, NoReturn

#: Imported once by the zygote: what most commands import when they run.
PRELOAD = ("strongroom.cli", "strongroom.cli.commands", "strongroom.cli.base",
           "strongroom.cli.batches", "strongroom.cli.packages", "strongroom.cli.fixity",
           "strongroom.cli.audit", "strongroom.bootstrap", "strongroom.settings",
           "strongroom.reports", "storage.catalog", "storage.filesystem", "ingest.pipeline",
           "ingest.submission", "boto3", "storage.s3", "workers.dispatch")


def _child(request: dict[str, Any]) -> NoReturn:
    """In the forked child: become the command, run it, exit with its code."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null = os.open(request.get("stdin") or os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [sys.argv[0], *request["args"]]
        sys.stdin = open(0, closefd=False)  # noqa: SIM115  (not the zygote's buffered requests)
        from strongroom.cli import main

        main.main(args=request["args"], prog_name="strongroom")
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if done.code is not None and not isinstance(done.code, int):
            print(done.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001  (as an uncaught error ends `python -m`: a traceback, exit 1)
        traceback.print_exc()
        code = 1
    # The interpreter ends as after `python -m`: exit handlers, finalizers (the
    # catalog's SQLite connection closed as a command's own exit closes it).
    raise SystemExit(code)


def serve() -> None:
    """The zygote's loop (``python -m tests.cli_zygote``)."""
    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the tests' terminal is theirs
    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        replies.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


class Zygote:
    """The tests' end: one zygote per test process, started on first use, asked for
    one command at a time (a second command asked meanwhile, from another
    thread, is not made to wait: it gets ``None`` and starts an interpreter)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def run(self, args: list[str], env: dict[str, str], cwd: Path | None, folder: Path, *,
            stdin: str | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess[str] | None:
        """The command's exit code and output, as ``subprocess.run(text=True)``
        gives them; ``stdin``: the text it reads. Raises subprocess.TimeoutExpired
        after ``timeout`` seconds (the command and the zygote are killed)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            process = self._started()
            out, err = folder / "stdout", folder / "stderr"
            request: dict[str, Any] = {"args": args, "env": env, "cwd": str(cwd or Path.cwd()),
                                       "stdout": str(out), "stderr": str(err)}
            if stdin is not None:
                (folder / "stdin").write_text(stdin)
                request["stdin"] = str(folder / "stdin")
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], timeout)
            if not ready:
                self._kill()
                raise subprocess.TimeoutExpired(args, timeout or 0)
            reply = process.stdout.readline()
            if not reply:
                self._process = None
                raise RuntimeError("the CLI zygote ended")
            code = json.loads(reply)["code"]
            return subprocess.CompletedProcess(args, code, out.read_text(), err.read_text())
        finally:
            self._lock.release()

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def _started(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            root = Path(__file__).resolve().parents[1]
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.cli_zygote"], cwd=root, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True, env={
                    k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")})
            atexit.register(self.close)
        return self._process

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    serve()
