"""The S3 store makes its boto3 client on first use, once, whatever the threads.

Commands that never touch the store (``status``, ``list``, a ``submit`` handed
to the workers) must not pay for a client they do not use.
"""

from __future__ import annotations

import threading

import pytest

import storage.s3
from ingest.errors import ObjectNotFound, StorageUnavailable
from storage.s3 import S3ObjectStore


def test_client_is_made_on_first_use_and_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str | None, str | None]] = []
    real = storage.s3.make_client

    def counting(endpoint_url: str | None = None, region: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
        made.append((endpoint_url, region))
        return real(endpoint_url, region, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(storage.s3, "make_client", counting)
    # Nothing listens on port 9 (discard): any request is refused.
    store = S3ObjectStore("archive", "packages", endpoint_url="http://127.0.0.1:9",
                          region="eu-west-1")
    assert made == []
    assert store.location == "s3://archive/packages"

    errors: list[BaseException] = []

    def use() -> None:
        try:
            store.stat("a/b.txt")
        except (StorageUnavailable, ObjectNotFound) as exc:
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == [("http://127.0.0.1:9", "eu-west-1")]
    assert len(errors) == 4 and all(isinstance(e, StorageUnavailable) for e in errors)
