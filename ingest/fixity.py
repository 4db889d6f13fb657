"""Fixity: the SHA-256 and SHA-512 of a file, computed in one read.

Every byte of a payload file is read once: each chunk goes to both digests and,
when the caller gives a ``sink``, on to the object store in the same pass. The
two digests run side by side (SHA-512 on a worker thread, SHA-256 and the sink
on the caller's thread): ``hashlib`` releases the GIL while it hashes more than
2 KiB, so a large file takes about as long as its slower digest, not the sum.

The SHA-512 runs one chunk behind: while the worker hashes chunk k, the caller
already reads chunk k+1, hashes it with SHA-256 and hands it to the sink. The
read (a network stream, for S3) and the sink (an upload) thus overlap the
slower digest instead of waiting for it, and the two threads meet once per
chunk rather than twice. Memory stays flat whatever the size: two reused
buffers of ``chunk_size``.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

#: Bytes read per step; large enough that thread hand-off costs nothing.
CHUNK_SIZE = 1024 * 1024
#: The digests of every stored file, in the order bags list their manifests.
ALGORITHMS = ("sha256", "sha512")

#: The first read of a file: enough for most files of an archive in one go.
FIRST_CHUNK = 64 * 1024

# Below this, a chunk is hashed on the caller's thread: handing it to another
# thread would cost more than the digest itself.
_PARALLEL_MIN = 64 * 1024


@dataclass(frozen=True)
class Digests:
    """Size in bytes and hex digests of one file."""

    size: int
    sha256: str
    sha512: str


def digest_stream(source: BinaryIO,
                  sink: Callable[[memoryview], None] | None = None,
                  *, chunk_size: int = CHUNK_SIZE) -> Digests:
    """Read ``source`` to its end once, hashing every byte and passing it to ``sink``.

    ``sink`` (for instance an object writer's ``write``) gets each chunk, in
    order, as a memoryview of a buffer that is reused for a later chunk: it
    must copy what it keeps before it returns. Whatever ``source.read`` /
    ``readinto`` or ``sink`` raises propagates unchanged (StorageUnavailable
    from a writer, OSError from a file); the source is not closed here.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    sha256 = hashlib.sha256()
    sha512 = hashlib.sha512()
    size = 0
    # Most files of an archive are small: the first buffer is small too, and
    # the full-size pair is made only when a file goes on past it. (A fresh
    # megabyte per file, zeroed and faulted in page by page, cost more than
    # hashing an 8 KiB file did.)
    views: list[memoryview] = [memoryview(bytearray(min(chunk_size, FIRST_CHUNK)))]
    readinto = getattr(source, "readinto", None)
    behind = _Behind(sha512)
    _streams.enter()
    try:
        for turn in itertools.count():
            if readinto is not None:
                if turn == 1:
                    views.append(memoryview(bytearray(chunk_size)))
                elif turn == 2 and len(views[0]) < chunk_size:
                    # chunk 0 is hashed (handing over chunk 1 waited for it): its
                    # small buffer gives way to a full-size one
                    views[0] = memoryview(bytearray(chunk_size))
                view = views[turn % 2]  # not the buffer the worker may still be hashing
                count = _fill(readinto, view)
                chunk = view[:count]
            else:
                # A stream without readinto hands us fresh bytes each time.
                data = source.read(chunk_size)
                count = len(data)
                chunk = memoryview(data)
            if count == 0:
                break
            size += count
            sha256.update(chunk)
            if sink is not None:
                sink(chunk)
            behind.update(chunk)
            if readinto is not None and count < len(view):
                break  # _fill stops short only at the end: no further read, no buffer
    finally:
        # Whether we finish or a read or the sink failed, the worker must be
        # done with our buffers before they are given up.
        behind.wait()
        _streams.leave()
    return Digests(size=size, sha256=sha256.hexdigest(), sha512=sha512.hexdigest())


def digest_bytes(data: bytes) -> Digests:
    """Size and digests of bytes already in memory (tag files). Raises nothing."""
    running = RunningDigests()
    running.update(data)
    return running.digests()


class RunningDigests:
    """Size and digests of bytes that pass by piece by piece (a delivery that streams
    a stored file on while it checks it): each piece is hashed in line, as it is
    handed over, and never copied. ``digests()`` gives the result so far."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512()
        self._size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._sha256.update(chunk)
        self._sha512.update(chunk)
        self._size += len(chunk)

    def digests(self) -> Digests:
        return Digests(size=self._size, sha256=self._sha256.hexdigest(), sha512=self._sha512.hexdigest())


# --------------------------------------------------------------------------- internals


def _fill(readinto: Callable[[memoryview], int | None], view: memoryview) -> int:
    """Read until ``view`` is full or the stream ends; return the count.

    Raw streams (sockets, pipes) return short reads; filling the buffer keeps
    chunks large enough to be hashed in parallel.
    """
    filled = 0
    total = len(view)
    while filled < total:
        count = readinto(view[filled:])
        if count is None:
            raise BlockingIOError("digest_stream needs a blocking stream")
        if count == 0:
            break
        filled += count
    return filled


class _Behind:
    """SHA-512 of a stream's chunks, one chunk behind the caller, on a worker thread.

    At most one chunk is in flight, so updates stay in order and the caller may
    refill a buffer as soon as the chunk after it has been handed over.
    """

    def __init__(self, digest: hashlib._Hash) -> None:
        self._digest = digest
        self._pending: Future[None] | None = None

    def update(self, chunk: memoryview) -> None:
        """Hash ``chunk`` after every chunk before it; return once it is under way."""
        self.wait()
        if len(chunk) >= _PARALLEL_MIN and not _streams.cores_busy():
            self._pending = _pool().submit(self._digest.update, chunk)
        else:
            self._digest.update(chunk)

    def wait(self) -> None:
        """Return once every chunk handed over is hashed; re-raise the worker's error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()


class _StreamCount:
    """How many ``digest_stream`` calls of this process are running now.

    Handing SHA-512 to another thread pays only while a core is free for it: one
    stream alone gains from it, but as many streams as cores (two copies
    verified at once, two items ingested at once) already keep every core busy,
    and each hand-over then only adds a thread switch per chunk. So a stream
    hashes SHA-512 itself, in line, whenever the streams fill the cores.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._cores = os.cpu_count() or 1

    def enter(self) -> None:
        with self._lock:
            self._count += 1

    def leave(self) -> None:
        with self._lock:
            self._count -= 1

    def cores_busy(self) -> bool:
        return self._count >= self._cores


_streams = _StreamCount()

_pool_lock = threading.Lock()
_pool_instance: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def _pool() -> ThreadPoolExecutor:
    """The shared SHA-512 threads, created on first use and again after a fork.

    A forked worker process (Celery prefork) inherits the executor object but
    not its threads; it gets a fresh one rather than waiting forever.
    """
    global _pool_instance, _pool_pid
    pid = os.getpid()
    if _pool_instance is None or _pool_pid != pid:
        with _pool_lock:
            if _pool_instance is None or _pool_pid != pid:
                # One thread per core, at most a few: each in-flight digest
                # of any caller thread needs one while its chunk is hashed.
                workers = max(2, min(8, os.cpu_count() or 2))
                _pool_instance = ThreadPoolExecutor(max_workers=workers,
                                                    thread_name_prefix="fixity-sha512")
                _pool_pid = pid
    return _pool_instance


def _forget_pool_after_fork() -> None:
    global _pool_instance, _pool_pid, _pool_lock
    _pool_instance = None
    _pool_pid = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


__all__ = ["ALGORITHMS", "CHUNK_SIZE", "Digests", "digest_bytes", "digest_stream"]
