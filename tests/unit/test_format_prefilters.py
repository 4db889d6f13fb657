"""The prefilters that make PRONOM matching cheap never change what it finds:
for every file here, the matches are exactly those of fido's own
``match_formats``, which tries every pattern of every signature."""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.fido_formats import BUFSIZE, FidoIdentifier
from tests.unit.test_format_identification import NOISE, PDF, TEXT, TIFF

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def identifier() -> FidoIdentifier:
    identifier = FidoIdentifier()
    identifier._loaded()
    return identifier


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("minutes.txt", TEXT)
    return out.getvalue()


def _made() -> Iterator[tuple[str, bytes]]:
    """Files made here: the usual formats, and files built on each prefilter's edge."""
    rnd = random.Random(1921)
    yield "pdf", PDF
    yield "tiff", TIFF
    yield "text", TEXT
    yield "noise", NOISE
    yield "one byte", b"%"
    yield "zip", _zip()
    yield "gzip", gzip.compress(TEXT, mtime=0)
    yield "png header", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rnd.getrandbits(8) for _ in range(64))
    yield "gif", b"GIF89a" + bytes(64) + b"\x3b"
    yield "jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200) + b"\xff\xd9"
    yield "html", b"<!DOCTYPE html><html><head><title>t</title></head><body></body></html>"
    yield "xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<schema></schema>\n'
    yield "rtf", b"{\\rtf1\\ansi minutes}"
    yield "wave", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)
    # a literal at the very end of a BOF pattern's reach, and one byte past it
    # (fmt/1244: \A.{0,20500}http://isds.czechpoint.cz/v20/SentMessage)
    for gap in (20500, 20501):
        yield f"literal at {gap}", b"<" + b" " * (gap - 1) + b"http://isds.czechpoint.cz/v20/SentMessage"
    # JPEG's end marker exactly at the end of an EOF pattern's window, and past it
    # (x-fmt/398: \xff\xd9.{0,65536}\Z)
    for after in (65536, 65537):
        yield f"end marker {after} from the end", b"\xff\xd8\xff" + b"\xff\xd9" + b"\x00" * after
    # a byte fixed past the start: \A.{80}CT\x00... and its near misses
    yield "byte at 80", b"\x00" * 80 + b"CT" + b"\x00" * 200
    yield "byte at 79", b"\x00" * 79 + b"CT" + b"\x00" * 201
    for size in (1, 7, 100, 8192, BUFSIZE + 5):
        yield f"random {size}", bytes(rnd.getrandbits(8) for _ in range(size))


def _found() -> Iterator[tuple[str, bytes]]:
    """Files of the repository of many kinds: images, scripts, styles, text, JSON."""
    for pattern in ("docs/screenshots/*.png", "strongroom/web/static/**/*", "schemas/*",
                    "examples/**/*", "tests/fixtures/**/*", "docs/*.md"):
        for path in sorted(ROOT.glob(pattern))[:12]:
            if path.is_file() and path.stat().st_size:
                yield path.relative_to(ROOT).as_posix(), path.read_bytes()


CORPUS = [*_made(), *_found()]


@pytest.mark.parametrize("name, data", CORPUS, ids=[name for name, _ in CORPUS])
def test_prefilters_find_exactly_what_fido_finds(identifier: FidoIdentifier, name: str,
                                                 data: bytes) -> None:
    head, tail = data[:BUFSIZE], data[-BUFSIZE:]
    ours = [(element.findtext("puid"), signature) for element, signature in
            identifier._match_formats(head, tail)]
    reference = [(element.findtext("puid"), signature) for element, signature in
                 identifier._fido.match_formats(head, tail)]
    assert ours == reference


def test_the_edges_are_told_apart(identifier: FidoIdentifier) -> None:
    """The corpus's edge files do fall on both sides of each prefilter."""
    made = dict(_made())

    def puids(data: bytes) -> set[str]:
        head, tail = data[:BUFSIZE], data[-BUFSIZE:]
        return {element.findtext("puid") for element, _ in identifier._match_formats(head, tail)}
    assert "fmt/1244" in puids(made["literal at 20500"])
    assert "fmt/1244" not in puids(made["literal at 20501"])
    assert "fmt/41" in puids(made["end marker 65536 from the end"])  # raw JPEG
    assert "fmt/41" not in puids(made["end marker 65537 from the end"])


def _with_planted_literals(identifier: FidoIdentifier, count: int) -> Iterator[bytes]:
    """Files of random bytes, each beginning with a byte some signature asks for
    and holding a few of the signatures' own literal runs, at offsets near the
    start, near a BOF pattern's reach and near the end: files on which many of
    the cheap tests pass, so the patterns themselves decide."""
    rnd = random.Random(1951)
    literals = sorted({pattern.literal for _element, signatures in identifier._compiled
                       for signature in signatures for pattern in signature.patterns
                       if pattern.literal is not None})
    reaches = sorted({pattern.reach for _element, signatures in identifier._compiled
                      for signature in signatures for pattern in signature.patterns
                      if pattern.position == "BOF" and pattern.reach < 4096})
    firsts = sorted({b for _element, signatures in identifier._compiled
                     for signature in signatures for b in signature.first_bytes or ()})
    for _ in range(count):
        data = bytearray(rnd.randbytes(rnd.choice((64, 600, 5000))))
        data[0] = rnd.choice(firsts)
        for _ in range(rnd.randint(1, 4)):
            literal = rnd.choice(literals)
            end = rnd.choice([*reaches, len(data), rnd.randrange(len(data) + 1)])
            end += rnd.choice((-1, 0, 1))
            start = min(max(1, end - len(literal)), max(1, len(data) - len(literal)))
            data[start:start + len(literal)] = literal
        yield bytes(data)


def test_signatures_filed_under_their_cheap_test_find_exactly_what_fido_finds(
        identifier: FidoIdentifier) -> None:
    # Each first byte's signatures are filed under one test each (a byte at an
    # offset, a literal run in the head or the tail) and only those that pass
    # theirs are tried: on files full of the signatures' own runs the matches
    # must still be fido's own, in fido's order.
    for data in _with_planted_literals(identifier, 300):
        ours = [(element.findtext("puid"), signature) for element, signature in
                identifier._match_formats(data, data)]
        reference = [(element.findtext("puid"), signature) for element, signature in
                     identifier._fido.match_formats(data, data)]
        assert ours == reference, data[:16]


def test_a_file_of_random_bytes_runs_few_patterns(identifier: FidoIdentifier,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A file of 8 KiB of random bytes went through about 350 signatures one by
    # one in Python, running some 200 of their patterns' cheap tests: half a
    # millisecond a file, in a batch of small files more than hashing them.
    # Each distinct test is now asked once; only what passes is tried.
    import storage.fido_prefilters as fido_prefilters

    ran = 0
    matches = fido_prefilters.Pattern.matches

    def counted(pattern: fido_prefilters.Pattern, head: bytes, tail: bytes) -> bool:
        nonlocal ran
        ran += 1
        return matches(pattern, head, tail)

    monkeypatch.setattr(fido_prefilters.Pattern, "matches", counted)
    rnd = random.Random(8)
    files = [rnd.randbytes(8192) for _ in range(200)]
    for data in files:
        identifier._match_formats(data, data)
    assert ran / len(files) < 40
