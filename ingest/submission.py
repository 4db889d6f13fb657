"""Submitting a batch, and what describes an item.

``submit_batch`` registers a batch and its items in the catalog (and nothing
else: the caller enqueues the item ids once that is committed), after staging
the batch in the store when asked. ``describe_item`` gives the record of an
item and every finding about it, from its metadata.json or its row of the
batch's metadata.csv; the ingest (``ingest.pipeline``) and the dry run
(``ingest.dry_run``) both start from it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ingest.batch import ITEM_METADATA, BatchLayout, ItemScan, read_batch
from ingest.batch_files import (
    BATCH_METADATA,
    RECORD_DEFAULTS,
    SHAPELESS,
    read_sheet,
    with_batch_fields,
)
from ingest.batch_identifiers import duplicate_identifiers, item_duplicate
from ingest.batch_source import STAGED_SOURCE, BatchSource, FolderSource
from ingest.findings import Finding, errors
from ingest.metadata import parse_metadata, unsafe_text
from ingest.models import BatchRecord, EventType, ItemRecord, Outcome
from ingest.record_schema import DEFAULT_SCHEMA, SchemaSet
from ingest.services import Services
from ingest.spreadsheet import FOLDER_COLUMN, METADATA_CSV, UNUSABLE, SheetRow
from ingest.staged_batch import stage_batch


@dataclass(frozen=True)
class SubmittedBatch:
    batch: BatchRecord
    items: list[ItemRecord]



# --------------------------------------------------------------------------- submit


def submit_batch(batch_dir: str | Path, services: Services,
                 fields: Mapping[str, str] | None = None, *, stage: bool = False,
                 origin: str | None = None) -> SubmittedBatch:
    """Register a batch folder and its items (status accepted) in the catalog.

    With ``stage``, the batch is first copied into the staging area of the
    store (``ingest.staged_batch``, ``Services.staging_store``), and its items
    are then read from there, never from the folder: once this returns, the
    folder may go. ``origin`` names where the batch came from in its
    ``source`` (an upload), instead of the folder's path.

    ``fields`` are batch fields given beside the folder (a form's collection and
    description): they count as batch.json's (``read_batch``). The batch's
    fields, from either, are kept in its accession event.

    Batch-level problems (stray files, a bad batch.json, an unknown schema) are
    findings on the batch; they never stop the good items. System files at the
    batch root are skipped with a warning (``Services.skip_system_files``). Raises BatchUnreadable
    when the folder itself cannot be read, CatalogUnavailable.
    """
    layout = read_batch(batch_dir, fields, skip=services.skip_system_files)
    schema, findings = batch_level_findings(layout, services.schemas)
    batch_id = str(uuid.uuid4())
    source = origin if origin is not None else str(layout.root)
    staged = None
    if stage:
        # Every byte in the store, synced, before the batch names it (commit last);
        # the listings' digests go into the catalog, out of reach of the store's writers.
        staged = stage_batch(layout, batch_id, services.staging_store,
                             skip=services.skip_system_files, now=services.clock.now(),
                             stop=services.stop,
                             catalog_log=services.catalog.log_identity()[0])
        source = STAGED_SOURCE + source
    now = services.clock.now()
    batch = BatchRecord(
        batch_id=batch_id,
        source=source,
        submitted_at=now,
        submitter=layout.fields.get("submitter"),
        collection=layout.fields.get("collection"),
        schema=schema,
        findings=tuple(findings),
        submitted_by=services.actor,
        staged_sha256=staged.batch if staged else None,
    )
    event = services.event(
        EventType.ACCESSION,
        Outcome.FAILURE if errors(findings) else Outcome.SUCCESS,
        occurred_at=now,
        batch_id=batch.batch_id,
        detail={"source": batch.source, "items": len(layout.items),
                "findings": [f.to_dict() for f in findings],
                **({"fields": dict(layout.fields)} if layout.fields else {}),
                **({"staged_listing_sha256": staged.batch} if staged else {})},
    )
    items = services.catalog.create_batch(batch, [name for name, _ in layout.items], [event],
                                          staged=staged.items if staged else None)
    return SubmittedBatch(batch=batch, items=items)


def batch_level_findings(layout: BatchLayout, schemas: SchemaSet) -> tuple[str, list[Finding]]:
    """The batch's record schema, and every finding about the batch as a whole:
    its folder's and files' (``read_batch``), an unknown schema, and the items
    that share an identifier (``ingest.batch_identifiers``). Raises nothing."""
    findings = list(layout.findings)
    schema = layout.fields.get("schema") or DEFAULT_SCHEMA
    if schema not in schemas.record_names():
        findings.append(Finding("SCHEMA_UNKNOWN", path="batch.json", found=schema,
                                expected=schemas.record_names()))
    elif not any(f.code in UNUSABLE for f in findings):
        # The layout read the sheet without a schema: its columns are checked here.
        _, problems = read_sheet(layout.root, schemas.view(schema))
        findings += [f for f in problems if f.code == "METADATA_CSV_UNKNOWN_COLUMN"]
    findings += duplicate_identifiers(layout)
    return schema, findings


# --------------------------------------------------------------------------- describe


def describe_item(scan: ItemScan, name: str, batch: BatchRecord, schemas: SchemaSet,
                  source: BatchSource | None = None) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The record that describes an item and every finding about it: the scan's,
    then its metadata's, from its metadata.json or its row of the batch's
    metadata.csv, with the batch's collection, rights and source filled in
    where the record has none; the merged record is the one validated.
    Reads batch.json and metadata.csv from ``source`` (the batch folder when
    None) as they are now; writes nothing. Raises nothing for bad input."""
    if source is None:
        source = FolderSource(batch.source)
    findings = list(scan.findings)
    record: dict[str, Any] | None = None
    known = batch.schema in schemas.record_names()
    row, row_findings = _sheet_row(scan, name, batch, schemas, known, source)
    if row is not None or any(f.code in ("METADATA_CSV_DUPLICATE_ROW", "METADATA_MISSING", *UNUSABLE)
                              for f in row_findings):
        # The item's metadata is in metadata.csv, not a metadata.json (or the sheet
        # says itself what it lacks).
        findings = [f for f in findings if f.code != "METADATA_MISSING"]
    if row is not None:
        record = with_batch_fields(row.record, _batch_fields(batch, source))
        findings += [*row.findings, *(row.locate(f) for f in (
            *unsafe_text(row.record, "metadata.csv"), *schemas.validate(record, batch.schema)))]
    findings += row_findings
    if row is None and scan.metadata is not None:
        record, parse_findings = parse_metadata(scan.metadata)
        findings += parse_findings
        if record is not None:
            # The batch's collection, rights and source fill what the record
            # lacks; the merged record is what is validated and stored.
            record = with_batch_fields(record, _batch_fields(batch, source))
        if record is not None and not known:
            # Only a record schema may describe an item (batch/v1 would let {} pass).
            findings.append(Finding("SCHEMA_UNKNOWN", found=batch.schema,
                                    expected=schemas.record_names()))
        elif record is not None:
            findings += schemas.validate(record, batch.schema)
    return record, findings + _batch_refusals(batch, name, record)


def _batch_refusals(batch: BatchRecord, name: str, record: dict[str, Any] | None) -> list[Finding]:
    """What the batch as a whole refuses of this item: an identifier another item
    of the batch gives too; and, when batch.json (or the fields given beside the
    folder) could not be used, a record that lacks a field it was to take from
    there (collection, rights, source): stored, the version would keep that
    lack for ever."""
    refusals = []
    duplicate = item_duplicate(batch.findings, name)
    if duplicate is not None:
        refusals.append(duplicate)
    if record is not None and any(f.code == "BATCH_METADATA_INVALID" for f in batch.findings):
        lacking = [field for field in RECORD_DEFAULTS if record.get(field) in (None, "")]
        if lacking:
            refusals.append(Finding("BATCH_FIELDS_UNUSABLE", path=BATCH_METADATA,
                                    params={"fields": ", ".join(lacking)}))
    return refusals


def _sheet_row(scan: ItemScan, name: str, batch: BatchRecord, schemas: SchemaSet,
               known: bool, source: BatchSource) -> tuple[SheetRow | None, list[Finding]]:
    """The item's row of the batch's metadata.csv, if it has one to use, and
    the findings that stop it (two rows, a row and a metadata.json)."""
    sheet, problems = source.sheet(schemas.view(batch.schema) if known else SHAPELESS)
    empty = any(f.code == "ITEM_FOLDER_EMPTY" for f in scan.findings)
    missing = empty or any(f.code == "METADATA_MISSING" for f in scan.findings)
    if sheet is None:
        return None, problems if missing else []
    rows = sheet.rows_for(name)
    if not rows:
        if empty or not missing:  # an empty folder is told so, and that is enough
            return None, []
        # Missing, and not in the sheet either: the sheet is where it was looked for.
        return None, [Finding("METADATA_MISSING", path=ITEM_METADATA, hint=(
            f"{METADATA_CSV} has no row whose {FOLDER_COLUMN} is {name!r}: add one, or "
            f"give the item a {ITEM_METADATA}"))]
    if len(rows) > 1:
        return None, [Finding("METADATA_CSV_DUPLICATE_ROW", path=name,
                              params={"rows": ", ".join(str(r.row) for r in rows)})]
    if not missing:
        return None, [Finding("METADATA_CSV_AND_JSON", path=ITEM_METADATA,
                              params={"row": rows[0].row})]
    if not known:
        return None, [Finding("SCHEMA_UNKNOWN", found=batch.schema,
                              expected=schemas.record_names())]
    # the sheet is shared by every item that reads it (``sheet_of``): the row's own record
    return replace(rows[0], record=copy.deepcopy(rows[0].record)), []


def _batch_fields(batch: BatchRecord, source: BatchSource) -> dict[str, Any]:
    """The batch's fields for its records: batch.json's as read now, the
    collection as registered (which a form's collection replaces)."""
    fields = source.batch_fields()
    if batch.collection:
        fields["collection"] = batch.collection
    return fields


__all__ = ["SubmittedBatch", "describe_item", "submit_batch"]
