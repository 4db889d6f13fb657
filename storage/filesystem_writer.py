"""Writing an object into a folder store: bytes go to a file of the store's
``.staging/`` folder (same filesystem, so the final link or rename is atomic)
and are put in place under their key at commit, then noted for ``sync``.

A new key is hard-linked into place without an fsync of its bytes; a key that
already holds an object is replaced only by a file fsynced first, then renamed
over it. Why this is safe, case by case, is in ``storage.filesystem``'s
docstring. Files a crash leaves in ``.staging/`` are harmless, and
``StagingArea.sweep`` removes those idle long enough.
"""

from __future__ import annotations

import errno
import itertools
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from ingest.ports import ObjectInfo
from storage.filesystem_paths import STAGING, KeyPaths
from storage.filesystem_sync import SyncLedger

#: Errors that mean a key clashes with a folder or object already on disk.
_CLASH = (errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY)

#: Errors of ``os.link`` that mean this filesystem cannot hard-link; the
#: object is then fsynced and renamed, as a replacement is.
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV)


class StagingArea:
    """The store's ``.staging/`` folder, and the putting in place of what is
    written there. See the module docstring."""

    def __init__(self, paths: KeyPaths, ledger: SyncLedger) -> None:
        self.paths = paths
        self._ledger = ledger
        #: staging file names: the pid, a random token and a counter
        self._staging_names = itertools.count()
        self._staging_token = secrets.token_hex(4)
        self._staging_ready = False

    def writer(self, key: str) -> FileWriter:
        """Start writing ``key``; nothing is visible under it before commit. A
        symbolic link on its way (damage: a repair writes here) is removed first.
        Raises ValueError for an unsafe key, StorageUnavailable."""
        target = self.paths.path_clear_of_links(key)
        with self.paths.translate(None):
            file, temp = self._staging_file()
        return FileWriter(self, key, target, file, temp)

    def _make_folders(self, folder: Path) -> None:
        """Create ``folder`` and its missing parents under the root (their entries
        are made durable by ``sync``, with every folder up to the root). Raises
        OSError."""
        missing: list[Path] = []
        current = folder
        while current != self.paths.root and not current.is_dir():
            missing.append(current)
            current = current.parent
        for new in reversed(missing):
            try:
                new.mkdir()
            except FileExistsError:
                if not new.is_dir() or new.is_symlink():
                    raise
                continue  # another writer made it first

    def _staging_file(self) -> tuple[BinaryIO, Path]:
        """A new file of ours in ``.staging/``, opened for writing. Its name is
        this process's (pid and a random token) and a counter; ``O_EXCL`` makes
        sure it is new, whatever else is in the folder."""
        staging = self.paths.root / STAGING
        if not self._staging_ready:
            try:
                staging.mkdir(exist_ok=True)
            except FileExistsError:  # there, and not a folder
                raise _staging_blocked(staging) from None
            except FileNotFoundError:
                # Never made again here: a disk that is not mounted leaves an
                # empty mount point, and writing there fills the wrong disk.
                raise OSError(errno.ENOENT, f"the store's folder {self.paths.root} is gone (a disk "
                              "not mounted?); it is not made again without you: create it, "
                              "then run this again") from None
            self._staging_ready = True
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(
            os, "O_NOFOLLOW", 0)
        for _ in range(100):
            path = staging / (f"object-{os.getpid()}-{self._staging_token}-"
                               f"{next(self._staging_names)}.part")
            try:
                fd = os.open(path, flags, 0o600)
            except FileExistsError:
                continue
            except FileNotFoundError:  # the folder was removed meanwhile
                try:
                    staging.mkdir(exist_ok=True)
                except FileExistsError:
                    raise _staging_blocked(staging) from None
                continue
            except NotADirectoryError:  # replaced by a file meanwhile
                raise _staging_blocked(staging) from None
            return os.fdopen(fd, "wb"), path
        raise FileExistsError(errno.EEXIST, "no free staging file name", str(staging))

    def place(self, temp: Path, fd: int, key: str, target: Path) -> None:
        """Put a temporary file (``fd`` open on it, its buffer flushed) in place
        under ``key`` and note it for ``sync``: linked without an fsync when the
        name is free, else fsynced and renamed over the old object (see
        ``storage.filesystem``'s docstring). Raises OSError, or ValueError when the key clashes
        with a folder or object on disk."""
        durable = False
        # A concurrent delete may prune a folder between mkdir and link.
        for attempt in range(3):
            try:
                self._make_folders(target.parent)
                if not durable:
                    try:
                        os.link(temp, target, follow_symlinks=False)
                    except OSError as exc:
                        if exc.errno != errno.EEXIST and exc.errno not in _NO_LINKS:
                            raise
                    else:
                        break
                    os.fsync(fd)
                    durable = True
                os.replace(temp, target)
                break
            except FileNotFoundError:
                if attempt == 2 or not temp.exists():
                    raise
            except OSError as exc:
                if exc.errno in _CLASH:
                    raise ValueError(
                        f"object key {key!r} clashes with a folder or object already in "
                        f"{self.paths.location}") from exc
                raise
        if not durable:
            try:
                os.unlink(temp)  # the object keeps its other name
            except OSError:
                pass  # a staging file left behind is harmless
        self._ledger.note(key, target, bytes_unsynced=not durable)

    # ------------------------------------------------------------------ ObjectStore

    def abandoned(self, idle_since: datetime) -> list[ObjectInfo]:
        """The temporary files in ``.staging/`` not written to since ``idle_since``
        (what ``sweep`` would remove), each as its path under the store
        root and its size. Raises StorageUnavailable."""
        staging = self.paths.root / STAGING
        cutoff = idle_since.timestamp()
        found = []
        with self.paths.translate(None):
            try:
                entries = list(os.scandir(staging))
            except FileNotFoundError:
                return []
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if entry.is_file(follow_symlinks=False) and st.st_mtime < cutoff:
                    found.append(ObjectInfo(f"{STAGING}/{entry.name}", st.st_size))
        return sorted(found, key=lambda info: info.key)

    def sweep(self, idle_since: datetime) -> int:
        """Delete temporary files in ``.staging/`` not written to since
        ``idle_since`` (a writer killed before commit or abort leaves its file
        there; one still writing keeps its modification time fresh). Returns how
        many. Raises StorageUnavailable."""
        staging = self.paths.root / STAGING
        cutoff = idle_since.timestamp()
        removed = 0
        with self.paths.translate(None):
            try:
                entries = list(os.scandir(staging))
            except FileNotFoundError:
                return 0
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                    continue
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue  # its writer finished (or another sweep ran) meanwhile
                removed += 1
        return removed


class FileWriter:
    """Bytes of one object in a staging file until commit. See ``ObjectWriter``."""

    def __init__(self, area: StagingArea, key: str, target: Path,
                 file: BinaryIO, temp: Path) -> None:
        self._area = area
        self._key = key
        self._target = target
        self._file = file
        self._temp = temp
        self._size = 0
        self._done = False

    def write(self, chunk: bytes | memoryview) -> None:
        """Append bytes. Raises StorageUnavailable, ValueError after commit or abort."""
        if self._done:
            raise ValueError(f"writer of {self._key!r} is already closed")
        with self._area.paths.translate(None):
            self._file.write(chunk)
        self._size += len(chunk) if isinstance(chunk, bytes) else chunk.nbytes

    def commit(self, sha256: str) -> ObjectInfo:
        """Put the object in place; durable after ``sync`` of a prefix of its key.
        ``sha256`` is not re-checked. Raises StorageUnavailable, ValueError
        (closed writer, key clash)."""
        if self._done:
            raise ValueError(f"writer of {self._key!r} is already closed")
        try:
            with self._area.paths.translate(None):
                self._file.flush()
                self._area.place(self._temp, self._file.fileno(), self._key, self._target)
                self._file.close()
        except BaseException:
            self.abort()
            raise
        self._done = True
        return ObjectInfo(key=self._key, size=self._size)

    def abort(self) -> None:
        """Drop the staging file; never raises."""
        if self._done:
            return
        self._done = True
        try:
            self._file.close()
        except OSError:
            pass
        try:
            os.unlink(self._temp)
        except OSError:
            pass


def _staging_blocked(staging: Path) -> OSError:
    return OSError(errno.ENOTDIR, f"{staging} is not a folder (a file stands where the store "
                   "writes objects before putting them in place): move it away")
