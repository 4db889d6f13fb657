"""What a check or a repair of one version's copies found, and how one check is recorded.

Beneath ``ingest.fixity_audit`` (which checks copies, and repairs them when the
policy allows it) and ``ingest.repair`` (which records the checks it makes as
fixity checks of copies): both import these from here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ingest.findings import Finding
from ingest.fixity_policy import DEEP, RecordedCheck
from ingest.models import EventType, NewEvent, Outcome, VersionRecord
from ingest.services import Services

_log = logging.getLogger("strongroom.fixity")

#: What a copy came to.
OK, REPAIRED, DAMAGED_LEFT, UNREACHABLE = "ok", "repaired", "damaged", "unreachable"


@dataclass
class CopyOutcome:
    """One copy of a version: what the deep check found and what repair did."""

    location: str
    status: str = OK                       # ok, repaired, damaged, unreachable
    findings: tuple[Finding, ...] = ()      # found by the first deep check
    rewritten: list[str] = field(default_factory=list)   # bag paths written again
    deleted: list[str] = field(default_factory=list)     # objects the version lacks
    findings_after: tuple[Finding, ...] = ()  # found by the check after repair
    rechecked: bool = False                  # the check after repair ran to its end
    source: str | None = None               # the copy verified good, if any
    #: bag path -> the object its bytes were copied from ({"location", "key"})
    mended_from: dict[str, dict[str, str]] = field(default_factory=dict)
    detail: str | None = None
    #: what the deep check found this copy to hold, in words (``what_a_copy_had``)
    had: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "status": self.status,
            "had": self.had,
            "findings": [f.to_dict() for f in self.findings],
            "source": self.source,
            "rewritten": list(self.rewritten),
            "mended_from": {path: dict(source) for path, source in self.mended_from.items()},
            "deleted": list(self.deleted),
            "findings_after": [f.to_dict() for f in self.findings_after],
            "detail": self.detail,
        }


_DAMAGE = frozenset({"FIXITY_MISMATCH", "SIZE_MISMATCH"})


def what_a_copy_had(files: Sequence[str], findings: Iterable[Finding]) -> str:
    """What one copy of a version held, by the findings of its deep check, in
    words: ``"8 of 9 files as recorded; not as recorded: data/a.tif; missing:
    data/b.tif"``. ``files`` are the version's bag paths."""
    known = set(files)
    damaged: set[str] = set()
    missing: set[str] = set()
    strays: set[str] = set()
    unsealed: set[str] = set()
    for f in findings:
        path = f.path or ""
        if f.code in _DAMAGE or (f.code == "TAG_MISMATCH" and "algorithms" in f.params):
            damaged.add(path)
        elif f.code == "FILE_MISSING":
            missing.add(path)
        elif f.code == "UNEXPECTED_FILE":
            strays.add(path)
        elif f.code == "MANIFEST_NOT_AS_SEALED":
            unsealed.add(path)
    damaged -= missing
    good = len(known - damaged - missing - unsealed)
    parts = [f"{good} of {len(known)} files as recorded"]
    for words, paths in (("not as recorded", damaged), ("missing", missing),
                         ("not as sealed in the audit log", unsealed),
                         ("not of this version", strays)):
        if paths:
            parts.append(f"{words}: {', '.join(sorted(paths))}")
    return "; ".join(parts)


@dataclass(frozen=True)
class RepairResult:
    """What ``repair_version`` found and did, per copy.

    ``status``: ``ok`` (every copy was good), ``repaired`` (every damaged copy
    is good again), ``refused`` (damage, but no copy verified good and no other
    stored object with the damaged files' digests to repair from: nothing was
    written), ``failed`` (a copy is still damaged or could not be reached).
    """

    package_id: str
    version: int
    status: str
    copies: tuple[CopyOutcome, ...]
    #: why nothing was repaired, in words, naming each copy checked (``refused``)
    detail: str | None = None
    #: the record's identifier, for people reading the result
    identifier: str | None = None

    @property
    def has_problems(self) -> bool:
        return self.status in ("refused", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {"package_id": self.package_id, "identifier": self.identifier,
                "version": self.version, "status": self.status,
                "detail": self.detail, "copies": [c.to_dict() for c in self.copies]}


@dataclass(frozen=True)
class VersionCheck:
    package_id: str
    version: int
    location: str
    findings: tuple[Finding, ...]
    tier: str = DEEP
    octets: int = 0
    #: the repair this check's findings set off (policy ``auto_repair``), if any
    repair: RepairResult | None = None
    #: the record's identifier and title, for people reading the result
    identifier: str | None = None
    title: str | None = None

    @property
    def status(self) -> str:
        return "failed" if self.findings else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "package_id": self.package_id,
            "version": self.version,
            "location": self.location,
            "tier": self.tier,
            "status": self.status,
            "octets": self.octets,
            "findings": [f.to_dict() for f in self.findings],
            "repair": self.repair.to_dict() if self.repair else None,
            "identifier": self.identifier,
            "title": self.title,
        }


def record_copy_check(services: Services, version: VersionRecord, location: str, tier: str,
                      raw: Iterable[Finding], events: Iterable[NewEvent] = (), *,
                      digests_compared: int | None = None) -> VersionCheck:
    """Record one check of one copy (its findings, located at ``location``) with a
    PREMIS fixity-check event, after ``events``, in one transaction; it counts
    for the policy's schedule and coverage. The event says which digests were
    compared, for how many files: a deep check both of every file; a shallow one
    the SHA-256 of the ``digests_compared`` files whose store kept one of its
    own (none on a filesystem). Raises VersionNotFound, CatalogUnavailable."""
    findings = tuple(
        replace(f, location=location)
        for f in sorted(raw, key=lambda f: (f.path or "", f.code))
    )
    octets = sum(f.size for f in version.files)
    check = VersionCheck(version.package_id, version.number, location, findings,
                         tier=tier, octets=octets, identifier=version.identifier,
                         title=version.title)
    now = services.clock.now()
    event = services.event(
        EventType.FIXITY_CHECK,
        Outcome.FAILURE if findings else Outcome.SUCCESS,
        occurred_at=now,
        package_id=version.package_id,
        version=version.number,
        detail={
            "location": location,
            "tier": tier,
            "outcome": check.status,
            "files": len(version.files),
            "octets": octets,
            "digests": _digests_summary(version, tier, digests_compared),
            "findings": [f.to_dict() for f in findings],
        },
    )
    services.catalog.record_check_of_copy(
        RecordedCheck(version.package_id, version.number, location, tier, now, findings),
        [*events, event])
    services.metrics.copy_checked(tier, check.status, octets)
    _log.info("%s check of %s v%d in %s: %s", tier, version.identifier, version.number, location,
              check.status, extra={"event": "fixity check", "package": version.package_id})
    return check


def _digests_summary(version: VersionRecord, tier: str,
                     compared: int | None) -> dict[str, Any]:
    """What the copy was compared with: the algorithms, the number of files whose
    digests were compared, and one SHA-256 over the catalog's ``sha256  path``
    lines, so the event pins the exact expected state."""
    lines = "".join(f"{f.sha256}  {f.path}\n" for f in sorted(version.files, key=lambda f: f.path))
    if tier == DEEP:  # every file, but those a holder's check of the cycle vouches for
        algorithms = ["sha256", "sha512"]
        files = len(version.files) if compared is None else compared
    else:  # a shallow check compares only the SHA-256 a store keeps of its own
        files = compared or 0
        algorithms = ["sha256"] if files else []
    return {
        "algorithms": algorithms,
        "files_compared": files,
        "catalog_sha256": hashlib.sha256(lines.encode("utf-8")).hexdigest(),
    }


__all__ = ["DAMAGED_LEFT", "OK", "REPAIRED", "UNREACHABLE", "CopyOutcome", "RepairResult",
           "VersionCheck", "record_copy_check", "what_a_copy_had"]
