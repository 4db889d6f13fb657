"""The fixity policy's planner, on a fake clock: windows kept, budgets kept, nobody starved."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from ingest.fixity_planner import steady_rate
from ingest.fixity_policy import (
    DEEP,
    SHALLOW,
    CopyState,
    FixityPolicy,
)
from tests.fixity_oracles import coverage, pace, plan_checks

START = datetime(2025, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
WINDOW = timedelta(days=90)
LOCATIONS = ("file:///primary", "s3://replica/strongroom")


def copy(package: str, size: int, committed: datetime = START, location: str = LOCATIONS[0],
         **times: datetime | None) -> CopyState:
    return CopyState(package_id=package, number=1, location=location, size=size,
                     committed_at=committed, **times)


def archive(rng: random.Random) -> list[CopyState]:
    """200 packages of mixed sizes, in two locations, all ingested on day zero."""
    copies = []
    for n in range(200):
        size = rng.choice([1_000, 50_000, 2_000_000, 30_000_000])
        copies += [copy(f"p{n:03}", size, location=loc) for loc in LOCATIONS]
    return copies


def simulate(copies: list[CopyState], policy: FixityPolicy, days: int,
             arrivals: dict[int, list[CopyState]] | None = None
             ) -> tuple[dict[tuple, list[datetime]], list[list]]:
    """Run the planner once a day for ``days`` days, every planned check succeeding
    at once; returns the deep-check times of each copy and each day's deep checks."""
    state = {c.key: c for c in copies}
    history: dict[tuple, list[datetime]] = {key: [] for key in state}
    per_day = []
    for day in range(1, days + 1):
        as_of = START + day * DAY
        for newcomer in (arrivals or {}).get(day, []):
            state[newcomer.key] = newcomer
            history[newcomer.key] = []
        planned = plan_checks(state.values(), as_of, policy)
        deep = [p for p in planned if p.tier == DEEP]
        per_day.append(deep)
        for p in planned:
            key = (p.package_id, p.number, p.location)
            if p.tier == DEEP:
                state[key] = replace(state[key], last_deep=as_of, last_deep_ok=as_of)
                history[key].append(as_of)
            else:
                state[key] = replace(state[key], last_shallow=as_of)
    return history, per_day


def test_every_copy_is_deep_checked_within_its_window_under_the_budget_for_180_days() -> None:
    rng = random.Random(4)
    copies = archive(rng)
    huge = [copy("huge", 900_000_000, location=loc) for loc in LOCATIONS]
    copies += huge
    total = sum(c.size for c in copies)
    budget = int(1.5 * total / 90)
    assert huge[0].size > budget  # the huge copy never fits a day's budget
    late = [copy("late", 40_000, committed=START + 100 * DAY, location=loc) for loc in LOCATIONS]
    policy = FixityPolicy(window=WINDOW, bytes_per_day=budget)

    history, per_day = simulate(copies, policy, 180, arrivals={100: late})

    for c in copies + late:
        times = [c.committed_at, *history[c.key], START + 180 * DAY]
        gaps = [b - a for a, b in pairwise(times)]
        assert max(gaps) <= WINDOW, (c.key, max(gaps))
        assert len(history[c.key]) >= 1
    for deep in per_day:
        octets = sum(p.size for p in deep)
        # over the budget only when one copy alone is bigger than it
        assert octets <= budget or len(deep) == 1
    # spread over the window, not all at once: bytes read nearly every day of the
    # first window, and never more than twice the even share outside the huge runs
    first_window = [sum(p.size for p in deep) for deep in per_day[:89] if len(deep) != 1]
    assert sum(1 for deep in per_day[:89] if deep) >= 85
    assert max(first_window) <= 2 * total / 90


def test_small_packages_are_checked_while_a_huge_one_waits_for_its_turn() -> None:
    small = [copy(f"s{n}", 1_000) for n in range(30)]
    huge = copy("huge", 10_000_000)
    policy = FixityPolicy(window=WINDOW, bytes_per_day=5_000)
    history, per_day = simulate([huge, *small], policy, 90)
    assert all(history[c.key] for c in small)
    assert any(p.package_id == "s0" for p in per_day[0])
    (huge_day,) = [day for day, deep in enumerate(per_day) if any(p.package_id == "huge" for p in deep)]
    assert [p.package_id for p in per_day[huge_day]] == ["huge"]  # alone on its day
    assert history[huge.key][0] - START <= WINDOW


def test_the_oldest_verified_copy_goes_first_and_never_checked_counts_from_its_ingest() -> None:
    as_of = START + 200 * DAY
    old = copy("old", 100, last_deep=START + 20 * DAY)
    never = copy("never", 100, committed=START + 10 * DAY)
    recent = copy("recent", 100, last_deep=START + 150 * DAY)
    planned = plan_checks([recent, old, never], as_of, FixityPolicy(window=WINDOW),
                          budget=200)
    assert [p.package_id for p in planned if p.tier == DEEP] == ["never", "old"]


def test_a_copy_queued_once_is_not_planned_again_until_its_entry_is_stale() -> None:
    as_of = START + 100 * DAY
    policy = FixityPolicy(window=WINDOW, requeue_after=timedelta(hours=12))
    queued = copy("queued", 100, queued_deep=as_of - timedelta(hours=1),
                  queued_shallow=as_of - timedelta(hours=1))
    crashed = copy("crashed", 100, queued_deep=as_of - timedelta(hours=13))
    planned = plan_checks([queued, crashed], as_of, policy)
    assert [(p.package_id, p.tier) for p in planned] == [("crashed", DEEP)]


def test_shallow_checks_fall_due_by_their_interval_and_never_beside_a_deep_one() -> None:
    as_of = START + 40 * DAY
    policy = FixityPolicy(window=WINDOW, shallow_interval=timedelta(days=7))
    fresh = copy("fresh", 10, last_deep=as_of - 3 * DAY)
    stale = copy("stale", 10, last_deep=as_of - 30 * DAY, last_shallow=as_of - 8 * DAY)
    planned = plan_checks([fresh, stale], as_of, policy, budget=0)
    # budget 0 admits only the forced copy, and neither is due by tomorrow
    assert [(p.package_id, p.tier) for p in planned] == [("stale", SHALLOW)]
    off = replace(policy, shallow_interval=timedelta(0))
    assert plan_checks([fresh, stale], as_of, off, budget=0) == []
    overdue = copy("overdue", 10, last_deep=as_of - 100 * DAY)
    assert [(p.package_id, p.tier) for p in plan_checks([overdue], as_of, policy)] == [
        ("overdue", DEEP)]


def test_coverage_counts_only_deep_checks_that_found_the_copy_whole() -> None:
    as_of = START + 100 * DAY
    policy = FixityPolicy(window=WINDOW)
    good = [copy("good", 1, location=loc, last_deep=as_of - DAY, last_deep_ok=as_of - DAY)
            for loc in LOCATIONS]
    shallow_only = [copy("shallow", 1, location=loc, committed=as_of - 5 * DAY,
                         last_shallow=as_of - DAY) for loc in LOCATIONS]
    half = [copy("half", 1, location=LOCATIONS[0], last_deep=as_of - DAY,
                 last_deep_ok=as_of - DAY),
            copy("half", 1, location=LOCATIONS[1], last_deep=as_of - DAY,
                 last_deep_ok=as_of - 95 * DAY)]
    figure = coverage(good + shallow_only + half, policy, as_of)
    assert (figure.covered, figure.versions) == (1, 3)
    assert figure.per_location == {LOCATIONS[0]: (2, 3), LOCATIONS[1]: (1, 3)}
    assert figure.overdue == ()
    late = copy("late", 1, committed=as_of - 91 * DAY)
    assert [c.package_id for c in coverage([late], policy, as_of).overdue] == ["late"]


def test_bytes_summed_by_the_hour_never_pace_slower_and_at_most_an_hour_faster() -> None:
    """The catalog keeps bytes per hour of deadline, not per copy: the pace from
    those sums must still meet every deadline, and be no more than an hour early."""
    rng = random.Random(9)
    as_of = START + 100 * DAY
    copies = [copy(f"p{n}", rng.randrange(1, 10**7),
                   last_deep=as_of - timedelta(seconds=rng.randrange(0, 120 * 86400)))
              for n in range(500)]
    hourly: dict[datetime, int] = {}
    for c in copies:
        hour = c.deep_since.replace(minute=0, second=0, microsecond=0)
        hourly[hour] = hourly.get(hour, 0) + c.size
    policy = FixityPolicy(window=WINDOW)
    for period in (DAY, timedelta(hours=1)):
        exact = pace(copies, policy, as_of, period)
        summed = steady_rate(sorted(hourly.items()), policy, as_of, period)
        an_hour_early = pace([replace(c, last_deep=c.last_deep - timedelta(hours=1))
                              for c in copies], policy, as_of, period)
        assert exact <= summed <= an_hour_early


def test_a_policy_without_a_window_is_refused() -> None:
    with pytest.raises(ValueError):
        FixityPolicy(window=timedelta(0))
    with pytest.raises(ValueError):
        FixityPolicy(bytes_per_day=-1)
