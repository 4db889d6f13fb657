"""The fixity policy, and which copies fall due for a check at a given moment.

A *copy* is one version's bag in one storage location. The policy promises that
every copy is deep-checked (every byte re-read and re-hashed) at least once per
``window``, and shallow-checked (a HEAD per object: exists, size, the store's
own SHA-256) at least once per ``shallow_interval``.

How a run chooses its deep checks (``plan_checks``), planned as if runs came
every ``period`` (a day for cron, shorter under Celery beat):

- Every copy has a *deadline*: its last deep check (of any outcome), or, never
  checked, the time its version was committed, plus the window.
- Pace: the run's allowance is the smallest steady rate at which every deadline
  can still be met, earliest first, times the period — so checks spread evenly
  over the window instead of all falling due on one day, and a backlog of
  overdue copies is caught up as fast as the budget allows.
- The budget (``bytes_per_day``, or ``--budget`` for one run) caps the allowance.
- Copies are taken earliest deadline (oldest verification) first, each one that
  still fits the allowance; one that does not fit is skipped for the run, so
  small packages never wait behind a huge one.
- The one exception to the cap: a copy larger than the allowance is taken
  alone, in a run of its own, once its deadline falls within as many runs (plus
  one) as there are such oversized copies — early enough for every one of them
  to get its run before its deadline. So a copy larger than a day's budget is
  still checked in its window, and only such a run goes over the budget.
- A copy already queued (and not stale: queued less than ``requeue_after`` ago,
  so a crashed run's work becomes due again) is not planned twice.

Shallow checks read no bytes and count against no budget: every copy whose last
check of either tier is older than the shallow interval is due, unless it gets a
deep check in this run or is queued for one. An interval of zero turns the
shallow tier off.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.findings import Finding

DEEP = "deep"
SHALLOW = "shallow"
TIERS = (DEEP, SHALLOW)

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
    #: copy deep-verified good moments before (``ingest.repair``). Off by default:
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

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.package_id, self.number, self.location)

    def deep_deadline(self, policy: FixityPolicy) -> datetime:
        """When this copy's next deep check is due."""
        return (self.last_deep or self.committed_at) + policy.window

    def shallow_due(self, policy: FixityPolicy, as_of: datetime) -> bool:
        """True when the copy has had no check of either tier for the shallow interval."""
        if policy.shallow_interval <= timedelta(0):
            return False
        last = max(t for t in (self.last_shallow, self.last_deep, self.committed_at) if t)
        return as_of - last >= policy.shallow_interval


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


def run_allowance(policy: FixityPolicy, period: timedelta, budget: int | None) -> int | None:
    """The byte cap of one run: ``budget`` if given, else the daily budget scaled to
    ``period``; None when there is no cap."""
    if budget is not None:
        return max(0, budget)
    if policy.bytes_per_day == 0:
        return None
    return max(1, math.floor(policy.bytes_per_day * (period / DAY)))


def pace(copies: Iterable[CopyState], policy: FixityPolicy, as_of: datetime,
         period: timedelta) -> int:
    """Bytes a run must read for every deadline to be met at a steady rate.

    The rate is the largest, over every deadline d, of the bytes due by d over the
    time left until d (at least one period: what is overdue is due now).
    """
    due = sorted((c.deep_deadline(policy), c.size) for c in copies)
    rate = 0.0  # bytes per period
    total = 0
    for deadline, size in due:
        total += size
        periods_left = max(1.0, (deadline - as_of) / period)
        rate = max(rate, total / periods_left)
    return math.ceil(rate)


def plan_checks(copies: Iterable[CopyState], as_of: datetime, policy: FixityPolicy,
                period: timedelta = DAY, budget: int | None = None) -> list[PlannedCheck]:
    """The checks due at ``as_of``: deep ones first (earliest deadline first), then
    shallow ones; see the module docstring for the rules. Pure: reads no clock.

    Raises ValueError for a period that is not positive.
    """
    if period <= timedelta(0):
        raise ValueError("the planning period must be longer than zero")
    copies = list(copies)
    stale = as_of - policy.requeue_after
    free = [c for c in copies if not (c.queued_deep and c.queued_deep > stale)]
    allowance = pace(copies, policy, as_of, period)
    cap = run_allowance(policy, period, budget)
    if cap is not None:
        allowance = min(allowance, cap)

    ordered = sorted(free, key=lambda c: (c.deep_deadline(policy), c.key))
    oversized = [c for c in ordered if c.size > allowance]
    # Each oversized copy needs a run of its own; start early enough for all of them.
    horizon = as_of + period * (len(oversized) + 1)
    if oversized and oversized[0].deep_deadline(policy) < horizon:
        ordered = [oversized[0]]
        allowance = oversized[0].size
    deep: list[PlannedCheck] = []
    used = 0
    for copy in ordered:
        if used + copy.size <= allowance:
            deep.append(PlannedCheck(copy.package_id, copy.number, copy.location, DEEP, copy.size))
            used += copy.size
    # A copy getting (or waiting for) a deep check needs no shallow one.
    chosen = {(p.package_id, p.number, p.location) for p in deep}
    chosen |= {c.key for c in copies if c.queued_deep and c.queued_deep > stale}

    shallow = [
        PlannedCheck(c.package_id, c.number, c.location, SHALLOW, c.size)
        for c in sorted(copies, key=lambda c: c.key)
        if c.key not in chosen
        and not (c.queued_shallow and c.queued_shallow > stale)
        and c.shallow_due(policy, as_of)
    ]
    return deep + shallow


def is_overdue(copy: CopyState, policy: FixityPolicy, as_of: datetime) -> bool:
    """True when the copy's deep check is past its deadline."""
    return copy.deep_deadline(policy) < as_of


def is_covered(copy: CopyState, policy: FixityPolicy, as_of: datetime) -> bool:
    """True when a deep check inside the window found the copy whole (shallow
    checks never count)."""
    return copy.last_deep_ok is not None and as_of - copy.last_deep_ok <= policy.window


@dataclass(frozen=True)
class RecordedCheck:
    """A check as the catalog keeps it: which copy, which tier, when, what it found."""

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
    overdue: tuple[CopyState, ...]

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


def coverage(copies: Iterable[CopyState], policy: FixityPolicy, as_of: datetime) -> Coverage:
    """The coverage figure and the overdue copies, from the catalog's copies."""
    by_version: dict[tuple[str, int], list[bool]] = {}
    per_location: dict[str, tuple[int, int]] = {}
    overdue = []
    for copy in copies:
        covered = is_covered(copy, policy, as_of)
        by_version.setdefault((copy.package_id, copy.number), []).append(covered)
        done, total = per_location.get(copy.location, (0, 0))
        per_location[copy.location] = (done + covered, total + 1)
        if is_overdue(copy, policy, as_of):
            overdue.append(copy)
    return Coverage(
        as_of=as_of, window=policy.window, versions=len(by_version),
        covered=sum(all(flags) for flags in by_version.values()),
        per_location=per_location,
        overdue=tuple(sorted(overdue, key=lambda c: (c.deep_deadline(policy), c.key))),
    )
