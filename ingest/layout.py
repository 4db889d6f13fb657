"""Where a version's bag lives in an object store.

Every stored version sits under one key prefix, ``{package_id}/v{N}/``; the
pipeline writes there, and retrieval, fixity checks, repair, reconciliation and
the catalog rebuild read there. The rule is written here once, in a module that
imports nothing of the domain, so that each of them can import it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

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


def objects_referenced(package_id: str, number: int, paths: Iterable[str]) -> set[str]:
    """The object keys version ``number`` of a package is made of, given the bag
    paths of its files: what no deletion may remove while the version remains.

    Today every version is a complete bag under its own prefix, so a version
    references ``{package_id}/v{N}/{path}`` for each of its files and nothing
    else. A layout in which versions share unchanged objects changes this
    function alone (a version then also references the earlier objects it
    points at); deaccession and reconciliation ask it and nothing else.
    """
    prefix = version_prefix(package_id, number)
    return {prefix + path for path in paths}
