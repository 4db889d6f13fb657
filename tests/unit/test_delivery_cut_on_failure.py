"""A delivery that stops for any reason stops inside an entry.

Before, a store that failed while a file was being read (an I/O error, a store
out of reach, here a failing open) raised out of the archive writer with the
file's entry still held back: what had been sent ended exactly at the end of the
previous entry, and tar and tarfile read it as a whole archive, one file short.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import StorageUnavailable
from ingest.models import package_id_for
from ingest.retrieval import write_tar, write_zip
from tests.fakes import FailsToOpen
from tests.unit.api_support import EXAMPLES, make_api, zip_of

FAILING = "data/transcription/telegram-en.txt"


@pytest.mark.parametrize("write", [write_tar, write_zip], ids=["tar", "zip"])
def test_a_store_failing_mid_delivery_leaves_an_archive_no_reader_takes_as_whole(
        tmp_path: Path, write: Any) -> None:
    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    package = package_id_for("telegram-1951-06-21-mao-to-filippov")
    services = replace(api.services, store=FailsToOpen(api.services.store, FAILING))
    out = io.BytesIO()

    with pytest.raises(StorageUnavailable):
        write(services, package, 1, out)

    sent = out.getvalue()
    assert sent, "nothing at all was sent: the test would prove nothing"
    if write is write_tar:
        with pytest.raises(tarfile.TarError), tarfile.open(fileobj=io.BytesIO(sent)) as tar:
            for member in tar:
                if member.isfile():
                    tar.extractfile(member).read()  # type: ignore[union-attr]
    else:
        with pytest.raises(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(sent)) as zf:
            zf.testzip()
