"""Anchoring the audit chain in the object store, and checking the chain against its anchors.

The hash chain (``ingest.audit``) shows any edit, insertion or removal *inside*
the log, but a log cut off at the end, or rewritten whole with a freshly
computed chain, is still a valid chain. An *anchor* is the chain's head —
(seq, hash, time) — written as a small object outside the database, into the
primary store and every replica, under the reserved prefix ``_audit/anchors/``:

    _audit/anchors/{seq:012d}-{hash}.json   {"seq": …, "hash": …, "anchored_at": …}

``anchor_audit_head`` writes one whenever the head has moved since the last
anchor: at the end of every command or task that appended events, and at
intervals. ``check_anchors`` then holds the log to every anchor found: the
event at each anchored seq must exist and carry the anchored hash. A missing
one means the log was truncated; another hash means it was rewritten.

Anchors are read from the stores (never from the catalog, which whoever can
rewrite the log can rewrite too). ``_audit/`` is no package: reconciliation
and catalog rebuild leave it alone.

A catalog rebuilt from the store starts a new, empty log; the rebuild writes
``_audit/rebuilds/{rebuild_id}.json`` naming the anchors of the log it lost,
and notes ``rebuild_id`` in the new catalog. Only a catalog that knows that id
has those anchors excused (reported as ``superseded``); every other catalog,
including the original one, is still held to them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.audit import ChainReport, utc_text, verify_chain
from ingest.errors import StorageUnavailable
from ingest.findings import Finding
from ingest.models import AuditEvent
from ingest.pipeline import Services
from ingest.ports import ObjectStore

#: Keys under this prefix belong to the audit log, not to any package.
AUDIT_PREFIX = "_audit/"
ANCHOR_PREFIX = AUDIT_PREFIX + "anchors/"
#: Records written by a catalog rebuild: the anchors of the log it could not bring back.
REBUILD_PREFIX = AUDIT_PREFIX + "rebuilds/"
_ANCHOR_KEY = re.compile(r"(\d{12})-([0-9a-f]{64})\.json")  # fullmatch: "$" passes a final LF


@dataclass(frozen=True)
class Anchor:
    """A head of the chain as it was written to the object store."""

    seq: int
    hash: str
    anchored_at: datetime | None = None
    #: anchors a log lost in a catalog rebuild (see ingest.rebuild): not checked
    superseded: bool = False


def anchor_key(seq: int, hash: str) -> str:
    """The object key of an anchor: ``_audit/anchors/{seq:012d}-{hash}.json``."""
    return f"{ANCHOR_PREFIX}{seq:012d}-{hash}.json"


def anchor_audit_head(services: Services) -> Anchor | None:
    """Write the chain's current head to every location, unless it is anchored already.

    Returns the new anchor, or None when the log is empty or its head was
    anchored before. A location that cannot be reached is skipped if another
    one takes the anchor; raises StorageUnavailable when none does, and
    CatalogUnavailable.
    """
    seq, head = services.catalog.audit_head()
    if seq == 0 or services.catalog.last_anchor() == (seq, head):
        return None
    now = services.clock.now()
    body = json.dumps({"seq": seq, "hash": head, "anchored_at": utc_text(now)},
                      sort_keys=True).encode("utf-8")
    sha256 = hashlib.sha256(body).hexdigest()
    written, errors = 0, []
    key = anchor_key(seq, head)
    for store in services.locations:
        try:
            store.put_bytes(key, body, sha256)
            store.sync(key)  # on disk before the catalog notes it as anchored
            written += 1
        except StorageUnavailable as exc:
            errors.append(f"{store.location}: {exc}")
    if not written:
        raise StorageUnavailable("audit anchor could not be written: " + "; ".join(errors))
    services.catalog.record_anchor(seq, head, now)
    return Anchor(seq, head, now)


@dataclass
class AnchorReport:
    """What ``check_anchors`` found: the anchors read, and every one the log fails."""

    chain: ChainReport
    anchors: int = 0                      # distinct anchors checked
    superseded: int = 0                   # anchors of a log lost in a catalog rebuild
    latest_seq: int | None = None         # the highest anchored seq
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {"ok": not self.findings, "count": self.anchors, "superseded": self.superseded,
                "latest_seq": self.latest_seq,
                "findings": [f.to_dict() for f in self.findings]}


def read_anchors(stores: Sequence[ObjectStore], rebuilds: Collection[str] = ()
                 ) -> tuple[list[Anchor], list[Finding]]:
    """Every anchor in any of ``stores`` (the union, by seq and hash), and the
    problems met on the way: ANCHORS_UNREADABLE for a location that cannot be
    listed, ANCHOR_INVALID for an object under ``_audit/anchors/`` that is no
    anchor. Anchors named by the records of the catalog rebuilds ``rebuilds``
    (ids the catalog knows, ``Catalog.rebuild_ids``) are marked superseded.
    Raises nothing."""
    found: dict[tuple[int, str], Anchor] = {}
    problems: list[Finding] = []
    lost: set[tuple[int, str]] = set()
    for store in stores:
        try:
            infos = list(store.list(ANCHOR_PREFIX))
        except StorageUnavailable as exc:
            problems.append(Finding("ANCHORS_UNREADABLE", location=store.location,
                                    params={"detail": str(exc)}))
            continue
        for info in infos:
            match = _ANCHOR_KEY.fullmatch(info.key[len(ANCHOR_PREFIX):])
            if not match:
                problems.append(Finding("ANCHOR_INVALID", path=info.key, location=store.location))
                continue
            seq, head = int(match.group(1)), match.group(2)
            found.setdefault((seq, head), Anchor(seq, head))
        lost |= _superseded(store, rebuilds, problems)
    anchors = [Anchor(a.seq, a.hash, superseded=(a.seq, a.hash) in lost) for a in found.values()]
    return sorted(anchors, key=lambda a: (a.seq, a.hash)), problems


def _superseded(store: ObjectStore, rebuilds: Collection[str],
                problems: list[Finding]) -> set[tuple[int, str]]:
    """The anchors that the records of ``rebuilds`` in ``store`` name as belonging
    to a lost log."""
    lost: set[tuple[int, str]] = set()
    if not rebuilds:
        return lost
    try:
        for info in list(store.list(REBUILD_PREFIX)):
            if info.key[len(REBUILD_PREFIX):].removesuffix(".json") not in rebuilds:
                continue  # a rebuild into another database: not this log's business
            with store.open(info.key) as stream:
                record = json.loads(stream.read().decode("utf-8"))
            lost |= {(int(seq), str(head)) for seq, head in record["superseded"]}
    except StorageUnavailable as exc:
        problems.append(Finding("ANCHORS_UNREADABLE", location=store.location,
                                params={"detail": str(exc)}))
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(Finding("ANCHORS_UNREADABLE", location=store.location,
                                params={"detail": f"a rebuild record is unreadable: {exc}"}))
    return lost


def check_anchors(events: Iterable[AuditEvent], anchors: Sequence[Anchor],
                  problems: Sequence[Finding] = ()) -> AnchorReport:
    """Walk the chain once (``verify_chain``) and hold it to every anchor.

    An anchor whose seq is past the log's end is ANCHORED_EVENT_MISSING (the
    log was cut off); one whose event has another hash ANCHORED_EVENT_CHANGED
    (the log was rewritten). ``problems`` (from ``read_anchors``) are kept in
    the report. Raises nothing.
    """
    superseded = sum(1 for anchor in anchors if anchor.superseded)
    anchors = [anchor for anchor in anchors if not anchor.superseded]
    wanted = {anchor.seq for anchor in anchors}
    seen: dict[int, str] = {}
    last_seq = 0

    def watched() -> Iterator[AuditEvent]:
        nonlocal last_seq
        for event in events:
            if event.seq in wanted:
                seen[event.seq] = event.hash
            last_seq = max(last_seq, event.seq)
            yield event

    stream = watched()
    chain = verify_chain(stream)
    for _ in stream:  # past a break in the chain, still look at the anchored events
        pass
    report = AnchorReport(chain, anchors=len(anchors), superseded=superseded,
                          latest_seq=max((a.seq for a in anchors), default=None),
                          findings=list(problems))
    for anchor in anchors:
        if anchor.seq not in seen:
            report.findings.append(Finding("ANCHORED_EVENT_MISSING", expected=anchor.hash,
                                           params={"seq": anchor.seq, "last_seq": last_seq}))
        elif seen[anchor.seq] != anchor.hash:
            report.findings.append(Finding("ANCHORED_EVENT_CHANGED", expected=anchor.hash,
                                           found=seen[anchor.seq], params={"seq": anchor.seq}))
    return report


__all__ = ["ANCHOR_PREFIX", "AUDIT_PREFIX", "Anchor", "AnchorReport", "anchor_audit_head",
           "REBUILD_PREFIX", "anchor_key", "check_anchors", "read_anchors"]
