"""A shallow check's audit event says which digests it compared, and no more.

A shallow check compares a file's SHA-256 only where the store keeps one of its
own (S3 does; a filesystem does not). Its PREMIS event said ``"algorithms":
["sha256"]`` whatever the store, so on a filesystem the audit log claimed a
digest comparison that never happened.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ingest.fixity_audit import shallow_check, verify_version
from ingest.models import EventType
from ingest.services import Services
from tests.fakes import MemoryObjectStore
from tests.unit.test_fixity_schedule import package
from tests.unit.test_fixity_schedule import services as stored  # noqa: F401 (the fixture)


def last_check_digests(services: Services) -> dict:
    checks = [e for e in services.catalog.events(package())
              if e.event_type == EventType.FIXITY_CHECK.value]
    return checks[-1].detail["digests"]


def test_a_shallow_check_of_a_store_that_keeps_no_digest_does_not_claim_to_have_compared_one(
        stored: Services) -> None:  # noqa: F811
    assert shallow_check(stored, package(), 1).findings == ()
    digests = last_check_digests(stored)
    assert digests["algorithms"] == [] and digests["files_compared"] == 0

    # where the store keeps its own SHA-256 (as S3 does), the event says so
    memory = MemoryObjectStore("memory://replica")
    for path in Path(stored.store.root).rglob("*"):  # type: ignore[attr-defined]
        if path.is_file():
            key = path.relative_to(stored.store.root).as_posix()  # type: ignore[attr-defined]
            memory.objects[key] = path.read_bytes()
    with_memory = replace(stored, replicas=(memory,))
    assert shallow_check(with_memory, package(), 1, "memory://replica").findings == ()
    digests = last_check_digests(with_memory)
    files = len(stored.catalog.get_version(package(), 1).files)
    assert digests["algorithms"] == ["sha256"] and digests["files_compared"] == files

    # a deep check compares both digests of every file
    assert verify_version(stored, package(), 1).findings == ()
    digests = last_check_digests(stored)
    assert digests["algorithms"] == ["sha256", "sha512"] and digests["files_compared"] == files
