"""The JSON shapes the API answers with, for validation and the OpenAPI document.

They follow ``strongroom.reports`` (the CLI's ``--json`` documents), so a tool
reads a batch or a package the same way from either.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FindingOut(BaseModel):
    code: str = Field(description="stable code from the finding catalogue")
    severity: str = Field(default="error", description="error, or warning (told, never a reason to reject)")
    message: str
    hint: str | None = Field(default=None, description="what was most likely meant, in words")
    path: str | None = None
    pointer: str | None = None
    location: str | None = None
    expected: Any = None
    found: Any = None
    params: dict[str, Any] | None = None


class ItemOut(BaseModel):
    name: str
    item_id: str | None = Field(description="none in a check (`?check=true`): nothing was registered")
    status: str = Field(description="accepted, stored, unchanged, rejected or failed")
    package_id: str | None
    version: int | None
    attempts: int
    findings: list[FindingOut]


class ActorOut(BaseModel):
    name: str
    kind: str = Field(description="person, token, service, scheduler or worker")
    role: str | None = None
    token_id: str | None = None
    on_behalf_of: ActorOut | None = Field(default=None,
                                          description="whom a worker or service acted for")


class BatchOut(BaseModel):
    batch_id: str | None = Field(description="none in a check (`?check=true`): nothing was registered")
    check: bool = Field(default=False, description="a dry run: nothing was registered or stored; "
                                                  "each item accepted (it would be ingested) or rejected")
    source: str
    submitted_at: str | None
    schema_: str = Field(alias="schema")
    submitted_by: ActorOut | None = Field(
        default=None, description="who submitted the batch: the token of an upload, the "
                                  "user (or --agent) of the command line")
    claimed_submitter: str | None = Field(
        default=None, description="batch.json's `submitter`, as the file claims it (not checked)")
    findings: list[FindingOut]
    counts: dict[str, int]
    items: list[ItemOut]
    dispatch: str | None = Field(default=None,
                                 description="in-process or queued (on POST only)")

    model_config = {"populate_by_name": True}


class FormatOut(BaseModel):
    puid: str = Field(description="PRONOM identifier, such as fmt/18")
    name: str
    version: str
    mime: str
    basis: str = Field(description="signature (told from the bytes) or extension (from the name alone)")


class FileOut(BaseModel):
    path: str
    size: int
    sha256: str
    sha512: str
    format: FormatOut | None = Field(
        default=None, description="the format identified at ingest; null for tag files, files "
                                  "nothing identified and versions stored before formats were")
    held_by: int | None = Field(
        default=None, description="the earlier version whose object holds this file (unchanged "
                                  "since, stored once, listed in fetch.txt); null when this "
                                  "version holds it")


class FixityOut(BaseModel):
    at: str | None
    outcome: str | None


class FileChangeOut(BaseModel):
    change: str = Field(description="added, removed, changed or moved")
    path: str = Field(description="the path in the newer version (the older one when removed)")
    before: FileOut | None
    after: FileOut | None


class FieldChangeOut(BaseModel):
    change: str = Field(description="added, removed or changed")
    pointer: str = Field(description="JSON pointer into the record, e.g. /source/citation")
    label: str = Field(description="what the record schema calls the field")
    before: Any = None
    after: Any = None


class VersionChangesOut(BaseModel):
    package_id: str
    from_version: int
    to_version: int
    files: list[FileChangeOut] = Field(description="payload files that differ (tag files left out)")
    metadata: list[FieldChangeOut] = Field(description="fields of the record that differ")


class VersionOut(BaseModel):
    version: int
    created_at: str | None
    batch_id: str | None
    item_id: str | None
    payload_oxum: str
    payload_octets: int = Field(description="bytes of the version's payload files")
    payload_files: int = Field(description="how many payload files the version has")
    payload_octets_stored: int = Field(
        description="of those bytes, the ones this version stores itself (files it shares "
                    "with an earlier version, held_by, are stored once, there)")
    last_fixity: FixityOut | None
    files: list[FileOut] = []
    changes: VersionChangesOut | None = Field(
        None, description="what changed since the version before; null for the first "
                          "(and in fixity reports)")


class PackageOut(BaseModel):
    package_id: str
    identifier: str
    title: str
    latest_version: int
    metadata: dict[str, Any]
    versions: list[VersionOut]
    deaccessioned: list[dict[str, Any]] = Field(
        default=[], description="versions of this package withdrawn by a deaccession: "
                                "version, request_id, state, reason, decided_at")


class PresignedUrlOut(BaseModel):
    url: str = Field(description="GET it without credentials until expires_at; the bytes "
                                 "come straight from S3, unchecked by this service")
    expires_at: str = Field(description="ISO 8601, UTC")
    sha256: str = Field(description="check the downloaded bytes against it")
    sha512: str
    size: int


class PackageHitOut(BaseModel):
    package_id: str
    identifier: str
    title: str
    latest_version: int
    date: str | None
    type: str | None
    collection: str | None
    updated_at: str | None = Field(None, description="when the latest version was committed")


class MatchedOut(BaseModel):
    count: int = Field(description="how many packages match the whole search (every page), "
                                   "counted up to 1000")
    more: bool = Field(description="true when more than `count` (then 1000) packages match")


class PackageListOut(BaseModel):
    packages: list[PackageHitOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; "
                                                "null on the last page")
    matched: MatchedOut


class FixityStartOut(BaseModel):
    package_id: str
    versions: list[int]
    dispatch: str = Field(description="in-process or queued")


class FillIn(BaseModel):
    location: str = Field(min_length=1, max_length=2000,
                          description="a location the settings name, as `GET /locations` gives it")


class FillStartOut(BaseModel):
    location: str
    dispatch: str = Field(description="queued (one task per version on the workers' fixity "
                                      "queue) or in-process (in the background here)")
    sent: int | None = Field(description="versions sent to the workers (queued)")
    already_queued: int | None = Field(description="versions left out: sent by an earlier fill "
                                                   "and not finished yet (queued)")


class CopyCheckOut(BaseModel):
    seq: int = Field(description="the check's audit event")
    checked_at: str
    tier: str | None = Field(description="deep, shallow, or delivery (damage found while "
                                         "delivering: never counted as a deep check)")
    outcome: str = Field(description="success or failure")
    findings: list[dict[str, Any]]
    actor: dict[str, Any] | None = Field(description="who caused the check")


class CopyHistoryOut(BaseModel):
    version: int
    location: str | None = Field(description="the copy's storage location; null for damage found "
                                             "while delivering")
    checks: list[CopyCheckOut]


class FixityReportOut(BaseModel):
    package_id: str
    versions: list[VersionOut]
    events: list[dict[str, Any]] = Field(description="the package's fixity-check events")
    copies: list[CopyHistoryOut] = Field(
        [], description="the same checks by copy (a version in one location), newest version "
                        "first, each copy's checks newest first")


class EventsOut(BaseModel):
    events: list[dict[str, Any]]
    next_after: int | None = Field(description="pass as `after` for the next page")


class OtherLogOut(BaseModel):
    log_id: str
    anchors: int = Field(description="its anchors in the object store")
    latest_seq: int | None
    lineage: bool = Field(description="true: the same lineage as this log (its first event): "
                                      "this log under another id, held to these anchors too; "
                                      "false: another catalog's log on the same store, not checked")


class AnchorsOut(BaseModel):
    ok: bool = Field(description="the log agrees with every anchor of it in the object store")
    count: int = Field(description="anchors of this log (and of its own history under another "
                                   "id) checked")
    superseded: int = Field(description="anchors of a log lost in a catalog rebuild (not checked)")
    latest_seq: int | None
    findings: list[FindingOut]
    other_logs: list[OtherLogOut] = Field(default_factory=list,
                                          description="other logs anchored in the same stores")


class RetiredOut(BaseModel):
    location: str
    retired_at: str
    retired_by: dict[str, Any] | None = Field(description="who retired it (the audit event's actor)")
    reason: str
    copies: int = Field(description="copies the catalog noted there when it was retired")
    event_seq: int = Field(description="the audit event that says so")


class LocationOut(BaseModel):
    location: str
    role: str = Field(description="`primary`, `replica`, `not configured` (the catalog notes "
                                  "copies there that nothing checks) or `retired`")
    copies: int = Field(description="copies of committed versions noted there")
    damaged: int = Field(description="of which noted damaged or failing their last check")
    lacking: int | None = Field(description="committed versions it does not hold whole "
                                            "(configured locations only)")
    queued: int = Field(0, description="versions sent to the workers to be filled there "
                                       "(`strongroom locations fill`) and not finished yet")
    retired: RetiredOut | None = None


class LocationsOut(BaseModel):
    versions: int = Field(description="committed versions in the catalog")
    locations: list[LocationOut]


class ChainOut(BaseModel):
    ok: bool = Field(description="the chain is whole and agrees with its anchors")
    count: int
    head: str
    first_bad_seq: int | None
    reason: str | None
    log_id: str = Field(description="this catalog's audit log; its anchors are "
                                    "`_audit/logs/{log_id}/anchors/`")
    anchors: AnchorsOut


class WithdrawnFileOut(BaseModel):
    path: str
    size: int
    sha256: str
    sha512: str


class WithdrawnVersionOut(BaseModel):
    number: int
    octets: int
    files: list[WithdrawnFileOut]


class DeaccessionOut(BaseModel):
    """A deaccession request; from state ``deleting`` on, the tombstone it leaves."""

    request_id: str
    package_id: str
    identifier: str
    version: int | None = Field(description="the one version asked for; null: the whole package")
    reason: str
    state: str = Field(description="requested, rejected, deleting (approved; objects still "
                                   "being removed) or deaccessioned (gone from every location)")
    requested_by: dict[str, Any]
    requested_at: str
    decided_by: dict[str, Any] | None
    decided_at: str | None
    decision_note: str | None = Field(description="why it was rejected")
    completed_at: str | None
    versions: list[WithdrawnVersionOut] = Field(
        description="the versions withdrawn, each file with its size and digests (from approval on)")


class DeaccessionListOut(BaseModel):
    requests: list[DeaccessionOut]


class DeaccessionLocationOut(BaseModel):
    location: str
    deleted: int = Field(description="objects deleted")
    kept: int = Field(description="objects spared because a remaining version references them")
    error: str | None = Field(description="why the location could not be rid of them")


class DeaccessionOutcomeOut(BaseModel):
    request: DeaccessionOut
    locations: list[DeaccessionLocationOut]
    finished: bool = Field(description="false: a location was out of reach; the request stays "
                                       "`deleting` until resumed")


class DeaccessionRequestIn(BaseModel):
    package: str = Field(min_length=1, max_length=1000,
                         description="identifier or package id")
    version: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="one version; the whole package when absent")
    reason: str = Field(min_length=1, max_length=4000,
                        description="why, in words a later reader will understand")


class DeaccessionRejectIn(BaseModel):
    reason: str | None = Field(default=None, max_length=4000)
