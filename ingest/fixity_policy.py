"""The fixity policy: what it promises, the state of each copy, checks and coverage.

A *copy* is one version's bag in one storage location. The policy promises that
every copy is deep-checked (every byte re-read and re-hashed) at least once per
``window``, and shallow-checked (a HEAD per object: exists, size, the store's
own SHA-256) at least once per ``shallow_interval``.

How due checks are chosen is ``ingest.fixity_planner``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.findings import Finding

DEEP = "deep"
SHALLOW = "shallow"
TIERS = (DEEP, SHALLOW)
#: Damage found while a version was delivered (fetched, downloaded), its bytes
#: checked on the way out (``ingest.retrieval.record_damage``). Recorded as a
#: check of its own kind, never as a deep one: only refused deliveries are
#: recorded, and a refused delivery stops at the damage it found, so it never
#: stands for a copy re-read whole against both digests and the sealed
#: manifests. It makes the copy fail (the report lists it, ``show`` says the
#: version failed) until a later deep check or a repair has the last word; it
#: neither moves the copy's deep deadline nor counts as a deep check for
#: coverage, and the planner does not schedule this kind.
DELIVERY = "delivery"

DAY = timedelta(days=1)


@dataclass(frozen=True)
class FixityPolicy:
    """How often each tier runs, and how many bytes a day deep checks may read."""

    window: timedelta = timedelta(days=90)
    #: bytes deep checks may read per day; 0 = no cap (pacing alone spreads the load)
    bytes_per_day: int = 0
    #: every copy gets a shallow check this often; zero turns the tier off
    shallow_interval: timedelta = timedelta(days=7)
    #: a queued check not finished after this long is taken for lost (a crash)
    requeue_after: timedelta = timedelta(hours=12)
    #: when a scheduled deep check finds a copy damaged, repair it at once from a
    #: copy deep-verified good moments before, or another stored object with the
    #: same recorded digests (``ingest.repair``). Off by default:
    #: damage may be the first sign of a failing disk or of tampering, and a person
    #: should see it before any bytes are rewritten.
    auto_repair: bool = False

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError("the fixity window must be longer than zero")
        if self.bytes_per_day < 0 or self.shallow_interval < timedelta(0):
            raise ValueError("bytes_per_day and shallow_interval must not be negative")
        if self.requeue_after <= timedelta(0):
            raise ValueError("requeue_after must be longer than zero")


#: a copy's place in an order: (a time, its key)
OrderKey = tuple[datetime, tuple[str, int, str]]


@dataclass(frozen=True)
class CopyState:
    """What the catalog knows of one copy's checks."""

    package_id: str
    number: int
    location: str
    #: bytes a deep check reads (every file of the version)
    size: int
    #: when the version was made (ingested): the baseline of a copy never checked
    committed_at: datetime
    last_deep: datetime | None = None
    #: the last deep check that found the copy whole
    last_deep_ok: datetime | None = None
    last_shallow: datetime | None = None
    #: when a check of each tier was queued and not yet finished
    queued_deep: datetime | None = None
    queued_shallow: datetime | None = None
    #: the last deep check found the copy damaged (it is not covered, however
    #: recent ``last_deep_ok``)
    last_deep_failed: bool = False

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.package_id, self.number, self.location)

    @property
    def deep_since(self) -> datetime:
        """What the deep deadline counts from: the last deep check, or the making."""
        return self.last_deep or self.committed_at

    @property
    def checked_since(self) -> datetime:
        """What the shallow interval counts from: the last check of either tier, or
        the making."""
        return max(t for t in (self.last_shallow, self.last_deep, self.committed_at) if t)

    def deep_deadline(self, policy: FixityPolicy) -> datetime:
        """When this copy's next deep check is due."""
        return self.deep_since + policy.window

    @property
    def deep_order(self) -> OrderKey:
        """Where the copy stands among those due for a deep check: earliest deadline
        first, then by key."""
        return (self.deep_since, self.key)

    def busy(self, tier: str, stale_before: datetime) -> bool:
        """True when a check of ``tier`` was queued after ``stale_before`` and not
        recorded since."""
        queued = self.queued_deep if tier == DEEP else self.queued_shallow
        return queued is not None and queued > stale_before


@dataclass(frozen=True)
class PlannedCheck:
    """One check to run: a copy and a tier."""

    package_id: str
    number: int
    location: str
    tier: str
    size: int

    def to_dict(self) -> dict[str, object]:
        return {"package_id": self.package_id, "version": self.number,
                "location": self.location, "tier": self.tier, "octets": self.size}


@dataclass(frozen=True)
class RecordedCheck:
    """A check as the catalog keeps it: which copy, which tier (``DEEP``, ``SHALLOW``
    or ``DELIVERY``), when, what it found."""

    package_id: str
    number: int
    location: str
    tier: str
    checked_at: datetime
    findings: tuple[Finding, ...] = ()

    @property
    def outcome(self) -> str:
        return "failed" if self.findings else "ok"

    def to_dict(self) -> dict[str, object]:
        return {"package_id": self.package_id, "version": self.number,
                "location": self.location, "tier": self.tier,
                "checked_at": self.checked_at.isoformat(), "outcome": self.outcome,
                "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class Coverage:
    """How far the policy's promise holds at ``as_of``.

    A version counts as covered in a location when a deep check inside the
    window found that copy whole, and overall when every copy of it is covered.
    Shallow checks never count.
    """

    as_of: datetime
    window: timedelta
    versions: int
    covered: int
    #: location -> (versions covered there, versions)
    per_location: dict[str, tuple[int, int]]
    #: the overdue copies, earliest deadline first (the first ones only, when
    #: ``overdue_count`` says there are more)
    overdue: tuple[CopyState, ...]
    #: how many copies are overdue; None: as many as ``overdue`` lists
    overdue_total: int | None = None

    @property
    def overdue_count(self) -> int:
        return len(self.overdue) if self.overdue_total is None else self.overdue_total

    @property
    def share(self) -> float:
        return self.covered / self.versions if self.versions else 1.0

    def to_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "window_days": self.window / DAY,
            "versions": self.versions,
            "covered": self.covered,
            "share": round(self.share, 6),
            "locations": [
                {"location": location, "covered": covered, "versions": total,
                 "share": round(covered / total, 6) if total else 1.0}
                for location, (covered, total) in self.per_location.items()
            ],
        }


@dataclass(frozen=True)
class CopyTally:
    """The catalog's counts behind the coverage figure, for one moment: copies
    deep-verified whole since a time (``covered``), copies whose deep deadline
    counts from before a time (``overdue``)."""

    versions: int
    #: versions every copy of which is covered
    covered: int
    #: location -> (copies covered there, copies)
    per_location: dict[str, tuple[int, int]]
    overdue: int


def tally_cutoffs(policy: FixityPolicy, as_of: datetime) -> tuple[datetime, datetime]:
    """(verified since, due before): a copy deep-verified whole at or after the first
    is covered at ``as_of`` (shallow checks never count); one whose deep deadline
    counts from before the second is overdue (its ``deep_deadline`` is past)."""
    return as_of - policy.window, as_of - policy.window


def coverage_of(tally: CopyTally, overdue: Iterable[CopyState], policy: FixityPolicy,
                as_of: datetime) -> Coverage:
    """The coverage figure from the catalog's counts (``tally_cutoffs``) and the
    first overdue copies, earliest deadline first."""
    return Coverage(as_of=as_of, window=policy.window, versions=tally.versions,
                    covered=tally.covered, per_location=tally.per_location,
                    overdue=tuple(overdue), overdue_total=tally.overdue)
