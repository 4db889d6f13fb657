"""Making a filesystem store's writes durable a version at a time.

``FilesystemObjectStore`` puts an object in place without flushing it and notes
it here (``SyncLedger.note``); ``sync(prefix)`` then fsyncs the files pending
under the prefix several at once (a journaling filesystem folds concurrent
fsyncs into one journal commit) and every folder between them and the store's
root, once each. Why that is safe is in ``storage.filesystem``'s docstring.

A failed fsync may leave the kernel believing dirty pages are clean, so
fsyncing again proves nothing: keys whose sync failed keep failing every sync
covering them until they are written (noted) again or deleted (forgotten).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

#: fsyncs run at once by ``sync``; more brings nothing on a journaling
#: filesystem (measured: 8 and 26 threads alike on a bag of 26 files).
SYNC_THREADS = 8


def fsync_folder(folder: Path) -> None:
    # A rename or a new entry is durable only once its folder is flushed.
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_path(path: Path, folder: bool) -> None:
    """fsync the file or folder now at ``path``; a path gone since (the object
    deleted, its folder pruned) has nothing left to make durable."""
    try:
        if folder:
            fsync_folder(path)
            return
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except (FileNotFoundError, NotADirectoryError):
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _all_done(work: Callable[[Path], None], paths: Iterable[Path]) -> None:
    """Run ``work`` on every path, several at once; raise the first error after
    every call has ended.

    At most ``SYNC_THREADS`` tasks go to the pool, each taking the next path
    until none is left: a task per path cost the caller more of the
    interpreter (a future, a queue entry, a look at the pool's threads, each
    holding the GIL) than a small file's fsync costs the disk."""
    paths = list(paths)
    if len(paths) <= 1:
        for path in paths:
            work(path)
        return
    pending = iter(paths)
    lock = threading.Lock()

    def drain() -> OSError | None:
        first: OSError | None = None
        while True:
            with lock:
                path = next(pending, None)
            if path is None:
                return first
            try:
                work(path)
            except OSError as error:  # every path is still tried
                first = first or error

    pool = _sync_pool()
    futures = [pool.submit(drain) for _ in range(min(SYNC_THREADS, len(paths)))]
    wait(futures)
    for future in futures:
        error = future.result()
        if error is not None:
            raise error


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool_in_child() -> None:
    """A forked child (a prefork worker) has none of its parent's threads: it
    makes its own pool."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def _sync_pool() -> ThreadPoolExecutor:
    """One pool of fsync threads for the process, made on first use: starting
    threads for every version's sync cost more than the fsyncs of a small bag.
    A sync that waits for it runs in another thread, never in the pool itself."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SYNC_THREADS, "fsync")
        return _pool


class UnsyncedFailure(Exception):
    """Objects under a prefix whose earlier sync failed: they must be written again."""

    def __init__(self, prefix: str, keys: list[str]) -> None:
        super().__init__(f"{len(keys)} object(s) under {prefix!r} could not be made durable, "
                         f"e.g. {keys[0]!r}; write them again")
        self.keys = keys


class SyncLedger:
    """The objects of one store committed but not yet durable, and those whose
    sync failed; thread-safe."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()
        #: key → file committed but not yet synced; True when its bytes still
        #: need an fsync (a new name), False when only its folders do
        self._pending: dict[str, tuple[Path, bool]] = {}
        #: keys whose sync failed; every sync covering them fails until rewritten
        self._failed: set[str] = set()

    def note(self, key: str, target: Path, bytes_unsynced: bool) -> None:
        """``key`` was just put in place at ``target``."""
        with self._lock:
            self._pending[key] = (target, bytes_unsynced)
            self._failed.discard(key)

    def forget(self, key: str) -> None:
        """``key`` was deleted: nothing of it is left to make durable."""
        with self._lock:
            self._pending.pop(key, None)
            self._failed.discard(key)

    def unsynced(self, prefix: str = "") -> list[str]:
        """Keys committed under ``prefix`` that no ``sync`` has made durable yet."""
        with self._lock:
            return sorted(key for key in self._pending if key.startswith(prefix))

    def sync(self, prefix: str) -> None:
        """fsync what is pending under ``prefix``: the files, several at once, then
        every folder up to the root. Raises UnsyncedFailure for keys whose earlier
        sync failed, OSError from an fsync (its keys then keep failing)."""
        with self._lock:
            failed = sorted(key for key in self._failed if key.startswith(prefix))
            if failed:
                raise UnsyncedFailure(prefix, failed)
            mine = [(key, entry) for key, entry in self._pending.items()
                    if key.startswith(prefix)]
            for key, _ in mine:
                del self._pending[key]
        files = [target for _, (target, unsynced) in mine if unsynced]
        folders = self._folders_up_to_root(target for _, (target, _) in mine)
        try:
            _all_done(lambda path: _fsync_path(path, folder=False), files)
            # Innermost first, though the order does not matter: nothing
            # counts as durable before every one of them has returned.
            _all_done(lambda path: _fsync_path(path, folder=True),
                      [Path(f) for f in sorted(folders, key=lambda f: -f.count(os.sep))])
        except BaseException:
            with self._lock:
                self._failed.update(key for key, _ in mine)
            raise

    def _folders_up_to_root(self, targets: Iterable[Path]) -> set[str]:
        """Every folder from each target's up to the root, the root included (none
        without a target). As
        strings, each walked once: a bag of small files asks for thousands of
        targets in a few folders."""
        root = os.fspath(self._root)
        inside = root.rstrip(os.sep) + os.sep
        folders: set[str] = set()
        for target in targets:
            folders.add(root)
            folder = os.path.dirname(os.fspath(target))
            while folder.startswith(inside) and folder not in folders:
                folders.add(folder)
                folder = os.path.dirname(folder)
        return folders
