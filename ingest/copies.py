"""The catalog's note on each copy of a version: where it is, and what its last check found.

Beneath ``ingest.ports`` (the catalog keeps these notes) and
``ingest.replication`` (which writes the copies): both import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Copy states the catalog keeps per (version, location).
VERIFIED = "verified"
DAMAGED = "damaged"


@dataclass(frozen=True)
class CopyRecord:
    """The catalog's note on one copy of a version: where, and what its last check found."""

    location: str
    state: str          # VERIFIED or DAMAGED
    checked_at: datetime


__all__ = ["DAMAGED", "VERIFIED", "CopyRecord"]
