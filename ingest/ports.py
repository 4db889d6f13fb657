"""What the domain core needs from the outside world, as Protocols.

``storage/`` implements these (filesystem and S3 object stores, the SQL catalog
and audit log); tests implement them in memory. The object store's protocols
are in ``ingest.store_ports`` and the fixity schedule's in ``ingest.fixity_ports``,
imported here for those who ask this module. Every method documents the
domain errors it may raise; adapters raise nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ingest.access import PackagePage, PackageQuery, PackageSort, TokenInfo
from ingest.accounts import AccountCatalog
from ingest.copies import CopyRecord
from ingest.findings import Finding
from ingest.fixity_ports import FixityCatalog  # the fixity schedule's side, kept apart
from ingest.location_records import LocationCatalog
from ingest.models import (
    Actor,
    AuditEvent,
    BatchRecord,
    BatchSummary,
    ItemRecord,
    ItemStatus,
    ItemTally,
    NewEvent,
    PackageSummary,
    StoredFile,
    VersionRecord,
)
from ingest.store_ports import (  # the object store's side, kept apart
    MAX_PRESIGN_SECONDS,
    ObjectInfo,
    ObjectStore,
    ObjectWriter,
    ServerSideCopy,
)
from ingest.tombstones import DeaccessionRequest

# --------------------------------------------------------------------------- catalog


class IdentifierCatalog(Protocol):
    """What the rule for a new package's identifier reads
    (``ingest.batch_identifiers.identifier_refusal``): the live packages, and the
    packages withdrawn as a whole."""

    def latest_version(self, package_id: str) -> VersionRecord | None:
        """The newest committed version, or None."""

    def packages_with_identifier_key(self, key: str) -> list[tuple[str, str]]:
        """(package id, identifier) of each package with a committed version whose
        identifier has ``key`` (``ingest.models.identifier_key``)."""

    def withdrawn_with_identifier_key(self, key: str) -> list[DeaccessionRequest]:
        """The requests that withdrew a package as a whole (deleting or
        deaccessioned) whose identifier has ``key``, the latest decided first."""


class IngestCatalog(IdentifierCatalog, Protocol):
    """Batches, items, packages, versions and files: what ingest, status and
    retrieval need. Every write method commits before it returns; transient
    database failures raise CatalogUnavailable."""

    def create_batch(self, batch: BatchRecord, item_names: Sequence[str],
                     events: Sequence[NewEvent] = (),
                     staged: Mapping[str, str] | None = None) -> list[ItemRecord]:
        """Register a batch and its items (status accepted), with its events;
        ``staged`` gives each item's staged listing digest (by name)."""

    def get_batch(self, batch_id: str) -> BatchRecord:
        """Raises BatchNotFound."""

    def batches_by_id(self, batch_ids: Collection[str]) -> dict[str, BatchRecord]:
        """Each of ``batch_ids`` the catalog holds, by batch id, read at once: a
        page naming many batches costs one query, not one a row."""

    def list_items(self, batch_id: str) -> list[ItemRecord]:
        """Items of a batch in name order. Raises BatchNotFound."""

    def list_batches(self, since: datetime | None = None, status: str | None = None,
                     limit: int = 50, *, after: str | None = None,
                     submitted_by: Actor | None = None) -> list[BatchSummary]:
        """Batches submitted at or after ``since``, newest first, at most ``limit``,
        with their item counts; ``status`` is one of ``models.BATCH_FILTERS``;
        ``after`` a batch id: only those listed after it (the next page);
        ``submitted_by``: only those its token or its account submitted.
        Raises ValueError for another status."""

    def get_item(self, item_id: str) -> ItemRecord:
        """Raises NotFound."""

    def batch_settled(self, batch_id: str) -> bool:
        """True when no item of the batch is accepted or failed (nothing of it
        may be ingested again without a new submission); True for a batch the
        catalog does not know."""

    def count_attempt(self, item_id: str) -> int:
        """Add one to the item's attempt counter and return the new count."""

    def take_lease(self, item_id: str, holder: str, expired_before: datetime) -> int:
        """Begin an attempt holding the item's lease (``ingest.lease``): taken when
        nobody holds it or its holder has not renewed it since ``expired_before``;
        counts the attempt and returns the count. Raises LeaseHeld, ItemFinished,
        NotFound."""

    def renew_lease(self, item_id: str, holder: str) -> bool:
        """Renew ``holder``'s lease (one UPDATE); False when it no longer holds it."""

    def release_lease(self, item_id: str, holder: str) -> None:
        """Give up ``holder``'s lease at the end of its attempt (another's is kept)."""

    def finish_item(self, item_id: str, status: ItemStatus, findings: Sequence[Finding] = (),
                    package_id: str | None = None, version: int | None = None,
                    events: Sequence[NewEvent] = (), *, holder: str | None = None) -> bool:
        """Set a final status and append ``events`` in the same transaction.
        Returns False (and writes nothing) when the item already had a final
        status, or ``holder`` no longer holds its lease."""

    def reset_item(self, item_id: str) -> None:
        """Put a failed item back to accepted, for a retry by hand."""

    def stuck_items(self, idle_before: datetime, limit: int = 1000,
                    begun: bool | None = None) -> list[ItemRecord]:
        """Accepted items of any batch last updated (created, attempted, sent
        again) before ``idle_before``, the longest idle first, at most ``limit``;
        with ``begun``, only those an attempt began (True: its lease lapsed) or
        none did (False: never taken from the queue)."""

    def item_tally(self, idle_before: datetime) -> ItemTally:
        """Items by status, and the accepted ones last updated before ``idle_before``
        (stuck), counted in the catalog (one aggregate query, whatever the size)."""

    def record_requeue(self, item_ids: Sequence[str],
                       expired_before: datetime | None = None) -> int:
        """Note that these items are sent to the workers again (updated_at = now,
        accepted items only), revoking leases not renewed since ``expired_before``;
        returns how many were accepted."""

    def reserve_version(self, package_id: str, identifier: str, item_id: str, *,
                        holder: str | None = None) -> int:
        """Claim the next version number of a package for one item.

        The same item asking again gets the same number back (a retry after a
        crash). Raises PackageBusy while another item holds an uncommitted claim,
        LeaseLost when ``holder`` no longer holds the item's lease.
        """

    def take_over_claim(self, package_id: str, number: int, holder: str, idle_before: datetime,
                        finding: Finding, events: Sequence[NewEvent] = ()) -> bool:
        """Drop the claim of a stuck item (accepted, not updated since
        ``idle_before``), failing it with ``finding``; False when not stuck."""

    def release_version(self, package_id: str, number: int, item_id: str, *,
                        holder: str | None = None) -> bool:
        """Give up an uncommitted claim (the item turned out unchanged or bad),
        only while ``holder``, when given, holds the item's lease."""

    def commit_version(self, version: VersionRecord, events: Sequence[NewEvent] = (),
                       copies: Sequence[CopyRecord] = (), *,
                       unchanged_events: Sequence[NewEvent] | None = None,
                       findings: Sequence[Finding] = (), holder: str | None = None) -> bool:
        """Make a claimed version visible with its files, mark its item stored
        (or unchanged) with ``findings`` (warnings only) and append ``events``,
        in one transaction. Returns False when that version was
        already committed (a duplicate task): nothing is written then. With
        ``unchanged_events``, returns False too after marking the item unchanged
        (with those events) when the latest version now has the same content,
        and without writing when ``holder`` no longer holds the item's lease."""

    def get_version(self, package_id: str, number: int | None = None) -> VersionRecord:
        """One committed version (the latest when ``number`` is None).
        Raises PackageNotFound, VersionNotFound."""

    def list_versions(self, package_id: str) -> list[VersionRecord]:
        """Committed versions, oldest first. Raises PackageNotFound."""

    def list_packages(self) -> list[PackageSummary]:
        """Packages with at least one committed version, by identifier."""

    def package_summaries(self, package_ids: Collection[str]) -> dict[str, PackageSummary]:
        """Each of ``package_ids`` that has a committed version, by package id, read
        at once: a page naming many packages costs one query, not one a row."""

    def resolve_package(self, ref: str) -> str:
        """A package id from a package id or a record identifier. Raises PackageNotFound."""


class AuditCatalog(Protocol):
    """The append-only, hash-chained event log, its anchors, and the rebuild of a
    catalog from the store."""

    def append(self, events: Sequence[NewEvent]) -> list[AuditEvent]:
        """Add events at the end of the chain, in order, in one transaction."""

    def events(self, package_id: str | None = None, after: int = 0) -> Iterator[AuditEvent]:
        """Events in chain order after seq ``after``, all or those of one package."""

    def audit_head(self) -> tuple[int, str]:
        """(seq, hash) of the last event of the chain; (0, GENESIS) when empty."""

    def first_event_hash(self) -> str | None:
        """The hash of the log's first event, the name of its lineage; None when
        the log is empty."""

    def last_anchor(self) -> tuple[int, str] | None:
        """The (seq, hash) most recently noted as anchored, or None."""

    def log_identity(self) -> tuple[str, bool]:
        """(log_id, legacy_anchors): the identity of this catalog's audit log, and
        whether the anchors under the shared legacy prefix are its own."""

    def sealing_event(self, package_id: str, number: int) -> AuditEvent | None:
        """The first successful ingestion event of a version, or None."""

    def newest_anchor(self) -> tuple[int, datetime] | None:
        """(seq, anchored_at) of the anchor noted most recently, or None."""

    def record_anchor(self, seq: int, hash: str, anchored_at: datetime) -> None:
        """Note that the head (seq, hash) was written to the object store."""

    def is_empty(self) -> bool:
        """True when the catalog holds no batch, package, version or event."""

    def record_rebuild(self, rebuild_id: str, rebuilt_at: datetime) -> None:
        """Note that this catalog was rebuilt from the store by rebuild ``rebuild_id``."""

    def rebuild_ids(self) -> set[str]:
        """The ids of the rebuilds this catalog came from."""

    def import_version(self, version: VersionRecord, copies: Sequence[CopyRecord] = (),
                       events: Sequence[NewEvent] = ()) -> None:
        """Add a committed version found in the object store (a catalog rebuild).
        Raises ValueError when it exists already."""

    # -- fixity checks of every copy (ingest.fixity_audit, ingest.fixity_policy)


class DeaccessionCatalog(Protocol):
    """Deaccession requests and the tombstones they leave (``ingest.deaccession``).
    Each write commits with its events, in one transaction."""

    def add_deaccession_request(self, request: DeaccessionRequest,
                                events: Sequence[NewEvent] = ()) -> None:
        """Keep a new request (state requested). Raises DeaccessionRefused
        (DEACCESSION_PENDING) while another request of the package is requested
        or deleting."""

    def get_deaccession_request(self, request_id: str) -> DeaccessionRequest:
        """Raises DeaccessionRequestNotFound."""

    def list_deaccession_requests(self) -> list[DeaccessionRequest]:
        """Every request, newest first, tombstones with their versions."""

    def reject_deaccession(self, request_id: str, by: Actor, at: datetime, note: str | None,
                           events: Sequence[NewEvent] = ()) -> DeaccessionRequest:
        """requested -> rejected. Raises DeaccessionRequestNotFound,
        DeaccessionRefused (DEACCESSION_DECIDED)."""

    def begin_deaccession(self, request_id: str, by: Actor, at: datetime,
                          events: Sequence[NewEvent] = ()) -> DeaccessionRequest:
        """requested -> deleting: keep the tombstone of every committed version the
        request covers (files, sizes, digests) and withdraw those versions (no
        reader, no fixity check sees them again; their numbers are never given
        again). Returns the request with its versions. Raises
        DeaccessionRequestNotFound, DeaccessionRefused (DEACCESSION_DECIDED)."""

    def finish_deaccession(self, request_id: str, at: datetime,
                           events: Sequence[NewEvent] = ()) -> DeaccessionRequest:
        """deleting -> deaccessioned (a second call changes nothing). Raises
        DeaccessionRequestNotFound."""

    def tombstones(self, package_id: str | None = None) -> list[DeaccessionRequest]:
        """The requests in state deleting or deaccessioned (of one package, or all),
        oldest first, with their versions."""

    def import_tombstone(self, request: DeaccessionRequest,
                         events: Sequence[NewEvent] = ()) -> bool:
        """Keep a tombstone found in the object store (a catalog rebuild), merging
        the versions of one request found under several keys. False when the
        catalog holds every version of it already."""


class AccessCatalog(Protocol):
    """API tokens and package search: what the HTTP API and the token commands need."""

    def create_token(self, name: str, role: str, *, created_by: Actor | None = None,
                     events: Callable[[TokenInfo], Sequence[NewEvent]] | None = None,
                     ) -> tuple[TokenInfo, str]:
        """A new token made by ``created_by`` and its secret (shown once; only its
        digest is kept), with ``events(token)`` appended to the audit log in the
        same transaction. Raises InputError for an unknown role or a name a live
        token holds."""

    def get_token(self, token_id: str) -> TokenInfo | None:
        """The token with this id, live or revoked, or None."""

    def find_token(self, secret: str) -> TokenInfo | None:
        """The live token with this secret, or None; notes its use."""

    def revoke_token(self, ref: str, *,
                     events: Callable[[list[TokenInfo]], Sequence[NewEvent]] | None = None,
                     ) -> list[TokenInfo]:
        """Revoke the one live token with this id or name, with ``events(revoked)``
        in the same transaction. Raises TokenNotFound, InputError when the
        reference fits two."""

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, live and revoked."""

    def search_packages(self, query: PackageQuery, *, sort: PackageSort = PackageSort.IDENTIFIER,
                        cursor: str | None = None, limit: int = 50) -> PackagePage:
        """Packages matching ``query``, a page at a time, in the order ``sort``, and
        how many match in all (up to ``ingest.access.COUNT_LIMIT``). Raises
        InputError for a cursor this catalog did not make for that order."""


@dataclass(frozen=True)
class FormatCount:
    """Payload files of one format (None: no format on record) and their bytes."""

    puid: str | None
    name: str
    version: str
    mime: str
    files: int
    octets: int


class FormatTally(Protocol):
    def format_tally(self) -> list[FormatCount]:
        """Files and bytes per format over the payload of each package's latest
        version (``ingest.format_report``). Raises CatalogUnavailable."""


class Catalog(IngestCatalog, FixityCatalog, AuditCatalog, AccessCatalog, AccountCatalog, FormatTally,
              DeaccessionCatalog, LocationCatalog, Protocol):
    """The whole catalog: the SQL catalog implements every part on one database,
    so that a change and the events that record it commit together. A use case
    that needs one part may ask for that part alone."""


#: The event log is part of the catalog (same database, same transactions).
AuditLog = AuditCatalog


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


# --------------------------------------------------------------------------- work


class Dispatcher(Protocol):
    """Hands work to whoever does it: this process, or the workers' queues
    (``workers.dispatch``). Called only once the rows it names are committed."""

    #: True when ``ingest`` returns only once every item is final (this process)
    finishes_items: bool

    def ingest(self, item_ids: Sequence[str]) -> None:
        """Have the items ingested. Raises QueueUnavailable when they could not
        be handed over (they stay accepted in the catalog)."""

    def verify_version(self, package_id: str, number: int) -> None:
        """Have a committed version deep-checked (its primary copy) and the result
        recorded. Raises QueueUnavailable."""

    def fill_versions(self, location: str, versions: Sequence[tuple[str, int]]) -> None:
        """Have each committed version (package id, number) copied into ``location``
        (``ingest.location_fill``). Raises QueueUnavailable."""

    def close(self) -> None:
        """Release what the dispatcher holds (broker connections)."""


__all__ = [
    "MAX_PRESIGN_SECONDS",
    "AccessCatalog",
    "AuditCatalog",
    "AuditLog",
    "Catalog",
    "Clock",
    "DeaccessionCatalog",
    "Dispatcher",
    "FixityCatalog",
    "FormatCount",
    "FormatTally",
    "IdentifierCatalog",
    "IngestCatalog",
    "ObjectInfo",
    "ObjectStore",
    "ObjectWriter",
    "ServerSideCopy",
    "StoredFile",
]
