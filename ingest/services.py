"""What the use cases work with: the catalog, the stores, the clock, the schemas
and who the work is done for. Each entry point (CLI, HTTP API, workers) builds
one at start-up (strongroom.bootstrap) and hands it to the use cases."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.models import SOFTWARE_AGENT, Actor
from ingest.ports import Catalog, Clock, ObjectStore
from ingest.record_schema import SchemaSet
from ingest.stuck import DEFAULT_STUCK_AFTER


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

    @property
    def locations(self) -> tuple[ObjectStore, ...]:
        """Every copy's store: the primary first, then the replicas."""
        return (self.store, *self.replicas)


__all__ = ["Services"]
