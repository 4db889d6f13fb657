"""Every finding Strongroom reports, in one catalogue.

A finding is a problem with the input or with stored bytes that a person must
act on. It has a stable ``code`` (tools and the audit log key on it), the
``path`` (a file, relative to the item or bag) or the JSON ``pointer`` (into a
metadata document) it concerns, and what was ``expected`` and ``found``. The
message is rendered from the template below, so the same finding always reads
the same way; the audit log stores the code and its parameters, not the text.

A finding is an error unless its code is in ``WARNINGS``: a warning is told and
kept (in the item's findings and its events) but never rejects an item or
fails a batch. A finding may carry a ``hint``: what the person most likely
meant (``ingest.hints``), in words, shown after the message.

Codes are never renamed or reused. Add new ones at the end of their group.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

#: code -> message template. Templates may use {path}, {pointer}, {expected},
#: {found} and any extra parameter of the finding.
CATALOGUE: dict[str, str] = {
    # -- the batch as a whole
    "BATCH_STRAY_FILE": "file {path!r} at the batch root is not an item; only batch.json, metadata.csv and item folders belong there",
    "BATCH_METADATA_INVALID": "batch.json is not usable: {detail}",
    "BATCH_EMPTY": "the batch holds no item folders",
    "SCHEMA_UNKNOWN": "no metadata schema named {found!r}; the schemas known here: {one_of}",
    "ARCHIVE_UNSAFE_MEMBER": "archive member {path!r} is refused: {detail}",
    "ARCHIVE_TOO_LARGE": "the archive exceeds a limit: {detail}",
    "ARCHIVE_UNREADABLE": "the archive cannot be read: {detail}",
    "ARCHIVE_NAME_ENCODING_UNKNOWN": "archive member '{path}' is refused: its name is not UTF-8 and the archive does not say how its names are encoded (each byte that could not be read is shown as \\xNN), so it would be stored garbled; make the archive again with a tool that writes names as UTF-8 (7-Zip, or Windows' or macOS's own \"Compress\"), or upload the folder itself",
    # -- paths and names inside an item
    "PATH_UNSAFE": "path {path!r} is refused: {detail}",
    "NAME_COLLISION": "path {path!r} collides with {other!r} after {rule}",
    "PATH_NOT_PORTABLE": "{path!r} cannot be written under this name on Windows ({detail}); it is kept as it is, but a copy restored there needs another name",
    "SYMLINK_REFUSED": "{path!r} is a symbolic link; links are never followed",
    "FILE_TYPE_REFUSED": "{path!r} is a {found}, not a regular file",
    "FILE_UNREADABLE": "{path!r} could not be read: {detail}",
    "EMPTY_FOLDER_SKIPPED": "the folder {path!r} is empty: a bag keeps files, not folders, so it is not kept (the rest of the item is stored)",
    "PAYLOAD_EMPTY": "the item has no payload file besides metadata.json",
    "FILE_CHANGED": "{path!r} changed between listing and reading ({detail}); submit the item again once it is settled",
    "SYSTEM_FILE_SKIPPED": "{path!r} was skipped: the operating system made it ({rule}), it is not part of the record",
    "FORMAT_UNIDENTIFIED": "{path!r} matched no known file format ({tool}, {signatures}); it was kept as it is, but its format is not on record",
    "STAGED_CONTENT_CHANGED": "{path!r} in the staging area is not what was staged: staged with SHA-256 {expected}, read {found}; submit the batch again",
    "STAGED_CONTENT_MISSING": "{path!r} is no longer in the staging area ({detail}); submit the batch again",
    "ITEM_FOLDER_EMPTY": "the item folder is empty: it holds no file to keep and no metadata; put the item's files (and its metadata.json, or a row of metadata.csv) in it, or remove the folder",
    # -- descriptive metadata
    "METADATA_MISSING": "the item has no metadata.json",
    "METADATA_UNPARSABLE": "{path} is not valid JSON: {detail}",
    "METADATA_TOO_LARGE": "{path} exceeds a limit: {detail}",
    "METADATA_INVALID": "{detail}",
    "METADATA_CSV_UNREADABLE": "metadata.csv cannot be read: {detail}",
    "METADATA_CSV_NO_FOLDER_COLUMN": "metadata.csv has no 'folder' column naming each row's item folder",
    "METADATA_CSV_ROW_UNMATCHED": "metadata.csv row {row} names folder {found!r}, which is no item folder of the batch",
    "IDENTIFIER_NOT_AS_STORED": "this identifier reads like the identifier of package {package} but is written with other Unicode code points ({detail}): it would make a second package that reads like the first; copy the identifier as the package has it (from its page or `strongroom show`) to add a version, or choose another identifier",
    "IDENTIFIER_DUPLICATE": "items {items} of this batch all give the identifier {found!r}: one identifier is one package, so none of them is stored; give each record its own identifier (a later version of a record goes in a later batch)",
    "IDENTIFIER_IN_PACKAGE_ID_FORM": "this identifier is written as a package id is (a version-5 UUID in lower case): it may be the id of another record's package, whose every lookup by id would then be ambiguous; write it otherwise, with a prefix (such as 'uuid:') or in capitals",
    "IDENTIFIER_IS_A_PACKAGE_ID": "this identifier is the id of package {package} (the record {expected!r}): every lookup of that package by its id would become ambiguous; give the record an identifier of its own",
    "IDENTIFIER_READS_LIKE_ANOTHER": "this identifier reads like {expected!r}, the identifier of package {package}, but is written differently ({detail}): a second package would be one record to a person and two to the archive; write the identifier as the package has it to add a version, or choose one that reads differently",
    "BATCH_FIELDS_UNUSABLE": "batch.json could not be used, and this record lacks {fields}, which batch.json was to give it: stored now, the version would lack them for good; mend batch.json and submit the batch again",
    "METADATA_CSV_DUPLICATE_ROW": "metadata.csv rows {rows} all describe folder {path!r}; keep one",
    "METADATA_CSV_AND_JSON": "the item is described already (by its metadata.json, or, a received bag, by its own record or bag-info.txt) and metadata.csv row {row} describes it too; keep one",
    "RECORD_FIELDS_REMOVED": "this new version's record no longer has {fields}, which version {version} has: stored as submitted; if they came from batch.json (or the fields given beside an upload) when version {version} was sent, give them again and submit the item again",
    "RECORD_AS_EARLIER_VERSION": "this record is the record of version {earlier} again: stored as submitted, it undoes what version {latest} changed ({fields}); if that was not meant (an older copy of the batch sent again), submit version {latest}'s record again",
    "METADATA_CSV_UNKNOWN_COLUMN": "metadata.csv's header names the column {found!r}, which is no field of the schema, so no row of the sheet is used; name each column as `strongroom template csv` prints it",
    "METADATA_CSV_PEOPLE_NOT_SEPARATED": "metadata.csv row {row}, column {column!r}: {found!r} holds ';', so it would be stored as one person of that name; in metadata.csv people are separated with '|': {separated!r}",
    "METADATA_CSV_TWO_ROLES": "metadata.csv row {row}, column {column!r}: {found!r} gives one person two roles, {first!r} and {second!r}; a person has one role: keep one, or write the person twice separated with '|'",
    # -- stored bytes (ingest read-back, verify, fetch)
    "FIXITY_MISMATCH": "{path!r} is not as recorded: {algorithms} {differ}",
    "SIZE_MISMATCH": "{path!r} has {found} bytes, expected {expected}",
    "FILE_MISSING": "{path!r} is listed in the manifest but is not in storage",
    "UNEXPECTED_FILE": "{path!r} is in storage but in no manifest",
    "TAG_MISMATCH": "tag file {path!r} does not match: {detail}",
    "BAG_INVALID": "the bag is not valid BagIt: {detail}",
    "UNTRACKED_OBJECT": "{path!r} is in storage but belongs to no version in the catalog",
    "INGEST_LEFTOVER": "{path!r} was left in storage by an ingest that never committed its version",
    "REFERENCED_VERSION_NOT_IN_CATALOG": "{path!r} belongs to version {version}, which the catalog does not hold, though {by} of its package read files of it (fetch.txt): it was committed and its commit record lost, not left by a crash; do not remove it: rebuild the catalog into an empty database (`strongroom catalog rebuild` takes such a version in)",
    "MANIFEST_NOT_AS_SEALED": "{path!r} has sha256 {found}, but audit event {seq} sealed it as {expected}: the bag was rewritten after it was stored",
    "HELD_COPY_NOT_WHOLE": "version {version} of this package {detail}: what this submission has in common with it is stored again in the new version, not shared with a copy that may be damaged; see to version {version} with `strongroom verify` and `strongroom repair`",
    # -- operations
    "STORAGE_UNAVAILABLE": "storage failed all {attempts} attempts (the item is not at fault): {detail}; once the storage is mended, `strongroom requeue --failed` ingests the item again",
    "COMMIT_RECORD_MISSING": "{path} is not in this location ({detail}): a catalog rebuilt from it would leave this version out as uncommitted",
    "COMMIT_RECORD_UNREADABLE": "{path} does not say its version was committed ({detail}): not taken as its commit record; the version is judged as one without a record",
    "PACKAGE_BUSY": "its package was being written by another item through all {attempts} attempts ({detail}); a claim whose holder stopped without a word is taken over once idle for {stuck_after:g} s: run `strongroom requeue --failed` then",
    "INGEST_FAILED": "ingest stopped on an unexpected error: {detail}",
    "CLAIM_TAKEN_OVER": "this item stopped writing version {version} (no progress for over {idle} s: its process is gone); item {by} took the version over, submit again if needed",
    "ITEM_STUCK": "item {path!r} has made no progress for over {idle} s; its worker is gone: requeue it",
    "STAGING_LEFTOVER": "{path!r} ({size} bytes) was left by a write that never finished; `fixity reconcile --sweep-abandoned HOURS` removes it",
    "ANCHORED_EVENT_MISSING": "audit event {seq} was anchored with hash {expected} but the log ends at event {last_seq}: the log was truncated",
    "ANCHORED_EVENT_CHANGED": "audit event {seq} has hash {found} but was anchored with {expected}: the log was rewritten",
    "ANCHOR_INVALID": "{path!r} under the audit anchors is not an anchor",
    "ANCHORS_UNREADABLE": "audit anchors could not be read: {detail}",
    "BAG_UNUSABLE": "the bag at {path!r} cannot be taken into the catalog: {detail}",
    # -- deaccession (ingest.deaccession)
    "DEACCESSION_SAME_PERSON": "deaccession request {path} cannot be approved by {found}: the two are not two people (one of them made the other's credential or account, or has ever set its password, or they are the same); a deaccession needs two people, another admin must approve it, one whose account the asker did not make and who made none of the asker's credentials (made by another admin, or at the terminal with `strongroom user create`)",
    "DEACCESSION_DECIDED": "deaccession request {path} is {found}, not waiting for a decision",
    "DEACCESSION_PENDING": "package {path} already has deaccession request {found} waiting or under way; approve or reject it first",
    "DEACCESSION_REASON_MISSING": "a deaccession needs a reason, in words a later reader will understand",
    "PACKAGE_DEACCESSIONED": "the record {found!r} was deaccessioned as a whole ({when}, request {request}: {reason}); a record the archive withdrew is not taken in again by submitting it once more: if the archive is to hold it again, its admins decide so, and it is submitted under a new identifier",
    "DEACCESSIONED_LEFTOVER": "{path!r} belongs to a version deaccessioned by request {request}, but is still in storage (the location missed the deletion); `fixity reconcile --remove-deaccessioned` removes it",
    "OBJECT_RETAINED": "{path!r} in {place} is retained by S3 Object Lock until {until}{others}: it cannot be deleted before then, so deaccession request {request} was not approved and nothing was deleted or withdrawn; the request still waits, approve it after that date",
    # -- a ready-made bag handed in as an item (ingest.received_bag)
    "RECEIVED_BAG_INVALID": "the received bag is not valid BagIt at {path!r}: {detail}",
    "RECEIVED_BAG_FETCH_REFUSED": "the received bag has {path!r}, which asks for files to be fetched from URLs; nothing a bag names is fetched (RFC 8493 §5): put the files in data/ and remove fetch.txt",
    "RECEIVED_BAG_INCOMPLETE": "the received bag is incomplete: {path!r} {detail}",
    "RECEIVED_BAG_DIGEST_MISMATCH": "{path!r} does not match the received bag's {manifest}: expected {expected}, read {found}",
    "RECEIVED_BAG_OXUM_MISMATCH": "the received bag's Payload-Oxum is {expected}, but its payload holds {found} (bytes.files)",
    "RECEIVED_BAG_IDENTIFIERS_DIFFER": "the bag's bag-info.txt names it {found!r} (External-Identifier) and its record {expected!r}: it is filed under the record's; make sure the record is this bag's",
    "RECEIVED_BAG_PATH_UNENCODED": "{path!r} is listed in {manifest} with '%' not percent-encoded (as some tools write it, against RFC 8493 §2.1.3); read as written",
}


#: Codes that are warnings: told and kept, never a reason to reject or fail.
WARNINGS: frozenset[str] = frozenset({"SYSTEM_FILE_SKIPPED", "RECEIVED_BAG_PATH_UNENCODED", "FORMAT_UNIDENTIFIED",
                                     "RECEIVED_BAG_IDENTIFIERS_DIFFER",
                                     "PATH_NOT_PORTABLE",
                                     "EMPTY_FOLDER_SKIPPED", "HELD_COPY_NOT_WHOLE",
                                     "RECORD_FIELDS_REMOVED", "RECORD_AS_EARLIER_VERSION"})

ERROR, WARNING = "error", "warning"


def excerpt(value: Any, limit: int = 80) -> str:
    """``value`` as JSON text of about ``limit`` characters at most, for a
    message. A longer text keeps its start and its end, with ``…`` between them
    inside its closed quotes (so white space at either end stays visible);
    another long value is cut at the end, with ``…``."""
    if isinstance(value, str) and len(value) > limit:
        head = (limit * 2) // 3
        return json.dumps(value[:head] + "…" + value[-(limit - head - 1):], ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def in_words(names: list[str] | tuple[str, ...]) -> str:
    """``["sha256", "sha512"]`` as ``"sha256 and sha512"``; ``["a", "b", "c"]`` as
    ``"a, b and c"``."""
    names = [str(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class Finding:
    """One problem, with the place it concerns and what was expected."""

    code: str
    path: str | None = None
    pointer: str | None = None
    expected: Any = None
    found: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    location: str | None = None
    #: what the person most likely meant, in words (``ingest.hints``), if known
    hint: str | None = None

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise ValueError(f"unknown finding code {self.code!r}")

    @property
    def severity(self) -> str:
        """``"warning"`` (told, never a reason to reject) or ``"error"``."""
        return WARNING if self.code in WARNINGS else ERROR

    @property
    def is_error(self) -> bool:
        return self.code not in WARNINGS

    @property
    def message(self) -> str:
        values = {
            "path": self.path,
            "pointer": self.pointer,
            "expected": self.expected,
            "found": self.found,
            "detail": "",
            "other": None,
            "rule": None,
            "algorithm": None,
            "algorithms": "a digest",
            "differ": "differs",
            "attempts": None,
            "one_of": self.expected,
            **self.params,
        }
        if isinstance(self.expected, list | tuple):  # a choice: its names, not a Python list
            values["one_of"] = ", ".join(str(x) for x in self.expected)
        algorithms = self.params.get("algorithms")
        if isinstance(self.params.get("algorithm"), str) and algorithms is None:
            algorithms = [self.params["algorithm"]]  # stored by an older release
        if isinstance(algorithms, list | tuple):
            values["algorithms"] = in_words(algorithms)
            values["differ"] = "differs" if len(algorithms) == 1 else "differ"
        text = CATALOGUE[self.code].format(**values)
        more = self.params.get(MORE_LIKE_IT)
        if isinstance(more, int) and more > 0:
            text += f" (and {more} more like it in this item, not listed one by one)"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data: code, severity, place, expected/found,
        message, and hint when there is one."""
        out: dict[str, Any] = {"code": self.code, "severity": self.severity}
        if self.path is not None:
            out["path"] = self.path
        if self.pointer is not None:
            out["pointer"] = self.pointer
        if self.location is not None:
            out["location"] = self.location
        if self.expected is not None:
            out["expected"] = self.expected
        if self.found is not None:
            out["found"] = self.found
        if self.params:
            out["params"] = dict(self.params)
        out["message"] = self.message
        if self.hint is not None:
            out["hint"] = self.hint
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=data["code"],
            path=data.get("path"),
            pointer=data.get("pointer"),
            expected=data.get("expected"),
            found=data.get("found"),
            params=dict(data.get("params") or {}),
            location=data.get("location"),
            hint=data.get("hint"),
        )


#: Warnings of one code told one by one for an item; the last told says how many more.
MAX_WARNINGS_TOLD = 20
#: The param of that last one: how many more like it were not listed.
MORE_LIKE_IT = "more_like_it"


def condense_warnings(findings: Iterable[Finding], limit: int = MAX_WARNINGS_TOLD) -> list[Finding]:
    """``findings`` with at most ``limit`` warnings of each code, the last of them
    saying how many more there were (``MORE_LIKE_IT``); errors all kept, in order.
    A folder copied from a Mac onto a USB disk has a ``._`` file beside each of
    its ten thousand files: one story, not ten thousand findings in the item's
    row and its ingestion event."""
    kept: list[Finding] = []
    told: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for finding in findings:
        if finding.is_error:
            kept.append(finding)
            continue
        told[finding.code] = told.get(finding.code, 0) + 1
        if told[finding.code] <= limit:
            kept.append(finding)
        else:
            dropped[finding.code] = dropped.get(finding.code, 0) + 1
    for code, more in dropped.items():
        index = max(i for i, f in enumerate(kept) if f.code == code)
        last = kept[index]
        kept[index] = replace(last, params={
            **last.params, MORE_LIKE_IT: int(last.params.get(MORE_LIKE_IT, 0)) + more})
    return kept


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that are errors (not warnings)."""
    return [f for f in findings if f.is_error]


def json_pointer(parts: list[str | int] | tuple[str | int, ...]) -> str:
    """The RFC 6901 JSON pointer of a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
