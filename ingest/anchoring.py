"""Anchoring the audit chain in the object store, and checking the chain against its anchors.

The hash chain (``ingest.audit``) shows any edit, insertion or removal *inside*
the log, but a log cut off at the end, or rewritten whole with a freshly
computed chain, is still a valid chain. An *anchor* is the chain's head —
(seq, hash, time) — written as a small object outside the database, into the
primary store and every replica, under the reserved prefix ``_audit/``.

Each catalog's log has an identity, its ``log_id`` (made when the log is
created, kept in the catalog: ``Catalog.log_identity``), and its anchors are
its own:

    _audit/logs/{log_id}/anchors/{seq:012d}-{hash}.json   {"seq": …, "hash": …, "anchored_at": …}

so that a trial rebuild, a test catalog or a second deployment on the same
store never holds another catalog's log to its anchors. Anchors written before
logs had an identity are under ``_audit/anchors/``; they belong to the log of
the catalog that wrote them (``legacy_anchors``), and to no other.

``anchor_audit_head`` writes one whenever the head has moved since the last
anchor: at the end of every command or task that appended events, and at
intervals. ``verify_audit_log`` — the one use case behind ``audit verify`` and
``GET /audit/verify`` — walks the chain and holds it to every anchor of its
log: the event at each anchored seq must exist and carry the anchored hash. A
missing one means the log was truncated; another hash means it was rewritten.

Anchors are read from the stores (never from the catalog, which whoever can
rewrite the log can rewrite too). ``_audit/`` is no package: reconciliation
and catalog rebuild leave it alone.

A catalog rebuilt from the store starts a new log (a new ``log_id``); the
rebuild writes ``_audit/rebuilds/{rebuild_id}.json`` naming the anchors it
found (those of the logs it could not bring back), and notes ``rebuild_id`` in
the new catalog, which reports them as ``superseded``. A catalog of the old
scheme (legacy anchors) that came from a rebuild has the legacy anchors named
there excused; every other catalog is still held to its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.audit import ChainReport, utc_text, verify_chain
from ingest.errors import ObjectNotFound, StorageUnavailable
from ingest.findings import Finding
from ingest.models import AuditEvent
from ingest.ports import ObjectStore
from ingest.services import Services

#: Keys under this prefix belong to the audit log, not to any package.
AUDIT_PREFIX = "_audit/"
#: Anchors written before each log had an identity (``legacy_anchors``).
ANCHOR_PREFIX = AUDIT_PREFIX + "anchors/"
#: Each log's anchors: ``_audit/logs/{log_id}/anchors/``.
LOGS_PREFIX = AUDIT_PREFIX + "logs/"
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
    #: the log the anchor belongs to; None for a legacy anchor (``_audit/anchors/``)
    log_id: str | None = None


def log_anchor_prefix(log_id: str | None) -> str:
    """Where the anchors of log ``log_id`` are: ``_audit/logs/{log_id}/anchors/``
    (``_audit/anchors/`` for None, the legacy anchors)."""
    return ANCHOR_PREFIX if log_id is None else f"{LOGS_PREFIX}{log_id}/anchors/"


def anchor_key(seq: int, hash: str, log_id: str | None) -> str:
    """The object key of an anchor of log ``log_id``:
    ``_audit/logs/{log_id}/anchors/{seq:012d}-{hash}.json``."""
    return f"{log_anchor_prefix(log_id)}{seq:012d}-{hash}.json"


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
    # The hash of the log's first event names its lineage: a log that another
    # catalog copied and cut short keeps it, whatever log id it is given.
    body = json.dumps({"seq": seq, "hash": head, "anchored_at": utc_text(now),
                       "first": services.catalog.first_event_hash()}, sort_keys=True).encode("utf-8")
    sha256 = hashlib.sha256(body).hexdigest()
    written, errors = 0, []
    log_id, _ = services.catalog.log_identity()
    key = anchor_key(seq, head, log_id)
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
    return Anchor(seq, head, now, log_id=log_id)


@dataclass(frozen=True)
class OtherLog:
    """The anchors in the stores of a log that is not this catalog's (nor one of
    its rebuilds lost), and the hash of the first event its newest anchor names."""

    log_id: str
    anchors: tuple[Anchor, ...]
    first: str | None = None


@dataclass
class AnchorReport:
    """What ``check_anchors`` found: the anchors read, and every one the log fails."""

    chain: ChainReport
    anchors: int = 0                      # distinct anchors checked
    superseded: int = 0                   # anchors of a log lost in a catalog rebuild
    latest_seq: int | None = None         # the highest anchored seq
    findings: list[Finding] = field(default_factory=list)
    #: other logs anchored in the same stores: another catalog's, or this log's
    #: own history under another id (then held to their anchors: ``lineage``)
    other_logs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {"ok": not self.findings, "count": self.anchors, "superseded": self.superseded,
                "latest_seq": self.latest_seq,
                "findings": [f.to_dict() for f in self.findings],
                "other_logs": self.other_logs}


def read_anchors(stores: Sequence[ObjectStore], log_id: str, legacy: bool = False,
                 rebuilds: Collection[str] = ()) -> tuple[list[Anchor], list[Finding]]:
    """Every anchor of log ``log_id`` in any of ``stores`` (the union, by seq and
    hash) — with ``legacy``, the legacy anchors under ``_audit/anchors/`` too —
    and the problems met on the way: ANCHORS_UNREADABLE for a location that
    cannot be listed, ANCHOR_INVALID for an object among the anchors that is no
    anchor. Legacy anchors named by the records of the catalog rebuilds
    ``rebuilds`` (ids the catalog knows, ``Catalog.rebuild_ids``) are marked
    superseded. Raises nothing."""
    found: dict[tuple[int, str], Anchor] = {}
    problems: list[Finding] = []
    lost: set[tuple[int, str]] = set()
    for store in stores:
        for prefix, owner in [(log_anchor_prefix(log_id), log_id)] + (
                [(ANCHOR_PREFIX, None)] if legacy else []):
            for anchor in _list_anchors(store, prefix, owner, problems):
                found.setdefault((anchor.seq, anchor.hash), anchor)
        if legacy:
            lost |= _superseded(store, rebuilds, problems)
    anchors = [Anchor(a.seq, a.hash, superseded=a.log_id is None and (a.seq, a.hash) in lost,
                      log_id=a.log_id) for a in found.values()]
    return sorted(anchors, key=lambda a: (a.seq, a.hash)), problems


def read_all_anchors(stores: Sequence[ObjectStore]) -> tuple[list[Anchor], list[Finding]]:
    """Every anchor of every log in any of ``stores`` (legacy ones with log_id
    None), by log, seq and hash, and the problems met (as ``read_anchors``).
    What a catalog rebuild finds of the logs before it. Raises nothing."""
    found: dict[tuple[str, int, str], Anchor] = {}
    problems: list[Finding] = []
    for store in stores:
        for anchor in _list_anchors(store, ANCHOR_PREFIX, None, problems):
            found.setdefault(("", anchor.seq, anchor.hash), anchor)
        try:
            logs = {info.key[len(LOGS_PREFIX):].split("/", 1)[0]
                    for info in store.list(LOGS_PREFIX)}
        except StorageUnavailable as exc:
            problems.append(Finding("ANCHORS_UNREADABLE", location=store.location,
                                    params={"detail": str(exc)}))
            continue
        for log_id in sorted(logs):
            for anchor in _list_anchors(store, log_anchor_prefix(log_id), log_id, problems):
                found.setdefault((log_id, anchor.seq, anchor.hash), anchor)
    return sorted(found.values(), key=lambda a: (a.log_id or "", a.seq, a.hash)), problems


def _list_anchors(store: ObjectStore, prefix: str, log_id: str | None,
                  problems: list[Finding]) -> list[Anchor]:
    try:
        infos = list(store.list(prefix))
    except StorageUnavailable as exc:
        problems.append(Finding("ANCHORS_UNREADABLE", location=store.location,
                                params={"detail": str(exc)}))
        return []
    anchors = []
    for info in infos:
        match = _ANCHOR_KEY.fullmatch(info.key[len(prefix):])
        if not match:
            problems.append(Finding("ANCHOR_INVALID", path=info.key, location=store.location))
            continue
        anchors.append(Anchor(int(match.group(1)), match.group(2), log_id=log_id))
    return anchors


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
                  problems: Sequence[Finding] = (),
                  others: Sequence[OtherLog] = ()) -> AnchorReport:
    """Walk the chain once (``verify_chain``) and hold it to every anchor.

    An anchor whose seq is past the log's end is ANCHORED_EVENT_MISSING (the
    log was cut off); one whose event has another hash ANCHORED_EVENT_CHANGED
    (the log was rewritten). ``problems`` (from ``read_anchors``) are kept in
    the report.

    ``others`` are the other logs anchored in the same stores. One of the same
    lineage as this log — its anchors name this log's first event, or one of
    them matches this log's event at its seq — is this log's own history under
    another id (the catalog's log id changed, say, to leave the anchors of a
    log cut short behind): the log is held to its anchors as to its own, each
    finding naming that log (``params.log_id``). The others are listed in the
    report, checked against nothing. Raises nothing.
    """
    superseded = sum(1 for anchor in anchors if anchor.superseded)
    anchors = [anchor for anchor in anchors if not anchor.superseded]
    wanted = {anchor.seq for anchor in anchors} | {a.seq for log in others for a in log.anchors}
    seen: dict[int, str] = {}
    last_seq = 0

    def watched() -> Iterator[AuditEvent]:
        nonlocal last_seq
        for event in events:
            if event.seq in wanted or event.seq == 1:
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
    report.findings += _held_to(anchors, seen, last_seq)
    for log in others:
        ours = (log.first is not None and log.first == seen.get(1)) or any(
            seen.get(a.seq) == a.hash for a in log.anchors)
        report.other_logs.append({"log_id": log.log_id, "anchors": len(log.anchors),
                                  "latest_seq": max((a.seq for a in log.anchors), default=None),
                                  "lineage": ours})
        if ours:
            report.anchors += len(log.anchors)
            report.findings += _held_to(log.anchors, seen, last_seq, log_id=log.log_id)
    return report


def _held_to(anchors: Iterable[Anchor], seen: dict[int, str], last_seq: int,
             log_id: str | None = None) -> list[Finding]:
    """A finding for every anchor the log, as seen, fails."""
    named = {"log_id": log_id} if log_id else {}
    findings = []
    for anchor in anchors:
        if anchor.seq not in seen:
            findings.append(Finding("ANCHORED_EVENT_MISSING", expected=anchor.hash,
                                    params={"seq": anchor.seq, "last_seq": last_seq, **named}))
        elif seen[anchor.seq] != anchor.hash:
            findings.append(Finding("ANCHORED_EVENT_CHANGED", expected=anchor.hash,
                                    found=seen[anchor.seq], params={"seq": anchor.seq, **named}))
    return findings


@dataclass
class AuditVerification:
    """What ``verify_audit_log`` found: the chain, held to the anchors of its log."""

    log_id: str
    anchored: AnchorReport

    @property
    def ok(self) -> bool:
        return self.anchored.ok

    @property
    def chain(self) -> ChainReport:
        return self.anchored.chain

    def to_dict(self) -> dict[str, Any]:
        chain = self.chain
        return {"ok": self.ok, "count": chain.count, "head": chain.head,
                "first_bad_seq": chain.first_bad_seq, "reason": chain.reason,
                "log_id": self.log_id, "anchors": self.anchored.to_dict()}


def verify_audit_log(services: Services) -> AuditVerification:
    """Check the whole hash chain of the catalog's log and hold it to every anchor
    of that log in the stores (``read_anchors``, ``check_anchors``): the one use
    case behind ``audit verify`` and ``GET /audit/verify``.

    Anchors of other logs on the same store (another catalog's) play no part;
    those of the logs this catalog's rebuilds lost are counted as superseded.
    Raises CatalogUnavailable.
    """
    log_id, legacy = services.catalog.log_identity()
    rebuilds = services.catalog.rebuild_ids()
    anchors, problems = read_anchors(services.locations, log_id, legacy, rebuilds)
    lost: set[tuple[int, str]] = set()
    if not legacy and rebuilds:
        for store in services.locations:
            lost |= _superseded(store, rebuilds, problems)
    others = read_other_logs(services.locations, log_id, lost, problems)
    report = check_anchors(services.catalog.events(), anchors, problems, others)
    if not legacy and rebuilds:
        report.superseded = len(lost)
    return AuditVerification(log_id, report)


def read_other_logs(stores: Sequence[ObjectStore], log_id: str,
                    superseded: Collection[tuple[int, str]],
                    problems: list[Finding]) -> list[OtherLog]:
    """The logs other than ``log_id`` anchored in ``stores``, without the anchors
    a rebuild of this catalog names as lost (``superseded``), each with the
    first-event hash its newest anchor gives (anchors written before they gave
    it have none). Problems go to ``problems``. Raises nothing."""
    found: dict[str, dict[tuple[int, str], Anchor]] = {}
    for store in stores:
        try:
            logs = {info.key[len(LOGS_PREFIX):].split("/", 1)[0] for info in store.list(LOGS_PREFIX)}
        except StorageUnavailable as exc:
            problems.append(Finding("ANCHORS_UNREADABLE", location=store.location,
                                    params={"detail": str(exc)}))
            continue
        for other in sorted(logs - {log_id}):
            for anchor in _list_anchors(store, log_anchor_prefix(other), other, problems):
                if (anchor.seq, anchor.hash) not in superseded:
                    found.setdefault(other, {}).setdefault((anchor.seq, anchor.hash), anchor)
    result = []
    for other, by_key in sorted(found.items()):
        anchors = tuple(sorted(by_key.values(), key=lambda a: (a.seq, a.hash)))
        result.append(OtherLog(other, anchors, _first_named(stores, anchors[-1])))
    return result


def _first_named(stores: Sequence[ObjectStore], anchor: Anchor) -> str | None:
    """The first-event hash that an anchor's body gives, from the first store that
    has it readable; None when none does (or the anchor predates it)."""
    for store in stores:
        try:
            with store.open(anchor_key(anchor.seq, anchor.hash, anchor.log_id)) as stream:
                body = json.loads(stream.read(64 * 1024).decode("utf-8"))
        except (StorageUnavailable, ObjectNotFound, ValueError):
            continue
        first = body.get("first") if isinstance(body, dict) else None
        return first if isinstance(first, str) else None
    return None


class HeadAnchorer:
    """Anchors the head of a long-running process's log (``strongroom serve``):
    soon after work that may have appended events (``poke``), at most once every
    ``every`` seconds, and a last time on ``close``.

    ``poke`` costs nothing but starting a timer when none is waiting; the timer
    calls ``anchor`` (``anchor_audit_head`` on the process's services, which does
    nothing when the head is anchored already) on its own thread. An anchor that
    fails is logged and tried again at the next poke.
    """

    def __init__(self, anchor: Callable[[], object], every: float = 5.0,
                 log: logging.Logger | None = None) -> None:
        self._anchor = anchor
        self.every = every
        self._log = log or logging.getLogger("strongroom.anchoring")
        self._lock = threading.Lock()
        self._running = threading.Lock()  # one anchor at a time
        self._timer: threading.Timer | None = None
        self._last = float("-inf")
        self._closed = False

    def poke(self) -> None:
        """Have the head anchored soon: now if the last anchor is ``every`` seconds
        old, else when it will be. Raises nothing."""
        with self._lock:
            if self._closed or self._timer is not None:
                return
            delay = max(0.0, self._last + self.every - time.monotonic())
            self._timer = threading.Timer(delay, self._fire)
            self._timer.name = "anchor-audit-head"
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        self._run()

    def _run(self) -> None:
        with self._running:
            try:
                self._anchor()
            except Exception as exc:  # noqa: BLE001 - a warning; the next poke tries again
                self._log.warning("the audit log head was not anchored: %s: %s",
                                  type(exc).__name__, exc)

    def close(self) -> None:
        """Stop the timer and anchor the head a last time (on shutdown). Raises nothing."""
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._run()


__all__ = [
    "ANCHOR_PREFIX",
    "AUDIT_PREFIX",
    "LOGS_PREFIX",
    "REBUILD_PREFIX",
    "Anchor",
    "AnchorReport",
    "AuditVerification",
    "HeadAnchorer",
    "OtherLog",
    "anchor_audit_head",
    "anchor_key",
    "check_anchors",
    "log_anchor_prefix",
    "read_all_anchors",
    "read_anchors",
    "read_other_logs",
    "verify_audit_log",
]
