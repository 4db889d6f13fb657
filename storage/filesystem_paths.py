"""Where a key's file lies in a folder store, and the refusal of every symbolic
link on its way.

A key ``a/b/c.txt`` is the file ``root/a/b/c.txt``. A key that is empty,
absolute, has an empty, ``.`` or ``..`` component, a NUL, a name too long for a
filesystem, or lies inside the staging folder is refused (``key_parts``). A
symbolic link anywhere on a key's path inside the root is never followed, not
even to another object of the store: a reader finds no object there, a writer
removes the link first (``KeyPaths.path_clear_of_links``), a delete leaves it.
Errors of the operating system become the domain's here (``KeyPaths.translate``).
The store itself is ``storage.filesystem``.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mode
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import ObjectBlocked, ObjectNotFound, StorageUnavailable
from storage.filesystem_sync import fsync_folder

#: Folder under the root that holds objects being written; never a key.
STAGING = ".staging"

#: Longest file name most filesystems accept, in bytes.
_NAME_MAX = 255

#: Folders ``KeyPaths.path_for`` remembers as inside the root, at most.
_FOLDERS_REMEMBERED = 4096

#: Errors that mean the key names no object (rather than that storage failed).
ABSENT = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP)

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



class KeyPaths:
    """The files of a folder store's keys, under ``root``: safe keys only, no
    symbolic link followed. See the module docstring."""

    def __init__(self, root: Path, location: str, create: bool) -> None:
        """Use the folder ``root`` (absolute), creating it if needed unless
        ``create`` is False. ``location`` names the store in errors. Raises
        StorageUnavailable."""
        self.root = root
        self.location = location
        if create:
            with self.translate(None):
                self.root.mkdir(parents=True, exist_ok=True)
        self.real_root = self.root.resolve()
        #: folders known to lie inside the root (``path_for``)
        self._inside: dict[str, tuple[Path, tuple[int, int]]] = {}

    def path_for(self, key: str) -> Path:
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
        if resolved != self.real_root and self.real_root not in resolved.parents:
            raise LinkInTheWay(f"object key {key!r} leads through a symbolic link out of the store")
        if path.relative_to(self.root) != resolved.relative_to(self.real_root):
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

    def path_clear_of_links(self, key: str) -> Path:
        """The file of ``key`` once every link on its way is removed (``clear_links``).
        Raises ValueError for an unsafe key, StorageUnavailable."""
        for _ in key_parts(key):
            try:
                return self.path_for(key)
            except LinkInTheWay:
                with self.translate(None):
                    self.clear_links(key)
        return self.path_for(key)

    def clear_links(self, key: str) -> None:
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
    def translate(self, key: str | None) -> Iterator[None]:
        """Turn an OSError into the domain's: absent → ObjectNotFound (only when
        ``key`` is given, i.e. for reads), anything else → StorageUnavailable."""
        try:
            yield
        except OSError as exc:
            if key is not None and exc.errno in ABSENT:
                blocker = self.not_a_folder(key) if exc.errno == errno.ENOTDIR else None
                if blocker is not None:
                    raise ObjectBlocked(
                        f"no object {key!r} in {self.location}: {blocker} is not a folder "
                        "(a file stands where the store keeps a folder)") from exc
                raise ObjectNotFound(f"no object {key!r} in {self.location}") from exc
            raise StorageUnavailable(f"{self.location}: {exc}") from exc

    def not_a_folder(self, key: str) -> Path | None:
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

    def opened_elsewhere(self, fd: int, key: str) -> bool:
        """Whether the file open on ``fd`` is not the one at ``key``'s own path in the
        root: a folder on the way was replaced by a link after ``path_for``
        remembered it, or between the check and the open. Asked of the kernel
        (``/proc/self/fd``); where it cannot say, the path check stands alone."""
        try:
            opened = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return False
        return opened != str(self.real_root.joinpath(*key_parts(key)))

    def readable_path(self, key: str) -> Path:
        """The file of ``key`` for reading. Raises ObjectNotFound when a link stands
        on its way (a link is not a stored object), ValueError for an unsafe key."""
        try:
            return self.path_for(key)
        except LinkInTheWay as exc:
            raise ObjectNotFound(f"no object {key!r} in {self.location}: {exc}") from exc
