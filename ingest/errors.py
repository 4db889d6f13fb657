"""The one exception tree of Strongroom.

Adapters translate their libraries' errors into these at the boundary
(``raise StorageUnavailable(...) from exc``); the domain core raises nothing
else. Domain errors carry no HTTP status and no exit code: the entry points map
them in one place each.

::

    StrongroomError
    ├── InputError                  the caller's input cannot be used at all (exit 2)
    │   ├── BatchUnreadable         the batch folder is missing or unreadable
    │   ├── TargetNotEmpty          fetch refuses to write into a non-empty folder
    │   ├── TargetUnwritable        fetch refuses a link, folder, device or existing file, or cannot write
    │   ├── CatalogNotEmpty         catalog rebuild refuses a database that holds a catalog
    │   ├── CommitRecordsMissing    catalog rebuild refuses a store with no commit record at all
    │   ├── ArchiveRefused          an uploaded zip or tar is unsafe, too large or unreadable
    │   └── ContentRefused          a submitted file is a link, a special file or changed since listed
    ├── NotFound
    │   ├── PackageNotFound
    │   ├── VersionNotFound
    │   │   └── Deaccessioned       the package or version was deaccessioned: when, why, by whom
    │   ├── DeaccessionRequestNotFound
    │   ├── BatchNotFound
    │   ├── CatalogMissing          no catalog where the settings point (or a database init may not create)
    │   ├── ObjectNotFound          a key is absent from an object store
    │   │   └── ObjectBlocked       ... because a file stands where the store keeps a folder
    │   └── LocationNotFound        a storage location that is not configured
    ├── StorageError                an object store or the catalog misbehaved
    │   ├── StorageUnavailable      transient: network, throttling, server down (retry)
    │   ├── ChecksumRefused         the store refused bytes whose digest did not match
    │   ├── ObjectRetained          S3 Object Lock keeps an object until a date: it may not be deleted yet
    │   └── CatalogUnavailable      transient: the database cannot be reached (retry)
    ├── PackageBusy                 another item holds this package's next version (retry)
    ├── ItemFinished                the item already has a final status (a late duplicate task)
    ├── LeaseHeld                   another attempt holds a live lease on the item (a duplicate message)
    ├── LeaseLost                   this attempt's lease was taken over (it was paused past it)
    ├── QueueUnavailable            the work queue (broker) cannot be reached; items stay accepted
    ├── StopRequested               the person running the work asked it to stop (Ctrl-C); items stay accepted
    ├── PresignUnsupported          the object store cannot issue presigned URLs (a filesystem)
    ├── DeliveryRefused             stored bytes did not match the catalog: the delivery was cut short
    ├── DeaccessionRefused          a deaccession step refused (one person alone, decided already); a finding says why
    └── SchemaBroken                a shipped metadata schema is invalid or refers outside its set
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ingest.findings import Finding

if TYPE_CHECKING:  # the tombstone is a value of ingest.tombstones, which imports the models
    from ingest.tombstones import DeaccessionRequest


class StrongroomError(Exception):
    """Base of every error Strongroom raises on purpose."""


class InputError(StrongroomError):
    """The caller's input cannot be used at all."""


class BatchUnreadable(InputError):
    """The batch folder does not exist, is not a folder, or cannot be listed."""


class TargetNotEmpty(InputError):
    """A fetch target folder already holds something."""


class TargetUnwritable(InputError):
    """A fetch target that is a symbolic link, a folder where a file is wanted, a
    device or pipe, an existing file without ``--force``, or that cannot be
    written (no such folder, no permission, a full disk). Nothing is left behind."""


class CatalogNotEmpty(InputError):
    """A catalog rebuild was pointed at a database that already holds a catalog."""


class CommitRecordsMissing(InputError):
    """A catalog rebuild found bags but no commit record in any location, so it
    cannot tell committed versions from crash leftovers (see ingest.commit_records)."""


class ArchiveRefused(InputError):
    """An uploaded batch archive was refused before anything of it was kept;
    ``findings`` says why (ARCHIVE_UNSAFE_MEMBER, ARCHIVE_TOO_LARGE, ARCHIVE_UNREADABLE)."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


class ContentRefused(InputError):
    """A submitted file, at the moment of reading, is a link, not a regular file,
    or not the file that was listed; ``finding`` says which (SYMLINK_REFUSED,
    FILE_TYPE_REFUSED, FILE_CHANGED)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class SchemaNotFound(InputError):
    """No metadata schema by that name describes a record."""


class NotFound(StrongroomError):
    """Something asked for by id does not exist."""


class PackageNotFound(NotFound):
    pass


class VersionNotFound(NotFound):
    pass


class BatchNotFound(NotFound):
    pass


class Deaccessioned(VersionNotFound, PackageNotFound):
    """The package (or this version of it) was deaccessioned: its objects were
    removed from storage by a decision of two people. ``tombstone`` is the
    ``ingest.tombstones.DeaccessionRequest`` that says when, why and by whom."""

    def __init__(self, message: str, tombstone: DeaccessionRequest) -> None:
        super().__init__(message)
        self.tombstone = tombstone


class DeaccessionRequestNotFound(NotFound):
    """No deaccession request with that id."""


class LocationNotFound(NotFound):
    """A storage location URL that is neither the primary nor a replica."""


class ObjectNotFound(NotFound):
    """A key is absent from an object store."""


class ObjectBlocked(ObjectNotFound):
    """A key is absent because something that is not a folder (a file) stands where
    the store keeps a folder on its path: the store itself is damaged there. To a
    reader of one object it is missing all the same (a fixity check calls the copy
    damaged); a reader that must not take a damaged store for a missing object
    (the staging area, ``ingest.staged_batch``) treats it as a storage fault."""


class StorageError(StrongroomError):
    """An object store or the catalog misbehaved."""


class StorageUnavailable(StorageError):
    """Transient: the store cannot be reached or throttles us. Worth a retry."""


class ChecksumRefused(StorageError):
    """The store refused an upload because its digest did not match the bytes."""


class ObjectRetained(StorageError):
    """The store refused to delete ``key``: S3 Object Lock retains it (until
    ``until``, when the store could tell; a legal hold has no date)."""

    def __init__(self, key: str, until: datetime | None) -> None:
        when = f"until {until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if until else "under a legal hold"
        super().__init__(f"{key!r} is retained by S3 Object Lock {when}: it cannot be deleted "
                         f"before then")
        self.key = key
        self.until = until


class CatalogUnavailable(StorageError):
    """Transient: the catalog database cannot be reached. Worth a retry."""


class CatalogDamaged(StrongroomError):
    """The catalog database is there but damaged (not a database any more, its
    pages corrupt). Not transient: the message says how to recover."""


class CatalogOutdated(StrongroomError):
    """The catalog's schema was made by an earlier release, and only
    ``strongroom init`` upgrades it: a command of a new release run on one host
    must not change the schema under the workers, API and beat of the old one.
    Not transient: the message says what to run."""


class PackageBusy(StrongroomError):
    """Another item is writing the next version of this package. Worth a retry.
    ``holder`` and ``number`` name the item and the version it claimed, when known."""

    def __init__(self, message: str, *, holder: str | None = None,
                 number: int | None = None) -> None:
        super().__init__(message)
        self.holder = holder
        self.number = number


class QueueUnavailable(StrongroomError):
    """The work queue (the Celery broker) cannot be reached. The items concerned
    stay accepted in the catalog and can be sent again with ``strongroom requeue``."""


class StopRequested(StrongroomError):
    """The person running the work asked it to stop (``ingest.progress.StopFlag``).
    The item at work abandons its unfinished version and stays accepted."""


class ItemFinished(StrongroomError):
    """The item already has a final status: a duplicate task arrived late. Nothing to do."""


class LeaseHeld(StrongroomError):
    """Another attempt holds a live lease on the item (``ingest.lease``): a
    duplicate message arrived while a worker renews it. Nothing to do; should
    that worker die, its lease lapses and the sweep sends the item again."""


class LeaseLost(StrongroomError):
    """This attempt no longer holds the item's lease: it stopped renewing it
    (paused, cut off) and another attempt took the item over. It must write
    nothing more: no object, no claim, no event."""


class PresignUnsupported(StrongroomError):
    """The object store cannot hand out presigned download URLs (only S3 stores can);
    the bytes are still served through the API."""


class DeliveryRefused(StrongroomError):
    """Stored bytes did not match the catalog while they were being delivered: the
    delivery was cut short inside the damaged file's entry, so that no reader takes
    it for whole, and a failed fixity-check event was recorded. ``findings`` say what."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = tuple(findings)


class DeaccessionRefused(StrongroomError):
    """A deaccession step was refused: the person who asked for it approving it
    alone, a request decided already, a second request for the same package.
    ``finding`` has the stable code and what was expected."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class SchemaBroken(StrongroomError):
    """A metadata schema is not a valid JSON Schema, or a ``$ref`` in it does not
    resolve within the schema set. A fault of the installation, not of any input."""


#: Errors after which the same work, tried again later, may succeed.
TRANSIENT_ERRORS: tuple[type[StrongroomError], ...] = (
    StorageUnavailable,
    CatalogUnavailable,
    PackageBusy,
)


class CatalogMissing(NotFound):
    """No catalog where the settings point (no SQLite file, or a database
    without Strongroom's tables): a read-only command creates none. Also a
    PostgreSQL database that does not exist and that ``init``'s role may not
    create: the message says what to run."""
