"""Our own bag validator: a stored bag checked against itself and against the catalog.

``verify_bag`` lists a bag's objects once, reads each object once and reports
every problem it finds, each on the bag-relative path it concerns:

==================  ==============================================================
FILE_MISSING        a required tag file, a manifest entry or a catalog file is not stored
BAG_INVALID         bagit.txt is not BagIt 1.0 in UTF-8; a manifest of an algorithm
                    we do not verify
TAG_MISMATCH        a manifest line cannot be read or lists a path it must not; the
                    manifests disagree on which files there are; a tag file differs
                    from a tag manifest or the catalog; Payload-Oxum is wrong
FIXITY_MISMATCH     a payload file differs from a manifest or the catalog: one finding
                    per file naming every algorithm that disagrees
                    (``params["algorithms"]``; ``expected`` and ``found`` map each
                    of them to its digest)
SIZE_MISMATCH       a file's size differs from the catalog's
UNEXPECTED_FILE     a payload object in no manifest, any other object in no tag
                    manifest, or (with the catalog) any object the catalog lacks
==================  ==============================================================

A version that shares files with earlier versions (``ingest.layout``) lists
them in fetch.txt: each is read from the object that holds it, under the
earlier version's prefix, and checked as if it were in the bag; a fetch.txt
line that is not such a reference, or that disagrees with the catalog, is a
TAG_MISMATCH on fetch.txt. fetch.txt is the one tag file no tag manifest lists
(the catalog's digests and the sealed ``fetch_sha256`` hold it instead).
With ``vouched``, shared objects held by the versions it names are only
looked at (present, with their size): the scheduled fixity cycle checks each
shared object once, with the version that holds it.

With ``sealing`` (the version's ingestion event), ``verify_bag`` also holds
the stored bag to the audit chain: the digests of its manifests sealed in
that event (MANIFEST_NOT_AS_SEALED), so that a bag rewritten consistently —
payload, manifests, tag manifests, Payload-Oxum and the catalog's file rows —
is still caught. The manifests are compared as they were read for the rest of
the check, not read a second time.

Reading is ``ingest.bag_reading``'s: the bag's objects are listed once and
each is read once, the small ones side by side to a store that answers over a
network, with memory flat whatever the sizes.

A defect is reported once even when the manifests and the catalog both see it:
a flipped byte is one FIXITY_MISMATCH ("sha256 and sha512 differ"), not one
per algorithm or per source. A tag file's digest mismatch is likewise one
TAG_MISMATCH naming its algorithms.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from typing import Any, BinaryIO

from ingest.bag import (
    BAGIT_TXT,
    REQUIRED_TAG_FILES,
    manifest_algorithm,
    parse_bag_info,
    parse_manifest,
)
from ingest.bag_reading import StoredBag, read_bag_objects, read_fetched
from ingest.findings import Finding, in_words
from ingest.fixity import ALGORITHMS, Digests, digest_stream
from ingest.layout import FETCH_TXT
from ingest.models import AuditEvent, StoredFile
from ingest.ports import ObjectStore


def verify_bag(store: ObjectStore, prefix: str,
               expected: Sequence[StoredFile] | None = None,
               on_bytes: Callable[[int], None] | None = None,
               vouched: Container[int] = (),
               sealing: AuditEvent | None = None) -> list[Finding]:
    """Check the bag stored under ``prefix`` (``"{package_id}/v{N}/"``); return every finding.

    An empty list means the bag is complete and every byte matches its
    manifests and, when ``expected`` (the catalog's files of the version,
    payload and tag files) is given, the catalog too. Findings are sorted by
    path. ``on_bytes`` is told of each chunk's size as it is read (a progress
    bar). Raises StorageUnavailable (nothing can be said about the bytes then)
    and ValueError for a prefix that does not end with ``/``. ``vouched``: the
    numbers of the earlier versions whose shared objects are only looked at,
    not read (with ``expected`` only: their digests are the catalog's; see the
    module docstring). ``sealing``: the version's ingestion event
    (``Catalog.sealing_event``), whose sealed manifest digests the manifests
    read must have (MANIFEST_NOT_AS_SEALED for each that differs; a digest the
    event does not hold, from an older release, is not compared).
    """
    if not prefix.endswith("/"):
        raise ValueError(f"bag prefix {prefix!r} must end with '/'")
    report = _Report()
    stored = read_bag_objects(store, prefix, report, on_bytes)
    read_fetched(store, prefix, stored, report, on_bytes,
                  {f.path: f for f in expected} if expected is not None else None, vouched)
    manifests = _ManifestSet.read(stored, report)
    _check_required(stored, report)
    _check_bagit_txt(stored, report)
    _check_payload(stored, manifests, report)
    _check_tag_files(stored, manifests, report)
    _check_oxum(stored, report)
    if expected is not None:
        _check_catalog(stored, expected, report)
    report.extend(_not_as_sealed(stored, sealing))
    return report.sorted()


#: The manifests whose digests the ingestion event seals: (file, detail key).
SEALED_MANIFESTS = (("manifest-sha256.txt", "manifest_sha256"),
                    ("tagmanifest-sha256.txt", "tagmanifest_sha256"),
                    (FETCH_TXT, "fetch_sha256"))


def _not_as_sealed(stored: StoredBag, sealing: AuditEvent | None) -> list[Finding]:
    """MANIFEST_NOT_AS_SEALED for each manifest read whose SHA-256 is not the one
    ``sealing`` holds; one it does not hold, or not stored, is not compared."""
    if sealing is None:
        return []
    findings = []
    for name, key in SEALED_MANIFESTS:
        sealed = sealing.detail.get(key)
        digests = stored.digests.get(name)
        if not isinstance(sealed, str) or digests is None or name in stored.fetched:
            continue
        if digests.sha256 != sealed:
            findings.append(Finding("MANIFEST_NOT_AS_SEALED", path=name, expected=sealed,
                                    found=digests.sha256, params={"seq": sealing.seq}))
    return findings


def verify_stream(stream: BinaryIO, expected: StoredFile,
                  sink: Callable[[memoryview], None] | None = None) -> list[Finding]:
    """Read ``stream`` once, passing its bytes to ``sink``; findings if it is not ``expected``.

    SIZE_MISMATCH for another size; one FIXITY_MISMATCH naming each algorithm
    whose digest differs (TAG_MISMATCH for a tag file). Whatever the stream or the sink
    raises propagates (StorageUnavailable, OSError).
    """
    return check_digests(expected, digest_stream(stream, sink))


def check_digests(expected: StoredFile, digests: Digests) -> list[Finding]:
    """Findings if ``digests`` (of bytes just read) are not those of ``expected``."""
    report = _Report()
    _compare(expected, digests, "the catalog", report)
    return report.sorted()


class _ManifestSet:
    """The bag's payload and tag manifests, parsed, by algorithm."""

    def __init__(self) -> None:
        self.payload: dict[str, dict[str, str]] = {}
        self.tag: dict[str, dict[str, str]] = {}

    @classmethod
    def read(cls, stored: StoredBag, report: _Report) -> _ManifestSet:
        found = cls()
        for name in sorted(stored.texts):
            algorithm = manifest_algorithm(name)
            if algorithm is None:
                continue
            if algorithm not in ALGORITHMS:
                report.add(Finding("BAG_INVALID", path=name, params={
                    "detail": f"{name} uses {algorithm}; Strongroom bags use {', '.join(ALGORITHMS)}"}))
                continue
            entries, problems = parse_manifest(stored.texts[name], name)
            report.extend(problems)
            is_tag = name.startswith("tag")
            for path in list(entries):
                reason = _entry_refused(path, is_tag)
                if reason:
                    report.add(Finding("TAG_MISMATCH", path=name,
                                       params={"detail": f"it lists {path!r}, {reason}"}))
                    del entries[path]
            (found.tag if is_tag else found.payload)[algorithm] = entries
        return found


def _entry_refused(path: str, is_tag: bool) -> str | None:
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or "." in parts or "" in parts:
        return "a path that is not inside the bag"
    if is_tag and path.startswith("data/"):
        return "a payload file, in a tag manifest"
    if is_tag and manifest_algorithm(path) is not None and path.startswith("tagmanifest-"):
        return "a tag manifest, which no tag manifest may list"
    if not is_tag and not path.startswith("data/"):
        return "a file outside data/, in a payload manifest"
    return None


# --------------------------------------------------------------------------- checks


def _check_required(stored: StoredBag, report: _Report) -> None:
    for name in REQUIRED_TAG_FILES:
        if name not in stored:
            report.add(Finding("FILE_MISSING", path=name))


def _check_bagit_txt(stored: StoredBag, report: _Report) -> None:
    text = stored.texts.get("bagit.txt")
    if text is None or text == BAGIT_TXT:
        return
    try:
        fields = dict(parse_bag_info(text))
    except ValueError as exc:
        report.add(Finding("BAG_INVALID", path="bagit.txt", params={"detail": f"bagit.txt: {exc}"}))
        return
    version = fields.get("BagIt-Version")
    encoding = fields.get("Tag-File-Character-Encoding", "")
    if version != "1.0":
        report.add(Finding("BAG_INVALID", path="bagit.txt", expected="1.0", found=version,
                           params={"detail": f"BagIt-Version is {version!r}, expected '1.0'"}))
    if encoding.upper() not in ("UTF-8", "UTF8"):
        report.add(Finding("BAG_INVALID", path="bagit.txt", expected="UTF-8", found=encoding,
                           params={"detail": f"Tag-File-Character-Encoding is {encoding!r},"
                                             " expected 'UTF-8'"}))
    if text.startswith(b"\xef\xbb\xbf"):
        report.add(Finding("BAG_INVALID", path="bagit.txt",
                           params={"detail": "bagit.txt starts with a byte-order mark"}))


def _check_payload(stored: StoredBag, manifests: _ManifestSet, report: _Report) -> None:
    _check_listed(stored, manifests.payload, "manifest", report)
    listed = set().union(*manifests.payload.values()) if manifests.payload else set()
    for path in stored.payload():
        if path not in listed:
            report.add(Finding("UNEXPECTED_FILE", path=path))


def _check_tag_files(stored: StoredBag, manifests: _ManifestSet, report: _Report) -> None:
    _check_listed(stored, manifests.tag, "tagmanifest", report)
    listed = set().union(*manifests.tag.values()) if manifests.tag else set()
    for path in stored.tags():
        is_tagmanifest = path.startswith("tagmanifest-") and manifest_algorithm(path) is not None
        if path not in listed and not is_tagmanifest and path != FETCH_TXT:
            report.add(Finding("UNEXPECTED_FILE", path=path))


def _check_listed(stored: StoredBag, by_algorithm: dict[str, dict[str, str]], kind: str,
                  report: _Report) -> None:
    """Every file a manifest lists is stored with that digest, and every manifest lists it."""
    every = set().union(*by_algorithm.values()) if by_algorithm else set()
    for algorithm, entries in sorted(by_algorithm.items()):
        name = f"{kind}-{algorithm}.txt"
        for path in sorted(every - set(entries)):
            report.add(Finding("TAG_MISMATCH", path=name,
                               params={"detail": f"it does not list {path!r}, which another manifest lists"}))
        for path, digest in sorted(entries.items()):
            digests = stored.digests.get(path)
            if digests is None:
                report.add(Finding("FILE_MISSING", path=path))
                continue
            found = getattr(digests, algorithm)
            if found != digest:
                report.add(_digest_finding(path, algorithm, digest, found, name))


def _check_oxum(stored: StoredBag, report: _Report) -> None:
    text = stored.texts.get("bag-info.txt")
    if text is None:
        return  # reported as a missing required tag file
    try:
        values = [v for label, v in parse_bag_info(text) if label == "Payload-Oxum"]
    except ValueError as exc:
        report.add(Finding("TAG_MISMATCH", path="bag-info.txt", params={"detail": str(exc)}))
        return
    payload = [stored.digests[p] for p in stored.payload()]
    actual = f"{sum(d.size for d in payload)}.{len(payload)}"
    if len(values) != 1:
        report.add(Finding("TAG_MISMATCH", path="bag-info.txt", expected=actual, params={
            "detail": f"Payload-Oxum appears {len(values)} times, expected once"}))
    elif values[0] != actual:
        report.add(Finding("TAG_MISMATCH", path="bag-info.txt", expected=values[0], found=actual,
                           params={"detail": f"Payload-Oxum is {values[0]}, the payload is {actual}"}))


def _check_catalog(stored: StoredBag, expected: Sequence[StoredFile], report: _Report) -> None:
    known = {f.path for f in expected}
    for f in expected:
        digests = stored.digests.get(f.path)
        if digests is None:
            report.add(Finding("FILE_MISSING", path=f.path))
        else:
            _compare(f, digests, "the catalog", report)
    for path in stored.digests:
        if path not in known:
            report.add(Finding("UNEXPECTED_FILE", path=path))


def _compare(f: StoredFile, digests: Digests, source: str, report: _Report) -> None:
    if digests.size != f.size:
        report.add(Finding("SIZE_MISMATCH", path=f.path, expected=f.size, found=digests.size))
    for algorithm in ALGORITHMS:
        want, got = getattr(f, algorithm), getattr(digests, algorithm)
        if want != got:
            report.add(_digest_finding(f.path, algorithm, want, got, source))


def _digest_finding(path: str, algorithm: str, expected: str, found: str, source: str) -> Finding:
    """One algorithm's mismatch; ``_Report`` joins those of one file into one finding."""
    if path.startswith("data/"):
        return digest_mismatch(path, {algorithm: expected}, {algorithm: found})
    return Finding("TAG_MISMATCH", path=path, expected={algorithm: expected}, found={algorithm: found},
                   params={"algorithms": [algorithm], "source": source,
                           "detail": f"its {algorithm} differs from {source}"})


def digest_mismatch(path: str, expected: dict[str, str], found: dict[str, str]) -> Finding:
    """One FIXITY_MISMATCH for a payload file, naming every algorithm whose digest
    differs: ``expected`` and ``found`` map each such algorithm to its digest."""
    algorithms = [a for a in ALGORITHMS if a in expected] + sorted(set(expected) - set(ALGORITHMS))
    return Finding("FIXITY_MISMATCH", path=path,
                   expected={a: expected[a] for a in algorithms},
                   found={a: found.get(a) for a in algorithms},
                   params={"algorithms": algorithms})


def _joined(first: Finding, later: Finding) -> Finding:
    """``first`` with the algorithms of ``later`` it does not name yet (the same
    file's digest mismatch seen for another algorithm)."""
    expected, found = dict(first.expected), dict(first.found)
    for algorithm in later.params["algorithms"]:
        if algorithm not in expected:
            expected[algorithm] = later.expected[algorithm]
            found[algorithm] = later.found[algorithm]
    if first.code == "FIXITY_MISMATCH":
        assert first.path is not None
        return digest_mismatch(first.path, expected, found)
    algorithms = [a for a in ALGORITHMS if a in expected] + sorted(set(expected) - set(ALGORITHMS))
    source = first.params.get("source", "the catalog")
    differ = "differs" if len(algorithms) == 1 else "differ"
    return Finding(first.code, path=first.path, expected={a: expected[a] for a in algorithms},
                   found={a: found[a] for a in algorithms},
                   params={"algorithms": algorithms, "source": source,
                           "detail": f"its {in_words(algorithms)} {differ} from {source}"})


class _Report:
    """Findings, each defect of each path once; a file's digest mismatches in one
    finding naming every algorithm that disagrees."""

    def __init__(self) -> None:
        self._findings: dict[tuple[Any, ...], Finding] = {}

    def add(self, finding: Finding) -> None:
        # A digest defect is the same whichever source saw it; other
        # defects differ by what they say.
        if "algorithms" in finding.params:
            key: tuple[Any, ...] = (finding.code, finding.path, "digests")
            seen = self._findings.get(key)
            self._findings[key] = finding if seen is None else _joined(seen, finding)
            return
        key = (finding.code, finding.path, finding.params.get("detail"))
        self._findings.setdefault(key, finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def sorted(self) -> list[Finding]:
        return sorted(self._findings.values(),
                      key=lambda f: (f.path or "", f.code, str(f.params.get("detail", ""))))


__all__ = ["digest_mismatch", "verify_bag", "verify_stream"]
