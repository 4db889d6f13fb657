"""What a store says of a version's fate, read for ``catalog rebuild``
(``ingest.rebuild``): whether a file under a commit record's name says its
version was committed, which versions a committed version's fetch.txt reads
files from (committed too, though their records were lost), and the tombstones
of deaccessioned versions.
"""

from __future__ import annotations

import json
from dataclasses import replace

from ingest.bag import parse_fetch
from ingest.errors import ObjectNotFound
from ingest.layout import FETCH_TXT, version_prefix
from ingest.ports import ObjectStore
from ingest.tombstones import DeaccessionRequest, version_of_tombstone


def referenced_by(fetches: dict[tuple[str, int], ObjectStore], committed: set[tuple[str, int]],
                   found: set[tuple[str, int]]) -> dict[tuple[str, int], list[int]]:
    """The versions with a bag (in ``found``) but not in ``committed`` that a
    committed version's fetch.txt reads files from, each with the numbers of the
    versions that do; followed on through the fetch.txt of each one found (it is
    committed too). Raises StorageUnavailable."""
    by: dict[tuple[str, int], set[int]] = {}
    todo = sorted(committed)
    while todo:
        package_id, number = todo.pop()
        store = fetches.get((package_id, number))
        if store is None:
            continue
        try:
            with store.open(version_prefix(package_id, number) + FETCH_TXT) as stream:
                held, _ = parse_fetch(stream.read(), number)
        except ObjectNotFound:
            continue  # gone since the listing: the version's own check says so
        for holder in {holder for holder, _ in held.values()}:
            key = (package_id, holder)
            if key in committed or key not in found:
                continue
            if key not in by:
                todo.append(key)
            by.setdefault(key, set()).add(number)
    return {key: sorted(numbers) for key, numbers in by.items()}


def record_says_otherwise(store: ObjectStore, key: str, record: tuple[str, int]) -> str | None:
    """Why the commit record at ``key`` does not say that version ``record`` was
    committed (not JSON, empty, another version's), or None when it does."""
    try:
        with store.open(key) as stream:
            body = json.loads(stream.read(64 * 1024))
    except ValueError:
        return "it is not the JSON a commit record is (empty, or other bytes)"
    except ObjectNotFound:
        return "it could not be read"
    if not isinstance(body, dict):
        return "it is not the JSON object a commit record is"
    said = (body.get("package_id"), body.get("version"))
    if said != record:
        return f"it names {said[0]!r} version {said[1]!r}, not the version its name gives"
    return None


def read_tombstone(store: ObjectStore, key: str, into: dict[str, DeaccessionRequest]) -> bool:
    """Read the tombstone at ``key`` into ``into`` (by request, the versions of one
    request merged); False when it is none."""
    named = version_of_tombstone(key)
    if named is None:
        return False
    try:
        with store.open(key) as stream:
            request = DeaccessionRequest.from_dict(json.loads(stream.read().decode("utf-8")))
    except (ObjectNotFound, ValueError, UnicodeDecodeError):
        return False
    if (request.package_id, ) != named[:1] or named[1] not in request.withdrawn_numbers():
        return False
    known = into.get(request.request_id)
    if known is not None:
        versions = {v.number: v for v in (*known.versions, *request.versions)}
        request = replace(known, versions=tuple(versions[n] for n in sorted(versions)))
    into[request.request_id] = request
    return True


__all__ = ["read_tombstone", "record_says_otherwise", "referenced_by"]
