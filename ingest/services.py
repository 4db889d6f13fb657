"""What the use cases work with: the catalog, the stores, the clock, the schemas
and who the work is done for. Each entry point (CLI, HTTP API, workers) builds
one at start-up (strongroom.bootstrap) and hands it to the use cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ingest.format_identification import FormatIdentifier
from ingest.models import SOFTWARE_AGENT, Actor, EventType, NewEvent, Outcome
from ingest.ports import Catalog, Clock, ObjectStore
from ingest.progress import NO_PROGRESS, Progress, StopFlag
from ingest.stuck import DEFAULT_STUCK_AFTER
from ingest.system_files import DEFAULT_SYSTEM_FILES
from ingest.work_metrics import NO_METRICS, WorkMetrics

if TYPE_CHECKING:  # jsonschema, which it imports, is for the commands that validate
    from ingest.record_schema import SchemaSet


@dataclass(frozen=True)
class Services:
    """What the use cases work with; built once at start-up by the entry point."""

    catalog: Catalog
    store: ObjectStore
    clock: Clock
    schemas: SchemaSet
    source_organization: str = "Strongroom"
    agent: str = SOFTWARE_AGENT
    #: extra storage locations every version is also written to (STRONGROOM_REPLICAS)
    replicas: tuple[ObjectStore, ...] = ()
    #: who the work is done for, named in every event (set by each entry point)
    actor: Actor | None = None
    #: seconds without progress after which an accepted item is stuck (ingest.stuck)
    stuck_after: float = DEFAULT_STUCK_AFTER
    #: where long use cases say how far they have gone (a terminal's progress bar)
    progress: Progress = NO_PROGRESS
    #: set by the entry point to have the work stop between items and chunks (Ctrl-C)
    stop: StopFlag = field(default_factory=StopFlag)
    #: glob patterns of system files skipped in batches (STRONGROOM_SKIP_SYSTEM_FILES,
    #: ingest.system_files); empty: every file is payload
    skip_system_files: tuple[str, ...] = DEFAULT_SYSTEM_FILES
    #: told of the work done (items finished, checks recorded); nothing by default
    metrics: WorkMetrics = NO_METRICS
    #: tells each payload file's format at ingest (ingest.format_identification);
    #: None: formats are not identified, and bags have no metadata/formats.json
    formats: FormatIdentifier | None = None
    #: the store whose ``_staging/`` prefix holds staged batches (``ingest.staged_batch``,
    #: STRONGROOM_STAGING_URL); None: the primary store's
    staging: ObjectStore | None = None
    #: set by a runner that makes the commit records of the versions it commits
    #: durable itself, many at once and soon after (``ingest.commit_records.
    #: sync_commit_records``); False: each is synced as it is written
    commit_records_synced_by_runner: bool = False
    #: the fixity window (STRONGROOM_FIXITY_WINDOW_DAYS): a new version shares an
    #: object without reading it only if a deep check found its copy whole within
    #: it (``ingest.version_sharing.not_whole_holders``)
    fixity_window: timedelta = timedelta(days=90)

    def event(self, event_type: EventType, outcome: Outcome, *,
              occurred_at: datetime | None = None, batch_id: str | None = None,
              item_id: str | None = None, package_id: str | None = None,
              version: int | None = None, detail: dict[str, Any] | None = None) -> NewEvent:
        """An audit event of this work: the software (``agent``) and who caused it
        (``actor``) filled in here, so that no event is made without them; at
        ``occurred_at``, else now."""
        return NewEvent(event_type=event_type, outcome=outcome, agent=self.agent, actor=self.actor,
                        occurred_at=occurred_at if occurred_at is not None else self.clock.now(),
                        batch_id=batch_id, item_id=item_id, package_id=package_id,
                        version=version, detail=detail if detail is not None else {})

    @property
    def staging_store(self) -> ObjectStore:
        """The store that holds the staging area: ``staging``, else the primary store."""
        return self.staging if self.staging is not None else self.store

    @property
    def locations(self) -> tuple[ObjectStore, ...]:
        """Every copy's store: the primary first, then the replicas."""
        return (self.store, *self.replicas)

    @property
    def written_stores(self) -> tuple[ObjectStore, ...]:
        """Every store this service writes to: the locations, and the staging
        area's store when it is another (where abandoned writes are swept too)."""
        if self.staging is None or self.staging in self.locations:
            return self.locations
        return (*self.locations, self.staging)


__all__ = ["Services"]
