"""The fixity checks due, planned from the catalog, queued and run: the schedule
``strongroom fixity run-due`` (cron), the beat's planning task and the API run,
and what a run at any moment would check (``plan_due_at``). Each check itself is
``ingest.fixity_audit.run_fixity_check``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from ingest.copy_checks import RepairResult, VersionCheck
from ingest.errors import InputError, StorageUnavailable
from ingest.fixity_audit import run_fixity_check
from ingest.fixity_planner import due_checks
from ingest.fixity_policy import DAY, DEEP, FixityPolicy, PlannedCheck
from ingest.ports import Catalog
from ingest.services import Services


@dataclass(frozen=True)
class DueRun:
    """What one run of the due checks did."""

    as_of: datetime
    planned: tuple[PlannedCheck, ...]
    checks: tuple[VersionCheck, ...]
    #: copies whose store could not be reached: left queued, due again later
    unreachable: tuple[PlannedCheck, ...] = ()

    @property
    def failed(self) -> bool:
        """True when any check found damage, repaired since or not: damage is news;
        and when a check due could not be made (its store out of reach): a run
        that checked nothing must not read, to cron, as a run that found nothing."""
        return any(c.findings for c in self.checks) or bool(self.unreachable)

    @property
    def repairs(self) -> tuple[RepairResult, ...]:
        """The repairs the run's deep checks set off (policy ``auto_repair``)."""
        return tuple(c.repair for c in self.checks if c.repair is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "plan_only": False,
            "checked": len(self.checks),
            "failed": sum(1 for c in self.checks if c.findings),
            "repaired": sum(1 for r in self.repairs if r.status == "repaired"),
            # repairs refused (no good copy), or that left a copy damaged or unreached
            "unrepaired": sum(1 for r in self.repairs if r.has_problems),
            "octets": sum(c.octets for c in self.checks if c.tier == DEEP),
            "checks": [c.to_dict() for c in self.checks],
            "unreachable": [p.to_dict() for p in self.unreachable],
        }


#: checks planned, then queued in the catalog, per transaction
ENQUEUE_BATCH = 500


def plan_due(catalog: Catalog, locations: Sequence[str], policy: FixityPolicy,
             as_of: datetime, period: timedelta = DAY,
             budget: int | None = None) -> Iterator[PlannedCheck]:
    """The checks due at ``as_of`` in ``locations``, planned from the catalog's
    state of each copy as the caller takes them (``due_checks``): the first ones
    cost a few indexed reads however large the archive. Raises CatalogUnavailable
    (also while iterating)."""
    return due_checks(catalog, locations, as_of, policy, period=period, budget=budget)


def enqueue_due(services: Services, policy: FixityPolicy, as_of: datetime,
                period: timedelta = DAY, budget: int | None = None) -> list[PlannedCheck]:
    """Plan the checks due at ``as_of`` for every copy in ``services.locations`` and
    mark them queued in the catalog, ``ENQUEUE_BATCH`` at a time as they are
    planned; returns those this call queued (a check queued by another run and
    not yet stale is left out). Raises CatalogUnavailable."""
    catalog = services.catalog
    planned = plan_due(catalog, [s.location for s in services.locations], policy, as_of,
                       period=period, budget=budget)
    queued: list[PlannedCheck] = []
    while batch := list(islice(planned, ENQUEUE_BATCH)):
        queued += catalog.enqueue_checks(batch, queued_at=as_of,
                                         stale_before=as_of - policy.requeue_after)
    return queued


@dataclass(frozen=True)
class DuePlan:
    """The checks that would be due at ``as_of``: planned, not queued, not run, not
    recorded (``plan_due_at``)."""

    as_of: datetime
    planned: tuple[PlannedCheck, ...]

    def to_dict(self) -> dict[str, Any]:
        # the keys of a run's document too, so a reader of either finds nothing was done
        return {"as_of": self.as_of.isoformat(), "plan_only": True,
                "planned": [p.to_dict() for p in self.planned],
                "checked": 0, "failed": 0, "repaired": 0, "unrepaired": 0, "octets": 0,
                "checks": [], "unreachable": []}


def plan_due_at(services: Services, policy: FixityPolicy, as_of: datetime,
                period: timedelta = DAY, budget: int | None = None) -> DuePlan:
    """What a run at ``as_of`` (past, now or to come) would check, for every copy in
    ``services.locations``, from the catalog's state of each copy now. Nothing is
    queued, checked or recorded: a check is only ever recorded by running it, at
    the moment it ran (``run_due``), never at a moment someone names. Raises
    InputError for a moment the policy's windows, counted from it, run off the
    calendar (years 1 to 9999); CatalogUnavailable."""
    reach = policy.window + policy.shallow_interval + policy.requeue_after + period
    try:
        as_of - reach, as_of + reach
    except OverflowError:
        raise InputError(
            f"a run cannot be planned at {as_of.isoformat()}: the fixity policy's windows "
            f"({reach.days} days either side of it) run past the calendar's years 1 to 9999"
        ) from None
    planned = plan_due(services.catalog, [s.location for s in services.locations], policy,
                       as_of, period=period, budget=budget)
    return DuePlan(as_of, tuple(planned))


def run_due(services: Services, policy: FixityPolicy, period: timedelta = DAY,
            budget: int | None = None) -> DueRun:
    """Plan, queue and run in this process every check due now (``services.clock``);
    each check is recorded at the moment it ends (``record_copy_check``).

    A copy whose store cannot be reached is left queued: after the policy's
    ``requeue_after`` it is planned again. With ``policy.auto_repair``, a deep
    check that finds damage repairs its version in the same run, at most once per
    version (the repair re-checks every copy itself); its reading is not counted
    against the budget. Raises CatalogUnavailable.
    """
    as_of = services.clock.now()
    queued = enqueue_due(services, policy, as_of, period=period, budget=budget)
    progress = services.progress
    progress.plan(len(queued), sum(p.size for p in queued if p.tier == DEEP))
    checks: list[VersionCheck] = []
    unreachable: list[PlannedCheck] = []
    attempted: set[tuple[str, int]] = set()
    for planned in queued:
        version = (planned.package_id, planned.number)
        this_policy = replace(policy, auto_repair=False) if version in attempted else policy
        shallow_key = f"{planned.tier}:{planned.package_id}/v{planned.number}@{planned.location}"
        if planned.tier != DEEP:  # a deep check tells the progress itself (verify_version)
            progress.item_started(shallow_key, f"{planned.package_id} v{planned.number}", 0)
        try:
            check = run_fixity_check(services, planned.package_id, planned.number,
                               planned.location, planned.tier, policy=this_policy)
        except StorageUnavailable:
            unreachable.append(planned)
            continue
        finally:
            if planned.tier != DEEP:
                progress.item_finished(shallow_key)
        if check.repair is not None:
            attempted.add(version)
        checks.append(check)
    return DueRun(as_of, tuple(queued), tuple(checks), tuple(unreachable))


__all__ = ["ENQUEUE_BATCH", "DuePlan", "DueRun", "enqueue_due", "plan_due", "plan_due_at", "run_due"]
