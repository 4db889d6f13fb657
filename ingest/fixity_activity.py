"""Fixity checks per day over the policy's window: how steadily the archive is checked.

The figure behind the preservation page's chart (and anyone else's): one entry
per UTC day of the window, the last being today, with the checks recorded that
day by tier and outcome. Counted by the catalog (``fixity_checks_per_day``), so
the cost does not grow with the number of checks kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from ingest.fixity_policy import DEEP, DELIVERY, SHALLOW, FixityPolicy


class DailyChecksSource(Protocol):
    def fixity_checks_per_day(self, since: datetime,
                              until: datetime) -> list[tuple[date, str, str, int]]: ...


@dataclass(frozen=True)
class DayOfChecks:
    """The checks recorded on one UTC day."""

    day: date
    deep_ok: int = 0
    deep_failed: int = 0
    shallow_ok: int = 0
    shallow_failed: int = 0
    #: deliveries refused for damage (``ingest.fixity_policy.DELIVERY``): counted
    #: apart, never as deep or shallow checks; only refused ones are recorded
    delivery_failed: int = 0

    @property
    def total(self) -> int:
        return (self.deep_ok + self.deep_failed + self.shallow_ok + self.shallow_failed
                + self.delivery_failed)

    @property
    def failed(self) -> int:
        return self.deep_failed + self.shallow_failed + self.delivery_failed

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "deep_ok": self.deep_ok,
                "deep_failed": self.deep_failed, "shallow_ok": self.shallow_ok,
                "shallow_failed": self.shallow_failed, "delivery_failed": self.delivery_failed,
                "total": self.total}


@dataclass(frozen=True)
class ChecksPerDay:
    """Every day of the window, oldest first, the last one being ``as_of``'s day."""

    as_of: datetime
    days: tuple[DayOfChecks, ...]

    @property
    def total(self) -> int:
        return sum(d.total for d in self.days)

    @property
    def most(self) -> int:
        """The most checks on one day (0 when there was none)."""
        return max((d.total for d in self.days), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "days": [d.to_dict() for d in self.days]}


def checks_per_day(catalog: DailyChecksSource, policy: FixityPolicy, as_of: datetime) -> ChecksPerDay:
    """The checks of each UTC day of the policy's window up to ``as_of`` (whole
    days: the window's first day from its midnight, today up to ``as_of``); a
    day with no check is there with zeros. Raises CatalogUnavailable."""
    today = as_of.astimezone(UTC).date()
    count = max(1, policy.window.days)
    first = today - timedelta(days=count - 1)
    since = datetime.combine(first, time(), tzinfo=UTC)
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    return ChecksPerDay(as_of, _fold(catalog.fixity_checks_per_day(since, min(until, as_of + timedelta.resolution)),
                                     [first + timedelta(days=n) for n in range(count)]))


def _fold(rows: Sequence[tuple[date, str, str, int]], days: Sequence[date]) -> tuple[DayOfChecks, ...]:
    counts: dict[date, dict[str, int]] = {day: {} for day in days}
    for day, tier, outcome, checks in rows:
        if day not in counts:
            continue
        if tier == DELIVERY:
            if outcome != "failed":
                continue  # no such record is made; were one, it would be no check
            key = "delivery_failed"
        elif tier in (DEEP, SHALLOW):
            key = f"{tier}_{'failed' if outcome == 'failed' else 'ok'}"
        else:
            continue
        counts[day][key] = counts[day].get(key, 0) + checks
    return tuple(DayOfChecks(day, **counts[day]) for day in days)


__all__ = ["ChecksPerDay", "DayOfChecks", "checks_per_day"]
