"""The archive's things, as plain immutable values.

A *batch* is what archive staff submit: a folder of *items*. A good item becomes
one *version* of a *package* (one package per record identifier). Every step
leaves an *event* in the audit log.
"""

from __future__ import annotations

import enum
import importlib.metadata
import tomllib
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.findings import Finding
from ingest.format_identification import IdentifiedFormat

#: Namespace for package ids: a package id is uuid5(PACKAGE_NAMESPACE, identifier),
#: so the same record identifier always names the same package, in any catalog,
#: including one rebuilt from the object store.
PACKAGE_NAMESPACE = uuid.UUID("6f1c7a52-3b0e-5a8e-9d0c-2a4f1e7b9c31")


def _own_version() -> str:
    """This software's version, from the installed package's metadata (``pyproject.toml``
    is where it is written); in a source tree run without installing, read from that file."""
    try:
        return importlib.metadata.version("strongroom")
    except importlib.metadata.PackageNotFoundError:
        try:
            project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml")
                                    .read_text(encoding="utf-8"))
            return str(project["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


#: This software's version: the CLI's ``--version``, the HTTP API's, and the audit
#: events' software agent (PREMIS) all take it from here.
VERSION = _own_version()
SOFTWARE_AGENT = f"strongroom/{VERSION}"

#: The kinds of agent that cause events (PREMIS linking agents).
ACTOR_KINDS = ("person", "token", "service", "scheduler", "worker")


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a person at the command line, an API token, a service
    account, the scheduler, or a worker host acting ``on_behalf_of`` whoever asked
    for the work. ``token_id`` names the token of an HTTP call (names are unique
    only among live tokens)."""

    name: str
    kind: str = "person"
    role: str | None = None
    on_behalf_of: Actor | None = None
    token_id: str | None = None
    #: the console account of a person who signed in (names are never reused)
    account_id: str | None = None

    def acting_for(self, requester: Actor | None) -> Actor:
        """This actor doing work that ``requester`` asked for."""
        return Actor(self.name, self.kind, self.role, requester, self.token_id, self.account_id)

    def names(self) -> tuple[str, ...]:
        """This actor's name and those it acted on behalf of."""
        rest = self.on_behalf_of.names() if self.on_behalf_of else ()
        return (self.name, *rest)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form sealed into the audit chain (only the keys that are set)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.role is not None:
            out["role"] = self.role
        if self.token_id is not None:
            out["token_id"] = self.token_id
        if self.account_id is not None:
            out["account_id"] = self.account_id
        if self.on_behalf_of is not None:
            out["on_behalf_of"] = self.on_behalf_of.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Actor | None:
        """The actor of ``to_dict``'s form; None for None or anything without a name."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return None
        return cls(name=data["name"], kind=str(data.get("kind") or "person"),
                   role=data.get("role"), on_behalf_of=cls.from_dict(data.get("on_behalf_of")),
                   token_id=data.get("token_id"), account_id=data.get("account_id"))


def name_key(name: str) -> str:
    """A person's or account's name as compared for sameness: compatibility-
    normalized (NFKC: fullwidth ``ｊｏｅ`` is ``joe``, ligatures are their letters)
    and case-folded. Two account names with one key are refused
    (``ingest.accounts.create_account``), and two actors whose names have one key
    are one person to the two-person rule (``ingest.tombstones.same_person``):
    a reader of the audit log cannot tell them apart."""
    return unicodedata.normalize("NFKC", name).casefold()


def identifier_key(identifier: str) -> str:
    """An identifier as compared for sameness: compatibility-normalized (NFKC:
    fullwidth ``ｓｇ`` is ``sg``), case-folded, without the characters that show
    nothing (format characters such as U+200B ZERO WIDTH SPACE, U+200E LEFT-TO-
    RIGHT MARK or U+061C ARABIC LETTER MARK, variation selectors). Two
    identifiers with one key read alike to a person (``SG-PR-0021``,
    ``sg-pr-0021``, ``sg-pr\u200b-0021``; ``café`` typed on two keyboards):
    ``ingest.batch_identifiers``."""
    folded = unicodedata.normalize("NFKC", identifier).casefold()
    if folded.isascii():
        return folded  # no ASCII character shows nothing, and NFKC leaves ASCII as it is
    return unicodedata.normalize("NFKC", "".join(
        char for char in folded if not _shows_nothing(char)))


def _shows_nothing(char: str) -> bool:
    point = ord(char)
    return (unicodedata.category(char) == "Cf" or point == 0x034F
            or 0xFE00 <= point <= 0xFE0F or 0xE0100 <= point <= 0xE01EF)


def package_id_for(identifier: str) -> str:
    """The stable package id of a record identifier."""
    return str(uuid.uuid5(PACKAGE_NAMESPACE, identifier))


class ItemStatus(str, enum.Enum):
    ACCEPTED = "accepted"      # registered, waiting for a worker
    STORED = "stored"          # a new version was committed
    UNCHANGED = "unchanged"    # identical to the latest version: nothing written
    REJECTED = "rejected"      # bad input: findings say why; resubmit after fixing
    FAILED = "failed"          # gave up on a transient error past the retry bound

    @property
    def is_final(self) -> bool:
        return self is not ItemStatus.ACCEPTED


class EventType(str, enum.Enum):
    """PREMIS event types (id.loc.gov/vocabulary/preservation/eventType)."""

    ACCESSION = "accession"
    VALIDATION = "validation"
    MESSAGE_DIGEST_CALCULATION = "message digest calculation"
    FORMAT_IDENTIFICATION = "format identification"
    INGESTION = "ingestion"
    FIXITY_CHECK = "fixity check"
    REPLICATION = "replication"
    DELETION = "deletion"
    DEACCESSION = "deaccession"
    #: who may act: an account or a token made, disabled or revoked, a password set
    POLICY_ASSIGNMENT = "policy assignment"


class Outcome(str, enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    source: str
    submitted_at: datetime
    #: batch.json's ``submitter``: a name the file claims, not checked (see
    #: ``submitted_by`` for who actually submitted the batch)
    submitter: str | None = None
    collection: str | None = None
    schema: str = "archival-record/v1"
    findings: tuple[Finding, ...] = ()
    #: who submitted the batch: the token of an upload, the user of the CLI
    submitted_by: Actor | None = None
    #: SHA-256 of its staged listing, kept when a staged batch is registered
    #: (``ingest.staged_batch``); None for a batch read from its folder
    staged_sha256: str | None = None

    @property
    def claimed_submitter(self) -> str | None:
        """batch.json's ``submitter``: what the file claims, kept beside ``submitted_by``."""
        return self.submitter


@dataclass(frozen=True)
class ItemRecord:
    item_id: str
    batch_id: str
    name: str
    status: ItemStatus
    package_id: str | None = None
    version: int | None = None
    findings: tuple[Finding, ...] = ()
    attempts: int = 0
    updated_at: datetime | None = None
    #: SHA-256 of its staged listing (``BatchRecord.staged_sha256``)
    staged_sha256: str | None = None


@dataclass(frozen=True)
class StoredFile:
    """One file of a bag: payload (``data/...``) or tag file, with its digests."""

    path: str          # relative to the bag root, '/'-separated, original name
    size: int
    sha256: str
    sha512: str
    #: the format identified at ingest (payload files only); not part of a
    #: file's identity: two records of the same bytes are equal with or without it
    format: IdentifiedFormat | None = field(default=None, compare=False)
    #: the earlier version of the same package whose objects hold this file's
    #: bytes (the version's bag lists it in fetch.txt, ``ingest.layout``), or
    #: None when the version stores it itself; where the bytes are is not part
    #: of the file's identity either
    held_by: int | None = field(default=None, compare=False)

    @property
    def is_payload(self) -> bool:
        return self.path.startswith("data/")


@dataclass(frozen=True)
class VersionRecord:
    package_id: str
    number: int
    identifier: str
    title: str
    record: dict[str, Any]
    created_at: datetime
    batch_id: str | None
    item_id: str | None
    files: tuple[StoredFile, ...] = ()
    last_fixity_at: datetime | None = None
    last_fixity_outcome: str | None = None

    @property
    def payload(self) -> tuple[StoredFile, ...]:
        return tuple(f for f in self.files if f.is_payload)

    def same_content(self, other: VersionRecord) -> bool:
        """True when both versions hold the same payload (paths, sizes, both
        digests) and the same record (``metadata/record.json``): a submission
        identical to ``other`` is unchanged, not a new version. Tag files that
        name the batch or the date do not count."""
        def content(v: VersionRecord) -> set[tuple[str, int, str, str]]:
            return {(f.path, f.size, f.sha256, f.sha512) for f in v.files
                    if f.is_payload or f.path == "metadata/record.json"}
        return content(self) == content(other)


@dataclass(frozen=True)
class PackageSummary:
    package_id: str
    identifier: str
    title: str
    latest_version: int


@dataclass(frozen=True)
class NewEvent:
    """An audit event before the log gives it its place in the chain."""

    event_type: EventType
    outcome: Outcome
    agent: str
    occurred_at: datetime
    batch_id: str | None = None
    item_id: str | None = None
    package_id: str | None = None
    version: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    #: who caused the event (``agent`` is the software that recorded it)
    actor: Actor | None = None


@dataclass(frozen=True)
class AuditEvent:
    """An event as the log holds it: numbered and chained to the one before."""

    seq: int
    event_id: str
    event_type: str
    outcome: str
    agent: str
    occurred_at: datetime
    batch_id: str | None
    item_id: str | None
    package_id: str | None
    version: int | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str
    #: who caused the event; None in events recorded before actors were kept
    actor: Actor | None = None


#: What ``strongroom batches --status`` filters on: ``accepted`` (items still
#: waiting), ``done`` (every item has a final status), or an item status (at
#: least one item has it).
BATCH_FILTERS = ("accepted", "done", "stored", "unchanged", "rejected", "failed")


@dataclass(frozen=True)
class BatchSummary:
    """A batch and how many of its items have each status."""

    batch: BatchRecord
    #: item status value → count, statuses with no item left out
    items: dict[str, int]

    @property
    def status(self) -> str:
        """``accepted`` while any item waits, else ``done``."""
        return "accepted" if self.items.get(ItemStatus.ACCEPTED.value) else "done"

    @property
    def needs_attention(self) -> bool:
        """A person must act: an item rejected or failed, or the batch refused
        something (an error finding of its own; a warning is told, not a problem)."""
        return needs_attention(self.batch, self.items)


def needs_attention(batch: BatchRecord, counts: Mapping[str, int]) -> bool:
    """The one rule for "needs your attention", wherever a batch is shown: an item
    rejected or failed, or an error finding of the batch's own."""
    return bool(counts.get(ItemStatus.REJECTED.value) or counts.get(ItemStatus.FAILED.value)
                or any(f.is_error for f in batch.findings))


@dataclass(frozen=True)
class ItemTally:
    """How many items the catalog holds in each status, and how many of the
    accepted ones are stuck (``ingest.stuck``), counted in the catalog."""

    #: status value -> items in it; every status is present (0 when none)
    by_status: dict[str, int]
    #: accepted items not updated since the moment the count was asked for
    stuck: int
