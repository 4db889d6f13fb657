"""The name of a storage location: what the catalog notes copies under.

A folder is named by its absolute path as a ``file://`` URI, an S3 prefix by
``s3://bucket/prefix`` without slashes at either end. The stores take their
``location`` from here, and the settings compare locations by it: two spellings
of one place (a trailing slash, ``/./``, ``file://localhost/``) are one location,
never a primary and its "replica"; nor is a folder reached through ``..`` or a
symbolic link (``place_of``).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse


def folder_location(root: Path) -> str:
    """The name of the folder ``root`` (made absolute)."""
    return Path(root).absolute().as_uri()


def bucket_location(bucket: str, prefix: str) -> str:
    """The name of ``prefix`` in ``bucket``."""
    return f"s3://{bucket}/{prefix.strip('/')}"


def location_of(url: str) -> str:
    """The name of the location a ``file:///…`` or ``s3://…`` URL opens (as
    ``storage.locations.store_from_url`` opens it); the URL itself for another scheme."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return folder_location(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        return bucket_location(parsed.netloc, parsed.path)
    return url


def place_of(url: str) -> str:
    """What ``url`` reaches, to tell whether two locations are one place: for a
    folder, the path with ``..`` and symbolic links resolved (``/srv/a/../a``, a
    link to the primary's folder); otherwise ``location_of``. Not a location's
    name: a location keeps the name it was given, under which copies are noted."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(os.path.realpath(unquote(parsed.path))).as_uri()
    return location_of(url)


__all__ = ["bucket_location", "folder_location", "location_of", "place_of"]
