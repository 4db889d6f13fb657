"""A stored bag read back into the catalog's record of its version (the catalog
rebuild's reading of each version it finds in a store): the identifier, title and
record, the digests of every file from the bag's manifests (its tag manifests and
fetch.txt hashed), the sizes from the store's listing, the files shared with
earlier versions from fetch.txt, and the formats identified at ingest."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import unquote

from ingest.bag import parse_bag_info, parse_fetch, parse_manifest
from ingest.errors import ObjectNotFound
from ingest.fixity import ALGORITHMS, digest_bytes, digest_stream
from ingest.format_identification import FORMATS_JSON, parse_formats_json
from ingest.layout import FETCH_TXT, version_prefix
from ingest.models import StoredFile, VersionRecord, package_id_for
from ingest.ports import ObjectStore


class BagUnusable(Exception):
    """The bag in this location cannot be read into a version."""


def read_version(store: ObjectStore, package_id: str, number: int) -> VersionRecord:
    """The catalog's record of one stored bag, read from its tag files.

    Raises BagUnusable (bag-info.txt, the record or a manifest missing or
    unreadable, or a package id that is not the identifier's), StorageUnavailable.
    """
    prefix = version_prefix(package_id, number)
    sizes = {info.key[len(prefix):]: info.size for info in store.list(prefix)}

    def text(path: str) -> bytes:
        try:
            with store.open(prefix + path) as stream:
                return stream.read()
        except ObjectNotFound as exc:
            raise BagUnusable(f"{path} is not stored") from exc

    try:
        info = dict(parse_bag_info(text("bag-info.txt")))
        record = json.loads(text("metadata/record.json").decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BagUnusable(str(exc)) from exc
    if not isinstance(record, dict):
        raise BagUnusable("the record is no object")
    identifier = _identifier(record, info.get("External-Identifier"), package_id)
    digests: dict[str, dict[str, str]] = {}
    for kind in ("manifest", "tagmanifest"):
        for algorithm in ALGORITHMS:
            entries, _ = parse_manifest(text(f"{kind}-{algorithm}.txt"), f"{kind}-{algorithm}.txt")
            for path, digest in entries.items():
                digests.setdefault(path, {})[algorithm] = digest
    for algorithm in ALGORITHMS:  # the tag manifests are in no manifest: hash them
        name = f"tagmanifest-{algorithm}.txt"
        with store.open(prefix + name) as stream:
            d = digest_stream(stream)
        digests[name] = {"sha256": d.sha256, "sha512": d.sha512}
    # Files shared with earlier versions (ingest.layout): their size and holder
    # from fetch.txt, which no tag manifest lists: hashed like the tag manifests.
    held: dict[str, tuple[int, int]] = {}
    if FETCH_TXT in sizes:
        fetch = text(FETCH_TXT)
        held, _ = parse_fetch(fetch, number)
        d = digest_bytes(fetch)
        digests[FETCH_TXT] = {"sha256": d.sha256, "sha512": d.sha512}
    # The formats identified at ingest, where the bag says them.
    formats = parse_formats_json(text(FORMATS_JSON)) if FORMATS_JSON in digests else {}
    files = tuple(
        StoredFile(path, held[path][1] if path in held else sizes.get(path, 0),
                   d.get("sha256", ""), d.get("sha512", ""), format=formats.get(path),
                   held_by=held[path][0] if path in held else None)
        for path, d in sorted(digests.items()))
    return VersionRecord(
        package_id=package_id, number=number, identifier=identifier,
        title=str(record.get("title", "")), record=record,
        created_at=_bagging_day(info.get("Bagging-Date")),
        batch_id=info.get("Bag-Group-Identifier"), item_id=None, files=files)


def _identifier(record: dict[str, Any], external: str | None, package_id: str) -> str:
    """The identifier the bag was stored under: the record's (exact, JSON), else
    bag-info's External-Identifier as written or percent-decoded (see
    ``ingest.bag.EXACT_FIELDS``); the one whose package id is ``package_id``.
    Raises BagUnusable when none is."""
    candidates = [record.get("identifier"), external, unquote(external) if external else None]
    usable = [c for c in candidates if isinstance(c, str) and c]
    for candidate in usable:
        if package_id_for(candidate) == package_id:
            return candidate
    if not usable:
        raise BagUnusable("neither the record nor bag-info.txt names an identifier")
    raise BagUnusable(f"identifier {usable[0]!r} belongs to package"
                    f" {package_id_for(usable[0])}, not {package_id}")


def _bagging_day(value: str | None) -> datetime:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        day = date(1970, 1, 1)
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


__all__ = ["BagUnusable", "read_version"]
