"""Where a version's bag lives in an object store.

Every stored version sits under one key prefix, ``{package_id}/v{N}/``; the
pipeline writes there, and retrieval, fixity checks, repair, reconciliation and
the catalog rebuild read there. The rule is written here once, in a module that
imports nothing of the domain, so that each of them can import it.
"""

from __future__ import annotations


def version_prefix(package_id: str, number: int) -> str:
    """The object-store prefix of one version's bag: ``{package_id}/v{N}/``."""
    return f"{package_id}/v{number}/"
