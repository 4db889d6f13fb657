"""Wiring: build the adapters once from settings and hand them to the use cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from ingest.clock import SystemClock
from ingest.errors import CatalogMissing
from ingest.format_identification import FormatIdentifier
from ingest.health import (
    PartCheck,
    catalog_check,
    location_check,
    staging_check,
    without_credentials,
)
from ingest.record_schema import SchemaSet
from ingest.services import Services
from strongroom.settings import Settings, SettingsError, fixity_policy

if TYPE_CHECKING:
    from ingest.pipeline import IngestResult
    from ingest.ports import Dispatcher
    from storage.catalog import SqlCatalog
    from workers.reliability import WorkerSettings


def build_services(settings: Settings, create: bool = True, upgrade: bool = False) -> Services:
    """Open the catalog and the object store.

    A catalog is made where none exists; one an earlier release made is
    upgraded only with ``upgrade`` (``strongroom init``), and refused otherwise
    (CatalogOutdated, saying to run init): a command of a new release run on one
    host must not change the schema under the processes of the old release.
    With ``create`` False (a read-only command) nothing is created: no data
    folder, no catalog, no store folder. Raises CatalogMissing, saying how to
    point at a catalog, when none exists where the settings point."""
    # Imported here: SQLAlchemy and the store's clients are most of a command's
    # start, and ``warm_up_formats`` comes before them.
    from storage.catalog import SqlCatalog
    from storage.locations import store_from_url

    if create and (settings.database_url.startswith("sqlite:")
                   or settings.storage_url.startswith("file:")):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if create:
        catalog = SqlCatalog.from_url(settings.database_url, migrate=True, upgrade=upgrade)
    else:
        catalog = existing_catalog(settings, upgrade)
    # Object Lock is for the archive's locations; a separate staging store
    # (STRONGROOM_STAGING_URL) holds batches only until they are ingested.
    store, *replicas = (store_from_url(url, s3_endpoint_url=settings.s3_endpoint_url,
                                       s3_region=settings.s3_region, create=create,
                                       s3_parts_in_flight=settings.s3_parts_in_flight,
                                       s3_object_lock=settings.s3_object_lock,
                                       s3_retention_days=settings.s3_retention_days)
                        for url in (settings.storage_url, *settings.replicas))
    staging = None
    if settings.staging_url is not None and settings.staging_url != settings.storage_url:
        staging = store_from_url(settings.staging_url, s3_endpoint_url=settings.s3_endpoint_url,
                                 s3_region=settings.s3_region, create=create)
    elif settings.s3_object_lock is not None and settings.storage_url.startswith("s3:"):
        # Batches staged in the primary's bucket are written without retention:
        # they are deleted once ingested, which retention would forbid.
        staging = store_from_url(settings.storage_url, s3_endpoint_url=settings.s3_endpoint_url,
                                 s3_region=settings.s3_region, create=create)
    from strongroom.work_metrics import work_metrics  # prometheus-client: on first use

    return Services(
        catalog=catalog,
        store=store,
        clock=SystemClock(),
        schemas=SchemaSet.default(),
        source_organization=settings.source_organization,
        replicas=tuple(replicas),
        stuck_after=settings.stuck_after,
        skip_system_files=settings.skip_system_files,
        metrics=work_metrics(),
        formats=format_identifier(),
        staging=staging,
        fixity_window=timedelta(days=settings.fixity_window_days),
    )


def existing_catalog(settings: Settings, upgrade: bool = False) -> SqlCatalog:
    """The catalog the settings name, only if one exists. Raises CatalogMissing
    saying how to point at one, CatalogOutdated, CatalogUnavailable."""
    from storage.catalog import SqlCatalog

    try:
        return SqlCatalog.open_existing(settings.database_url, upgrade=upgrade)
    except CatalogMissing:
        raise CatalogMissing(
            f"no catalog exists at {without_credentials(settings.database_url)}: set "
            "STRONGROOM_DATA_DIR to the folder that holds one, or STRONGROOM_DATABASE_URL "
            "to its database (`strongroom init` creates one)") from None


def part_checks(settings: Settings) -> list[PartCheck]:
    """The catalog, every storage location and the staging area's location (when
    it is another) as parts to reach, each opened only when reached and none
    created: a catalog that cannot be opened (none yet, a server out of reach)
    is that part's answer and keeps no other part from being checked
    (``strongroom doctor``)."""
    from storage.locations import store_from_url

    def catalog() -> object:
        return existing_catalog(settings).audit_head()

    def probe(url: str) -> Callable[[], object]:
        def reach() -> None:
            store_from_url(url, s3_endpoint_url=settings.s3_endpoint_url,
                           s3_region=settings.s3_region, create=False).probe()
        return reach

    locations = (settings.storage_url, *settings.replicas)
    checks = [catalog_check(without_credentials(settings.database_url), catalog)]
    checks += [location_check(number, url, probe(url)) for number, url in enumerate(locations)]
    if settings.staging_url is not None and settings.staging_url not in locations:
        checks.append(staging_check(settings.staging_url, probe(settings.staging_url)))
    return checks


def format_identifier() -> FormatIdentifier:
    """The format identifier every ingest uses (and the dry run, which has no
    archive): matched in a process of its own where there is a core to spare
    (``storage.format_process``)."""
    from storage.format_process import format_identifier as identifier

    return identifier()




def warm_up_formats(settings: Settings) -> None:
    """Start loading the format signatures now (in their own process where there
    is a core to spare) when this process will ingest (no broker): a ``submit``
    calls it first thing, so that they load while the catalog and the batch
    are opened, and the first item's files do not wait for them. The services
    built after use the same identifier."""
    if not settings.broker_url:
        format_identifier().warm_up()


def create_catalog_database(settings: Settings) -> bool:
    """Create the PostgreSQL database the catalog URL names when it does not exist
    and the role may (``storage.database_creation``); return whether it was created.
    Raises CatalogMissing, saying what to run, when the role may not;
    CatalogUnavailable when the server cannot be reached."""
    from storage.database_creation import create_database_if_missing

    return create_database_if_missing(settings.database_url)


def prepare_catalog(settings: Settings) -> str:
    """Make the catalog's schema, or upgrade one an earlier release made
    (``strongroom init`` alone does). Returns "created", "upgraded" or "current".
    Raises StorageError for a catalog a newer release migrated, CatalogUnavailable."""
    from storage.database import migrate

    if settings.database_url.startswith("sqlite:"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return migrate(settings.database_url, upgrade=True)


def check_catalog_schema(settings: Settings) -> None:
    """Before a long-running process (a worker) starts: its catalog must not be one
    an earlier release made (CatalogOutdated, saying to run init) nor a newer one
    (StorageError). A catalog not made yet is made. Raises CatalogUnavailable."""
    from storage.database import migrate

    if settings.database_url.startswith("sqlite:"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url, upgrade=False)


def worker_settings(settings: Settings) -> WorkerSettings:
    """The part of ``settings`` the queue and the workers need. Raises SettingsError
    when no broker is configured."""
    from workers.reliability import WorkerSettings  # kombu: only with a broker

    if not settings.broker_url:
        raise SettingsError("STRONGROOM_BROKER_URL is not set: there is no queue to work on")
    return WorkerSettings(
        broker_url=settings.broker_url,
        max_attempts=settings.max_attempts,
        retry_backoff=settings.retry_backoff,
        visibility_timeout=settings.visibility_timeout,
        stuck_after=settings.stuck_after,
        sweep_every=settings.sweep_every,
        stall_after=settings.stall_after,
        fixity_policy=fixity_policy(settings),
    )


def build_dispatcher(settings: Settings, services: Services,
                     on_result: Callable[[IngestResult], None] | None = None) -> Dispatcher:
    """Who does the work: the workers' queues when a broker is configured, else
    this process (``on_result`` is told of each item it finishes). The work is
    done for ``services.actor``."""
    from workers.dispatch import make_dispatcher

    broker = None
    if settings.broker_url:  # only then are Celery and kombu loaded
        broker = worker_settings(settings)
    return make_dispatcher(services, broker, concurrency=settings.concurrency,
                           max_attempts=settings.max_attempts, backoff=settings.retry_backoff,
                           on_result=on_result)
