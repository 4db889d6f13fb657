"""What the CLI (and later the HTTP API) says, as JSON-ready data built from the catalog.

These shapes are a contract other tools rely on; change them only by adding keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ingest.layout import delivered_files
from ingest.models import AuditEvent, ItemRecord, ItemStatus, VersionRecord
from ingest.ports import Catalog
from ingest.version_changes import version_history

if TYPE_CHECKING:  # the dry run imports the pipeline: only `submit --check` needs it
    from ingest.dry_run import CheckedBatch


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def item_report(item: ItemRecord) -> dict[str, Any]:
    return {
        "name": item.name,
        "item_id": item.item_id,
        "status": item.status.value,
        "package_id": item.package_id,
        "version": item.version,
        "attempts": item.attempts,
        "findings": [f.to_dict() for f in item.findings],
    }


def batch_report(catalog: Catalog, batch_id: str,
                 items: Sequence[ItemRecord] | None = None) -> dict[str, Any]:
    """The submit/status document: the batch, its findings and every item's outcome
    (``items``: the batch's items when the caller has just read them, not read again)."""
    batch = catalog.get_batch(batch_id)
    if items is None:
        items = catalog.list_items(batch_id)
    counts: dict[str, int] = {s.value: 0 for s in ItemStatus}
    for item in items:
        counts[item.status.value] += 1
    return {
        "batch_id": batch.batch_id,
        "source": batch.source,
        "submitted_at": _iso(batch.submitted_at),
        "schema": batch.schema,
        "submitted_by": batch.submitted_by.to_dict() if batch.submitted_by else None,
        "claimed_submitter": batch.claimed_submitter,
        "findings": [f.to_dict() for f in batch.findings],
        "counts": counts,
        "items": [item_report(i) for i in items],
    }


def check_report(checked: CheckedBatch) -> dict[str, Any]:
    """The submit document for a dry run (``ingest.dry_run.check_batch``):
    ``"check": true``, no batch id, and each item "accepted" (it would be
    ingested) or "rejected"."""
    counts: dict[str, int] = {s.value: 0 for s in ItemStatus}
    items = []
    for item in checked.items:
        status = ItemStatus.ACCEPTED if item.accepted else ItemStatus.REJECTED
        counts[status.value] += 1
        items.append({"name": item.name, "item_id": None, "status": status.value,
                      "package_id": item.package_id, "version": None, "attempts": 0,
                      "findings": [f.to_dict() for f in item.findings]})
    return {
        "check": True,
        "batch_id": None,
        "source": checked.source,
        "submitted_at": None,
        "schema": checked.schema,
        "submitted_by": None,
        "claimed_submitter": checked.fields.get("submitter"),
        "findings": [f.to_dict() for f in checked.findings],
        "counts": counts,
        "items": items,
    }


def batch_has_problems(report: dict[str, Any]) -> bool:
    """True when the batch or any item needs a person's attention (exit 1); a
    warning alone (a system file skipped) does not."""
    bad = {ItemStatus.REJECTED.value, ItemStatus.FAILED.value}
    return (any(f.get("severity") != "warning" for f in report["findings"])
            or any(i["status"] in bad for i in report["items"]))


def version_report(v: VersionRecord, *, with_files: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": v.number,
        "created_at": _iso(v.created_at),
        "batch_id": v.batch_id,
        "item_id": v.item_id,
        "payload_oxum": f"{sum(f.size for f in v.payload)}.{len(v.payload)}",
        "payload_octets": sum(f.size for f in v.payload),
        "payload_files": len(v.payload),
        # the payload bytes this version stores itself: a file it shares with an
        # earlier version (``held_by``) is stored once, there (ingest.layout)
        "payload_octets_stored": sum(f.size for f in v.payload if f.held_by is None),
        "last_fixity": {"at": _iso(v.last_fixity_at), "outcome": v.last_fixity_outcome}
        if v.last_fixity_at else None,
    }
    if with_files:
        out["files"] = [{"path": f.path, "size": f.size, "sha256": f.sha256, "sha512": f.sha512,
                         "format": f.format.to_dict() if f.format else None,
                         "held_by": f.held_by}
                        for f in delivered_files(v.files)]
    return out


def package_report(catalog: Catalog, package_id: str) -> dict[str, Any]:
    """The package document of ``show`` and ``GET /packages/{id}``: each version
    with its files and, from version 2 on, what changed since the one before."""
    steps = version_history(catalog, package_id)
    latest = steps[-1].version
    versions = []
    for step in steps:
        out = version_report(step.version)
        out["changes"] = step.changes.to_dict() if step.changes else None
        versions.append(out)
    return {
        "package_id": package_id,
        "identifier": latest.identifier,
        "title": latest.title,
        "latest_version": latest.number,
        "metadata": latest.record,
        "versions": versions,
        "deaccessioned": [
            {"version": v.number, "request_id": t.request_id, "state": t.state,
             "reason": t.reason, "decided_at": _iso(t.decided_at)}
            for t in catalog.tombstones(package_id) for v in t.versions],
    }


def event_report(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "event_id": e.event_id,
        "event_type": e.event_type,
        "outcome": e.outcome,
        "agent": e.agent,
        "actor": e.actor.to_dict() if e.actor else None,
        "occurred_at": _iso(e.occurred_at),
        "batch_id": e.batch_id,
        "item_id": e.item_id,
        "package_id": e.package_id,
        "version": e.version,
        "detail": e.detail,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def describe_record(record: dict[str, Any]) -> list[tuple[str, str]]:
    """A descriptive record (``archival-record/v1``) as labelled lines for a person:
    date, type, creators, recipients, citation, rights and the rest, in the order a
    catalogue card gives them. Fields a record lacks are left out; a field of
    another shape than the schema's is shown as it is."""
    def agents(value: Any) -> str:
        if not isinstance(value, list):
            return str(value)
        return "; ".join(agent(a) for a in value)

    def agent(value: Any) -> str:
        if not isinstance(value, dict):
            return str(value)
        text = str(value.get("name", ""))
        if value.get("name_as_written"):
            text += f", written as \u201c{value['name_as_written']}\u201d"
        return text + (f" ({value['role']})" if value.get("role") else "")

    def joined(value: Any) -> str:
        return "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)

    def source(value: Any) -> str | None:
        if not isinstance(value, dict):
            return str(value)
        held = [str(value[k]) for k in ("repository",) if value.get(k)]
        if value.get("document_number"):
            held.append(f"document no. {value['document_number']}")
        if value.get("url"):
            held.append(str(value["url"]))
        if not value.get("citation"):
            return "; ".join(held) or None
        return str(value["citation"]) + (f" ({'; '.join(held)})" if held else "")

    def rights(value: Any) -> str:
        if not isinstance(value, dict):
            return str(value)
        text = str(value.get("statement", ""))
        extra = [f"{label} {value[key]}" for key, label in
                 (("holder", "holder:"), ("contact", "contact:"), ("uri", "see"))
                 if value.get(key)]
        return text + (f" ({'; '.join(extra)})" if extra else "")

    def system(value: Any) -> str:
        if not isinstance(value, dict):
            return str(value)
        parts = [str(value.get("name", ""))]
        if value.get("record_id"):
            parts.append(f"record {value['record_id']}")
        if value.get("uploaded"):
            parts.append(f"uploaded {value['uploaded']}")
        return ", ".join(parts)

    shown: list[tuple[str, str, Any]] = [
        ("date", "date", str), ("type", "type", str), ("creators", "creators", agents),
        ("recipients", "recipients", agents), ("citation", "source", source),
        ("rights", "rights", rights), ("language", "language", joined),
        ("collection", "collection", str), ("subjects", "subjects", joined),
        ("places", "places", joined), ("from", "source_system", system),
        ("description", "description", str),
    ]
    lines = []
    for label, key, render in shown:
        if record.get(key) in (None, "", [], {}):
            continue
        text = render(record[key])
        if text:
            lines.append((label, text))
    return lines


def describe_size(octets: int) -> str:
    """A number of bytes as a person reads it: ``834 bytes``, ``1 byte``,
    ``3.3 kB (3,317 bytes)``, ``1.1 GB (1,073,741,824 bytes)``."""
    if octets < 1000:
        return f"{octets} byte{'' if octets == 1 else 's'}"
    value, units = float(octets) / 1000, ["kB", "MB", "GB", "TB", "PB"]
    while value >= 1000 and len(units) > 1:
        value /= 1000
        units.pop(0)
    return f"{value:.1f} {units[0]} ({octets:,} bytes)"


def describe_payload(octets: int, files: int) -> str:
    """``834 bytes in 2 files``."""
    return f"{describe_size(octets)} in {files} file{'' if files == 1 else 's'}"


def describe_actor(actor: dict[str, Any]) -> str:
    """An actor document (``Actor.to_dict``) in words: ``alice (token, submitter)``,
    ``worker-1 (worker) for alice (token, submitter)``."""
    kind = ", ".join(str(part) for part in (actor.get("kind"), actor.get("role")) if part)
    text = f"{actor.get('name')} ({kind})" if kind else str(actor.get("name"))
    behalf = actor.get("on_behalf_of")
    return f"{text} for {describe_actor(behalf)}" if isinstance(behalf, dict) else text


# Characters that move the cursor, end a line or reorder text on a terminal:
# C0 controls, DEL, C1 controls, the Unicode line and paragraph separators and
# the bidirectional formatting controls (a right-to-left override makes
# "exe.txt" read as "txt.exe").
_UNPRINTABLE = {
    *range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029,
    0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
}
_ESCAPES = str.maketrans({
    code: {0x09: r"\t", 0x0A: r"\n", 0x0D: r"\r"}.get(
        code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in _UNPRINTABLE
})


def printable(text: str) -> str:
    """``text`` with every character that could forge or hide a line of terminal
    output (see ``_UNPRINTABLE``) written as a Python-style escape (``\\n``,
    ``\\x1b``, ``\\u202e``); any other text is left as it is. For human output
    only: JSON output carries names exactly."""
    # Every character of _UNPRINTABLE is one str.isprintable refuses: text it
    # accepts has none to escape (the usual case, checked in C).
    return text if text.isprintable() else text.translate(_ESCAPES)
