"""The fixity history of each copy of a package: every check of every version in
every location, newest first, read from the package's audit events.

A fixity-check event names the copy it checked (``detail.location``) and the
tier (deep: every byte re-hashed; shallow: sizes and presence); damage found
while delivering a version (no scheduled check) has no location of its own and
is listed under the copy it was read from when the event says so, else under
``None`` ("while delivering"). The same events the API's
``GET /packages/{id}/fixity-checks`` lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.models import AuditEvent, EventType


@dataclass(frozen=True)
class CopyCheck:
    """One check of one copy, as its audit event tells it."""

    seq: int
    checked_at: datetime
    tier: str | None
    outcome: str                 # success or failure (the event's outcome)
    findings: tuple[dict[str, Any], ...]
    actor: dict[str, Any] | None


@dataclass(frozen=True)
class CopyHistory:
    """The checks of one version's copy in one location, newest first."""

    version: int
    location: str | None
    checks: tuple[CopyCheck, ...]

    @property
    def last(self) -> CopyCheck:
        return self.checks[0]

    @property
    def failed(self) -> int:
        return sum(1 for c in self.checks if c.outcome != "success")


def copy_histories(events: Iterable[AuditEvent]) -> list[CopyHistory]:
    """The fixity-check events among ``events`` (one package's), by copy: newest
    version first, then by location, each copy's checks newest first."""
    by_copy: dict[tuple[int, str | None], list[CopyCheck]] = {}
    for e in events:
        if e.event_type != EventType.FIXITY_CHECK.value or e.version is None:
            continue
        detail = e.detail or {}
        location = detail.get("location")
        findings = detail.get("findings")
        by_copy.setdefault((e.version, location if isinstance(location, str) else None), []).append(
            CopyCheck(seq=e.seq, checked_at=e.occurred_at,
                      tier=detail.get("tier") if isinstance(detail.get("tier"), str) else None,
                      outcome=e.outcome,
                      findings=tuple(f for f in findings if isinstance(f, dict))
                      if isinstance(findings, list) else (),
                      actor=e.actor.to_dict() if e.actor else None))
    return [CopyHistory(version, location, tuple(sorted(checks, key=lambda c: -c.seq)))
            for (version, location), checks in sorted(
                by_copy.items(), key=lambda kv: (-kv[0][0], kv[0][1] or ""))]


__all__ = ["CopyCheck", "CopyHistory", "copy_histories"]
