"""What the catalog's parts share: row states, the clock, rows turned into records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from ingest.access import (
    collection_key,
    creators_key,
    date_end_key,
    date_sort_key,
    title_key,
    title_sort_key,
)
from ingest.findings import Finding
from ingest.format_identification import IdentifiedFormat
from ingest.models import (
    ItemRecord,
    ItemStatus,
    StoredFile,
    VersionRecord,
)
from storage.tables import File, Item, Version

PENDING = "pending"
COMMITTED = "committed"
ACCEPTED = ItemStatus.ACCEPTED.value


class _Unchanged(Exception):
    """Raised inside a write transaction to roll it back: nothing is to be written."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def package_sort_keys(version: VersionRecord, committed_at: datetime) -> dict[str, Any]:
    """The package row's sort and search keys once ``version`` is its latest
    (package search): written on commit, on a catalog rebuild's import and when a
    deaccession leaves an earlier version the latest."""
    return {"sort_title": title_sort_key(version.title),
            "sort_date": date_sort_key(version.record.get("date")),
            "date_end": date_end_key(version.record.get("date")),
            "latest_at": committed_at,
            "title_key": title_key(version.title),
            "creators_key": creators_key(version.record),
            "collection_key": collection_key(version.record)}


def plain_text(value: Any) -> Any:
    return getattr(value, "value", value)


# ---------------------------------------------------------------------- rows → records


def findings_of(data: list[Any] | None) -> tuple[Finding, ...]:
    return tuple(Finding.from_dict(entry) for entry in data or ())


#: The columns ``item_record`` reads, for a Core ``select`` of many items.
ITEM_COLUMNS = (Item.item_id, Item.batch_id, Item.name, Item.status, Item.package_id,
                Item.version, Item.findings, Item.attempts, Item.updated_at)


def item_record(row: Item | Row[Any]) -> ItemRecord:
    """The record of an items row (a mapped object, or a row of ``ITEM_COLUMNS``)."""
    return ItemRecord(
        item_id=row.item_id,
        batch_id=row.batch_id,
        name=row.name,
        status=ItemStatus(row.status),
        package_id=row.package_id,
        version=row.version,
        findings=findings_of(row.findings),
        attempts=row.attempts,
        updated_at=row.updated_at,
        staged_sha256=getattr(row, "staged_sha256", None),
    )


def file_columns(f: StoredFile) -> dict[str, str | int | None]:
    """The files row's columns of ``f`` beyond its path, size and digests: its
    format (all null when it has none) and the version that holds its bytes."""
    fmt = f.format
    return {"puid": fmt.puid if fmt else None, "format_name": fmt.name if fmt else None,
            "format_version": fmt.version if fmt else None, "mime_type": fmt.mime if fmt else None,
            "format_basis": fmt.basis if fmt else None, "held_by": f.held_by}


def stored_format(row: File | Row[Any]) -> IdentifiedFormat | None:
    """The format a files row records, or None."""
    if row.puid is None:
        return None
    return IdentifiedFormat(puid=row.puid, name=row.format_name or "", version=row.format_version or "",
                            mime=row.mime_type or "", basis=row.format_basis or "signature")


def version_record(row: Version | Row[Any], files: Sequence[File | Row[Any]]) -> VersionRecord:
    """The record of a versions row and its files rows (mapped objects, or Core rows)."""
    return VersionRecord(
        package_id=row.package_id,
        number=row.number,
        identifier=row.identifier,
        title=row.title or "",
        record=row.record or {},
        created_at=row.created_at,
        batch_id=row.batch_id,
        item_id=row.item_id,
        files=tuple(
            StoredFile(path=f.path, size=f.size, sha256=f.sha256, sha512=f.sha512,
                       format=stored_format(f), held_by=f.held_by)
            for f in sorted(files, key=lambda f: f.path)
        ),
        last_fixity_at=row.last_fixity_at,
        last_fixity_outcome=row.last_fixity_outcome,
    )
