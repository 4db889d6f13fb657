"""The fixity report: coverage, overdue copies, failures and crash remains.

What ``strongroom fixity report`` shows (as JSON, CSV or lines), computed from
the catalog and, unless told not to, a listing of every store (reconciliation).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice, takewhile
from typing import Any

from ingest.csv_cells import TextDictWriter
from ingest.errors import NotFound
from ingest.fixity_policy import Coverage, FixityPolicy, RecordedCheck, coverage_of, tally_cutoffs
from ingest.reconciliation import Reconciliation, reconcile
from ingest.services import Services
from ingest.stuck import CrashRemains, crash_remains

#: overdue copies and failures a report lists at most (each figure counts them all)
REPORT_LIMIT = 1000


@dataclass(frozen=True)
class FixityReport:
    as_of: datetime
    since: datetime | None
    policy: FixityPolicy
    coverage: Coverage
    #: the failed checks listed (at most the limit) and how many there are in all
    failures: tuple[RecordedCheck, ...]
    failures_total: int
    reconciliation: tuple[Reconciliation, ...]
    remains: CrashRemains
    #: (package id, version) of each listed copy -> its identifier and title,
    #: so that people read which record a copy holds, not a UUID
    names: dict[tuple[str, int], tuple[str, str | None]] = field(default_factory=dict)
    #: locations the catalog notes copies in that are not configured now: location
    #: -> (copies, of which damaged). Nothing there is checked, or counted above.
    unconfigured: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Anything failed, overdue, out of place, left by a crash, or out of sight
        (copies in a location no longer configured)."""
        return bool(self.failures_total or self.coverage.overdue_count
                    or any(r.findings for r in self.reconciliation) or self.remains.found
                    or self.unconfigured)

    def to_dict(self) -> dict[str, Any]:
        policy = self.policy
        overdue = [{"package_id": c.package_id, "version": c.number, "location": c.location,
                    **self._named(c.package_id, c.number),
                    "last_deep": c.last_deep.isoformat() if c.last_deep else None,
                    "due": c.deep_deadline(policy).isoformat()} for c in self.coverage.overdue]
        return {
            "as_of": self.as_of.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "policy": {"window_days": policy.window.days,
                       "bytes_per_day": policy.bytes_per_day,
                       "shallow_interval_days": policy.shallow_interval.days,
                       "auto_repair": policy.auto_repair},
            "coverage": self.coverage.to_dict(),
            "overdue": overdue,
            # the lists above hold at most the limit's entries; these count them all
            "overdue_total": self.coverage.overdue_count,
            "failures": [{**check.to_dict(), **self._named(check.package_id, check.number)}
                         for check in self.failures],
            "failures_total": self.failures_total,
            "reconciliation": [r.to_dict() for r in self.reconciliation],
            "unconfigured_locations": unconfigured_list(self.unconfigured),
            **self.remains.to_dict(),
            "status": "failed" if self.failed else "ok",
        }

    def _named(self, package_id: str, number: int) -> dict[str, str | None]:
        identifier, title = self.names.get((package_id, number), (None, None))
        return {"identifier": identifier, "title": title}


def fixity_report(services: Services, policy: FixityPolicy, *, since: datetime | None = None,
                  reconcile_stores: bool = True, limit: int = REPORT_LIMIT) -> FixityReport:
    """The report as of ``services.clock.now()``. Failures: without ``since``, what
    is wrong now (the last check of each copy and tier); with it, every failed
    check since then. Raises CatalogUnavailable, StorageUnavailable."""
    as_of = services.clock.now()
    catalog = services.catalog
    locations = [store.location for store in services.locations]
    verified_since, due_before = tally_cutoffs(policy, as_of)
    tally = catalog.fixity_tally(locations, verified_since, due_before)
    late = takewhile(lambda c: c.deep_since < due_before,
                     catalog.fixity_oldest(locations, stale_before=None))
    figure = coverage_of(tally, islice(late, limit), policy, as_of)
    failed, failed_total = catalog.fixity_failures(locations, since=since, limit=limit)
    reconciled = reconcile(catalog, services.locations) if reconcile_stores else []
    remains = crash_remains(catalog, services.locations, as_of, services.stuck_after,
                            limit=limit)
    # A location dropped from the settings (a lost variable in a cron job) takes
    # its copies out of every figure above: said, or the report would read "ok".
    unconfigured = unconfigured_locations(services)
    listed = {(c.package_id, c.number) for c in figure.overdue}
    listed |= {(check.package_id, check.number) for check in failed}
    return FixityReport(as_of=as_of, since=since, policy=policy, coverage=figure,
                        failures=tuple(failed), failures_total=failed_total,
                        reconciliation=tuple(reconciled), remains=remains,
                        names=_names(services, listed), unconfigured=unconfigured)


def unconfigured_locations(services: Services) -> dict[str, tuple[int, int]]:
    """The locations the catalog notes copies in that the settings do not name
    (location -> copies, of which damaged): nothing checks those copies."""
    configured = {store.location for store in services.locations}
    return {location: counts for location, counts in services.catalog.copy_locations().items()
            if location not in configured}


def unconfigured_list(unconfigured: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """``unconfigured_locations`` as JSON-ready rows."""
    return [{"location": location, "copies": copies, "damaged": damaged}
            for location, (copies, damaged) in sorted(unconfigured.items())]


def _names(services: Services, copies: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str | None]]:
    """The identifier and title of each listed version (one lookup each: the
    lists are short, at most the report's limit)."""
    names: dict[tuple[str, int], tuple[str, str | None]] = {}
    for package_id, number in sorted(copies):
        try:
            version = services.catalog.get_version(package_id, number)
        except NotFound:  # a pending claim, or gone since: the package id says it
            continue
        names[(package_id, number)] = (version.identifier, version.title)
    return names


CSV_FIELDS = ("kind", "package_id", "version", "location", "tier", "code", "path", "at", "detail")


def report_csv(doc: dict[str, Any]) -> str:
    """The report (``FixityReport.to_dict()``) as CSV, one row per fact: coverage
    overall and per location, overdue copy, finding of a failed check, location
    not configured, finding of reconciliation, leftover. What ``strongroom fixity report --csv`` prints."""
    out = io.StringIO()
    writer = TextDictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    cov = doc["coverage"]
    writer.writerow({"kind": "coverage", "at": doc["as_of"],
                     "detail": f"{cov['covered']}/{cov['versions']}"})
    for loc in cov["locations"]:
        writer.writerow({"kind": "coverage", "location": loc["location"], "at": doc["as_of"],
                         "detail": f"{loc['covered']}/{loc['versions']}"})
    for o in doc["overdue"]:
        writer.writerow({"kind": "overdue", "package_id": o["package_id"], "version": o["version"],
                         "location": o["location"], "tier": "deep", "at": o["due"]})
    for check in doc["failures"]:
        for f in check["findings"]:
            writer.writerow({"kind": "failure", "package_id": check["package_id"],
                             "version": check["version"], "location": check["location"],
                             "tier": check["tier"], "code": f["code"], "path": f.get("path"),
                             "at": check["checked_at"], "detail": f["message"]})
    for u in doc["unconfigured_locations"]:
        writer.writerow({"kind": "unconfigured", "location": u["location"], "at": doc["as_of"],
                         "detail": f"{u['copies']} copies ({u['damaged']} damaged) noted in "
                                   "a location that is not configured"})
    for r in doc["reconciliation"]:
        for kind, findings in (("reconciliation", r["findings"]), ("leftover", r["leftovers"])):
            for f in findings:
                writer.writerow({"kind": kind, "location": r["location"], "code": f["code"],
                                 "path": f.get("path"), "at": doc["as_of"],
                                 "detail": f["message"]})
    return out.getvalue()


__all__ = ["CSV_FIELDS", "REPORT_LIMIT", "FixityReport", "fixity_report", "report_csv",
           "unconfigured_list", "unconfigured_locations"]
