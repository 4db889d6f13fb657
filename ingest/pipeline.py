"""The ingest use case: turn one item into a package version.

(Registering the batch it came in is ``ingest.submission.submit_batch``.)
``ingest_item`` takes one item from ``accepted`` to a final status:

    scan the folder ─► parse + validate metadata ─► (identical to the latest
    version? ─► unchanged) ─► claim version N ─► one read per payload file feeds
    sha256, sha512, the upload to every location (primary and replicas) and the
    head and tail its format is identified from ─► tag files ─► sync of every
    copy ─► read-back check of each copy ─► commit,
    with a replication event per replica copy (see ``ingest.replication``)

and says what happened in one of three ways (``IngestResult.outcome``): ``done``
(stored, unchanged or rejected: a final status is in the catalog), ``retry``
(a transient error; the same call later may succeed) or ``failed`` (given up on
a transient error past the caller's bound: the item is failed with a code) —
or ``stopped``, when the entry point asked the work to stop (``services.stop``,
a Ctrl-C): the item abandoned its unfinished version and stays accepted.

An item that is a ready-made bag (``ingest.received_bag``) was checked as
received by the scan; its received manifests' digests (md5 and sha1 too, when
it has them) are compared in that same one read of each payload file, and any
mismatch rejects the item, dropping what was written. Its bag-info.txt and
other tag files go into the new bag beside the tag files written afresh.

Bytes are reported to ``services.progress`` as the one read of each payload
file goes (``ingest.progress``), and the stop is looked at between chunks.

It is safe to call again for the same item at any point: a finished item is
left alone, a claimed version is reused, and the catalog's commit happens once.

Objects are made durable a version at a time: every location's ``sync`` of the
version's prefix returns before the read-back and the commit, so a committed
version never names an object that a power cut could still take away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.bag import build_tag_files
from ingest.batch import (
    ItemScan,
)
from ingest.batch_identifiers import identifier_refusal
from ingest.batch_source import is_staged, origin_of, source_of
from ingest.commit_records import record_commit
from ingest.copies import VERIFIED, CopyRecord
from ingest.errors import (
    TRANSIENT_ERRORS,
    ContentRefused,
    Deaccessioned,
    ItemFinished,
    LeaseHeld,
    LeaseLost,
    StopRequested,
    StrongroomError,
)
from ingest.findings import Finding, condense_warnings, errors
from ingest.fixity import ALGORITHMS, Digests, digest_bytes
from ingest.format_identification import (
    FORMATS_JSON,
    IdentifiedFormat,
    event_detail,
    formats_json,
    unidentified,
)
from ingest.item_outcome import IngestResult, finish, finished_elsewhere, transient_outcome
from ingest.layout import version_prefix
from ingest.lease import Lease
from ingest.metadata import canonical_record
from ingest.models import (
    BatchRecord,
    EventType,
    ItemRecord,
    ItemStatus,
    NewEvent,
    Outcome,
    StoredFile,
    VersionRecord,
    package_id_for,
)
from ingest.payload_writing import PayloadWriter, ReceivedCheck
from ingest.received_bag import RECEIVED_BAG_INFO
from ingest.replication import (
    put_all_everywhere,
)
from ingest.services import Services
from ingest.staged_batch import release_staging
from ingest.stuck import stuck_before
from ingest.submission import describe_item
from ingest.tombstones import not_taken_back
from ingest.version_changes import correction_findings
from ingest.version_claim import VersionClaim
from ingest.version_sharing import (
    candidates,
    held_copy_findings,
    is_unchanged,
    not_whole_holders,
    shared_files,
    sharing_detail,
)
from ingest.work_context import working_on

_log = logging.getLogger("strongroom.ingest")


# --------------------------------------------------------------------------- ingest


def ingest_item(item_id: str, services: Services, *, final_attempt: bool = False) -> IngestResult:
    """Take one item from accepted to stored, unchanged or rejected.

    Never raises for bad input: it becomes findings on a rejected item. Transient
    errors (store or catalog unavailable, the package busy with another item)
    give ``retry``, or ``failed`` with STORAGE_UNAVAILABLE when ``final_attempt``.
    A stop asked for (``services.stop``) gives ``stopped``: before the item
    starts, or at the next chunk read, its unfinished version abandoned.
    Raises only when the catalog itself cannot say what the item is.
    """
    item = services.catalog.get_item(item_id)
    if item.status.is_final:
        return IngestResult("done", item_id, item.status)
    if services.stop.requested:
        return IngestResult("stopped", item_id, item.status, "stopped on request")
    with working_on(batch=item.batch_id, item=item_id, actor=services.actor):
        started = time.monotonic()
        result = _attempt(services, item, final_attempt)
        if result.status is not None and result.status.is_final and result.finished_here:
            seconds = time.monotonic() - started
            services.metrics.item_finished(result.status.value, result.octets, seconds)
            # A failed item (given up on a store or catalog out of reach, or a defect)
            # needs a person: a warning, which level-based alerting sees.
            level = logging.WARNING if result.status is ItemStatus.FAILED else logging.INFO
            _log.log(level, "item %s %s in %.3f s%s", item.name, result.status.value, seconds,
                     f": {result.reason}" if level == logging.WARNING and result.reason else "",
                     extra={"event": "ingestion", "package": result.package_id})
    return result


def _attempt(services: Services, item: ItemRecord, final_attempt: bool) -> IngestResult:
    item_id = item.item_id
    lease = Lease(services.catalog, item_id, services.stuck_after)
    try:
        # The item's lease, taken over when its holder stopped renewing it.
        lease.take(stuck_before(services.clock.now(), services.stuck_after))
    except LeaseHeld as held:  # a duplicate message while a live attempt works: leave it
        return IngestResult("held", item_id, ItemStatus.ACCEPTED, str(held), finished_here=False)
    except ItemFinished:  # a duplicate of this task finished the item meanwhile
        return IngestResult("done", item_id, services.catalog.get_item(item_id).status,
                            finished_here=False)
    with lease:
        result = _attempt_holding(services, item, lease, final_attempt)
    if result.outcome in ("retry", "stopped"):
        lease.give_up()  # the next attempt (a retry) takes the item at once
    return result


def _attempt_holding(services: Services, item: ItemRecord, lease: Lease,
                     final_attempt: bool) -> IngestResult:
    item_id = item.item_id
    try:
        batch = services.catalog.get_batch(item.batch_id)
        result = _Ingest(services, item, batch, lease).run()
        if is_staged(batch) and result.status is not None:
            release_staging(services.staging_store, services.catalog, batch, item, result.status)
        return result
    except StopRequested as exc:
        return IngestResult("stopped", item_id, ItemStatus.ACCEPTED, str(exc))
    except LeaseLost as lost:
        # Paused past the lease and taken over: the new holder does the item;
        # this attempt writes nothing more (see ingest.lease).
        return IngestResult("held", item_id, ItemStatus.ACCEPTED, str(lost), finished_here=False)
    except TRANSIENT_ERRORS as exc:
        return transient_outcome(services, item, exc, final_attempt, lease.holder)
    except ItemFinished:  # a duplicate of this task finished the item meanwhile
        return IngestResult("done", item_id, services.catalog.get_item(item_id).status,
                            finished_here=False)
    except Exception as exc:  # noqa: BLE001 - a defect of ours: fail this item, keep the worker alive
        finding = Finding("INGEST_FAILED", params={"detail": f"{type(exc).__name__}: {exc}"})
        try:
            if not finish(services, item, ItemStatus.FAILED, [finding], batch_id=item.batch_id,
                          holder=lease.holder):
                return finished_elsewhere(services, item_id)
        except TRANSIENT_ERRORS as again:
            return transient_outcome(services, item, again, final_attempt, lease.holder)
        return IngestResult("failed", item_id, ItemStatus.FAILED, str(exc), (finding,))


class _Ingest:
    """One attempt at one item. Holds the little state the steps share."""

    def __init__(self, services: Services, item: ItemRecord, batch: BatchRecord,
                 lease: Lease) -> None:
        self.s = services
        self.item = item
        self.batch = batch
        self.lease = lease
        self.source = source_of(batch, services.staging_store)
        self.folder = Path(origin_of(batch.source)) / item.name
        self.payload = PayloadWriter(services, item.item_id, item.name, self.source, lease)
        self.claim = VersionClaim(services, item.item_id, lease)

    # -- helpers
    def _event(self, event_type: EventType, outcome: Outcome, **detail: Any) -> NewEvent:
        return self.s.event(
            event_type,
            outcome,
            batch_id=self.batch.batch_id,
            item_id=self.item.item_id,
            package_id=detail.pop("package_id", None),
            version=detail.pop("version", None),
            detail=detail,
        )

    def _reject(self, findings: Sequence[Finding], events: Sequence[NewEvent]) -> IngestResult:
        if not finish(self.s, self.item, ItemStatus.REJECTED, findings, batch_id=self.batch.batch_id,
                      events=events, holder=self.lease.holder):
            return finished_elsewhere(self.s, self.item.item_id)
        return IngestResult("done", self.item.item_id, ItemStatus.REJECTED, findings=tuple(findings))

    # -- the steps
    def run(self) -> IngestResult:
        scan = self.source.scan(self.item.name, self.s.skip_system_files, self.item.staged_sha256)
        progress = self.s.progress
        progress.item_started(self.item.item_id, self.item.name,
                              sum(entry.size for entry in scan.payload))
        try:
            return self._run(scan)
        finally:
            progress.item_finished(self.item.item_id)

    def _run(self, scan: ItemScan) -> IngestResult:
        record, findings = describe_item(scan, self.item.name, self.batch, self.s.schemas,
                                         self.source)
        validation = self._event(
            EventType.VALIDATION,
            Outcome.FAILURE if errors(findings) else Outcome.SUCCESS,
            schema=self.batch.schema,
            findings=[f.to_dict() for f in findings],
        )
        if errors(findings) or record is None:
            return self._reject(findings, [validation])
        # Only warnings are left (system files skipped): told, kept with the
        # item and in its ingestion event, never a reason to refuse it.
        warnings = tuple(findings)

        identifier: str = record["identifier"]
        package_id = package_id_for(identifier)
        record_json = canonical_record(record)
        latest = self.s.catalog.latest_version(package_id)
        if refusal := identifier_refusal(self.s.catalog, identifier, latest):
            return self._reject([*warnings, refusal], [validation])

        # A file the latest version has under the same path with the same size
        # is most likely unchanged: hashed first (one read), it is stored again
        # only if a digest differs; else the new version shares the object
        # that holds it (``ingest.layout``). An identical resubmission stores nothing.
        identifier_port = self.s.formats
        received = ReceivedCheck(scan)
        hashed: dict[str, tuple[Digests, IdentifiedFormat | None]] = {}  # by payload path
        not_whole: dict[int, str] = {}  # versions not held whole: stored again, never unchanged
        if latest is not None:
            try:
                for entry in candidates(latest, scan):
                    hashed[entry.path] = self.payload.digest(entry, received)
            except ContentRefused as refused:
                return self._reject([*warnings, refused.finding], [validation])
            except OSError as exc:
                return self._unreadable(exc, validation, warnings)
            if received.findings:
                return self._reject([*warnings, *received.findings], [validation])
            # Nothing is shared with, nor found unchanged against, a version the
            # archive does not hold whole: the bytes in hand are stored again.
            shared = shared_files(latest, hashed)
            not_whole = not_whole_holders(self.s.catalog, self.s.locations, package_id,
                                          latest, shared,
                                          self.s.clock.now() - self.s.fixity_window)
            warnings = (*warnings, *held_copy_findings(shared, latest, not_whole))
            if not not_whole and is_unchanged(latest, scan, record_json, hashed):
                calc = self._digest_event(package_id, latest.number,
                                          [digests for digests, _ in hashed.values()])
                if not finish(self.s, self.item, ItemStatus.UNCHANGED, warnings,
                              batch_id=self.batch.batch_id, events=[validation, calc],
                              package_id=package_id, version=latest.number,
                              holder=self.lease.holder):
                    return finished_elsewhere(self.s, self.item.item_id)
                return IngestResult("done", self.item.item_id, ItemStatus.UNCHANGED, findings=warnings)
            shared = {path: held for path, held in shared.items()
                      if (held.held_by or latest.number) not in not_whole}
            warnings = (*warnings, *correction_findings(
                latest, record, lambda: self.s.catalog.list_versions(package_id)))
        else:
            shared = {}

        try:
            number = self.claim.reserve(package_id, identifier)
        except Deaccessioned as gone:  # withdrawn as a whole since it was looked at
            return self._reject([*warnings, not_taken_back(gone.tombstone, identifier)],
                                [validation])
        prefix = version_prefix(package_id, number)
        try:
            payload, formats = self.payload.store(scan, prefix, received, shared, hashed)
        except StopRequested:
            self.claim.abandon(prefix, package_id, number)  # nothing of it was committed
            raise
        except ContentRefused as refused:
            self.claim.abandon(prefix, package_id, number)
            return self._reject([*warnings, refused.finding], [validation])
        except OSError as exc:
            self.claim.abandon(prefix, package_id, number)
            return self._unreadable(exc, validation, warnings)
        if received.findings:
            # Checked in the same read as the upload: what was written is dropped.
            self.claim.abandon(prefix, package_id, number)
            return self._reject([*warnings, *received.findings], [validation])

        title = str(record.get("title", ""))
        info = [
            ("Source-Organization", self.s.source_organization),
            ("External-Identifier", identifier),
            ("External-Description", title),
            # The batch's date, not today's: every attempt at the item makes the
            # same bag of the same source, so a stale attempt that wrote a key
            # before it saw its lease lost wrote the new holder's bytes.
            ("Bagging-Date", self.batch.submitted_at.date().isoformat()),
            ("Bag-Group-Identifier", self.batch.batch_id),
            ("Internal-Sender-Identifier", self.item.name),
        ]
        extra: list[tuple[str, bytes]] = []
        identification: list[NewEvent] = []
        if identifier_port is not None:
            tool, signatures = identifier_port.tool, identifier_port.signatures
            extra.append((FORMATS_JSON, formats_json(formats, tool, signatures)))
            # A file no signature matched is told, never refused.
            warnings = (*warnings, *unidentified(formats, tool, signatures))
            warnings = tuple(condense_warnings(warnings))  # ten thousand files of one unknown format
            identification.append(self._event(
                EventType.FORMAT_IDENTIFICATION, Outcome.SUCCESS, package_id=package_id,
                version=number, **event_detail(formats, tool, signatures)))
        tags: list[StoredFile] = []
        if scan.received is not None:
            if scan.received.info_bytes is not None:
                extra.append((RECEIVED_BAG_INFO, scan.received.info_bytes))
            extra += scan.received.other_tags
        tag_objects: list[tuple[str, bytes, str]] = []
        for path, data in build_tag_files(payload, record_json, info, extra):
            tag = digest_bytes(data)
            tag_objects.append((prefix + path, data, tag.sha256))
            tags.append(StoredFile(path, tag.size, tag.sha256, tag.sha512))
        self.lease.check()  # a stale holder puts nothing in place
        put_all_everywhere(self.s.locations, tag_objects)
        files = tuple(payload) + tuple(tags)
        self.claim.drop_strays(prefix, package_id, number, files)
        self.claim.make_durable(prefix)
        checked = self.claim.read_back(package_id, number, files)
        # Every copy checked: noted in the transaction that commits the version.
        now = self.s.clock.now()
        copies = [CopyRecord(store.location, VERIFIED, now) for store in self.s.locations]

        version = VersionRecord(
            package_id=package_id,
            number=number,
            identifier=identifier,
            title=title,
            record=record,
            created_at=self.s.clock.now(),
            batch_id=self.batch.batch_id,
            item_id=self.item.item_id,
            files=files,
        )
        events = [
            validation,
            self._digest_event(package_id, number,
                               [Digests(f.size, f.sha256, f.sha512) for f in payload]),
            *identification,
            self._event(EventType.INGESTION, Outcome.SUCCESS, package_id=package_id,
                        version=number, location=self.s.store.location, key_prefix=prefix,
                        files=len(files), payload_oxum=_oxum(payload),
                        manifest_sha256=next(t.sha256 for t in tags
                                             if t.path == "manifest-sha256.txt"),
                        tagmanifest_sha256=next(t.sha256 for t in tags
                                                if t.path == "tagmanifest-sha256.txt"),
                        **sharing_detail(payload, tags),
                        **({"payload_copied_in_store": self.payload.copied} if self.payload.copied else {}),
                        findings=[f.to_dict() for f in warnings],
                        **_received_detail(scan)),
            *(self._event(EventType.REPLICATION, Outcome.SUCCESS, package_id=package_id,
                          version=number, location=store.location, key_prefix=prefix,
                          source=self.s.store.location, reason="ingest", files=len(files),
                          octets=sum(f.size for f in files), checked=checked[store.location])
              for store in self.s.replicas),
        ]
        # Decided again at the commit: another submission of the same change may
        # have committed it since we compared (then this item is unchanged), unless
        # the bytes are stored again because the latest version is not held whole.
        unchanged = None if not_whole else [validation, self._digest_event(
            package_id, None, [Digests(f.size, f.sha256, f.sha512) for f in payload])]
        try:
            committed = self.s.catalog.commit_version(
                version, events, copies, unchanged_events=unchanged, findings=warnings,
                holder=self.lease.holder)
        except Deaccessioned as gone:
            # Two people withdrew the package while this item was being written:
            # nothing of it was committed, and what was written goes.
            self.claim.abandon(prefix, package_id, number)
            return self._reject([*warnings, not_taken_back(gone.tombstone, identifier)],
                                [validation])
        if not committed:
            # A duplicate of this task finished the item first, or an identical
            # version came first; drop our claim and objects unless they are the
            # committed version itself.
            finished = self.s.catalog.get_item(self.item.item_id).status
            if finished is ItemStatus.ACCEPTED:
                # Not final, and not ours to commit: another attempt took the item
                # over and writes this version. Touch nothing of it.
                raise LeaseLost(f"item {self.item.item_id} was taken over by another attempt")
            self.claim.abandon(prefix, package_id, number, holding=False)
            # Marked unchanged by this commit (an identical version came first), or
            # finished by a duplicate task (which counted it).
            return IngestResult("done", self.item.item_id, finished,
                                finished_here=finished is ItemStatus.UNCHANGED)
        # What tells a rebuild it was committed; synced here, or by the runner
        # with other items' records (a crash before then: ``fixity reconcile``).
        skipped = record_commit(self.s.locations, version,
                                sync=not self.s.commit_records_synced_by_runner)
        if skipped:
            # Committed all the same; the next fixity check of that copy (or
            # `fixity reconcile`) writes the record. Said now, not when a rebuild
            # leaves the version out.
            _log.warning("%s v%d is committed, but its commit record could not be written "
                         "to %s; the next fixity check or `strongroom fixity reconcile` "
                         "writes it", identifier, number, ", ".join(skipped),
                         extra={"event": "ingestion", "package": package_id})
        return IngestResult("done", self.item.item_id, ItemStatus.STORED, findings=warnings,
                            octets=sum(f.size for f in payload), package_id=package_id)

    def _unreadable(self, exc: OSError, validation: NewEvent,
                    warnings: Sequence[Finding] = ()) -> IngestResult:
        path = exc.filename
        try:
            rel = Path(path).relative_to(self.folder).as_posix() if path else None
        except ValueError:
            rel = str(path)
        finding = Finding("FILE_UNREADABLE", path=rel, params={"detail": exc.strerror or str(exc)})
        return self._reject([*warnings, finding], [validation])

    def _digest_event(self, package_id: str, number: int | None,
                      digests: Sequence[Digests] | Any) -> NewEvent:
        digests = list(digests)
        return self._event(EventType.MESSAGE_DIGEST_CALCULATION, Outcome.SUCCESS,
                           package_id=package_id, version=number, algorithms=list(ALGORITHMS),
                           files=len(digests), octets=sum(d.size for d in digests))


def _received_detail(scan: ItemScan) -> dict[str, Any]:
    """What the ingestion event records of a received bag: its version and bag-info fields."""
    if scan.received is None:
        return {}
    return {"received_bag": {"bagit_version": scan.received.version,
                             "bag_info": [[label, value] for label, value in scan.received.info],
                             "kept_as": RECEIVED_BAG_INFO if scan.received.info_bytes is not None
                             else None}}


def _oxum(files: Sequence[StoredFile]) -> str:
    return f"{sum(f.size for f in files)}.{len(files)}"


__all__ = [
    "IngestResult",
    "Services",
    "StrongroomError",
    "ingest_item",
]
