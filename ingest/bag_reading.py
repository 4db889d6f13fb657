"""Reading a stored bag for ``ingest.verification``: its objects listed once and
each read once, the files its fetch.txt names read where the earlier version
holds them, and what was read kept for the checks (``StoredBag``).

To a store that answers over a network (``requests_in_flight`` above 1, as the
S3 store says), the small objects (the tag files, small payload files) are read
side by side, up to that many at once, while the large ones stream one after
another on the caller's thread. Memory stays flat: a small object is at most
``SMALL_OBJECT`` bytes, and of the others only the tag files that are parsed
are kept. What reading finds (an object gone between the listing and its read,
a fetch.txt that is not a version's) goes to the caller's ``FindingSink``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

from ingest.bag import manifest_algorithm, parse_fetch
from ingest.errors import ObjectNotFound
from ingest.findings import Finding
from ingest.fixity import CHUNK_SIZE, Digests, digest_stream
from ingest.layout import FETCH_TXT
from ingest.models import StoredFile
from ingest.ports import ObjectStore
from ingest.replication import requests_in_flight

_T = TypeVar("_T")

#: An object of at most this many bytes is read whole in one request, side by
#: side with the other small ones (see the module docstring).
SMALL_OBJECT = CHUNK_SIZE


class FindingSink(Protocol):
    """Where reading puts what it finds (``ingest.verification``'s report)."""

    def add(self, finding: Finding) -> None: ...

    def extend(self, findings: Iterable[Finding]) -> None: ...


class StoredBag:
    """What one pass over a bag's objects found: digests, and the text of its tag files."""

    def __init__(self) -> None:
        self.fetched: dict[str, int] = {}   # bag path -> the version holding it
        self.digests: dict[str, Digests] = {}
        self.texts: dict[str, bytes] = {}

    def __contains__(self, path: str) -> bool:
        return path in self.digests

    def payload(self) -> list[str]:
        return [p for p in self.digests if p.startswith("data/")]

    def tags(self) -> list[str]:
        return [p for p in self.digests if not p.startswith("data/")]


def read_bag_objects(store: ObjectStore, prefix: str, report: FindingSink,
              on_bytes: Callable[[int], None] | None = None) -> StoredBag:
    stored = StoredBag()
    infos = list(store.list(prefix))
    paths = [info.key[len(prefix):] for info in infos]
    reads = [_reader(store, info.key, _is_parsed(path), on_bytes)
             for info, path in zip(infos, paths, strict=True)]
    small = [info.size <= SMALL_OBJECT or _is_parsed(path)
             for info, path in zip(infos, paths, strict=True)]
    for path, read in zip(paths, _side_by_side(reads, small, requests_in_flight(store)),
                          strict=True):
        if read is None:
            # Deleted between the listing and the read: as good as never stored.
            report.add(Finding("FILE_MISSING", path=path))
            continue
        stored.digests[path], text = read
        if text is not None:
            stored.texts[path] = text
    return stored


def _reader(store: ObjectStore, key: str, keep: bool, on_bytes: Callable[[int], None] | None,
            ) -> Callable[[], tuple[Digests, bytes | None] | None]:
    """A call that reads the object ``key`` once: its digests, and its bytes when
    ``keep``; None when it is not stored."""
    def read() -> tuple[Digests, bytes | None] | None:
        chunks: list[bytes] = []

        def sink(chunk: memoryview) -> None:
            if keep:
                chunks.append(bytes(chunk))
            if on_bytes is not None:
                on_bytes(len(chunk))
        try:
            with store.open(key) as stream:
                digests = digest_stream(stream, sink if keep or on_bytes is not None else None)
        except ObjectNotFound:
            return None
        return digests, b"".join(chunks) if keep else None
    return read


def _side_by_side(calls: Sequence[Callable[[], _T]], small: Sequence[bool], most: int) -> list[_T]:
    """Run ``calls`` and return their results in order: the first marked
    ``small`` alone, then the other small ones up to ``most`` at once on
    threads, and the rest one after another on this thread meanwhile. Every
    call started has ended before this returns or raises (what a call on this
    thread raised, else the first exception of the others in the calls' order)."""
    if most <= 1 or sum(small) <= 2:
        return [call() for call in calls]
    # The first small request goes alone: a client's first request of a kind
    # works out and caches what every later one reuses (botocore: the endpoint,
    # the request's model), and eight first requests at once would each do it
    # (measured: a cold one-package verify took 0.7 s instead of 0.5 s).
    first = small.index(True)
    here = {first: calls[first]()}
    with ThreadPoolExecutor(max_workers=min(most, sum(small) - 1),
                            thread_name_prefix="bag-reads") as pool:
        futures: list[Future[_T] | None] = [
            pool.submit(call) if is_small and index != first else None
            for index, (call, is_small) in enumerate(zip(calls, small, strict=True))]
        here.update({index: call() for index, (call, future)
                     in enumerate(zip(calls, futures, strict=True))
                     if future is None and index != first})
    return [future.result() if future is not None else here[index]
            for index, future in enumerate(futures)]


def _is_parsed(path: str) -> bool:
    """Tag files whose text we read: bagit.txt, bag-info.txt, fetch.txt, the (tag)manifests."""
    return path in ("bagit.txt", "bag-info.txt", FETCH_TXT) or manifest_algorithm(path) is not None


_VERSION_PREFIX = re.compile(r"(.*/)v([1-9][0-9]*)/")


def read_fetched(store: ObjectStore, prefix: str, stored: StoredBag, report: FindingSink,
                  on_bytes: Callable[[int], None] | None,
                  expected: dict[str, StoredFile] | None, vouched: Container[int]) -> None:
    """Read (or, for a ``vouched`` holder, look at) each file fetch.txt lists,
    where the earlier version holds it; check the references against the catalog."""
    text = stored.texts.get(FETCH_TXT)
    held: dict[str, tuple[int, int]] = {}
    named = _VERSION_PREFIX.fullmatch(prefix)
    if text is not None:
        if named is None:
            report.add(Finding("TAG_MISMATCH", path=FETCH_TXT, params={
                "detail": f"{prefix!r} is not a version's prefix"}))
        else:
            held, problems = parse_fetch(text, int(named.group(2)))
            report.extend(problems)
    if expected is not None:
        for f in expected.values():
            if f.held_by is not None and held.get(f.path, (None, 0))[0] != f.held_by:
                report.add(Finding("TAG_MISMATCH", path=FETCH_TXT, params={
                    "detail": f"it does not list {f.path!r} as held by version {f.held_by}, "
                              f"as the catalog does"}))
    reads: list[tuple[str, int, int, Callable[[], Digests | None]]] = []
    for path, (number, size) in sorted(held.items()):
        if path in stored:
            report.add(Finding("TAG_MISMATCH", path=FETCH_TXT, params={
                "detail": f"it lists {path!r}, which the bag holds itself"}))
            continue
        assert named is not None
        known = expected.get(path) if expected is not None else None
        # checked with the version that holds it: read only if it looks wrong
        look = known if (known is not None and known.held_by == number
                         and number in vouched) else None
        reads.append((path, number, size, _fetched_reader(
            store, f"{named.group(1)}v{number}/{path}", look, on_bytes)))
    results = _side_by_side([read for *_, read in reads],
                            [size <= SMALL_OBJECT for _, _, size, _ in reads],
                            requests_in_flight(store))
    for (path, number, size, _), digests in zip(reads, results, strict=True):
        if digests is None:
            report.add(Finding("FILE_MISSING", path=path, params={"held_by": number}))
            continue
        if digests.size != size:
            report.add(Finding("TAG_MISMATCH", path=FETCH_TXT, expected=size, found=digests.size,
                               params={"detail": f"it gives {path!r} {size} bytes; the object "
                                                 f"holds {digests.size}"}))
        stored.digests[path] = digests
        stored.fetched[path] = number


def _fetched_reader(store: ObjectStore, key: str, look: StoredFile | None,
                    on_bytes: Callable[[int], None] | None) -> Callable[[], Digests | None]:
    """A call that reads the shared object ``key`` once (its digests; None when
    not stored), or with ``look`` (the catalog's file, vouched for) only looks
    at it: the catalog's digests when it is there with that size."""
    def read() -> Digests | None:
        try:
            if look is not None and store.stat(key).size == look.size:
                return Digests(look.size, look.sha256, look.sha512)
            with store.open(key) as stream:
                return digest_stream(stream, None if on_bytes is None
                                     else lambda chunk: on_bytes(len(chunk)))
        except ObjectNotFound:
            return None
    return read
