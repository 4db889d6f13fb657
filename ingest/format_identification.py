"""Format identification: which registered format (a PRONOM identifier, PUID)
each payload file holds, told from its bytes.

An identifier (``FormatIdentifier``, an adapter such as ``storage.fido_formats``)
matches signatures against the first and last ``bufsize`` bytes of a file. The
pipeline reads each payload file once; ``HeadTail`` keeps those two buffers
from the chunks of that one read, so identifying costs no second read.

What was identified is recorded in the bag as ``metadata/formats.json``
(``formats_json``), in a PREMIS "format identification" event, and a file no
signature matched is a ``FORMAT_UNIDENTIFIED`` warning: told, never refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.findings import Finding

#: The tag file that lists the format of every payload file.
FORMATS_JSON = "metadata/formats.json"


@dataclass(frozen=True)
class IdentifiedFormat:
    """A registered format, as the identifier's signatures name it."""

    puid: str
    name: str
    version: str
    mime: str
    #: how it was told: "signature" (the bytes) or "extension" (the name alone,
    #: when no signature matched)
    basis: str = "signature"

    def to_dict(self) -> dict[str, str]:
        return {"puid": self.puid, "name": self.name, "version": self.version,
                "mime": self.mime, "basis": self.basis}


class FormatIdentifier(Protocol):
    """Tells a file's format from its head and tail (the port the pipeline uses)."""

    @property
    def tool(self) -> str:
        """The tool and its version, e.g. "fido 1.6.1"."""
        ...

    @property
    def signatures(self) -> str:
        """The version of the signatures it matches, e.g. "PRONOM v109"."""
        ...

    @property
    def bufsize(self) -> int:
        """How many bytes of the head and of the tail it needs."""
        ...

    def identify(self, head: bytes, tail: bytes, name: str) -> IdentifiedFormat | None:
        """The format of a file whose first and last ``bufsize`` bytes (the whole
        file for both, when it is no longer) are ``head`` and ``tail``, named
        ``name``; None when nothing matched."""
        ...

    def identify_soon(self, head: bytes, tail: bytes,
                      name: str) -> Callable[[], IdentifiedFormat | None]:
        """``identify``, started now and answered when the returned function is
        called (which waits for it, and raises what ``identify`` would): an
        identifier that matches elsewhere (a process of its own) works on it
        while the caller goes on with the next file."""
        ...

    def warm_up(self) -> None:
        """Get ready for the first file now (load the signatures), while the
        caller does other work where the identifier can (a process of its own)."""
        ...


class HeadTail:
    """Keeps the first and last ``size`` bytes of a stream fed chunk by chunk."""

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("size must be positive")
        self.size = size
        self._head = bytearray()
        self._tail = bytearray()

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        """Take the next chunk (copied: the caller may reuse its buffer)."""
        if len(self._head) < self.size:
            self._head += chunk[:self.size - len(self._head)]
        if len(chunk) >= self.size:
            self._tail = bytearray(chunk[-self.size:])
        else:
            self._tail += chunk
            if len(self._tail) > self.size:
                del self._tail[:-self.size]

    @property
    def head(self) -> bytes:
        return bytes(self._head)

    @property
    def tail(self) -> bytes:
        return bytes(self._tail)


@dataclass(frozen=True)
class FileFormat:
    """One payload file (its bag path) and the format identified, if any."""

    path: str
    size: int
    format: IdentifiedFormat | None


def formats_json(files: Sequence[FileFormat], tool: str, signatures: str) -> bytes:
    """``metadata/formats.json``: the tool, its signatures, and per payload file
    (sorted by path) its format, or null when none was identified. UTF-8, LF;
    one line per file (a person reads it file by file, and a document of
    thousands of files is written by the C encoder, which indenting turns off)."""
    entries = [json.dumps({"path": f.path, "size": f.size,
                           "format": f.format.to_dict() if f.format else None},
                          ensure_ascii=False)
               for f in sorted(files, key=lambda f: f.path)]
    head = (f'{{\n  "tool": {json.dumps(tool, ensure_ascii=False)},\n'
            f'  "signatures": {json.dumps(signatures, ensure_ascii=False)},\n')
    body = ('  "files": [\n    ' + ",\n    ".join(entries) + "\n  ]\n}\n") if entries \
        else '  "files": []\n}\n'
    return (head + body).encode("utf-8")


def parse_formats_json(data: bytes) -> dict[str, IdentifiedFormat]:
    """Bag path -> format, read back from a ``formats_json`` document (a catalog
    rebuilt from the bags keeps the formats). Files with no format, and entries
    or a document that cannot be read, are left out. Raises nothing."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    files = document.get("files") if isinstance(document, dict) else None
    out: dict[str, IdentifiedFormat] = {}
    for entry in files if isinstance(files, list) else []:
        fmt = entry.get("format") if isinstance(entry, dict) else None
        if not isinstance(fmt, dict) or not isinstance(entry.get("path"), str):
            continue
        fields = {key: fmt.get(key) for key in ("puid", "name", "version", "mime", "basis")}
        if all(isinstance(value, str) for value in fields.values()) and fields["puid"]:
            out[entry["path"]] = IdentifiedFormat(**fields)  # type: ignore[arg-type]
    return out


def unidentified(files: Sequence[FileFormat], tool: str, signatures: str) -> list[Finding]:
    """A ``FORMAT_UNIDENTIFIED`` warning for every file with no format."""
    return [Finding("FORMAT_UNIDENTIFIED", path=f.path, params={"tool": tool, "signatures": signatures})
            for f in files if f.format is None]


def event_detail(files: Sequence[FileFormat], tool: str, signatures: str) -> dict[str, Any]:
    """What the format identification event says: the tool, its signatures, and
    how many files (and bytes) each PUID has; unidentified files under null."""
    counts: dict[str, int] = {}
    for f in files:
        key = f.format.puid if f.format else "unidentified"
        counts[key] = counts.get(key, 0) + 1
    return {"tool": tool, "signatures": signatures, "files": len(files),
            "identified": sum(1 for f in files if f.format), "formats": dict(sorted(counts.items()))}


__all__ = [
    "FORMATS_JSON",
    "FileFormat",
    "FormatIdentifier",
    "HeadTail",
    "IdentifiedFormat",
    "event_detail",
    "formats_json",
    "parse_formats_json",
    "unidentified",
]
