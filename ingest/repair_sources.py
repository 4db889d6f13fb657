"""Where repair takes the good bytes of one damaged object from, and how it copies them.

For a file of a version, ``ingest.repair`` tries, in this order:

1. the same object in a copy of the version that its deep check found whole
   moments before (the usual source);
2. every other stored object that the catalog records with the same size,
   SHA-256 and SHA-512 (``FixityCatalog.objects_with_digests``, a lookup by
   digest): the same object in the other locations (a copy damaged in other
   files still holds this one whole), the object of another version of the
   package that stored the same bytes again (a correction made while this
   version was not held whole), another package's object with the same bytes;
   each in every location, the damaged copy's own first.

Other objects are compared with the catalog's digests, so they are used only
while the catalog's record of the version is the one its ingestion event sealed
(``ingest.delivery_seal.held_to_seal``): a bag rewritten together with the
catalog is never spread from its forged copy. No source is trusted for what the
catalog says of it: every byte is hashed on
its way to the target, and the write is published only if size, SHA-256 and
SHA-512 are the damaged file's as recorded; otherwise nothing is written and
the next source is tried. A source that is missing, out of reach or not as
recorded is skipped; the first that passes is the one repair names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ingest.errors import ObjectNotFound, StorageUnavailable
from ingest.fixity import digest_stream
from ingest.layout import object_key, version_prefix
from ingest.models import StoredFile, VersionRecord
from ingest.object_versions import copy_view
from ingest.ports import FixityCatalog, ObjectStore

#: other objects with the same digests asked of the catalog, per file
CANDIDATES = 8


@dataclass(frozen=True)
class Source:
    """One object that may hold a file's bytes: ``key`` in ``store`` (read as the
    catalog's notes on object versions say)."""

    store: ObjectStore
    key: str
    #: the same object in a copy verified whole moments before
    verified: bool = False

    def to_dict(self) -> dict[str, str]:
        return {"location": self.store.location, "key": self.key}


class NoSource(Exception):
    """No source gave the recorded bytes of an object; the message says what each gave."""


class TargetFailed(Exception):
    """Writing to the copy being repaired failed (``__cause__``): no other source helps."""


class Sources:
    """The sources of the objects of one version, in the order repair tries them."""

    def __init__(self, catalog: FixityCatalog, locations: Sequence[ObjectStore],
                 version: VersionRecord, verified: ObjectStore | None,
                 out_of_reach: frozenset[str] = frozenset(),
                 as_sealed: Callable[[], bool] = lambda: True) -> None:
        """``as_sealed`` says whether the catalog's digests of the version are the
        sealed ones; asked once, the first time other objects are sought."""
        self.catalog = catalog
        self._as_sealed = as_sealed
        self._sealed: bool | None = None
        self.locations = [s for s in locations if s.location not in out_of_reach]
        self.version = version
        self.verified = verified
        self._views: dict[tuple[str, str], ObjectStore] = {}

    def _view(self, store: ObjectStore, package_id: str) -> ObjectStore:
        """``store`` reading ``package_id``'s objects in the versions the catalog notes."""
        key = (store.location, package_id)
        if key not in self._views:
            self._views[key] = copy_view(self.catalog, store, package_id)
        return self._views[key]

    def of(self, f: StoredFile, target: str) -> Iterator[Source]:
        """The sources of file ``f`` of the version for the copy in location
        ``target``: never the very object being repaired."""
        key = object_key(self.version.package_id, self.version.number, f)
        tried = {(target, key)}
        if self.verified is not None and self.verified.location != target:
            tried.add((self.verified.location, key))
            yield Source(self.verified, key, verified=True)
        if self._sealed is None:
            self._sealed = self._as_sealed()
        if not self._sealed:
            return  # the catalog's digests vouch for nothing: no other object is sought
        others = self.catalog.objects_with_digests(
            f.size, f.sha256, f.sha512, package_id=self.version.package_id, limit=CANDIDATES)
        # the damaged copy's own location first: a read there costs no transfer
        stores = sorted(self.locations, key=lambda s: s.location != target)
        for package_id, number, path in others:
            other = version_prefix(package_id, number) + path
            for store in stores:
                if (store.location, other) not in tried:
                    tried.add((store.location, other))
                    yield Source(self._view(store, package_id), other)


def copy_from_first_good(sources: Iterator[Source], target: ObjectStore, key: str,
                 expected: StoredFile, written: dict[str, str]) -> Source:
    """Write ``key`` in ``target`` from the first of ``sources`` whose bytes are
    ``expected``'s (size, SHA-256, SHA-512), hashed on their way; return that
    source. The object version the write made, where the store keeps versions,
    goes into ``written`` (key -> version id). Raises NoSource (nothing written),
    TargetFailed (the write to ``target`` failed)."""
    refused: list[str] = []
    for source in sources:
        why = _copy_from(source, target, key, expected, written)
        if why is None:
            return source
        refused.append(why)
    raise NoSource(f"no stored object gave the recorded bytes of {expected.path}"
                   + (f" ({'; '.join(refused)})" if refused else
                      " (no copy verified good holds it, and no other stored object has its"
                      " recorded digests)"))


def _copy_from(source: Source, target: ObjectStore, key: str, expected: StoredFile,
               written: dict[str, str]) -> str | None:
    """Copy one source into ``key`` of ``target`` if its bytes are the recorded
    ones; None when done, else why not, in words."""
    where = f"{source.key} at {source.store.location}"
    try:
        writer = target.writer(key)
    except StorageUnavailable as exc:
        raise TargetFailed(str(exc)) from exc

    def write(chunk: bytes | memoryview) -> None:
        try:
            writer.write(chunk)
        except StorageUnavailable as exc:
            raise TargetFailed(str(exc)) from exc

    try:
        try:
            with source.store.open(source.key) as stream:
                digests = digest_stream(stream, write)
        except ObjectNotFound:
            writer.abort()
            return f"{where} is not there"
        except StorageUnavailable as exc:
            writer.abort()
            return f"{where} could not be read: {exc}"
        if (digests.size, digests.sha256, digests.sha512) != (expected.size, expected.sha256,
                                                              expected.sha512):
            writer.abort()
            return (f"{where} changed since it was verified" if source.verified
                    else f"{where} is not as recorded")
        try:
            info = writer.commit(expected.sha256)
        except StorageUnavailable as exc:
            raise TargetFailed(str(exc)) from exc
    except BaseException:
        writer.abort()
        raise
    if info.version_id is not None and info.version_id != "null":
        written[key] = info.version_id
    return None


__all__ = ["CANDIDATES", "NoSource", "Source", "Sources", "TargetFailed", "copy_from_first_good"]
