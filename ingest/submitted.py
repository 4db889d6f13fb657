"""Opening submitted content at the moment of reading, never anything else.

A batch folder belongs to whoever submitted it, and can change while it is
ingested: a file listed as regular may be a link to ``/etc/shadow``, a named
pipe or another file by the time it is read. Every read of submitted content
(payload, ``metadata.json``, ``batch.json``, and so staged uploads, which are
unpacked into a batch folder) goes through ``open_submitted``, which

- walks from the folder the caller named (taken as given) one component at a
  time, each opened relative to the one above (``dir_fd``) with
  ``O_NOFOLLOW``: a link anywhere on the way is refused (SYMLINK_REFUSED);
- opens the file with ``O_NONBLOCK`` (a named pipe cannot hang the open), and
  refuses, from ``fstat`` of what was opened, anything but a regular file
  (FILE_TYPE_REFUSED);
- compares what it opened with what the scan saw (device, inode, size,
  modification time) and refuses another file (FILE_CHANGED), and checks it
  once more when the reading ends, so that a file written to meanwhile is not
  stored as if it were the one that was listed.

Only ``os`` is used; nothing is written and the working directory is never
changed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from ingest.errors import ContentRefused
from ingest.findings import Finding
from ingest.paths import display_path

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
_FOLDER_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC


@dataclass(frozen=True)
class FileIdentity:
    """Which file a name stood for when it was listed, and how it was."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    #: the inode's change time: a write moves it, and no program can set it back
    #: (``rsync --inplace -t`` and ``touch -r`` put back the mtime of a file they
    #: rewrote, which left such a file looking unchanged)
    ctime_ns: int = 0

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def identity_seen(entry: os.DirEntry[str]) -> FileIdentity | None:
    """What a listing saw of a file, or None when that cannot be said."""
    try:
        return FileIdentity.of(entry.stat(follow_symlinks=False))
    except OSError:
        return None


def unreadable(rel: str, exc: OSError) -> Finding:
    """FILE_UNREADABLE for the submitted file at ``rel``, in the system's words."""
    return Finding("FILE_UNREADABLE", path=display_path(rel),
                   params={"detail": exc.strerror or str(exc)})


def kind_of_mode(mode: int) -> str:
    """What a file mode says an entry is, in the words of FILE_TYPE_REFUSED."""
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


@contextmanager
def open_submitted(base: str | os.PathLike[str], rel: str,
                   seen: FileIdentity | None = None, *, hidden: int = 0) -> Iterator[BinaryIO]:
    """Open ``rel`` ('/'-separated, below the folder ``base``) for reading, as
    described in the module docstring, and yield it as a binary file.

    Findings name paths without the first ``hidden`` components of ``rel``
    (an item's folder, when walking from the batch root); a refused folder
    among those is shown as ".". Raises ContentRefused with one finding:
    SYMLINK_REFUSED,
    FILE_TYPE_REFUSED, or FILE_CHANGED (at the open, or when the ``with``
    block ends normally, if the file is no longer what ``seen`` describes).
    Raises OSError (its filename the path shown) when a name is gone or cannot
    be opened.
    """
    shown = _shown(rel.split("/"), hidden)
    fd = _open_walking(os.fspath(base), rel, hidden)
    try:
        st = os.fstat(fd)
        kind = kind_of_mode(st.st_mode)
        if kind != "file":
            raise ContentRefused(Finding("FILE_TYPE_REFUSED", path=display_path(shown), found=kind))
        _check_same(shown, seen, st)
        os.set_blocking(fd, True)
        source = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with source:
        yield source
        _check_same(shown, seen, os.fstat(source.fileno()))


def read_submitted(base: str | os.PathLike[str], rel: str, limit: int,
                   seen: FileIdentity | None = None, *, hidden: int = 0) -> bytes:
    """Up to ``limit`` bytes of a submitted file, opened with ``open_submitted``
    (and raising what it raises)."""
    with open_submitted(base, rel, seen, hidden=hidden) as source:
        chunks: list[bytes] = []
        remaining = limit
        while remaining > 0:
            chunk = os.read(source.fileno(), min(remaining, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


def _shown(parts: list[str], hidden: int) -> str:
    return "/".join(parts[hidden:]) or "."


def _open_walking(base: str, rel: str, hidden: int) -> int:
    parts = rel.split("/")
    folder = os.open(base, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    try:
        for index, name in enumerate(parts):
            last = index == len(parts) - 1
            try:
                fd = os.open(name, _FILE_FLAGS if last else _FOLDER_FLAGS, dir_fd=folder)
            except OSError as exc:
                raise _refusal(_shown(parts[: index + 1], hidden), folder, name, exc) from exc
            os.close(folder)
            folder = fd
        return folder
    except BaseException:
        os.close(folder)
        raise


def _refusal(shown: str, folder: int, name: str, exc: OSError) -> Exception:
    """What an open that failed on the way means: a link, another type, or a plain OSError."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        try:
            mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
        except OSError:
            return exc
        kind = kind_of_mode(mode)
        if kind == "symlink":
            return ContentRefused(Finding("SYMLINK_REFUSED", path=display_path(shown)))
        if kind != "folder":
            return ContentRefused(Finding("FILE_TYPE_REFUSED", path=display_path(shown), found=kind))
    exc.filename = shown
    return exc


def _check_same(rel: str, seen: FileIdentity | None, st: os.stat_result) -> None:
    if seen is None:
        return
    now = FileIdentity.of(st)
    if now == seen:
        return
    if (now.device, now.inode) != (seen.device, seen.inode):
        detail = "it was replaced by another file"
    elif now.size != seen.size:
        detail = f"its size went from {seen.size} to {now.size} bytes"
    else:
        detail = "it was written to"
    raise ContentRefused(Finding("FILE_CHANGED", path=display_path(rel), params={"detail": detail}))


__all__ = ["FileIdentity", "identity_seen", "kind_of_mode", "open_submitted", "read_submitted", "unreadable"]
