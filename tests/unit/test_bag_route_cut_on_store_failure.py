"""A bag streamed over HTTP that stops because the store failed stops inside an entry.

``ingest.retrieval`` cuts its archive inside the entry it was writing when the
store fails (tests/unit/test_delivery_cut_on_failure.py), but the bag route
hands that archive to the response through a buffer of its own
(``strongroom.api.delivery.bag_chunks``). Before, the bytes of the cut entry
were left in that buffer when the failure was passed on: what went out ended
where the buffer was last emptied, which after a large file is exactly the end
of that file's entry, and tar and tarfile (``curl … | tar x``) took it for a
whole archive, one file short.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.errors import StorageUnavailable
from ingest.models import package_id_for
from strongroom.api.delivery import bag_chunks
from tests.fakes import FailsToOpen
from tests.unit.api_support import EXAMPLES, make_api, zip_of

ITEM = "telegram-1951-06-21-mao-to-filippov"
BIG = "data/a-large-scan.bin"
FAILING = "data/z-last-page.txt"


def _batch(tmp_path: Path) -> Path:
    batch = tmp_path / "batch"
    item = batch / ITEM
    item.mkdir(parents=True)
    shutil.copy(EXAMPLES / ITEM / "metadata.json", item / "metadata.json")
    # A file large enough that the route's buffer is emptied right after its entry.
    (item / "a-large-scan.bin").write_bytes(bytes(range(256)) * 1200)
    (item / "z-last-page.txt").write_text("the last page\n", encoding="utf-8")
    return batch


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_a_store_failing_mid_bag_download_cuts_the_http_stream_inside_an_entry(
        tmp_path: Path, fmt: str) -> None:
    api = make_api(tmp_path / "data")
    answer = api.upload(zip_of(_batch(tmp_path)), "application/zip")
    assert answer, json.dumps(answer)
    package = package_id_for(ITEM)
    services = replace(api.services, store=FailsToOpen(api.services.store, FAILING))
    version = services.catalog.get_version(package, 1)
    assert [f.path for f in version.files if f.path.startswith("data/")][-1] == FAILING

    sent = bytearray()
    with pytest.raises(StorageUnavailable):
        for chunk in bag_chunks(services, version, fmt):
            sent += chunk

    assert len(sent) > 256 * 1024, "the large file's entry was not sent: the test proves nothing"
    if fmt == "tar":
        with pytest.raises(tarfile.TarError), tarfile.open(fileobj=io.BytesIO(bytes(sent))) as tar:
            for member in tar:
                if member.isfile():
                    tar.extractfile(member).read()  # type: ignore[union-attr]
    else:
        with pytest.raises(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(bytes(sent))) as zf:
            zf.testzip()
