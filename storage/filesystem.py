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
"""

from __future__ import annotations

import errno
import itertools
import os
import secrets
import stat as stat_mode
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from ingest.errors import ObjectBlocked, ObjectNotFound, PresignUnsupported, StorageUnavailable
from ingest.ports import ObjectInfo
from storage.filesystem_sync import SyncLedger, UnsyncedFailure, fsync_folder
from storage.location_names import folder_location

#: Folder under the root that holds objects being written; never a key.
STAGING = ".staging"

#: Longest file name most filesystems accept, in bytes.
_NAME_MAX = 255

#: Folders ``_path_for`` remembers as inside the root, at most.
_FOLDERS_REMEMBERED = 4096

#: Errors that mean the key names no object (rather than that storage failed).
_ABSENT = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP)

#: Errors that mean a key clashes with a folder or object already on disk.
_CLASH = (errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY)

#: Errors of ``os.link`` that mean this filesystem cannot hard-link; the
#: object is then fsynced and renamed, as a replacement is.
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV)

class LinkInTheWay(ValueError):
    """A symbolic link stands on the path of a key inside the store."""


def key_parts(key: str) -> list[str]:
    """The path components of a key. Raises ValueError for an unsafe key: empty,
    absolute, with an empty, '.' or '..' component, a NUL, a name too long for a
    filesystem, or inside the staging folder."""
    if not isinstance(key, str) or not key:
        raise ValueError("an object key must be a non-empty string")
    if "\x00" in key:
        raise ValueError(f"object key {key!r} contains NUL")
    if key.startswith("/"):
        raise ValueError(f"object key {key!r} is absolute")
    parts = key.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise ValueError(f"object key {key!r} has an empty, '.' or '..' component")
        if len(os.fsencode(part)) > _NAME_MAX:
            raise ValueError(f"object key {key!r} has a component longer than {_NAME_MAX} bytes")
    if parts[0] == STAGING:
        raise ValueError(f"object key {key!r} is inside the reserved {STAGING}/ folder")
    return parts


class FilesystemObjectStore:
    """``ingest.ports.ObjectStore`` over a local folder. See the module docstring."""

    #: a folder is no bucket
    bucket: str | None = None

    def __init__(self, root: Path, create: bool = True) -> None:
        """Use the folder ``root``, creating it if needed unless ``create`` is
        False (a reader: a missing folder holds no object). Raises StorageUnavailable."""
        self.root = Path(root).absolute()
        self.location = folder_location(self.root)
        if create:
            with self._translate(None):
                self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()
        self._ledger = SyncLedger(self.root)
        #: folders known to lie inside the root (``_path_for``)
        self._inside: dict[str, tuple[Path, tuple[int, int]]] = {}
        #: staging file names: the pid, a random token and a counter
        self._staging_names = itertools.count()
        self._staging_token = secrets.token_hex(4)
        self._staging_ready = False

    # ------------------------------------------------------------------ paths

    def _path_for(self, key: str) -> Path:
        """The file of ``key``. Raises ValueError for an unsafe key, and
        ``LinkInTheWay`` (a ValueError) when a symbolic link stands anywhere on
        its path inside the root: links are never followed, not even to
        another object of the store.

        A folder found inside the root is remembered with its identity (device
        and inode): the next key in it costs a ``stat`` of the folder, which
        follows any link on the way, and an ``lstat`` of its own name, rather
        than one per folder of its path (a bag of small files asks for hundreds
        of keys in a few folders). A folder on the way replaced by a link since
        leads to another folder, so the full check runs again."""
        parts = key_parts(key)
        folder_key = key.rpartition("/")[0]  # remembered by the key's folder: no path made to ask
        known = self._inside.get(folder_key)
        if known is not None:
            folder, identity = known
            try:
                reached = os.stat(folder)
            except OSError:
                reached = None
            if reached is None or (reached.st_dev, reached.st_ino) != identity:
                self._inside.pop(folder_key, None)  # gone, or reached through a link now
            else:
                path = folder / parts[-1]
                try:
                    mode = os.lstat(path).st_mode
                except OSError:
                    return path  # nothing there yet, or unreadable: the use will tell
                if not stat_mode.S_ISLNK(mode):
                    return path
        path = self.root.joinpath(*parts)
        folder = path.parent
        try:
            resolved = path.resolve(strict=False)
        except (OSError, RuntimeError) as exc:  # a link loop, an unreadable link
            raise LinkInTheWay(f"object key {key!r} cannot be resolved: {exc}") from exc
        if resolved != self._real_root and self._real_root not in resolved.parents:
            raise LinkInTheWay(f"object key {key!r} leads through a symbolic link out of the store")
        if path.relative_to(self.root) != resolved.relative_to(self._real_root):
            raise LinkInTheWay(f"object key {key!r} leads through a symbolic link in the store")
        try:
            seen = os.lstat(folder)
        except OSError:
            return path  # not made yet: remembered once it is
        if stat_mode.S_ISDIR(seen.st_mode):
            if len(self._inside) >= _FOLDERS_REMEMBERED:
                self._inside.clear()
            self._inside[folder_key] = (folder, (seen.st_dev, seen.st_ino))  # no link on its way
        return path

    def _path_clear_of_links(self, key: str) -> Path:
        """The file of ``key`` once every link on its way is removed (``_clear_links``).
        Raises ValueError for an unsafe key, StorageUnavailable."""
        for _ in key_parts(key):
            try:
                return self._path_for(key)
            except LinkInTheWay:
                with self._translate(None):
                    self._clear_links(key)
        return self._path_for(key)

    def _clear_links(self, key: str) -> None:
        """Remove every symbolic link on the path of ``key`` inside the root (a
        folder or the object replaced by a link is damage: a writer of the key
        puts real folders and a real file there). Only the links go; what they
        point to is not touched. Raises OSError."""
        current = self.root
        for part in key_parts(key):
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                return
            if stat_mode.S_ISLNK(mode):
                os.unlink(current)
                fsync_folder(current.parent)
                return
            if not stat_mode.S_ISDIR(mode):
                return

    @contextmanager
    def _translate(self, key: str | None) -> Iterator[None]:
        """Turn an OSError into the domain's: absent → ObjectNotFound (only when
        ``key`` is given, i.e. for reads), anything else → StorageUnavailable."""
        try:
            yield
        except OSError as exc:
            if key is not None and exc.errno in _ABSENT:
                blocker = self._not_a_folder(key) if exc.errno == errno.ENOTDIR else None
                if blocker is not None:
                    raise ObjectBlocked(
                        f"no object {key!r} in {self.location}: {blocker} is not a folder "
                        "(a file stands where the store keeps a folder)") from exc
                raise ObjectNotFound(f"no object {key!r} in {self.location}") from exc
            raise StorageUnavailable(f"{self.location}: {exc}") from exc

    def _not_a_folder(self, key: str) -> Path | None:
        """The first path on the way to ``key``'s file, inside the root, that is
        there but is not a folder (the root itself included); None when there is
        none (it was mended meanwhile)."""
        current = self.root
        for part in [None, *key_parts(key)[:-1]]:
            if part is not None:
                current = current / part
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return None
            if not stat_mode.S_ISDIR(mode):
                return current
        return None

    def _make_folders(self, folder: Path) -> None:
        """Create ``folder`` and its missing parents under the root (their entries
        are made durable by ``sync``, with every folder up to the root). Raises
        OSError."""
        missing: list[Path] = []
        current = folder
        while current != self.root and not current.is_dir():
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
        staging = self.root / STAGING
        if not self._staging_ready:
            try:
                staging.mkdir(exist_ok=True)
            except FileExistsError:  # there, and not a folder
                raise _staging_blocked(staging) from None
            except FileNotFoundError:
                # Never made again here: a disk that is not mounted leaves an
                # empty mount point, and writing there fills the wrong disk.
                raise OSError(errno.ENOENT, f"the store's folder {self.root} is gone (a disk "
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

    def _place(self, temp: Path, fd: int, key: str, target: Path) -> None:
        """Put a temporary file (``fd`` open on it, its buffer flushed) in place
        under ``key`` and note it for ``sync``: linked without an fsync when the
        name is free, else fsynced and renamed over the old object (see the
        module docstring). Raises OSError, or ValueError when the key clashes
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
                        f"{self.location}") from exc
                raise
        if not durable:
            try:
                os.unlink(temp)  # the object keeps its other name
            except OSError:
                pass  # a staging file left behind is harmless
        self._ledger.note(key, target, bytes_unsynced=not durable)

    # ------------------------------------------------------------------ ObjectStore

    def sync(self, prefix: str) -> None:
        """Make every object this store committed under ``prefix`` durable: fsync
        the files still pending, several at once, then every folder between them
        and the root, once each (``storage.filesystem_sync``). Call it before
        committing a version that names them. Raises StorageUnavailable (and keeps
        failing for those keys until they are written again)."""
        try:
            with self._translate(None):
                self._ledger.sync(prefix)
        except UnsyncedFailure as exc:
            raise StorageUnavailable(f"{self.location}: {exc}") from None

    def abandoned_writes(self, idle_since: datetime) -> list[ObjectInfo]:
        """The temporary files in ``.staging/`` not written to since ``idle_since``
        (what ``sweep_abandoned`` would remove), each as its path under the store
        root and its size. Raises StorageUnavailable."""
        staging = self.root / STAGING
        cutoff = idle_since.timestamp()
        found = []
        with self._translate(None):
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

    def sweep_abandoned(self, idle_since: datetime) -> int:
        """Delete temporary files in ``.staging/`` not written to since
        ``idle_since`` (a writer killed before commit or abort leaves its file
        there; one still writing keeps its modification time fresh). Returns how
        many. Raises StorageUnavailable."""
        staging = self.root / STAGING
        cutoff = idle_since.timestamp()
        removed = 0
        with self._translate(None):
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

    def unsynced(self, prefix: str = "") -> list[str]:
        """Keys committed under ``prefix`` that no ``sync`` has made durable yet."""
        return self._ledger.unsynced(prefix)

    def writer(self, key: str) -> _FileWriter:
        """Start writing ``key``; nothing is visible under it before commit. A
        symbolic link on its way (damage: a repair writes here) is removed first.
        Raises ValueError for an unsafe key, StorageUnavailable."""
        target = self._path_clear_of_links(key)
        with self._translate(None):
            file, temp = self._staging_file()
        return _FileWriter(self, key, target, file, temp)

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
        path = self._readable_path(key)
        # Never blocks: a FIFO put in the store would otherwise hang the reader
        # until something writes to it (for a regular file the flag changes nothing).
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        with self._translate(key):
            fd = os.open(path, flags)
            try:
                if not stat_mode.S_ISREG(os.fstat(fd).st_mode):
                    raise OSError(errno.EISDIR, "not a regular file", str(path))
                if self._opened_elsewhere(fd, key):
                    raise OSError(errno.ELOOP, "reached through a symbolic link", str(path))
                return open(fd, "rb")
            except BaseException:
                os.close(fd)
                raise

    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        """Size of the object (no checksum: ``sha256`` is None). Raises ValueError
        for an unsafe key or a version id, ObjectNotFound, StorageUnavailable."""
        _no_versions(version_id)
        path = self._readable_path(key)
        with self._translate(key):
            info = os.lstat(path)
            if not stat_mode.S_ISREG(info.st_mode):
                raise OSError(errno.ENOENT, "not a regular file", str(path))
        return ObjectInfo(key=key, size=info.st_size)

    def _opened_elsewhere(self, fd: int, key: str) -> bool:
        """Whether the file open on ``fd`` is not the one at ``key``'s own path in the
        root: a folder on the way was replaced by a link after ``_path_for``
        remembered it, or between the check and the open. Asked of the kernel
        (``/proc/self/fd``); where it cannot say, the path check stands alone."""
        try:
            opened = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return False
        return opened != str(self._real_root.joinpath(*key_parts(key)))

    def _readable_path(self, key: str) -> Path:
        """The file of ``key`` for reading. Raises ObjectNotFound when a link stands
        on its way (a link is not a stored object), ValueError for an unsafe key."""
        try:
            return self._path_for(key)
        except LinkInTheWay as exc:
            raise ObjectNotFound(f"no object {key!r} in {self.location}: {exc}") from exc

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order (sorted by the
        full key string). Links are not followed and ``.staging/`` is skipped.
        Raises StorageUnavailable while iterating."""
        *folders, partial = prefix.split("/")
        try:
            parts = key_parts("/".join(folders + ["x"]))[:-1] if folders else []
        except ValueError:
            return  # no legal key can start with this prefix
        start = self.root
        with self._translate(None):
            for part in parts:
                start = start / part
                try:
                    mode = os.lstat(start).st_mode
                except (FileNotFoundError, NotADirectoryError):
                    return
                if not stat_mode.S_ISDIR(mode):
                    return
            key_prefix = "".join(part + "/" for part in parts)
            yield from self._walk(start, key_prefix, partial)

    def _walk(self, folder: Path, key_prefix: str, name_prefix: str) -> Iterator[ObjectInfo]:
        try:
            with os.scandir(folder) as scan:
                entries = [entry for entry in scan if entry.name.startswith(name_prefix)]
        except (FileNotFoundError, NotADirectoryError):
            return  # removed while we walked
        children: list[tuple[str, os.DirEntry[str], bool]] = []
        for entry in entries:
            if not key_prefix and entry.name == STAGING:
                continue
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if is_folder:
                # Keys below a folder all start with "name/": sorting folders by
                # that makes a depth-first walk yield keys in full-key order.
                children.append((entry.name + "/", entry, True))
            elif is_file:
                children.append((entry.name, entry, False))
        for sort_name, entry, is_folder in sorted(children, key=lambda child: child[0]):
            if is_folder:
                yield from self._walk(Path(entry.path), key_prefix + sort_name, "")
                continue
            try:
                size = entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                continue
            yield ObjectInfo(key=key_prefix + entry.name, size=size)

    def ensure_ready(self) -> None:
        """Nothing to prepare: the folder was made when the store was opened."""

    def probe(self) -> None:
        """The root is still a folder this process may read and write. Raises
        StorageUnavailable (removed, replaced by a file, no permission)."""
        with self._translate(None):
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
            path = self._path_for(key)
        except LinkInTheWay:
            return
        self._ledger.forget(key)
        with self._translate(None):
            try:
                os.unlink(path)
            except OSError as exc:
                if exc.errno in _ABSENT or (exc.errno == errno.EPERM and path.is_dir()):
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


class _FileWriter:
    """Bytes of one object in a staging file until commit. See ``ObjectWriter``."""

    def __init__(self, store: FilesystemObjectStore, key: str, target: Path,
                 file: BinaryIO, temp: Path) -> None:
        self._store = store
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
        with self._store._translate(None):
            self._file.write(chunk)
        self._size += len(chunk) if isinstance(chunk, bytes) else chunk.nbytes

    def commit(self, sha256: str) -> ObjectInfo:
        """Put the object in place; durable after ``sync`` of a prefix of its key.
        ``sha256`` is not re-checked. Raises StorageUnavailable, ValueError
        (closed writer, key clash)."""
        if self._done:
            raise ValueError(f"writer of {self._key!r} is already closed")
        try:
            with self._store._translate(None):
                self._file.flush()
                self._store._place(self._temp, self._file.fileno(), self._key, self._target)
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


def _no_versions(version_id: str | None) -> None:
    if version_id is not None:
        raise ValueError(f"a folder keeps one version of each object; there is no version "
                         f"{version_id!r}")
