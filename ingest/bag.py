"""BagIt bags (RFC 8493) as bytes: the tag files of a package version, and their parsers.

Nothing here touches a disk or a store: the pipeline uploads what
``build_tag_files`` returns next to the payload, and the verifier feeds what it
reads back into ``parse_manifest`` and ``parse_bag_info``. The bags conform to
the Strongroom BagIt profile (``schemas/bagit-profile.json``).

Manifest lines are ``digest  path`` (two spaces, as bagit-python writes them),
sorted by path, UTF-8 with LF line ends; ``%``, CR and LF in a path are
percent-encoded as RFC 8493 §2.1.3 requires.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from ingest.findings import Finding
from ingest.fixity import ALGORITHMS, digest_bytes
from ingest.layout import FETCH_TXT, held_reference, parse_held_reference
from ingest.models import StoredFile
from ingest.paths import decode_manifest_path, encode_manifest_path

#: More digits than any count of bytes or files (2**64 has 20).
MOST_DIGITS = 20


def whole_number(text: str) -> int | None:
    """``text`` as a count written in ASCII digits (leading zeros allowed), or None
    when it is none or has more than ``MOST_DIGITS`` significant digits: Python
    refuses to read an integer of over 4,300 digits, and a bag-info.txt or fetch.txt
    from outside may hold one (as may any ``isdigit`` text, such as ``²``)."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= MOST_DIGITS else None

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

#: The identifier of the profile our bags conform to; written into bag-info.txt.
PROFILE_IDENTIFIER = "https://strongroom.invalid/schemas/bagit-profile.json"

RECORD_JSON = "metadata/record.json"

#: Every tag file of a Strongroom bag, in the order ``build_tag_files`` writes them.
REQUIRED_TAG_FILES = (
    "bagit.txt",
    "bag-info.txt",
    RECORD_JSON,
    "manifest-sha256.txt",
    "manifest-sha512.txt",
    "tagmanifest-sha256.txt",
    "tagmanifest-sha512.txt",
)

# Fields this module computes; a caller who passes them would contradict the payload.
_COMPUTED_FIELDS = ("Payload-Oxum", "Bag-Size")
_PROFILE_FIELD = "BagIt-Profile-Identifier"

# Every character str.splitlines() breaks on: any reader may take them for line ends.
_BREAK_CHARS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAKS = re.compile(rf"\s*[{_BREAK_CHARS}]+\s*")
#: bag-info fields whose value must come back exactly (the package id is derived
#: from it): percent-encoded when one line cannot hold it, never flattened.
EXACT_FIELDS = ("External-Identifier",)
# Matched with fullmatch: "$" would let a final line feed through.
_MANIFEST_NAME = re.compile(r"(?:tag)?manifest-([a-z0-9]+)\.txt")
_MANIFEST_LINE = re.compile(r"(\S+)[ \t]+(.+)", re.DOTALL)
_HEX = re.compile(r"[0-9a-fA-F]+")
_BAG_SIZE_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def manifest_name(algorithm: str) -> str:
    """``manifest-{algorithm}.txt``."""
    return f"manifest-{algorithm}.txt"


def tagmanifest_name(algorithm: str) -> str:
    """``tagmanifest-{algorithm}.txt``."""
    return f"tagmanifest-{algorithm}.txt"


def manifest_algorithm(name: str) -> str | None:
    """The algorithm a (tag)manifest file name declares, or None if it names none."""
    match = _MANIFEST_NAME.fullmatch(name)
    return match.group(1) if match else None


# --------------------------------------------------------------------------- writing


def payload_oxum(files: Iterable[StoredFile]) -> str:
    """The Payload-Oxum ``octets.count`` of the payload files (``data/...``) among ``files``."""
    payload = [f for f in files if f.is_payload]
    return f"{sum(f.size for f in payload)}.{len(payload)}"


def bag_size(octets: int) -> str:
    """A human-readable size for Bag-Size: ``"812 B"``, ``"50.0 MiB"``. Raises ValueError if negative."""
    if octets < 0:
        raise ValueError("a size cannot be negative")
    if octets < 1024:
        return f"{octets} B"
    value = float(octets)
    for unit in _BAG_SIZE_UNITS:
        value /= 1024
        if value < 1024 or unit == _BAG_SIZE_UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def bag_info_txt(fields: Sequence[tuple[str, str]]) -> bytes:
    """bag-info.txt: one ``Label: value`` line per field, in the given order, UTF-8.

    bag-info is line-oriented, so line breaks inside a value (with the
    whitespace around them) become one space, and a value's outer whitespace
    is dropped, as every reader would drop it; except in ``EXACT_FIELDS``,
    whose value, when one line cannot hold it as it is, is written with ``%``,
    line breaks and outer whitespace percent-encoded (UTF-8, ``%E2%80%A8`` for
    U+2028), so that it can be read back exactly. Raises ValueError for a label
    that is empty, holds ``:`` or a line break, or starts or ends with whitespace.
    """
    lines = []
    for label, value in fields:
        _check_label(label)
        one_line = _exact_line(value) if label in EXACT_FIELDS else _one_line(value)
        lines.append(f"{label}: {one_line}\n")
    return "".join(lines).encode("utf-8")


def manifest_txt(algorithm: str, files: Iterable[StoredFile]) -> bytes:
    """A (tag)manifest: ``digest  path`` per file, sorted by path, UTF-8, LF line ends.

    Paths are percent-encoded (``%``, CR, LF). Raises ValueError for an
    algorithm other than sha256/sha512 or a path listed twice.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"no manifest for algorithm {algorithm!r}; expected one of {ALGORITHMS}")
    ordered = sorted(files, key=lambda f: f.path)
    lines = []
    for index, f in enumerate(ordered):
        if index and ordered[index - 1].path == f.path:
            raise ValueError(f"path {f.path!r} is listed twice")
        lines.append(f"{getattr(f, algorithm)}  {encode_manifest_path(f.path)}\n")
    return "".join(lines).encode("utf-8")


def build_tag_files(payload: Sequence[StoredFile], record_json: bytes,
                    info: Sequence[tuple[str, str]],
                    extra: Sequence[tuple[str, bytes]] = ()) -> list[tuple[str, bytes]]:
    """The tag files of one version, as ``(bag path, bytes)`` in the order to write them.

    bagit.txt; bag-info.txt (the caller's ``info`` in order, then
    BagIt-Profile-Identifier unless given, Payload-Oxum and Bag-Size computed
    from ``payload``); metadata/record.json (``record_json`` as is); the
    optional tag files ``extra`` (such as metadata/formats.json, or the
    bag-info.txt of a received bag), as given; the sha256 and sha512 payload
    manifests; then the two tag manifests, covering every tag file before them;
    last, when a payload file is held by an earlier version (``held_by``),
    fetch.txt, which no tag manifest lists (``ingest.layout``).
    Raises ValueError for a payload path outside
    ``data/``, a path given twice, a bad label, Payload-Oxum or Bag-Size in
    ``info``, or a BagIt-Profile-Identifier other than ours.
    """
    for f in payload:
        if not f.is_payload:
            raise ValueError(f"payload path {f.path!r} is not under data/")
    fields = list(info)
    labels = [label for label, _ in fields]
    for label in _COMPUTED_FIELDS:
        if label in labels:
            raise ValueError(f"{label} is computed from the payload; do not pass it")
    for label, value in fields:
        if label == _PROFILE_FIELD and value != PROFILE_IDENTIFIER:
            raise ValueError(f"bags conform to {PROFILE_IDENTIFIER}, not {value!r}")
    if _PROFILE_FIELD not in labels:
        fields.append((_PROFILE_FIELD, PROFILE_IDENTIFIER))
    octets = sum(f.size for f in payload)
    fields.append(("Payload-Oxum", payload_oxum(payload)))
    fields.append(("Bag-Size", bag_size(octets)))

    tags: list[tuple[str, bytes]] = [
        ("bagit.txt", BAGIT_TXT),
        ("bag-info.txt", bag_info_txt(fields)),
        (RECORD_JSON, record_json),
    ]
    for path, _ in extra:
        if path in REQUIRED_TAG_FILES or path.startswith("data/") or manifest_algorithm(path):
            raise ValueError(f"extra tag file {path!r} would stand in for a file of the bag")
    tags += list(extra)
    tags += [(manifest_name(alg), manifest_txt(alg, payload)) for alg in ALGORITHMS]
    covered = [_stored(path, data) for path, data in tags]
    tags += [(tagmanifest_name(alg), manifest_txt(alg, covered)) for alg in ALGORITHMS]
    if any(f.held_by is not None for f in payload):
        tags.append((FETCH_TXT, fetch_txt(payload)))
    return tags


def fetch_txt(payload: Iterable[StoredFile]) -> bytes:
    """fetch.txt of the payload files held by earlier versions: ``URL LENGTH
    path`` per file, sorted by path, the URL relative to the bag
    (``ingest.layout.held_reference``), the path encoded as in a manifest."""
    held = sorted((f for f in payload if f.held_by is not None), key=lambda f: f.path)
    return "".join(f"{held_reference(f.held_by, f.path)} {f.size} {encode_manifest_path(f.path)}\n"
                   for f in held if f.held_by is not None).encode("utf-8")


def parse_fetch(text: bytes, number: int) -> tuple[dict[str, tuple[int, int]], list[Finding]]:
    """Read the fetch.txt of version ``number`` into ``{bag path: (version that
    holds it, size)}``. A line that is not ``URL LENGTH path`` with a reference
    to the same path in an earlier version of the package is a TAG_MISMATCH
    finding on fetch.txt and is left out: a bag never sends a reader anywhere
    else. Raises nothing."""
    findings: list[Finding] = []
    entries: dict[str, tuple[int, int]] = {}
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return {}, [Finding("TAG_MISMATCH", path=FETCH_TXT, params={"detail": "it is not UTF-8"})]
    for index, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split(" ", 2)
        reference = parse_held_reference(parts[0], number) if len(parts) == 3 else None
        path = decode_manifest_path(parts[2]) if len(parts) == 3 else None
        size = whole_number(parts[1]) if len(parts) == 3 else None
        if reference is None or size is None or reference[1] != path or path in entries:
            findings.append(Finding("TAG_MISMATCH", path=FETCH_TXT, params={
                "detail": f"line {index} is not a reference to the same file in an earlier "
                          f"version of this package"}))
            continue
        entries[reference[1]] = (reference[0], size)
    return entries, findings


# --------------------------------------------------------------------------- reading


def parse_manifest(text: bytes, name: str) -> tuple[dict[str, str], list[Finding]]:
    """Read a (tag)manifest named ``name`` into ``{decoded path: lower-case hex digest}``.

    Lines may end in LF, CR LF or CR; blank lines are skipped. Every line that
    cannot be used is a ``TAG_MISMATCH`` finding on ``name`` (with a
    ``detail``) and is left out: text that is not UTF-8, a byte-order mark, a
    line without digest and path, a digest that is not hex of the algorithm's
    length, a path listed twice (the first is kept). Raises nothing.
    """
    findings: list[Finding] = []

    def problem(detail: str) -> None:
        findings.append(Finding("TAG_MISMATCH", path=name, params={"detail": detail}))

    algorithm = manifest_algorithm(name.rsplit("/", 1)[-1])
    length = _hex_length(algorithm)
    if text.startswith(b"\xef\xbb\xbf"):
        problem("it starts with a byte-order mark, which RFC 8493 forbids")
        text = text[3:]
    entries: dict[str, str] = {}
    for number, raw in enumerate(re.split(rb"\r\n|\r|\n", text), start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            problem(f"line {number} is not UTF-8")
            continue
        match = _MANIFEST_LINE.fullmatch(line)
        if match is None:
            problem(f"line {number} is not 'digest path'")
            continue
        digest, encoded = match.groups()
        if not _HEX.fullmatch(digest) or (length is not None and len(digest) != length):
            expected = f"{length} hex digits" if length is not None else "hex digits"
            problem(f"line {number} has digest {digest!r}; expected {expected}")
            continue
        path = decode_manifest_path(encoded)
        if path in entries:
            problem(f"line {number} lists {path!r} again")
            continue
        entries[path] = digest.lower()
    return entries, findings


def parse_bag_info(text: bytes) -> list[tuple[str, str]]:
    """Read bag-info.txt (or bagit.txt) into ``(label, value)`` pairs, in file order.

    A line starting with a space or tab continues the value before it (joined
    with one space). Values and labels are stripped. Raises ValueError for
    text that is not UTF-8, a line without ``:``, or a continuation line
    before any label.
    """
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: {exc}") from None
    decoded = decoded.removeprefix("\ufeff")
    fields: list[list[str]] = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", decoded), start=1):
        if not line.strip():
            continue
        if line[0] in " \t":
            if not fields:
                raise ValueError(f"line {number} continues no label")
            fields[-1][1] = f"{fields[-1][1]} {line.strip()}".strip()
            continue
        label, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"line {number} has no ':'")
        fields.append([label.strip(), value.strip()])
    return [(label, value) for label, value in fields]


# --------------------------------------------------------------------------- internals


def _stored(path: str, data: bytes) -> StoredFile:
    d = digest_bytes(data)
    return StoredFile(path=path, size=d.size, sha256=d.sha256, sha512=d.sha512)


def _check_label(label: str) -> None:
    if not label or ":" in label or label != label.strip() or _LINE_BREAKS.search(label):
        raise ValueError(f"bag-info label {label!r} is not usable")


def _one_line(value: str) -> str:
    return _LINE_BREAKS.sub(" ", value).strip()


def _exact_line(value: str) -> str:
    if _one_line(value) == value:
        return value
    last = len(value) - 1
    return "".join(
        "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        if char == "%" or char in _BREAK_CHARS or (char.isspace() and index in (0, last))
        else char
        for index, char in enumerate(value))


def _hex_length(algorithm: str | None) -> int | None:
    if algorithm is None:
        return None
    try:
        return hashlib.new(algorithm).digest_size * 2
    except ValueError:
        return None


__all__ = [
    "BAGIT_TXT",
    "EXACT_FIELDS",
    "MOST_DIGITS",
    "PROFILE_IDENTIFIER",
    "RECORD_JSON",
    "REQUIRED_TAG_FILES",
    "bag_info_txt",
    "bag_size",
    "build_tag_files",
    "manifest_algorithm",
    "manifest_name",
    "manifest_txt",
    "parse_bag_info",
    "parse_manifest",
    "payload_oxum",
    "tagmanifest_name",
    "whole_number",
]
