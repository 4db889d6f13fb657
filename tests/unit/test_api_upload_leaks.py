"""What an upload's answers show a client: never a path on the server (the staging
folder, the data folder), neither in a refusal nor in the batch document."""

from __future__ import annotations

import io
import tarfile
import uuid
from pathlib import Path

from tests.unit.api_support import EXAMPLES, make_api, tar_of, zip_of

GOOD = b'{"identifier": "x", "title": "t", "date": "1951"}'


def _tar_with_a_file_that_is_also_a_folder() -> bytes:
    """``item/a`` is a file, and ``item/a/b`` needs it to be a folder: unpacking
    fails on the server's file system, whose error names the staging path."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("item/metadata.json", GOOD), ("item/a", b"x"), ("item/a/b", b"y")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_unreadable_archive_problem_names_no_server_path(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    reply = api.client.post("/batches", content=_tar_with_a_file_that_is_also_a_folder(),
                            headers={**api.auth("submitter"), "Content-Type": "application/x-tar"})
    assert reply.status_code == 422, reply.text
    assert str(tmp_path) not in reply.text
    assert "staging" not in reply.text
    assert "Error" not in reply.json()["detail"]  # a sentence, not a library's exception


def test_file_that_is_also_a_folder_is_an_unsafe_member(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    reply = api.client.post("/batches", content=_tar_with_a_file_that_is_also_a_folder(),
                            headers={**api.auth("submitter"), "Content-Type": "application/x-tar"})
    finding = reply.json()["findings"][0]
    assert finding["code"] == "ARCHIVE_UNSAFE_MEMBER"
    assert finding["path"] == "item/a"


def test_batch_source_shows_the_upload_not_the_staging_path(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    reply = api.client.post("/batches", content=zip_of(EXAMPLES), headers={
        **api.auth("submitter"), "Content-Type": "application/zip"})
    assert reply.status_code == 202, reply.text
    api.app.state.strongroom.wait(timeout=60)
    followed = api.client.get(reply.headers["Location"], headers=api.auth("submitter"))
    for answer in (reply, followed):
        assert str(tmp_path) not in answer.text
        assert answer.json()["source"].startswith("upload:")
    upload_id = followed.json()["source"].removeprefix("upload:").split("/")[0]
    assert str(uuid.UUID(upload_id)) == upload_id  # the upload, named by its id
    assert not (api.settings.staging / upload_id).exists()  # and gone, every item final


def test_batch_source_of_a_tar_upload_is_named_by_its_upload(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    document = api.upload(tar_of(EXAMPLES), "application/x-tar")
    assert document["source"].startswith("upload:")
    assert str(tmp_path) not in str(document)
