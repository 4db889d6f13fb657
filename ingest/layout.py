"""Where a version's bag lives in an object store.

Every stored version sits under one key prefix, ``{package_id}/v{N}/``; the
pipeline writes there, and retrieval, fixity checks, repair, reconciliation and
the catalog rebuild read there. The rule is written here once, in a module that
imports nothing of the domain, so that each of them can import it.
"""

from __future__ import annotations

import uuid

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
