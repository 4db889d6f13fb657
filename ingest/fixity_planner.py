"""Which copies fall due for a check at a given moment: the planner of fixity runs.

How a run chooses its deep checks (``due_checks``), planned as if runs came
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
check of either tier is older than the shallow interval is due, the longest
unchecked first, unless it gets a deep check in this run or is queued for one.
An interval of zero turns the shallow tier off.

The planner (``due_checks``) reads the copies through a ``DueSource``: the
catalog, which answers each question with an index scan or a sum it keeps, a
page at a time, so planning does not grow with the archive.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import Protocol

from ingest.fixity_policy import (
    DAY,
    DEEP,
    SHALLOW,
    CopyState,
    FixityPolicy,
    OrderKey,
    PlannedCheck,
)


def run_allowance(policy: FixityPolicy, period: timedelta, budget: int | None) -> int | None:
    """The byte cap of one run: ``budget`` if given, else the daily budget scaled to
    ``period``; None when there is no cap."""
    if budget is not None:
        return max(0, budget)
    if policy.bytes_per_day == 0:
        return None
    return max(1, math.floor(policy.bytes_per_day * (period / DAY)))


class DueSource(Protocol):
    """What the planner asks about the copies in some locations. The catalog answers
    from its indexes, a page at a time."""

    def fixity_backlog(self, locations: Sequence[str],
                       collapse_before: datetime) -> list[tuple[datetime, int]]:
        """The bytes of every copy (queued or not) by when its deep deadline counts
        from (``CopyState.deep_since``), earliest first, as (time, bytes) pairs. A
        pair may sum several copies: its time is then at or before each of theirs.
        Copies whose time is before ``collapse_before`` may be summed in one pair."""

    def fixity_oldest(self, locations: Sequence[str], stale_before: datetime | None,
                      larger_than: int | None = None, at_most: int | None = None,
                      after: OrderKey | None = None) -> Iterator[CopyState]:
        """Copies earliest deep deadline first (then by key): those not queued for a
        deep check after ``stale_before`` (every copy when None); only those of
        more than ``larger_than`` bytes, of at most ``at_most`` bytes, and coming
        after ``after`` (a copy's ``deep_order``) in that order, when given."""

    def fixity_shallow_due(self, locations: Sequence[str], checked_before: datetime,
                           stale_before: datetime) -> Iterator[CopyState]:
        """Copies with no check of either tier (nor their making) after
        ``checked_before`` and queued for neither tier after ``stale_before``, the
        longest unchecked first (then by key)."""


def steady_rate(backlog: Iterable[tuple[datetime, int]], policy: FixityPolicy,
                as_of: datetime, period: timedelta) -> int:
    """Bytes a run must read for every deadline to be met at a steady rate.

    ``backlog`` holds (when a deadline counts from, bytes), earliest first (see
    ``DueSource.fixity_backlog``). The rate is the largest, over every deadline d,
    of the bytes due by d over the time left until d (at least one period: what
    is overdue is due now). A pair summing several copies counts them all at its
    own (earliest) deadline, so the rate is never lower than the exact one.
    """
    rate = 0.0  # bytes per period
    total = 0
    start = as_of - policy.window  # a deadline counting from here falls at as_of
    for since, size in backlog:
        total += size
        periods_left = (since - start) / period
        share = total / (periods_left if periods_left > 1.0 else 1.0)
        if share > rate:
            rate = share
    return math.ceil(rate)


def due_checks(source: DueSource, locations: Sequence[str], as_of: datetime,
               policy: FixityPolicy, period: timedelta = DAY,
               budget: int | None = None) -> Iterator[PlannedCheck]:
    """The checks due at ``as_of`` in ``locations``, one at a time: deep ones first
    (earliest deadline first), then shallow ones (longest unchecked first); see
    the module docstring for the rules. Reads ``source`` only as far as the
    caller takes checks. Pure: reads no clock.

    Raises ValueError for a period that is not positive (at once, not when the
    first check is taken).
    """
    if period <= timedelta(0):
        raise ValueError("the planning period must be longer than zero")
    locations = list(dict.fromkeys(locations))
    return _due_checks(source, locations, as_of, policy, period, budget)


def _due_checks(source: DueSource, locations: list[str], as_of: datetime,
                policy: FixityPolicy, period: timedelta,
                budget: int | None) -> Iterator[PlannedCheck]:
    stale = as_of - policy.requeue_after
    backlog = source.fixity_backlog(locations, collapse_before=as_of + period - policy.window)
    allowance = steady_rate(backlog, policy, as_of, period)
    cap = run_allowance(policy, period, budget)
    if cap is not None:
        allowance = min(allowance, cap)

    chosen: set[tuple[str, int, str]] = set()
    oversized = source.fixity_oldest(locations, stale, larger_than=allowance)
    first = next(oversized, None)
    if first is not None and _gets_its_own_run(first, oversized, policy, as_of, period):
        chosen.add(first.key)
        yield PlannedCheck(first.package_id, first.number, first.location, DEEP, first.size)
    else:
        for copy in _fill(source, locations, stale, allowance):
            chosen.add(copy.key)
            yield PlannedCheck(copy.package_id, copy.number, copy.location, DEEP, copy.size)

    if policy.shallow_interval <= timedelta(0):
        return
    # A copy getting (or waiting for) a deep check needs no shallow one.
    for copy in source.fixity_shallow_due(locations, as_of - policy.shallow_interval, stale):
        if copy.key not in chosen:
            yield PlannedCheck(copy.package_id, copy.number, copy.location, SHALLOW, copy.size)


def _fill(source: DueSource, locations: list[str], stale: datetime,
          allowance: int) -> Iterator[CopyState]:
    """Free copies earliest deadline first, each one that still fits the allowance.
    After the first that does not, only copies that fit the room left are asked
    for (an index scan, not a walk past every copy too big to matter)."""
    used = 0
    after: OrderKey | None = None
    while True:
        room = allowance - used
        for copy in source.fixity_oldest(locations, stale, after=after,
                                         at_most=None if after is None else room):
            if copy.size > allowance - used:
                after = copy.deep_order  # go on after it, among smaller copies
                break
            used += copy.size
            yield copy
        else:
            return


def _gets_its_own_run(first: CopyState, others: Iterator[CopyState], policy: FixityPolicy,
                      as_of: datetime, period: timedelta) -> bool:
    """True when the earliest oversized copy must run now: each oversized copy
    needs a run of its own, so the first starts early enough for all of them
    (its deadline falls within as many runs, plus one, as there are). Counts the
    others only as far as could matter."""
    deadline = first.deep_deadline(policy)
    enough = max(0, math.ceil((deadline - as_of) / period)) + 1
    count = 1 + sum(1 for _ in islice(others, enough))
    return deadline < as_of + period * (count + 1)


def merge_copies(streams: Iterable[Iterable[CopyState]], since: str) -> Iterator[CopyState]:
    """Copies of several locations' streams, each ordered by (``since`` time,
    package, number), as one stream in (time, key) order; ``since`` names the
    ``CopyState`` property (``deep_since``, ``checked_since``)."""
    return heapq.merge(*streams, key=lambda c: (getattr(c, since), c.key))
