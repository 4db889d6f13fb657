"""How an attempt at an item ends: the result it reports, and the writing of
a final status with its events.

``ingest.pipeline`` runs the attempt's steps; what it ends with is decided here,
in one place for every way an attempt ends: a final status written with the
item's events (a failure or a rejection is an ingestion event of its own), a
transient error turned into ``retry`` or, on the last attempt, into a failed
item with a code that says what to do, and an attempt that lost its item to
another (its lease taken over) reporting what the catalog says, not counting it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ingest.errors import PackageBusy
from ingest.findings import Finding
from ingest.models import EventType, ItemRecord, ItemStatus, NewEvent, Outcome
from ingest.services import Services


@dataclass(frozen=True)
class IngestResult:
    """How one attempt at one item ended."""

    outcome: Literal["done", "retry", "failed", "stopped", "held"]
    item_id: str
    status: ItemStatus | None = None
    reason: str = ""
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    #: payload bytes of the version this attempt stored (0 when it stored none)
    octets: int = 0
    #: the package of the version stored, where this attempt stored one
    package_id: str | None = None
    #: False when a duplicate of this task finished the item meanwhile (counted there)
    finished_here: bool = True


def transient_outcome(services: Services, item: ItemRecord, exc: Exception,
                      final_attempt: bool, holder: str) -> IngestResult:
    """A transient error (store or catalog out of reach, the package busy): ``retry``;
    on the last attempt the item failed with a code that says which, and what to do."""
    if not final_attempt:
        return IngestResult("retry", item.item_id, reason=f"{type(exc).__name__}: {exc}")
    attempts = services.catalog.get_item(item.item_id).attempts
    if isinstance(exc, PackageBusy):  # not the storage: a claim another holder has not let go
        finding = Finding("PACKAGE_BUSY", params={"attempts": attempts, "detail": str(exc),
                                                  "stuck_after": services.stuck_after})
    else:
        finding = Finding("STORAGE_UNAVAILABLE", params={"attempts": attempts, "detail": str(exc)})
    if not finish(services, item, ItemStatus.FAILED, [finding], batch_id=item.batch_id, holder=holder):
        return finished_elsewhere(services, item.item_id)
    return IngestResult("failed", item.item_id, ItemStatus.FAILED, str(exc), (finding,))


def finish(services: Services, item: ItemRecord, status: ItemStatus, findings: Sequence[Finding],
           *, batch_id: str, events: Sequence[NewEvent] = (), package_id: str | None = None,
           version: int | None = None, holder: str | None = None) -> bool:
    """Give the item its final status, with its events; False (nothing written) when
    it was another attempt's to finish by then (``finished_elsewhere``)."""
    if status is ItemStatus.FAILED or (status is ItemStatus.REJECTED and not any(
            e.outcome is Outcome.FAILURE for e in events)):
        # Failing is an event too: the log says which item did not go in, and why.
        events = [*events, _failure_event(services, item, batch_id, findings)]
    return services.catalog.finish_item(item.item_id, status, findings, package_id=package_id,
                                        version=version, events=events, holder=holder)


def fail_lost_item(services: Services, item: ItemRecord) -> bool:
    """Fail ``item`` with INGEST_FAILED: its attempts kept starting and none
    ended (a poison item killing its worker process each time), so it is not
    sent again for ever. Recorded as every failed item is (an ingestion event
    naming ``services.actor``), and counted as a finished item. False when it had
    a final status already."""
    finding = Finding("INGEST_FAILED", params={
        "detail": f"{item.attempts} attempts started and none finished "
                  f"(the worker process was lost each time)"})
    if not finish(services, item, ItemStatus.FAILED, [finding], batch_id=item.batch_id):
        return False
    services.metrics.item_finished(ItemStatus.FAILED.value, 0, 0.0)
    return True


def finished_elsewhere(services: Services, item_id: str) -> IngestResult:
    """This attempt lost the item (its lease taken over, the item finished by the
    new holder): what the catalog says of it, not counted or logged here."""
    return IngestResult("done", item_id, services.catalog.get_item(item_id).status,
                        "finished by another attempt", finished_here=False)


def _failure_event(services: Services, item: ItemRecord, batch_id: str,
                   findings: Sequence[Finding]) -> NewEvent:
    return services.event(
        EventType.INGESTION,
        Outcome.FAILURE,
        batch_id=batch_id,
        item_id=item.item_id,
        detail={"item": item.name, "findings": [f.to_dict() for f in findings]},
    )
