"""A file's format as far as its name tells: the media type its extension
usually means, and a name people read ("TIFF image").

This is a guess from the name alone, said as such: nothing here reads the
file's bytes (format identification against a registry such as PRONOM is a
separate task). A name with no known extension has no format.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import PurePosixPath

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


@dataclass(frozen=True)
class FileFormat:
    """What a file's name suggests it holds."""

    media_type: str
    name: str
    #: how it was told: always "extension" here
    basis: str = "extension"


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


__all__ = ["FileFormat", "format_by_name"]
