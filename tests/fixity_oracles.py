"""Oracles for the fixity tests: the planner's and the report's rules written the
plain way, over a list of copies in memory, to check the catalog's index scans and
sums against.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from ingest.fixity_planner import DueSource, due_checks, steady_rate
from ingest.fixity_policy import (
    DAY,
    DEEP,
    SHALLOW,
    CopyState,
    Coverage,
    FixityPolicy,
    OrderKey,
    PlannedCheck,
)


class CopyList:
    """A ``DueSource`` over copies in memory."""

    def __init__(self, copies: Iterable[CopyState]) -> None:
        self.copies = list(copies)

    def _in(self, locations: Sequence[str]) -> list[CopyState]:
        wanted = set(locations)
        return [c for c in self.copies if c.location in wanted]

    def fixity_backlog(self, locations: Sequence[str],
                       collapse_before: datetime) -> list[tuple[datetime, int]]:
        return sorted((c.deep_since, c.size) for c in self._in(locations))

    def fixity_oldest(self, locations: Sequence[str], stale_before: datetime | None,
                      larger_than: int | None = None, at_most: int | None = None,
                      after: OrderKey | None = None) -> Iterator[CopyState]:
        chosen = [c for c in self._in(locations)
                  if (stale_before is None or not c.busy(DEEP, stale_before))
                  and (larger_than is None or c.size > larger_than)
                  and (at_most is None or c.size <= at_most)
                  and (after is None or c.deep_order > after)]
        return iter(sorted(chosen, key=lambda c: c.deep_order))

    def fixity_shallow_due(self, locations: Sequence[str], checked_before: datetime,
                           stale_before: datetime) -> Iterator[CopyState]:
        due = [c for c in self._in(locations)
               if c.checked_since <= checked_before
               and not c.busy(DEEP, stale_before) and not c.busy(SHALLOW, stale_before)]
        return iter(sorted(due, key=lambda c: (c.checked_since, c.key)))


def plan_checks(copies: Iterable[CopyState], as_of: datetime, policy: FixityPolicy,
                period: timedelta = DAY, budget: int | None = None) -> list[PlannedCheck]:
    """Every check due at ``as_of`` among ``copies`` (``due_checks`` over a list).

    Raises ValueError for a period that is not positive.
    """
    source = CopyList(copies)
    locations = sorted({c.location for c in source.copies})
    return list(due_checks(source, locations, as_of, policy, period=period, budget=budget))


def pace(copies: Iterable[CopyState], policy: FixityPolicy, as_of: datetime,
         period: timedelta) -> int:
    """``steady_rate`` of the copies themselves."""
    return steady_rate(sorted((c.deep_since, c.size) for c in copies), policy, as_of, period)


def is_overdue(copy: CopyState, policy: FixityPolicy, as_of: datetime) -> bool:
    """True when the copy's deep check is past its deadline."""
    return copy.deep_deadline(policy) < as_of


def is_covered(copy: CopyState, policy: FixityPolicy, as_of: datetime) -> bool:
    """True when the copy's last deep check found it whole, inside the window
    (shallow checks never count)."""
    return (copy.last_deep_ok is not None and as_of - copy.last_deep_ok <= policy.window
            and not copy.last_deep_failed)


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


def fixity_copies(catalog: DueSource, locations: Sequence[str]) -> list[CopyState]:
    """Every committed version in every one of ``locations``, with its size and the
    times of its last checks and unfinished queued checks, as the catalog keeps
    them: by version, then in the order of ``locations``."""
    wanted = list(dict.fromkeys(locations))
    rank = {location: n for n, location in enumerate(wanted)}
    copies = catalog.fixity_oldest(wanted, None)
    return sorted(copies, key=lambda c: (c.package_id, c.number, rank[c.location]))
