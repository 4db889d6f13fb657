"""A batch as its submitter follows it: counts, each item's status, package and
findings in words (all of them, or only those needing attention), live while
items are ingested, and the findings as CSV; and the list of every batch one
may read, newest first, a page at a time.

Who may read a batch is ``ingest.batch_progress.readable_batch``'s rule (the
API's): a batch someone may not read gets the same page as one that does not
exist.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response, StreamingResponse

from ingest.access import Permission
from ingest.accounts import SessionInfo
from ingest.batch_progress import BatchProgress, batch_findings, batch_progress, batches_page
from ingest.batch_readers import READ_EVERY_BATCH
from ingest.batches_list import batch_entry
from ingest.csv_cells import text_cell
from ingest.errors import BatchNotFound
from strongroom.api.staging import shown_source
from strongroom.web.guard import person
from strongroom.web.render import render

router = APIRouter()

BatchId = Annotated[str, PathParam(max_length=100)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
#: "1": only the items rejected or failed
Attention = Annotated[bool, Query()]

#: item status → what a person reads
STATUS_WORDS = {"accepted": "in progress", "stored": "stored", "unchanged": "unchanged",
                "rejected": "rejected", "failed": "failed"}

#: "expected" in words; "rule" the exact rule a program reads (a pattern), as the page folds it
CSV_COLUMNS = ("item", "status", "code", "path", "pointer", "message", "expected", "hint", "rule")


def _not_found(request: Request) -> Response:
    return render(request, "error.html", status=404, title="No such batch",
                  message="There is no batch with this id that you may read. "
                          "Check the link, or find the batch on the home page.")


def field_words(pointer: str | None) -> str | None:
    """A JSON pointer as a person names the field: ``/creators/0/name`` → ``creators › 1 › name``."""
    if not pointer:
        return None
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    return " › ".join(str(int(p) + 1) if p.isdigit() else p for p in parts) or None


def value_words(value: Any) -> str | None:
    """What was expected or found, as text: a string as it is, anything else as JSON."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _is_rule(expected: str) -> bool:
    """An expectation written for a program (a regular expression, a long
    schema excerpt) rather than for a person: shown folded away."""
    return len(expected) > 120 or expected.startswith(("^", "string matching ^"))


def finding_view(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding document as the page shows it: the sentence, the field or file,
    what was expected and found, and the hint when there is one. An expectation
    that only a program reads (a pattern) is kept apart as the exact rule."""
    expected = value_words(finding.get("expected"))
    rule = expected is not None and _is_rule(expected)
    return {
        "code": finding.get("code"),
        "message": finding.get("message") or finding.get("code"),
        "hint": finding.get("hint"),
        "warning": finding.get("severity") == "warning",
        "field": field_words(finding.get("pointer")),
        "file": finding.get("path"),
        "expected": None if rule else expected,
        "rule": expected if rule else None,
        "found": value_words(finding.get("found")),
    }


def source_view(source: str, staging: Path) -> dict[str, str | None]:
    """Where a batch came from, as the person who sent it knows it: the folder they
    uploaded (or the one folder inside their zip or tar; None when the items sat at
    its top, as the archive's own file name is not kept), or the name of the
    server's folder; never the staging path an upload was unpacked to."""
    kind, _, rest = shown_source(source, staging).partition(":")
    if kind == "upload":  # upload:{upload id}/batch[/the folder sent]
        return {"how": "upload", "name": "/".join(rest.split("/")[2:]) or None}
    return {"how": "folder", "name": rest}


def _progress(request: Request, session: SessionInfo, batch_id: str, page: int,
              attention: bool) -> BatchProgress | None:
    catalog = request.app.state.strongroom.services.catalog
    try:
        return batch_progress(catalog, session.account.actor(), batch_id, page, attention_only=attention)
    except BatchNotFound:
        return None


def _context(request: Request, progress: BatchProgress) -> dict[str, Any]:
    batch = progress.batch
    return {
        "batch": batch,
        "progress": progress,
        "source": source_view(batch.source, request.app.state.strongroom.settings.staging),
        "batch_findings": [finding_view(f.to_dict()) for f in batch.findings],
        "items": [{"item": item, "status": STATUS_WORDS.get(item.status.value, item.status.value),
                   "findings": [finding_view(f.to_dict()) for f in item.findings]}
                  for item in progress.items],
        "status_words": STATUS_WORDS,
    }


@router.get("/console/batches")
def batches(request: Request, session: Annotated[SessionInfo, Depends(person(Permission.READ_BATCHES))],
            after: Annotated[str, Query(max_length=100)] = "", page: Page = 1) -> Response:
    """Every batch this person may read, newest first, a page at a time: the next
    page starts after the last batch of this one."""
    catalog = request.app.state.strongroom.services.catalog
    found = batches_page(catalog, session.account.actor(), after or None)
    next_url = (f"/console/batches?{urlencode({'after': found.next_after, 'page': page + 1})}"
                if found.next_after else None)
    return render(request, "batches.html", title="Batches",
                  batches=[batch_entry(summary) for summary in found.batches],
                  every_batch=session.account.role in READ_EVERY_BATCH,
                  after=after, page=page, next_url=next_url)


@router.get("/console/batches/{batch_id}")
def batch_page(request: Request, batch_id: BatchId,
               session: Annotated[SessionInfo, Depends(person(Permission.READ_BATCHES))],
               page: Page = 1, attention: Attention = False) -> Response:
    progress = _progress(request, session, batch_id, page, attention)
    if progress is None:
        return _not_found(request)
    label = progress.batch.collection or f"{batch_id[:8]}"
    return render(request, "batch.html", title=f"Batch {label}", label=label,
                  **_context(request, progress))


@router.get("/console/batches/{batch_id}/progress")
def batch_progress_fragment(request: Request, batch_id: BatchId,
                            session: Annotated[SessionInfo, Depends(person(Permission.READ_BATCHES))],
                            page: Page = 1, attention: Attention = False) -> Response:
    """The live part of the batch page alone, for its script to put in place."""
    progress = _progress(request, session, batch_id, page, attention)
    if progress is None:
        return _not_found(request)
    return render(request, "batch_progress.html", title="Progress", **_context(request, progress))


@router.get("/console/batches/{batch_id}/findings.csv")
def findings_csv(request: Request, batch_id: BatchId,
                 session: Annotated[SessionInfo, Depends(person(Permission.READ_BATCHES))]) -> Response:
    """Every finding of the batch, one row each: item, status, code, path,
    pointer, message, expected, hint."""
    catalog = request.app.state.strongroom.services.catalog
    try:
        rows = list(batch_findings(catalog, session.account.actor(), batch_id))
    except BatchNotFound:
        return _not_found(request)
    name = f"findings-{batch_id[:8]}.csv"
    return StreamingResponse(_csv(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: one starting with = + - @ (or a tab
    or carriage return) would be taken for a formula, so it gets a leading '."""
    return str(text_cell("" if value is None else value_words(value) or ""))


def _csv(rows: Iterable[tuple[str, str, dict[str, Any]]]) -> Iterable[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")  # so that spreadsheets read the file as UTF-8
    writer.writerow(CSV_COLUMNS)
    for item, status, finding in rows:
        view = finding_view(finding)
        writer.writerow([safe_cell(v) for v in (
            item, status, finding.get("code"), finding.get("path"), finding.get("pointer"),
            finding.get("message"), view["expected"], finding.get("hint"), view["rule"])])
        if out.tell() > 64 * 1024:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
