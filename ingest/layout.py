"""Where a version's bag lives in an object store.

Every stored version sits under one key prefix, ``{package_id}/v{N}/``; the
pipeline writes there, and retrieval, fixity checks, repair, reconciliation and
the catalog rebuild read there. The rule is written here once, in a module that
imports nothing of the domain but its records, so that each of them can import it.

Versions share unchanged bytes. A payload file that an earlier version of the
same package holds with the same path, size and digests is not stored again:
the new version's bag lists it in ``fetch.txt`` (RFC 8493 §2.2.3) with a URL
relative to the bag itself, ``../v{M}/data/...`` (M the version whose prefix
holds the object), so that the reference resolves alike in every location,
bucket or folder, and the bags of all locations are identical. Such a bag is
"holey": valid, not complete until fetched. Every bag that leaves Strongroom is
complete (``ingest.retrieval`` reads the referenced objects in its place and
leaves fetch.txt out); fetch.txt is listed in no tag manifest, so the tag
manifests of the complete bag are the stored ones, byte for byte; the catalog
holds its digests and the version's ingestion event seals its SHA-256.
``StoredFile.held_by`` is M; ``object_key`` gives every file's key and
``objects_referenced`` every key a version is made of: the one rule for
delivery, checks, repair, reconciliation and deaccession.
"""

from __future__ import annotations

import posixpath
import re
import uuid
from collections.abc import Iterable
from urllib.parse import quote, unquote

from ingest.models import StoredFile

#: The tag file of a version that holds some of its payload in earlier versions.
FETCH_TXT = "fetch.txt"
_HELD = re.compile(r"\.\./v([1-9][0-9]*)/(data/.+)", re.DOTALL)

#: The key prefix of the staging area (``ingest.staged_batch``): batches staged
#: for the workers, never a package's objects.
STAGING_PREFIX = "_staging/"


def version_prefix(package_id: str, number: int) -> str:
    """The object-store prefix of one version's bag: ``{package_id}/v{N}/``."""
    return f"{package_id}/v{number}/"


def canonical_package_id(text: str) -> str | None:
    """``text`` when it is a package id as Strongroom writes it (a UUID in its
    canonical lower-case form), else None: a key naming anything else is not
    one of ours."""
    try:
        package_id = str(uuid.UUID(text))
    except ValueError:
        return None
    return package_id if package_id == text else None


def object_key(package_id: str, number: int, f: StoredFile) -> str:
    """The key of the object that holds file ``f`` of version ``number``: under
    the prefix of the version that holds it (``f.held_by``), or of its own."""
    return version_prefix(package_id, f.held_by or number) + f.path


def objects_referenced(package_id: str, number: int, files: Iterable[StoredFile]) -> set[str]:
    """The object keys version ``number`` of a package is made of, given its
    files: what no deletion may remove while the version remains. Its own
    objects, and the earlier versions' objects it lists in fetch.txt."""
    return {object_key(package_id, number, f) for f in files}


def delivered_files(files: Iterable[StoredFile]) -> list[StoredFile]:
    """The files of a version as every delivery gives them: a complete bag, so
    every file but fetch.txt (each shared file is read where it is held)."""
    return [f for f in files if f.path != FETCH_TXT]


def held_reference(held_by: int, path: str) -> str:
    """The fetch.txt URL of a file held by version ``held_by``: relative to the
    bag that lists it, with each path segment percent-encoded (RFC 3986)."""
    # the earlier version's prefix relative to this one's: ../v{M}/
    return ".." + version_prefix("", held_by) + quote(path, safe="/")


def parse_held_reference(url: str, number: int) -> tuple[int, str] | None:
    """(version, bag path) that a fetch.txt URL of version ``number`` names, or
    None unless it is a reference as ``held_reference`` writes it, to an earlier
    version of the same package: nothing else is ever read for a bag."""
    match = _HELD.fullmatch(url)
    if match is None:
        return None
    held_by, path = int(match.group(1)), unquote(match.group(2))
    if held_by >= number or posixpath.normpath(path) != path or "\x00" in path:
        return None
    return held_by, path
