"""The S3 store makes its client on first use, once, whatever the threads.

Commands that never touch the store (``status``, ``list``, a ``submit`` handed
to the workers) must not pay for a client they do not use, nor for importing
what makes one.
"""

from __future__ import annotations

import threading

import pytest

import storage.s3_client
from ingest.errors import ObjectNotFound, StorageUnavailable
from storage.s3 import S3ObjectStore
from tests.fresh_process import modules_loaded


def test_client_is_made_on_first_use_and_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str | None, str | None]] = []
    real = storage.s3_client.make_client

    def counting(endpoint_url: str | None = None, region: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
        made.append((endpoint_url, region))
        return real(endpoint_url, region, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(storage.s3_client, "make_client", counting)
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


def test_opening_an_s3_store_does_not_import_what_makes_a_client() -> None:
    # botocore's sessions, configuration and model loader (about 150 modules)
    # used to load with the store, in every command that names one.
    probe = ("from storage.s3 import S3ObjectStore\n"
             "S3ObjectStore('archive', 'packages', endpoint_url='http://127.0.0.1:9')\n")
    assert modules_loaded(probe, ("storage.s3_client", "botocore.session", "boto3")) == []


def test_services_with_an_s3_store_import_no_botocore_until_the_store_is_used(
        tmp_path: pytest.TempPathFactory) -> None:
    # An --in-place submit, `status`, `list` never reach the store, yet loaded
    # botocore's exceptions (about 145 modules) for the store's error handling.
    probe = (
        "from strongroom.bootstrap import build_services\n"
        "from strongroom.settings import Settings\n"
        "services = build_services(Settings.from_env({\n"
        f"    'STRONGROOM_DATA_DIR': {str(tmp_path)!r},\n"
        "    'STRONGROOM_STORAGE_URL': 's3://archive/packages',\n"
        "    'STRONGROOM_S3_ENDPOINT_URL': 'http://127.0.0.1:9'}))\n")
    assert modules_loaded(probe, ("botocore", "boto3")) == []


def test_errors_of_a_store_whose_botocore_loads_late_are_still_the_domains() -> None:
    store = S3ObjectStore("archive", "packages", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(StorageUnavailable):
        store.stat("a/b.txt")
    with pytest.raises(ValueError, match="empty or ends with"):
        store.stat("a/")
