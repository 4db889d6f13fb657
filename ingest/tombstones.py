"""Deaccession requests and the tombstones they leave, as values, and their keys in the store.

A deaccession request names a package (or one version of it), a reason and who
asked. It moves through these states, each change in one catalog transaction
with its audit event::

    requested ──approve (another admin)──► deleting ──every location done──► deaccessioned
        │
        └──reject──► rejected

From ``deleting`` on, the request *is* the tombstone: the catalog keeps, for
each version it covers, the identifier, the version number and every file's
size and digests, with the reason, the requester, the approver and the time.
``deleting`` says the decision is taken and the version withdrawn (no reader
sees it, fixity no longer checks it) while its objects may still be in some
location; only ``deaccessioned`` says they are gone from every location.

The tombstone is written to every location as well, one object per version
(``_tombstones/{package_id}/v{N}.json``, beside the commit records), so that a
store read without the catalog (``catalog rebuild``) knows the version was
withdrawn and does not take it back in, even from a location that still holds
its bag because it was out of reach during the deletion.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ingest.findings import Finding
from ingest.layout import canonical_package_id
from ingest.models import Actor, StoredFile, name_key

#: The states of a request (see the module docstring).
REQUESTED, REJECTED, DELETING, DEACCESSIONED = "requested", "rejected", "deleting", "deaccessioned"
STATES = (REQUESTED, REJECTED, DELETING, DEACCESSIONED)
#: States in which the request is a tombstone: its versions are withdrawn.
WITHDRAWN = (DELETING, DEACCESSIONED)

#: Key prefix of the tombstones in every location (never a package id).
TOMBSTONE_PREFIX = "_tombstones/"

_TOMBSTONE_KEY = re.compile(r"_tombstones/(?P<package>[^/]+)/v(?P<number>[1-9][0-9]*)\.json",
                            re.DOTALL)


@dataclass(frozen=True)
class WithdrawnVersion:
    """One version a deaccession withdrew, with every file it had (sizes, digests)."""

    number: int
    files: tuple[StoredFile, ...] = ()

    @property
    def octets(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class DeaccessionRequest:
    """A request to deaccession a package (``version`` None) or one version of it;
    from ``deleting`` on, also its tombstone (``versions``)."""

    request_id: str
    package_id: str
    identifier: str
    version: int | None
    reason: str
    requested_by: Actor
    requested_at: datetime
    state: str = REQUESTED
    #: who approved or rejected it, when, and (a rejection) why
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    #: when every location was rid of the objects
    completed_at: datetime | None = None
    #: the versions withdrawn, fixed at approval
    versions: tuple[WithdrawnVersion, ...] = field(default=())

    @property
    def is_withdrawn(self) -> bool:
        return self.state in WITHDRAWN

    @property
    def scope(self) -> str:
        return "package" if self.version is None else f"version {self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the CLI's ``--json``, the API and the store's tombstones."""
        return {
            "request_id": self.request_id, "package_id": self.package_id,
            "identifier": self.identifier, "version": self.version, "reason": self.reason,
            "state": self.state,
            "requested_by": self.requested_by.to_dict(),
            "requested_at": _iso(self.requested_at),
            "decided_by": self.decided_by.to_dict() if self.decided_by else None,
            "decided_at": _iso(self.decided_at), "decision_note": self.decision_note,
            "completed_at": _iso(self.completed_at),
            "versions": [{"number": v.number, "octets": v.octets,
                          "files": [{"path": f.path, "size": f.size, "sha256": f.sha256,
                                     "sha512": f.sha512} for f in v.files]}
                         for v in self.versions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeaccessionRequest:
        """The request of ``to_dict``'s form. Raises ValueError when it is not one."""
        try:
            requested_by = Actor.from_dict(data["requested_by"])
            if requested_by is None:
                raise ValueError("no requester")
            return cls(
                request_id=str(data["request_id"]), package_id=str(data["package_id"]),
                identifier=str(data["identifier"]),
                version=None if data.get("version") is None else int(data["version"]),
                reason=str(data["reason"]), state=str(data["state"]),
                requested_by=requested_by,
                requested_at=datetime.fromisoformat(data["requested_at"]),
                decided_by=Actor.from_dict(data.get("decided_by")),
                decided_at=_parse(data.get("decided_at")),
                decision_note=data.get("decision_note"),
                completed_at=_parse(data.get("completed_at")),
                versions=tuple(
                    WithdrawnVersion(int(v["number"]), tuple(
                        StoredFile(str(f["path"]), int(f["size"]), str(f["sha256"]),
                                   str(f["sha512"])) for f in v.get("files", ())))
                    for v in data.get("versions", ())))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a deaccession record: {exc}") from exc

    def withdrawn_numbers(self) -> set[int]:
        return {v.number for v in self.versions}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _parse(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def tombstone_key(package_id: str, number: int) -> str:
    """``_tombstones/{package_id}/v{N}.json``."""
    return f"{TOMBSTONE_PREFIX}{package_id}/v{number}.json"


def version_of_tombstone(key: str) -> tuple[str, int] | None:
    """(package id, version number) a tombstone's key names, or None when the key
    is not shaped like one (the whole key must match; the id be a canonical UUID)."""
    match = _TOMBSTONE_KEY.fullmatch(key)
    if match is None:
        return None
    package_id = canonical_package_id(match["package"])
    return None if package_id is None else (package_id, int(match["number"]))


def tombstone_body(request: DeaccessionRequest, number: int) -> bytes:
    """The bytes of version ``number``'s tombstone: the request, with that version's
    files only, in the state ``deleting`` (the body is the same whenever and
    wherever it is written; a catalog rebuilt from it finishes the deletion with
    ``deaccession resume``, never claims a deletion it did not see)."""
    body = replace(request, state=DELETING, completed_at=None,
                   versions=tuple(v for v in request.versions if v.number == number)).to_dict()
    body["tombstone_of"] = number
    return json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")


def same_person(a: Actor, b: Actor) -> bool:
    """True when ``a`` and ``b`` name one person (or token): the same console
    account, or names that read alike, compared as account names are
    (``name_key``: whatever their case or letter width). Two people are needed
    for a deaccession; a name is what the audit log keeps of each."""
    if a.account_id is not None and a.account_id == b.account_id:
        return True
    return name_key(a.name) == name_key(b.name)


def not_taken_back(request: DeaccessionRequest, identifier: str) -> Finding:
    """PACKAGE_DEACCESSIONED: an item whose record names a package ``request``
    withdrew as a whole. Two people decided that it leaves the archive; one
    submission does not bring it back."""
    when = request.decided_at or request.requested_at
    return Finding("PACKAGE_DEACCESSIONED", path="metadata.json", pointer="/identifier",
                   found=identifier, params={
                       "package": request.package_id, "request": request.request_id,
                       "reason": request.reason,
                       "when": when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")})


__all__ = [
    "DEACCESSIONED",
    "DELETING",
    "REJECTED",
    "REQUESTED",
    "STATES",
    "TOMBSTONE_PREFIX",
    "WITHDRAWN",
    "DeaccessionRequest",
    "WithdrawnVersion",
    "not_taken_back",
    "same_person",
    "tombstone_body",
    "tombstone_key",
    "version_of_tombstone",
]
