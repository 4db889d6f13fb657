"""Format identification in a process of its own, beside the ingesting one.

Matching PRONOM's signatures (``storage.fido_formats``) is Python that holds
the GIL for about a millisecond a file, whatever the file's size: in the
ingesting process it takes turns with hashing, writing and the catalog on one
core, and for small files it is the largest single share of an item's time.
Here it runs in a child process, on another core, and the signatures load
there (about half a second) while this process opens its catalog and reads
the batch. The ingesting thread hands over the head and tail it kept from its
one read and waits for the answer, the GIL released: the other ingesting
threads go on meanwhile.

The answer is the same as in process: the child runs the same
``FidoIdentifier``. Whenever the child cannot answer (it could not be started,
it died, a pipe broke) the file is identified in this process instead and every
later file too; a process that was forked from the one that started the child
(a prefork worker) never writes to its parent's pipe and identifies in process.
An error raised by the matching itself is raised here, as it would be in
process.

The child is ``python -m storage.format_process`` with two pipes: each request
is three lengths and the head, tail and name; each answer a length and a JSON
document (the format, null, or an error). About ten microseconds of this
process's time a file, against most of a millisecond to match it here.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any, BinaryIO

from ingest.format_identification import IdentifiedFormat
from storage.fido_formats import FidoIdentifier, fido_identifier

_log = logging.getLogger(__name__)

_REQUEST = struct.Struct("<III")
_ANSWER = struct.Struct("<I")
#: a tail length meaning "the tail is the head" (a file no longer than a head):
#: its bytes are sent once
_SAME_AS_HEAD = 0xFFFFFFFF
#: bytes the pipe to the child holds (Linux): an item's files are read faster
#: than they are matched, and a full pipe would make the ingest wait for the
#: matching of the files before them
_PIPE_BYTES = 1024 * 1024


class _ChildGone(Exception):
    """The child ended with this file's answer still to come."""


class IdentifierProcess:
    """The ``FormatIdentifier`` port, matched in a child process started on the
    first ``warm_up`` or ``identify``. Requests are written in turn under a
    lock; the child answers them in order, and a reader thread hands each
    answer to the request first in line."""

    def __init__(self, local: FidoIdentifier) -> None:
        #: matches in this process when the child cannot (loaded only then)
        self._local = local
        self.bufsize = local.bufsize
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._waiting: deque[Future[Any]] = deque()
        self._pid = os.getpid()
        self._given_up = False

    @property
    def tool(self) -> str:
        """fido and its version (read on first use, ``FidoIdentifier.tool``)."""
        return self._local.tool

    @property
    def signatures(self) -> str:
        """The PRONOM release of the signatures (``FidoIdentifier.signatures``)."""
        return self._local.signatures

    def warm_up(self) -> None:
        """Start the child now, so that its signatures load while the caller
        does other work."""
        with self._lock:
            self._ensure_started()

    def identify(self, head: bytes, tail: bytes, name: str) -> IdentifiedFormat | None:
        return self.identify_soon(head, tail, name)()

    def identify_soon(self, head: bytes, tail: bytes,
                      name: str) -> Callable[[], IdentifiedFormat | None]:
        with self._lock:
            child = self._ensure_started()
            if child is not None:
                future: Future[Any] = Future()
                encoded = name.encode("utf-8", "surrogateescape")
                # In line before it is written: the answer may come at once.
                self._waiting.append(future)
                assert child.stdin is not None
                same = tail == head
                try:
                    _write_all(child.stdin.fileno(), [
                        _REQUEST.pack(len(head), _SAME_AS_HEAD if same else len(tail),
                                      len(encoded)),
                        head, b"" if same else tail, encoded])
                except OSError as exc:
                    self._give_up(f"{type(exc).__name__}: {exc}")
                else:
                    return lambda: self._answer(future, head, tail, name)
        found = self._local.identify(head, tail, name)
        return lambda: found

    def _answer(self, future: Future[Any], head: bytes, tail: bytes,
                name: str) -> IdentifiedFormat | None:
        try:
            answer = future.result()
        except _ChildGone:
            return self._local.identify(head, tail, name)
        if isinstance(answer, dict) and "error" in answer:
            raise RuntimeError(f"format identification failed: {answer['error']}")
        return IdentifiedFormat(**answer) if answer is not None else None

    def close(self) -> None:
        """Stop the child (it also stops on its own when this process ends)."""
        with self._lock:
            child, self._child = self._child, None
            if child is not None and os.getpid() == self._pid:
                _end(child)

    def _ensure_started(self) -> subprocess.Popen[bytes] | None:
        """The live child, started the first time; None when identifying in
        this process."""
        if self._given_up or os.getpid() != self._pid:
            return None
        if self._child is None:
            # The folder that holds the ``storage`` package, first on the child's
            # path: it runs this code whatever way this process found it.
            env = dict(os.environ)
            root = str(Path(__file__).resolve().parents[1])
            env["PYTHONPATH"] = os.pathsep.join(
                [root, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
            try:
                child = subprocess.Popen(
                    [sys.executable, "-m", "storage.format_process"], env=env,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                    # not in the terminal's process group: a Ctrl-C is this
                    # process's to handle; the child ends when its pipe closes
                    start_new_session=True)
            except OSError as exc:
                self._give_up(f"could not start: {type(exc).__name__}: {exc}")
                return None
            self._child = child
            _widen_pipe(child)
            threading.Thread(target=self._read_answers, args=(child,), daemon=True,
                             name="formats-answers").start()
        return self._child

    def _read_answers(self, child: subprocess.Popen[bytes]) -> None:
        """The reader thread: each answer to the request first in line, until
        the child's answers end; then every request still in line is told."""
        assert child.stdout is not None
        try:
            while True:
                (size,) = _ANSWER.unpack(_read_exactly(child.stdout, _ANSWER.size))
                answer = json.loads(_read_exactly(child.stdout, size))
                # No lock: a writer holds it while the child may wait for us
                # to read; the line's order is the order the requests went in.
                self._waiting.popleft().set_result(answer)
        except (OSError, EOFError, ValueError) as exc:
            with self._lock:
                if self._child is child:
                    self._give_up(f"{type(exc).__name__}: {exc}")
                waiting, self._waiting = self._waiting, deque()
            for future in waiting:
                future.set_exception(_ChildGone())

    def _give_up(self, why: str) -> None:
        """Identify in this process from now on (called holding the lock)."""
        _log.warning("format identification goes on in this process (%s)", why)
        self._given_up = True
        child, self._child = self._child, None
        if child is not None:
            child.kill()  # the reader thread then tells the requests in line


def _widen_pipe(child: subprocess.Popen[bytes]) -> None:
    """Let the pipe to the child hold ``_PIPE_BYTES`` where the system allows
    (Linux's ``F_SETPIPE_SZ``); elsewhere, or when refused, it keeps its size."""
    try:
        import fcntl

        assert child.stdin is not None
        fcntl.fcntl(child.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _write_all(fd: int, buffers: list[bytes]) -> None:
    total = sum(len(b) for b in buffers)
    written = os.writev(fd, buffers)
    if written < total:  # a write cut short (a signal): the rest, in one piece
        rest = b"".join(buffers)[written:]
        while rest:
            rest = rest[os.write(fd, rest):]


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    parts = []
    while size:
        part = os.read(stream.fileno(), size)
        if not part:
            raise EOFError("the formats process ended")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _end(child: subprocess.Popen[bytes]) -> None:
    for stream in (child.stdin, child.stdout):
        if stream is not None:
            stream.close()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The child: load the signatures, then answer until the requests end."""
    identifier = FidoIdentifier()
    identifier.warm_up()
    while True:
        header = requests.read(_REQUEST.size)
        if len(header) < _REQUEST.size:
            return
        head_size, tail_size, name_size = _REQUEST.unpack(header)
        head = requests.read(head_size)
        tail = head if tail_size == _SAME_AS_HEAD else requests.read(tail_size)
        name = requests.read(name_size).decode("utf-8", "surrogateescape")
        try:
            found = identifier.identify(head, tail, name)
            answer: Any = found.to_dict() if found is not None else None
        except Exception as exc:  # noqa: BLE001 - told to the parent, which raises it
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(answer).encode("utf-8")
        answers.write(_ANSWER.pack(len(data)) + data)
        answers.flush()


def format_identifier() -> FidoIdentifier | IdentifierProcess:
    """The identifier an ingest uses: matched in a child process where there is
    another core to run it on, else in this process."""
    if (os.cpu_count() or 1) < 2:
        return fido_identifier()
    return _process_identifier()


_shared: IdentifierProcess | None = None
_shared_lock = threading.Lock()


def _process_identifier() -> IdentifierProcess:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = IdentifierProcess(fido_identifier())
        return _shared


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)


__all__ = ["IdentifierProcess", "format_identifier", "serve"]
