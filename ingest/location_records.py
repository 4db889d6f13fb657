"""What the catalog keeps of a storage location's life (``ingest.storage_locations``).

Beneath ``ingest.ports`` (the catalog's ``LocationCatalog`` part) and the use
cases: both import it from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ingest.models import Actor, AuditEvent, NewEvent


@dataclass(frozen=True)
class LocationGap:
    """A committed version a location to be retired holds, that these configured
    locations do not hold whole."""

    package_id: str
    number: int
    lacking: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"package_id": self.package_id, "version": self.number, "lacking": list(self.lacking)}


@dataclass(frozen=True)
class RetiredLocationRecord:
    location: str
    retired_at: datetime
    retired_by: Actor | None
    reason: str
    copies: int
    event_seq: int

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "retired_at": self.retired_at.isoformat(),
                "retired_by": self.retired_by.to_dict() if self.retired_by else None,
                "reason": self.reason, "copies": self.copies, "event_seq": self.event_seq}


class LocationCatalog(Protocol):
    """The catalog's side (``storage.catalog_locations``)."""

    def committed_version_count(self) -> int: ...

    def versions_not_held_whole(self, location: str, *, after: tuple[str, int] | None = None,
                                limit: int = 500) -> list[tuple[str, int]]: ...

    def holds_whole(self, location: str, package_id: str, number: int) -> bool: ...

    def queue_fills(self, location: str, versions: Sequence[tuple[str, int]],
                    queued_at: datetime, stale_before: datetime) -> list[tuple[str, int]]: ...

    def finish_fill(self, location: str, versions: Sequence[tuple[str, int]]) -> None: ...

    def fills_queued(self, since: datetime) -> dict[str, int]: ...

    def retirement_gaps(self, location: str, configured: Sequence[str], *,
                        limit: int = 20) -> tuple[list[LocationGap], int]: ...

    def retire_location(self, location: str, configured: Sequence[str], event: NewEvent,
                        reason: str) -> tuple[AuditEvent | None, int, list[LocationGap]]: ...

    def retired_locations(self) -> list[RetiredLocationRecord]: ...


__all__ = ["LocationCatalog", "LocationGap", "RetiredLocationRecord"]
