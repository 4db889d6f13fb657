"""A file's format as far as its name tells: the media type its extension
usually means, and a name people read ("TIFF image").

``format_by_name`` is a guess from the name alone, said as such: it reads no
bytes. ``file_format`` is what a person or a program is told about a stored
file: the format identified at ingest against PRONOM (``ingest.format_identification``)
when there is one, else that guess, each saying how it was told.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import PurePosixPath

from ingest.models import StoredFile

#: extension -> (media type, name); the formats archives most often hold, named
#: as people call them, ahead of what the platform's table would say
_KNOWN: dict[str, tuple[str, str]] = {
    ".tif": ("image/tiff", "TIFF image"),
    ".tiff": ("image/tiff", "TIFF image"),
    ".jp2": ("image/jp2", "JPEG 2000 image"),
    ".jpg": ("image/jpeg", "JPEG image"),
    ".jpeg": ("image/jpeg", "JPEG image"),
    ".png": ("image/png", "PNG image"),
    ".gif": ("image/gif", "GIF image"),
    ".pdf": ("application/pdf", "PDF document"),
    ".txt": ("text/plain", "Plain text"),
    ".md": ("text/markdown", "Markdown text"),
    ".csv": ("text/csv", "CSV table"),
    ".json": ("application/json", "JSON"),
    ".xml": ("application/xml", "XML"),
    ".html": ("text/html", "HTML page"),
    ".htm": ("text/html", "HTML page"),
    ".doc": ("application/msword", "Word document (97–2003)"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              "Word document"),
    ".odt": ("application/vnd.oasis.opendocument.text", "OpenDocument text"),
    ".wav": ("audio/wav", "WAVE audio"),
    ".mp3": ("audio/mpeg", "MP3 audio"),
    ".mp4": ("video/mp4", "MP4 video"),
    ".zip": ("application/zip", "ZIP archive"),
}


#: what a file whose format nobody could tell is served as
UNKNOWN_MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class FileFormat:
    """What a file holds, as far as it was told."""

    media_type: str
    name: str
    #: how it was told: "signature" (its bytes, against PRONOM), "extension"
    #: (PRONOM's extension match, no signature matched) or "name" (the name
    #: alone, for files stored before identification, or unidentified ones)
    basis: str = "name"
    #: the PRONOM identifier and the format's version, when identified
    puid: str = ""
    version: str = ""

    @property
    def label(self) -> str:
        """"Portable Document Format 1.4 (fmt/18)", "TIFF image (from its name)"."""
        named = f"{self.name} {self.version}".strip()
        if self.puid:
            return f"{named} ({self.puid})"
        return f"{named} (from its name)"


def format_by_name(path: str) -> FileFormat | None:
    """The format the extension of ``path`` usually means, or None when it has no
    extension or one nobody registered."""
    suffix = PurePosixPath(path).suffix.lower()
    if not suffix:
        return None
    if suffix in _KNOWN:
        media_type, name = _KNOWN[suffix]
        return FileFormat(media_type, name)
    guessed, _ = mimetypes.guess_type("file" + suffix, strict=False)
    if guessed is None:
        return None
    return FileFormat(guessed, f"{suffix[1:].upper()} file")


def file_format(stored: StoredFile) -> FileFormat | None:
    """The format of a stored file: identified at ingest when it was (PRONOM's
    name, version and identifier; its media type, or the name's when PRONOM
    registers none), else what the name suggests, else None."""
    by_name = format_by_name(stored.path)
    found = stored.format
    if found is None:
        return by_name
    media_type = found.mime or (by_name.media_type if by_name else UNKNOWN_MEDIA_TYPE)
    return FileFormat(media_type, found.name, found.basis, found.puid, found.version)


def served_media_type(stored: StoredFile) -> str:
    """The Content-Type a stored file is served with: its identified media type,
    else its name's, else ``application/octet-stream``."""
    known = file_format(stored)
    return known.media_type if known else UNKNOWN_MEDIA_TYPE


__all__ = ["UNKNOWN_MEDIA_TYPE", "FileFormat", "file_format", "format_by_name",
           "served_media_type"]
