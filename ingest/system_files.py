"""Files an operating system leaves in folders, which are no part of a record.

Finder writes ``.DS_Store`` into every folder it shows and ``._name`` beside
files on volumes without extended attributes, its "Compress" puts a
``__MACOSX/`` folder into every zip; Windows Explorer writes ``Thumbs.db`` and
``desktop.ini``. Handed in with a batch, they are skipped with a warning
(SYSTEM_FILE_SKIPPED), never stored as payload and never a reason to refuse
an item.

Which names are skipped is a setting (``STRONGROOM_SKIP_SYSTEM_FILES``) handed
in as a tuple of glob patterns (:func:`parse_patterns`). A pattern matches one
file or folder name, at any depth, ignoring case (Windows names ignore it);
a pattern ending in ``/`` matches folders only, and skips everything in them.
An empty tuple skips nothing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

#: What is skipped unless the setting says otherwise.
DEFAULT_SYSTEM_FILES: tuple[str, ...] = (".DS_Store", "Thumbs.db", "desktop.ini", "._*", "__MACOSX/")


def parse_patterns(text: str) -> tuple[str, ...]:
    """Comma-separated glob patterns as a tuple; blank entries are dropped.
    Raises ValueError for a pattern that names more than one name (a ``/``
    other than a final one) or none."""
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    for pattern in patterns:
        if "/" in pattern.rstrip("/") or pattern.rstrip("/") == "" or pattern.endswith("//"):
            raise ValueError(f"{pattern!r} is not a file or folder name pattern "
                             "(one name, a '/' only at the end for a folder)")
    return patterns


def system_file_rule(name: str, *, is_folder: bool, patterns: Sequence[str]) -> str | None:
    """The pattern of ``patterns`` that ``name`` (one file or folder name) matches,
    or None when it is not a system file."""
    folded = name.casefold()
    for pattern in patterns:
        folder_only = pattern.endswith("/")
        if folder_only and not is_folder:
            continue
        if fnmatch.fnmatchcase(folded, pattern.rstrip("/").casefold()):
            return pattern
    return None


__all__ = ["DEFAULT_SYSTEM_FILES", "parse_patterns", "system_file_rule"]
