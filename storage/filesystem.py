"""An object store in a folder of the local filesystem (the embedded shape).

A key ``a/b/c.txt`` is the file ``root/a/b/c.txt``. Bytes are written to a
temporary file in ``root/.staging/`` (same filesystem, so the final link or
rename is atomic) and put in place at commit: a crash of the process at any
moment leaves either the old object, the new one, or nothing, never a partial
file under a key. ``.staging/`` is never listed; files left in it by a crash
are harmless, and ``sweep_abandoned`` (``strongroom fixity reconcile
--sweep-abandoned HOURS``) removes those idle that long.

Durability is batched: ``sync(prefix)`` is what makes objects survive a power
cut, and the pipeline calls it for a version's prefix before the catalog
commits the version. Every fsync costs a journal commit (about a millisecond
here), and a bag of small files used to pay two per object (the file, then its
folder after the rename). Now commit only flushes Python's buffer and puts the
file in place; ``sync`` then fsyncs the files still pending under the prefix
*concurrently* (a journaling filesystem such as ext4 folds concurrent fsyncs
into one journal commit), and then every folder on their paths, up to the root,
once each. Why this is safe, case by case:

- A *new* key (nothing under that name) is hard-linked into place without an
  fsync of its bytes. After a power cut before ``sync`` it may be empty or
  short. Nothing committed names it: the catalog commits a version only after
  ``sync`` of its prefix returned, and the retry of an interrupted item writes
  every object of its claimed version again. Anything else that finds such a
  file (a rebuild from the store, a fixity check) verifies sizes and digests
  and reports it as damaged, never as good.
- A key that already holds an object is *replaced* only by a file whose bytes
  were fsynced first, then renamed over it: a committed object (a version
  written by a duplicate of a task, a copy being repaired) is never replaced by
  bytes that a power cut could lose. ``os.link`` refuses an existing name
  atomically, so the test "is the name free?" and the placing are one step,
  also between processes.
- A folder entry (the link, the rename, a new folder) is durable once its
  folder is fsynced, which ``sync`` does for every folder between the object
  and the root, whoever created them (a folder made by another process that
  died before flushing it is covered too).
- ``sync`` fsyncs whatever file is under the key when it runs (it opens the
  path again): if another writer replaced ours meanwhile, that file is the one
  that must last, and it was fsynced before its rename anyway.
- A failed fsync may leave the kernel believing dirty pages are clean, so
  fsyncing again proves nothing: a key whose sync failed keeps failing every
  ``sync`` covering it until it is written again (the pipeline's retry does).

``sync`` only knows the objects this store object committed (in any of its
threads); objects written by another process are synced by that process.

The filesystem keeps no checksum of its own, so the SHA-256 a writer is given
at commit is not re-checked here (``stat`` reports ``sha256=None``); callers
that need proof read the bytes back. Symbolic links are never followed, and a
key that would land outside the root is refused.

Unlike S3, a folder cannot also be an object: storing ``a`` and ``a/b`` side by
side is refused with ValueError. Bags never need both.

The store is made of four parts: ``storage.filesystem_paths`` (a key's file, no
link followed, errors translated), ``storage.filesystem_writer`` (the staging
folder and the putting in place), ``storage.filesystem_sync`` (durability a
prefix at a time) and ``storage.filesystem_listing`` (keys in order).
"""

from __future__ import annotations

import errno
import os
import stat as stat_mode
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from ingest.errors import PresignUnsupported, StorageUnavailable
from ingest.ports import ObjectInfo
from storage.filesystem_listing import list_objects
from storage.filesystem_paths import ABSENT, KeyPaths, LinkInTheWay
from storage.filesystem_sync import SyncLedger, UnsyncedFailure, fsync_folder
from storage.filesystem_writer import FileWriter, StagingArea


class FilesystemObjectStore:
    """``ingest.ports.ObjectStore`` over a local folder. See the module docstring."""

    #: a folder is no bucket
    bucket: str | None = None

    def __init__(self, root: Path, create: bool = True) -> None:
        """Use the folder ``root``, creating it if needed unless ``create`` is
        False (a reader: a missing folder holds no object). Raises StorageUnavailable."""
        self.root = Path(root).absolute()
        self.location = self.root.as_uri()
        self._paths = KeyPaths(self.root, self.location, create)
        self._ledger = SyncLedger(self.root)
        self._staging = StagingArea(self._paths, self._ledger)

    # ------------------------------------------------------------------ ObjectStore

    def sync(self, prefix: str) -> None:
        """Make every object this store committed under ``prefix`` durable: fsync
        the files still pending, several at once, then every folder between them
        and the root, once each (``storage.filesystem_sync``). Call it before
        committing a version that names them. Raises StorageUnavailable (and keeps
        failing for those keys until they are written again)."""
        try:
            with self._paths.translate(None):
                self._ledger.sync(prefix)
        except UnsyncedFailure as exc:
            raise StorageUnavailable(f"{self.location}: {exc}") from None

    def abandoned_writes(self, idle_since: datetime) -> list[ObjectInfo]:
        """The temporary files in ``.staging/`` not written to since ``idle_since``
        (what ``sweep_abandoned`` would remove), each as its path under the store
        root and its size. Raises StorageUnavailable."""
        return self._staging.abandoned(idle_since)

    def sweep_abandoned(self, idle_since: datetime) -> int:
        """Delete temporary files in ``.staging/`` not written to since
        ``idle_since`` (a writer killed before commit or abort leaves its file
        there; one still writing keeps its modification time fresh). Returns how
        many. Raises StorageUnavailable."""
        return self._staging.sweep(idle_since)

    def unsynced(self, prefix: str = "") -> list[str]:
        """Keys committed under ``prefix`` that no ``sync`` has made durable yet."""
        return self._ledger.unsynced(prefix)

    def writer(self, key: str) -> FileWriter:
        """Start writing ``key``; nothing is visible under it before commit. A
        symbolic link on its way (damage: a repair writes here) is removed first.
        Raises ValueError for an unsafe key, StorageUnavailable."""
        return self._staging.writer(key)

    def put_bytes(self, key: str, data: bytes, sha256: str) -> ObjectInfo:
        """Write a small object atomically. ``sha256`` is not re-checked (see the
        module docstring). Raises ValueError for an unsafe key, StorageUnavailable."""
        writer = self.writer(key)
        try:
            writer.write(data)
            return writer.commit(sha256)
        finally:
            writer.abort()  # a no-op once committed

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        """A buffered binary reader of the object. Raises ValueError for an unsafe
        key or a version id (a folder keeps one version of each object),
        ObjectNotFound, StorageUnavailable."""
        _no_versions(version_id)
        path = self._paths.readable_path(key)
        # Never blocks: a FIFO put in the store would otherwise hang the reader
        # until something writes to it (for a regular file the flag changes nothing).
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        with self._paths.translate(key):
            fd = os.open(path, flags)
            try:
                if not stat_mode.S_ISREG(os.fstat(fd).st_mode):
                    raise OSError(errno.EISDIR, "not a regular file", str(path))
                if self._paths.opened_elsewhere(fd, key):
                    raise OSError(errno.ELOOP, "reached through a symbolic link", str(path))
                return open(fd, "rb")
            except BaseException:
                os.close(fd)
                raise

    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        """Size of the object (no checksum: ``sha256`` is None). Raises ValueError
        for an unsafe key or a version id, ObjectNotFound, StorageUnavailable."""
        _no_versions(version_id)
        path = self._paths.readable_path(key)
        with self._paths.translate(key):
            info = os.lstat(path)
            if not stat_mode.S_ISREG(info.st_mode):
                raise OSError(errno.ENOENT, "not a regular file", str(path))
        return ObjectInfo(key=key, size=info.st_size)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order (sorted by the
        full key string). Links are not followed and ``.staging/`` is skipped.
        Raises StorageUnavailable while iterating."""
        return list_objects(self._paths, prefix)

    def ensure_ready(self) -> None:
        """Nothing to prepare: the folder was made when the store was opened."""

    def probe(self) -> None:
        """The root is still a folder this process may read and write. Raises
        StorageUnavailable (removed, replaced by a file, no permission)."""
        with self._paths.translate(None):
            if not self.root.is_dir():
                raise OSError(errno.ENOENT, "the folder is gone or is not a folder")
            if not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):
                raise OSError(errno.EACCES, "the folder may not be read and written")

    def presigned_get(self, key: str, expires_in: int, version_id: str | None = None) -> str:
        """A folder cannot hand out URLs: raises PresignUnsupported."""
        raise PresignUnsupported(f"{self.location} is a folder; it cannot issue presigned URLs")

    def retained_until(self, key: str) -> datetime | None:
        """None: a folder retains nothing against deletion."""
        return None

    def delete(self, key: str) -> None:
        """Remove an object (absent is fine) and the folders it leaves empty.
        A link on its way is not an object: nothing is deleted through it (a
        writer of the key removes it). Raises ValueError for an unsafe key,
        StorageUnavailable."""
        try:
            path = self._paths.path_for(key)
        except LinkInTheWay:
            return
        self._ledger.forget(key)
        with self._paths.translate(None):
            try:
                os.unlink(path)
            except OSError as exc:
                if exc.errno in ABSENT or (exc.errno == errno.EPERM and path.is_dir()):
                    return
                raise
            fsync_folder(path.parent)
            folder = path.parent
            while folder != self.root:
                try:
                    folder.rmdir()
                except OSError:
                    break  # not empty (or just refilled by a writer): stop pruning
                folder = folder.parent


def _no_versions(version_id: str | None) -> None:
    if version_id is not None:
        raise ValueError(f"a folder keeps one version of each object; there is no version "
                         f"{version_id!r}")
