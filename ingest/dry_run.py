"""The dry run: what submitting a batch would make of it, writing nothing.

``check_batch`` makes every check ``submit_batch`` and ``ingest_item`` make
before anything is stored — the batch's names, batch.json and metadata.csv;
each item's names, files and metadata against the schema; each record's
identifier against the archive's packages, live and deaccessioned, by the rule
the ingest asks (``ingest.batch_identifiers.identifier_refusal``); and, reading
each payload file once as the ingest would, a received bag's manifests against
the bytes and each file's format — and nothing else: no catalog row, no object,
no event is written. It only reads the catalog, and needs none: where there is
no archive yet, it checks as against an empty one (``NO_PACKAGES``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.batch import ItemScan, read_batch, scan_item
from ingest.batch_identifiers import identifier_refusal
from ingest.errors import ContentRefused
from ingest.findings import Finding, errors
from ingest.fixity import digest_stream
from ingest.format_identification import FileFormat, FormatIdentifier, HeadTail, unidentified
from ingest.models import BatchRecord, VersionRecord, package_id_for
from ingest.payload_writing import ReceivedCheck
from ingest.ports import IdentifierCatalog
from ingest.record_schema import SchemaSet
from ingest.submission import batch_level_findings, describe_item
from ingest.submitted import open_submitted
from ingest.tombstones import DeaccessionRequest

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class _NoPackages:
    """An archive with no package yet, live or deaccessioned: what a submission
    finds where no catalog exists (it makes an empty one)."""

    def latest_version(self, package_id: str) -> VersionRecord | None:
        return None

    def packages_with_identifier_key(self, key: str) -> list[tuple[str, str]]:
        return []

    def withdrawn_with_identifier_key(self, key: str) -> list[DeaccessionRequest]:
        return []


NO_PACKAGES: IdentifierCatalog = _NoPackages()


@dataclass(frozen=True)
class CheckedItem:
    """What submitting would make of one item: accepted (it would be ingested)
    or rejected, and why."""

    name: str
    accepted: bool
    findings: tuple[Finding, ...]
    #: the package its record's identifier names, when it has a record
    package_id: str | None = None


@dataclass(frozen=True)
class CheckedBatch:
    source: str
    schema: str
    fields: dict[str, Any]
    findings: tuple[Finding, ...]
    items: tuple[CheckedItem, ...]

    @property
    def all_accepted(self) -> bool:
        return not errors(self.findings) and all(item.accepted for item in self.items)


def check_batch(batch_dir: str | Path, schemas: SchemaSet, fields: Mapping[str, str] | None = None,
                *, catalog: IdentifierCatalog = NO_PACKAGES, skip: Sequence[str] = (),
                formats: FormatIdentifier | None = None, read_files: bool = True,
                on_bytes: Callable[[int], None] | None = None) -> CheckedBatch:
    """Every check a submission makes before storing anything (see the module),
    each record's identifier against the packages of ``catalog``.

    With ``read_files`` (the default) each payload file of an item whose
    record passed is read through once: a received bag's digests are compared
    (``RECEIVED_BAG_DIGEST_MISMATCH`` rejects, as the ingest would) and, with
    ``formats``, each file's format is identified (``FORMAT_UNIDENTIFIED``
    warns); ``on_bytes`` is told of every chunk read. Without it, files are
    listed and opened by the scan only. Raises BatchUnreadable when the folder
    cannot be read, CatalogUnavailable."""
    layout = read_batch(batch_dir, fields, skip=skip)
    schema, findings = batch_level_findings(layout, schemas)
    batch = BatchRecord(batch_id="", source=str(layout.root), submitted_at=_NEVER,
                        collection=layout.fields.get("collection"), schema=schema,
                        findings=tuple(findings))
    items = []
    for name, folder in layout.items:
        scan = scan_item(folder, within=layout.root, skip=skip)
        record, item_findings = describe_item(scan, name, batch, schemas)
        if record is not None and not errors(item_findings):
            identifier = record["identifier"]
            refusal = identifier_refusal(catalog, identifier,
                                         catalog.latest_version(package_id_for(identifier)))
            item_findings += [refusal] if refusal is not None else []
        if read_files and record is not None and not errors(item_findings):
            item_findings += read_payload(layout.root, name, scan, formats, on_bytes)
        accepted = record is not None and not errors(item_findings)
        package_id = package_id_for(record["identifier"]) if accepted and record else None
        items.append(CheckedItem(name, accepted, tuple(item_findings), package_id))
    return CheckedBatch(source=str(layout.root), schema=schema, fields=dict(layout.fields),
                        findings=tuple(findings), items=tuple(items))


def read_payload(root: Path, name: str, scan: ItemScan, formats: FormatIdentifier | None,
                 on_bytes: Callable[[int], None] | None = None) -> list[Finding]:
    """Read each payload file of item ``name`` once, as the ingest reads it
    (walking from the batch folder, refusing a file swapped since the scan):
    the findings its received manifests and its formats give. A file that
    cannot be read or was swapped ends the reading with its finding."""
    received = ReceivedCheck(scan)
    identified: list[FileFormat] = []
    for entry in scan.payload:
        extra = received.hashers()
        ends = HeadTail(formats.bufsize) if formats is not None else None

        def feed(chunk: Any, extra: dict[str, Any] = extra, ends: HeadTail | None = ends) -> None:
            for hasher in extra.values():
                hasher.update(chunk)
            if ends is not None:
                ends.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
        try:
            with open_submitted(root, f"{name}/{entry.within}{entry.path}", entry.identity,
                                hidden=1) as source:
                digests = digest_stream(source, feed)
        except ContentRefused as refused:
            return [*received.findings, refused.finding]
        except OSError as exc:
            return [*received.findings,
                    Finding("FILE_UNREADABLE", path=entry.path,
                            params={"detail": exc.strerror or str(exc)})]
        received.check(entry.path, digests, extra)
        if formats is not None and ends is not None:
            identified.append(FileFormat("data/" + entry.path, digests.size,
                                         formats.identify(ends.head, ends.tail, entry.path)))
    found = list(received.findings)
    if formats is not None:
        found += unidentified(identified, formats.tool, formats.signatures)
    return found


__all__ = ["NO_PACKAGES", "CheckedBatch", "CheckedItem", "check_batch", "read_payload"]
