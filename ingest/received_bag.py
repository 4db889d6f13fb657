"""A ready-made BagIt bag handed in as an item: checked as received, before anything is stored.

An item folder with a ``bagit.txt`` at its root is a received bag (RFC 8493;
BagIt 0.97 and 1.0). ``read_received_bag`` takes its tag files (every file
outside ``data/``, as bytes) and the sizes of its payload files, and says,
without reading the payload:

- RECEIVED_BAG_INVALID: bagit.txt or bag-info.txt unusable, a BagIt version
  other than 0.97 or 1.0, no payload manifest, a manifest of an algorithm
  other than md5, sha1, sha256 or sha512, a line that is not ``digest path``,
  a file listed again in a manifest with another digest;
- RECEIVED_BAG_FETCH_REFUSED: a ``fetch.txt`` (the service never fetches URLs
  a bag names);
- RECEIVED_BAG_INCOMPLETE: a file a manifest lists is not in the bag, or a
  payload file is missing from a payload manifest;
- RECEIVED_BAG_OXUM_MISMATCH: Payload-Oxum disagrees with the payload;
- RECEIVED_BAG_DIGEST_MISMATCH for a tag file (already in memory);
- the warning RECEIVED_BAG_PATH_UNENCODED: a manifest path with a ``%`` that
  its tool never encoded (bagit-python, its issue 157): decoded as RFC 8493
  §2.1.3 says it names no file, read as written it does, and is taken so.

Payload digests are checked by the caller in its one read of each file
(``ReceivedBag.extra_algorithms`` names the digests beyond sha256 and sha512
to compute on the way; ``ReceivedBag.check_payload`` compares).

Every other tag file (``aptrust-info.txt``, say) is carried into the new bag
as it is (``ReceivedBag.other_tags``): nothing handed in is quietly left behind.

Descriptive metadata comes from ``metadata.json`` at the bag's root, else its
``metadata/record.json`` (a bag Strongroom wrote), else is mapped from
bag-info.txt (``record_from_bag_info``). Nothing here touches a disk.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from ingest.bag import (
    MOST_DIGITS,
    RECORD_JSON,
    manifest_algorithm,
    parse_bag_info,
    whole_number,
)
from ingest.findings import Finding
from ingest.fixity import ALGORITHMS
from ingest.format_identification import FORMATS_JSON
from ingest.paths import decode_manifest_path, find_collisions

#: Where the received bag-info.txt is kept in the bag Strongroom writes.
RECEIVED_BAG_INFO = "metadata/received-bag-info.txt"
BAGIT_VERSIONS = ("0.97", "1.0")
RECEIVED_ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
ITEM_METADATA = "metadata.json"
#: The file whose presence at an item's root makes the item a received bag.
BAG_DECLARATION = "bagit.txt"

#: bag-info.txt label -> record field, first label present wins.
BAG_INFO_MAPPING: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("identifier", ("External-Identifier",)),
    ("title", ("Title", "External-Description")),
    ("date", ("Bagging-Date", "Date")),
)

_LINE = re.compile(r"(\S+)[ \t]+(.+)", re.DOTALL)
_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True)
class ReceivedBag:
    """What a received bag declares, and what is wrong with it so far."""

    version: str | None
    info: tuple[tuple[str, str], ...]
    #: bag-info.txt as received (None when the bag has none)
    info_bytes: bytes | None
    #: algorithm -> {payload path below data/: lower-case hex digest}
    manifests: dict[str, dict[str, str]]
    #: metadata.json or metadata/record.json of the bag, or a record mapped from bag-info.txt
    metadata: bytes | None
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    #: the bag's other tag files (``aptrust-info.txt``, say), carried into the new bag as they are
    other_tags: tuple[tuple[str, bytes], ...] = ()

    @property
    def extra_algorithms(self) -> tuple[str, ...]:
        """Algorithms the received manifests use beyond the ones every stored file gets."""
        return tuple(a for a in sorted(self.manifests) if a not in ALGORITHMS)

    def check_payload(self, path: str, digests: Mapping[str, str]) -> list[Finding]:
        """RECEIVED_BAG_DIGEST_MISMATCH for each received manifest whose digest of the
        payload file ``path`` (below data/) is not the one read (``digests``, by algorithm)."""
        findings = []
        for algorithm, entries in sorted(self.manifests.items()):
            expected = entries.get(path)
            found = digests.get(algorithm)
            if expected is not None and found is not None and found != expected:
                findings.append(_mismatch("data/" + path, f"manifest-{algorithm}.txt", expected, found))
        return findings


def read_received_bag(tags: Mapping[str, bytes], payload: Mapping[str, int]) -> ReceivedBag:
    """Check a received bag from its tag files and payload sizes (see the module docstring).

    ``tags`` maps each file outside ``data/`` (bag-relative, '/'-separated) to
    its bytes; ``payload`` maps each file below ``data/`` (path relative to
    data/) to its size. Raises nothing.
    """
    findings: list[Finding] = []
    version = _check_declaration(tags.get(BAG_DECLARATION, b""), findings)
    if "fetch.txt" in tags:
        findings.append(Finding("RECEIVED_BAG_FETCH_REFUSED", path="fetch.txt"))
    info: list[tuple[str, str]] = []
    info_bytes = tags.get("bag-info.txt")
    if info_bytes is not None:
        try:
            info = parse_bag_info(info_bytes)
        except ValueError as exc:
            findings.append(_invalid("bag-info.txt", str(exc)))

    manifests: dict[str, dict[str, str]] = {}
    tag_manifests: dict[str, dict[str, str]] = {}
    for name in sorted(tags):
        algorithm = manifest_algorithm(name)
        if algorithm is None or "/" in name:
            continue
        if algorithm not in RECEIVED_ALGORITHMS:
            findings.append(_invalid(name, f"{algorithm} is not one of {', '.join(RECEIVED_ALGORITHMS)}"))
            continue
        is_tag = name.startswith("tag")
        present = set(tags) if is_tag else {"data/" + p for p in payload}
        entries = _read_manifest(tags[name], name, algorithm, present, is_tag, findings)
        if is_tag:
            tag_manifests[algorithm] = entries
        else:
            manifests[algorithm] = {p.removeprefix("data/"): d for p, d in entries.items()}
    if not manifests:
        findings.append(_invalid(BAG_DECLARATION, "the bag has no payload manifest"))
    for algorithm, entries in sorted(manifests.items()):
        for path in sorted(set(payload) - set(entries)):
            findings.append(Finding("RECEIVED_BAG_INCOMPLETE", path="data/" + path, params={
                "detail": f"is in the payload but not listed in manifest-{algorithm}.txt"}))
    for algorithm, entries in sorted(tag_manifests.items()):
        for path, expected in sorted(entries.items()):
            if path in tags:
                found = hashlib.new(algorithm, tags[path]).hexdigest()
                if found != expected:
                    findings.append(_mismatch(path, f"tagmanifest-{algorithm}.txt", expected, found))
    _check_oxum(info, payload, findings)
    metadata = _metadata(tags, info)
    described = any(name in tags for name in (ITEM_METADATA, RECORD_JSON))
    findings += _identifiers_differ(metadata, info) if described else _ambiguous_fields(info)
    carried = [p for p in sorted(tags) if _carried(p)]
    findings += _clashes_in_the_new_bag(carried, manifests)
    return ReceivedBag(version=version, info=tuple(info), info_bytes=info_bytes,
                       manifests=manifests, metadata=metadata,
                       findings=tuple(findings),
                       other_tags=tuple((p, tags[p]) for p in carried))


def _clashes_in_the_new_bag(carried: list[str], manifests: Mapping[str, Any]) -> list[Finding]:
    """NAME_COLLISION for each carried tag file whose name is, after case folding or
    normalization, one the new bag writes (``FETCH.TXT``, ``MANIFEST-SHA256.TXT``):
    on Windows or macOS the two are one file, and a bag tool there would read the
    depositor's ``FETCH.TXT`` as the bag's fetch.txt."""
    written = [BAG_DECLARATION, "bag-info.txt", "fetch.txt", RECORD_JSON, RECEIVED_BAG_INFO,
               FORMATS_JSON, *(f"{kind}-{algorithm}.txt" for kind in ("manifest", "tagmanifest")
                               for algorithm in sorted({*ALGORITHMS, *manifests}))]
    ours = set(written)
    # Two carried files that clash are the item's own names, which its scan judges;
    # each clash is told on the depositor's file, beside the name it clashes with.
    return [replace(f, path=f.params["other"], params={**f.params, "other": f.path})
            if f.path in ours else f
            for f in find_collisions([*written, *carried])
            if (f.path in ours) != (f.params.get("other") in ours)]


def record_from_bag_info(info: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> dict[str, Any]:
    """A descriptive record mapped from bag-info.txt fields (``BAG_INFO_MAPPING``);
    a field whose labels are all absent is left out, for the schema to judge."""
    values: dict[str, str] = {}
    for label, value in info:
        values.setdefault(label, value)
    record: dict[str, Any] = {}
    for name, labels in BAG_INFO_MAPPING:
        for label in labels:
            if values.get(label):
                record[name] = values[label]
                break
    return record


# --------------------------------------------------------------------------- internals


def _check_declaration(text: bytes, findings: list[Finding]) -> str | None:
    try:
        fields = dict(parse_bag_info(text))
    except ValueError as exc:
        findings.append(_invalid(BAG_DECLARATION, str(exc)))
        return None
    version = fields.get("BagIt-Version")
    if version not in BAGIT_VERSIONS:
        findings.append(Finding("RECEIVED_BAG_INVALID", path=BAG_DECLARATION, expected=list(BAGIT_VERSIONS),
                                found=version, params={
                                    "detail": f"BagIt-Version is {version!r}, expected 0.97 or 1.0"}))
    encoding = fields.get("Tag-File-Character-Encoding", "")
    if encoding.upper() not in ("UTF-8", "UTF8"):
        findings.append(_invalid(BAG_DECLARATION, f"Tag-File-Character-Encoding is {encoding!r},"
                                                  " expected UTF-8"))
    return version


def _read_manifest(text: bytes, name: str, algorithm: str, present: set[str], is_tag: bool,
                   findings: list[Finding]) -> dict[str, str]:
    length = hashlib.new(algorithm).digest_size * 2
    entries: dict[str, str] = {}
    first_line: dict[str, int] = {}
    try:
        decoded = text.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        findings.append(_invalid(name, "it is not UTF-8"))
        return entries
    for number, line in enumerate(re.split(r"\r\n|\r|\n", decoded), start=1):
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None or not _HEX.fullmatch(match.group(1)) or len(match.group(1)) != length:
            findings.append(_invalid(name, f"line {number} is not '{algorithm} digest, path'"))
            continue
        digest, written = match.group(1).lower(), match.group(2)
        path = decode_manifest_path(written)
        if path not in present and written != path and written in present:
            findings.append(Finding("RECEIVED_BAG_PATH_UNENCODED", path=written,
                                    params={"manifest": name}))
            path = written
        if not is_tag and not path.startswith("data/"):
            findings.append(_invalid(name, f"line {number} lists {path!r}, outside data/"))
            continue
        if path in first_line:
            # the bag claims two digests for one file: whichever line were read
            # last would decide, so neither is taken
            if entries.get(path, digest) != digest:
                findings.append(_invalid(name, f"line {number} lists {path!r} again with another "
                                               f"digest than line {first_line[path]}"))
            continue
        first_line[path] = number
        if path not in present:
            findings.append(Finding("RECEIVED_BAG_INCOMPLETE", path=path,
                                    params={"detail": f"is listed in {name} but is not in the bag"}))
            continue
        entries[path] = digest
    return entries


_OXUM = re.compile(r"([0-9]+)\.([0-9]+)")


def _check_oxum(info: list[tuple[str, str]], payload: Mapping[str, int],
                findings: list[Finding]) -> None:
    """Payload-Oxum is two numbers, compared as numbers (``0128.02`` is 128 bytes
    in 2 files, as LOC bagit reads it too); a value that is no OCTETS.FILES is
    named as such, not as a mismatch."""
    octets, files = sum(payload.values()), len(payload)
    for label, value in info:
        if label != "Payload-Oxum":
            continue
        given = _OXUM.fullmatch(value)
        if given is None:
            findings.append(_invalid("bag-info.txt", f"its Payload-Oxum {_shown(value)} is not "
                                     "OCTETS.FILES (the payload's bytes and files, two whole "
                                     "numbers)"))
            continue
        counted = whole_number(given[1]), whole_number(given[2])
        if None in counted:
            findings.append(_invalid("bag-info.txt", f"its Payload-Oxum {_shown(value)} counts "
                                     f"more than any payload holds (over {MOST_DIGITS} digits)"))
        elif counted != (octets, files):
            findings.append(Finding("RECEIVED_BAG_OXUM_MISMATCH", path="bag-info.txt",
                                    expected=value, found=f"{octets}.{files}"))


def _shown(value: str, most: int = 60) -> str:
    """A value from the bag as a finding quotes it: whole when short, else its start."""
    return repr(value) if len(value) <= most else f"{value[:most]!r}… ({len(value):,} characters)"


def _ambiguous_fields(info: list[tuple[str, str]]) -> list[Finding]:
    """RECEIVED_BAG_INVALID for each record field that bag-info.txt, the record's
    only source, gives two different values of (``External-Identifier`` twice):
    the first was taken without a word, and which one names the record is the
    depositor's to say."""
    findings = []
    for name, labels in BAG_INFO_MAPPING:
        for label in labels:
            values = list(dict.fromkeys(v for lbl, v in info if lbl == label and v))
            if len(values) > 1:
                findings.append(_invalid("bag-info.txt", (
                    f"it gives {label} {len(values)} times, {_shown(values[0])} and "
                    f"{_shown(values[1])}, and the record's {name} is taken from it: keep one, "
                    f"or describe the bag in a {ITEM_METADATA} beside bagit.txt")))
                break
            if values:
                break
    return findings


def _identifiers_differ(record_bytes: bytes | None, info: list[tuple[str, str]]) -> list[Finding]:
    """A RECEIVED_BAG_IDENTIFIERS_DIFFER warning when the bag's record (its
    metadata.json or metadata/record.json) gives an identifier that no
    External-Identifier of its bag-info.txt is, as written or percent-decoded (as
    Strongroom writes one that does not fit on a line): a record put in the wrong
    bag is filed under the record's identifier, and the bag's own name for it is
    told, not lost in silence. A record that cannot be read is the schema's to judge."""
    external = [value for label, value in info if label == "External-Identifier" and value]
    try:
        record = json.loads(record_bytes or b"")
    except (ValueError, UnicodeDecodeError):
        return []
    identifier = record.get("identifier") if isinstance(record, dict) else None
    if not external or not isinstance(identifier, str) or not identifier:
        return []
    if any(identifier in (value, unquote(value)) for value in external):
        return []
    return [Finding("RECEIVED_BAG_IDENTIFIERS_DIFFER", path="bag-info.txt",
                    expected=identifier[:300], found=external[0][:300])]


def _metadata(tags: Mapping[str, bytes], info: list[tuple[str, str]]) -> bytes | None:
    for name in (ITEM_METADATA, RECORD_JSON):
        if name in tags:
            return tags[name]
    mapped = record_from_bag_info(info)
    return json.dumps(mapped, ensure_ascii=False).encode("utf-8") if mapped else None


def _carried(path: str) -> bool:
    """Whether a received tag file goes into the new bag as it is: not one the new bag
    writes afresh (bagit.txt, bag-info.txt, the manifests, the record, the formats
    identified) or refuses."""
    rewritten = (BAG_DECLARATION, "bag-info.txt", "fetch.txt", ITEM_METADATA, RECORD_JSON,
                 RECEIVED_BAG_INFO, FORMATS_JSON)
    return path not in rewritten and manifest_algorithm(path) is None


def _invalid(path: str, detail: str) -> Finding:
    return Finding("RECEIVED_BAG_INVALID", path=path, params={"detail": detail})


def _mismatch(path: str, manifest: str, expected: str, found: str) -> Finding:
    # A bag fetched from the archive, its record edited in place to correct it:
    # the way to do that is a new metadata.json beside bagit.txt.
    hint = (f"to correct the record of a bag fetched from the archive, leave {RECORD_JSON} "
            f"as it is and put the corrected record in a {ITEM_METADATA} beside bagit.txt: "
            "it becomes the new version's record, and the files that did not change are "
            "not stored again") if path == RECORD_JSON else None
    return Finding("RECEIVED_BAG_DIGEST_MISMATCH", path=path, expected=expected, found=found,
                   params={"manifest": manifest}, hint=hint)


__all__ = [
    "BAGIT_VERSIONS",
    "BAG_DECLARATION",
    "BAG_INFO_MAPPING",
    "RECEIVED_ALGORITHMS",
    "RECEIVED_BAG_INFO",
    "ReceivedBag",
    "read_received_bag",
    "record_from_bag_info",
]
