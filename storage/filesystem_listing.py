"""Listing a folder store's objects in key order, without following a link or
entering ``.staging/``. The store itself is ``storage.filesystem``.
"""

from __future__ import annotations

import os
import stat as stat_mode
from collections.abc import Iterator
from pathlib import Path

from ingest.ports import ObjectInfo
from storage.filesystem_paths import STAGING, KeyPaths, key_parts


def list_objects(paths: KeyPaths, prefix: str) -> Iterator[ObjectInfo]:
    """Every object of the store at ``paths`` whose key starts with ``prefix``,
    in key order (sorted by the full key string). Links are not followed and
    ``.staging/`` is skipped. Raises StorageUnavailable while iterating."""
    *folders, partial = prefix.split("/")
    try:
        parts = key_parts("/".join(folders + ["x"]))[:-1] if folders else []
    except ValueError:
        return  # no legal key can start with this prefix
    start = paths.root
    with paths.translate(None):
        for part in parts:
            start = start / part
            try:
                mode = os.lstat(start).st_mode
            except (FileNotFoundError, NotADirectoryError):
                return
            if not stat_mode.S_ISDIR(mode):
                return
        key_prefix = "".join(part + "/" for part in parts)
        yield from _walk(start, key_prefix, partial)


def _walk(folder: Path, key_prefix: str, name_prefix: str) -> Iterator[ObjectInfo]:
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
            yield from _walk(Path(entry.path), key_prefix + sort_name, "")
            continue
        try:
            size = entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            continue
        yield ObjectInfo(key=key_prefix + entry.name, size=size)
