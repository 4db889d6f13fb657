"""Uploading batches over HTTP: zip, tar and multipart bodies, the hostile
archives and the request limits, each leaving nothing staged when refused."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.unit.api_support import EXAMPLES, Api, QuietHandler, callback_receiver, make_api, tar_of, zip_of


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return make_api(tmp_path / "data", STRONGROOM_API_MAX_UPLOAD_BYTES="200000",
                    STRONGROOM_API_MAX_FILES="20")


def _staged(api: Api) -> list[Path]:
    staging = api.settings.staging
    return sorted(staging.iterdir()) if staging.exists() else []


def _multipart(files: dict[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("file", (name, data, "application/octet-stream")) for name, data in files.items()]


def _example_files() -> dict[str, bytes]:
    return {p.relative_to(EXAMPLES).as_posix(): p.read_bytes()
            for p in sorted(EXAMPLES.rglob("*")) if p.is_file()}


def _summary(batch: dict) -> dict[str, str]:
    return {item["name"]: item["status"] for item in batch["items"]}


EXPECTED = {"bad-record-missing-title": "rejected", "letter-1952-03-sample": "stored",
            "telegram-1951-06-21-mao-to-filippov": "stored"}


def test_zip_upload_answers_202_with_location_then_items_are_stored(api: Api) -> None:
    reply = api.client.post("/batches", content=zip_of(EXAMPLES),
                            headers={**api.auth("submitter"), "Content-Type": "application/zip"})
    assert reply.status_code == 202
    batch = reply.json()
    assert reply.headers["location"] == f"/batches/{batch['batch_id']}"
    assert batch["dispatch"] == "in-process"
    assert set(_summary(batch)) == set(EXPECTED)
    api.app.state.strongroom.wait(timeout=60)
    done = api.client.get(reply.headers["location"], headers=api.auth("submitter")).json()
    assert _summary(done) == EXPECTED
    bad = next(i for i in done["items"] if i["status"] == "rejected")
    assert {f["code"] for f in bad["findings"]} == {"METADATA_INVALID"}
    # the upload is named by its id in staging, never by a server path; every item
    # final, its staged folder is gone
    upload_id = done["source"].removeprefix("upload:").split("/")[0]
    assert str(uuid.UUID(upload_id)) == upload_id
    assert not (api.settings.staging / upload_id).exists()


def test_tar_upload_without_a_wrapping_folder(api: Api) -> None:
    assert _summary(api.upload(tar_of(EXAMPLES, top=None), "application/x-tar")) == EXPECTED


def test_multipart_upload_one_part_per_file(api: Api) -> None:
    reply = api.client.post("/batches", files=_multipart(_example_files()),
                            headers=api.auth("submitter"))
    assert reply.status_code == 202, reply.text
    api.app.state.strongroom.wait(timeout=60)
    done = api.client.get(reply.headers["location"], headers=api.auth("submitter")).json()
    assert _summary(done) == EXPECTED


def test_resubmission_is_unchanged(api: Api) -> None:
    api.upload(zip_of(EXAMPLES), "application/zip")
    again = api.upload(zip_of(EXAMPLES), "application/zip")
    assert sorted(_summary(again).values()) == ["rejected", "unchanged", "unchanged"]


def test_zip_slip_upload_is_refused_with_its_code_and_nothing_staged(api: Api,
                                                                   tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("item/metadata.json", b"{}")
        zf.writestr("../../../evil.txt", b"owned")
    reply = api.client.post("/batches", content=buffer.getvalue(),
                            headers={**api.auth("submitter"), "Content-Type": "application/zip"})
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert problem["type"] == "urn:strongroom:problem:archive-unsafe-member"
    assert [f["code"] for f in problem["findings"]] == ["ARCHIVE_UNSAFE_MEMBER"]
    assert _staged(api) == []
    assert not list(tmp_path.rglob("evil.txt"))


def test_multipart_path_traversal_is_refused(api: Api, tmp_path: Path) -> None:
    files = {"item/metadata.json": b"{}", "../evil.txt": b"owned", "/abs.txt": b"owned"}
    reply = api.client.post("/batches", files=_multipart(files), headers=api.auth("submitter"))
    assert reply.status_code == 422
    assert {f["code"] for f in reply.json()["findings"]} == {"ARCHIVE_UNSAFE_MEMBER"}
    assert sorted(f["path"] for f in reply.json()["findings"]) == ["../evil.txt", "/abs.txt"]
    assert _staged(api) == []
    assert not list(tmp_path.rglob("evil.txt"))


def test_too_many_multipart_files_is_refused(api: Api) -> None:
    files = {f"item/{n}.txt": b"x" for n in range(21)}
    reply = api.client.post("/batches", files=_multipart(files), headers=api.auth("submitter"))
    assert reply.status_code == 422
    assert [f["code"] for f in reply.json()["findings"]] == ["ARCHIVE_TOO_LARGE"]
    assert _staged(api) == []


def test_body_over_the_limit_gets_413_and_nothing_staged(api: Api) -> None:
    reply = api.client.post("/batches", content=bytes(200_001),
                            headers={**api.auth("submitter"), "Content-Type": "application/zip"})
    assert reply.status_code == 413
    assert reply.json()["findings"][0]["code"] == "ARCHIVE_TOO_LARGE"
    assert _staged(api) == []


def test_body_over_the_limit_without_content_length_gets_413(api: Api) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(30):
            yield bytes(10_000)

    reply = api.client.post("/batches", content=chunks(),
                            headers={**api.auth("submitter"), "Content-Type": "application/x-tar"})
    assert reply.status_code == 413
    assert _staged(api) == []


def test_garbage_body_is_unreadable(api: Api) -> None:
    reply = api.client.post("/batches", content=b"not an archive at all",
                            headers={**api.auth("submitter"), "Content-Type": "application/zip"})
    assert reply.status_code == 422
    assert reply.json()["findings"][0]["code"] == "ARCHIVE_UNREADABLE"
    assert _staged(api) == []


def test_other_media_types_get_415(api: Api) -> None:
    reply = api.client.post("/batches", content=b"{}", headers={
        **api.auth("submitter"), "Content-Type": "application/json"})
    assert reply.status_code == 415
    assert _staged(api) == []


def test_unknown_batch_is_404(api: Api) -> None:
    reply = api.client.get("/batches/no-such-batch", headers=api.auth("submitter"))
    assert reply.status_code == 404


def test_stalled_upload_times_out_and_leaves_nothing_staged(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data", STRONGROOM_API_UPLOAD_IDLE_TIMEOUT="0.2")
    sent: list[dict] = []

    async def receive() -> dict:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b"PK\x03\x04partial", "more_body": True}
        await asyncio.sleep(30)  # the client stalls
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/batches", "raw_path": b"/batches",
             "query_string": b"", "root_path": "", "server": ("testserver", 80),
             "client": ("127.0.0.1", 1234),
             "headers": [(b"authorization", api.auth("submitter")["Authorization"].encode()),
                         (b"content-type", b"application/zip")]}
    asyncio.run(asyncio.wait_for(api.app(scope, receive, send), timeout=10))
    start = next(m for m in sent if m.get("type") == "http.response.start")
    assert start["status"] == 408
    assert _staged(api) == []


def test_callback_url_gets_the_finished_batch_with_retries(tmp_path: Path) -> None:
    import json
    received: list[dict] = []

    class Receiver(QuietHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            self.send_response(503 if len(received) == 1 else 204)  # the first try fails
            self.end_headers()

    server = callback_receiver(Receiver)
    try:
        api = make_api(tmp_path / "data", STRONGROOM_API_CALLBACK_HOSTS="127.0.0.1")
        url = f"http://127.0.0.1:{server.server_port}/hooks/strongroom?key=abc"
        reply = api.client.post("/batches", params={"callback_url": url},
                                content=zip_of(EXAMPLES),
                                headers={**api.auth("submitter"), "Content-Type": "application/zip"})
        assert reply.status_code == 202
        api.app.state.strongroom.wait(timeout=60)
    finally:
        server.shutdown()
    assert len(received) == 2
    assert received[-1]["batch_id"] == reply.json()["batch_id"]
    assert _summary(received[-1]) == EXPECTED


def test_callback_url_must_be_http(api: Api) -> None:
    reply = api.client.post("/batches", params={"callback_url": "file:///etc/passwd"},
                            content=zip_of(EXAMPLES),
                            headers={**api.auth("submitter"), "Content-Type": "application/zip"})
    assert reply.status_code == 422
    assert _staged(api) == []


def _upload_with_callback(api: Api, url: str):  # type: ignore[no-untyped-def]
    return api.client.post("/batches", params={"callback_url": url}, content=zip_of(EXAMPLES),
                           headers={**api.auth("submitter"), "Content-Type": "application/zip"})


def test_callback_to_a_host_not_allowed_is_refused_before_anything_is_staged(
        tmp_path: Path) -> None:
    # By default the server calls no one: a submitter cannot make it reach
    # the archive's internal hosts (the metadata service, the database...).
    closed = make_api(tmp_path / "closed")
    for url in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:5432/",
                "https://hooks.example.org/done"):
        reply = _upload_with_callback(closed, url)
        assert reply.status_code == 422, url
        assert reply.json()["type"] == "urn:strongroom:problem:callback-not-allowed"
        assert "STRONGROOM_API_CALLBACK_HOSTS" in reply.json()["detail"]
    assert _staged(closed) == []
    assert closed.client.get("/packages", headers=closed.auth("reader")).json()["packages"] == []

    # Allowed: the named host, and any host under an allowed domain, nothing else.
    opened = make_api(tmp_path / "open",
                      STRONGROOM_API_CALLBACK_HOSTS="receiver.archive.test, *.example.org")
    refused = ["http://example.org/", "http://evil-example.org/", "http://archive.test/",
               "http://receiver.archive.test.evil.net/", "http://10.0.0.1/"]
    for url in refused:
        assert _upload_with_callback(opened, url).status_code == 422, url
    assert _staged(opened) == []


def test_allowed_callback_hosts_setting_refuses_what_is_not_a_host_name(tmp_path: Path) -> None:
    from strongroom.settings import Settings, SettingsError

    for bad in ("*", "http://hooks.example.org", "hooks.example.org:8080", "*.*.org"):
        with pytest.raises(SettingsError, match="STRONGROOM_API_CALLBACK_HOSTS"):
            Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp_path),
                               "STRONGROOM_API_CALLBACK_HOSTS": bad})


def test_callback_redirects_are_not_followed(tmp_path: Path) -> None:
    from strongroom.api.callbacks import deliver

    hits: list[str] = []

    class Redirector(QuietHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/inside")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = callback_receiver(Redirector)
    try:
        delivered = deliver(f"http://127.0.0.1:{server.server_port}/hook", {"batch_id": "b"},
                            attempts=2, sleep=lambda s: None)
    finally:
        server.shutdown()
    assert delivered is False
    assert hits == ["/hook", "/hook"]  # tried again, never sent to /inside


def test_a_folder_picked_in_a_browser_is_the_batch_with_its_form_fields(api: Api) -> None:
    """A browser sends a picked folder's files named ``folder/item/…``: that one
    folder is the batch, as a zipped folder is."""
    files = [("file", ("my-batch/" + name, data, "application/octet-stream"))
             for name, data in _example_files().items() if name != "batch.json"]
    reply = api.client.post("/batches", files=files, headers=api.auth("submitter"))
    assert reply.status_code == 202, reply.text
    api.app.state.strongroom.wait(timeout=60)
    done = api.client.get(reply.headers["location"], headers=api.auth("submitter")).json()
    assert _summary(done) == EXPECTED



def _form_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A bare app that receives a form as the console's submit page does."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from ingest.errors import ArchiveRefused
    from strongroom.api.upload import receive_multipart

    async def endpoint(request: Request) -> PlainTextResponse:
        boundary = request.headers["content-type"].split("boundary=")[1].encode()
        try:
            form = await receive_multipart(request, tmp_path / "batch", boundary=boundary, max_bytes=10**6,
                                           max_files=10, idle_timeout=10, fields=("collection",),
                                           archive_to=tmp_path / "upload")
        except ArchiveRefused as exc:
            return PlainTextResponse(" / ".join(f.message for f in exc.findings), status_code=422)
        return PlainTextResponse(f"{form.archive_kind} {form.fields['collection']}")

    return TestClient(Starlette(routes=[Route("/", endpoint, methods=["POST"])]))


def test_a_form_takes_one_archive_part_and_its_fields_and_skips_an_empty_file_input(tmp_path: Path) -> None:
    reply = _form_app(tmp_path).post("/", data={"collection": "Letters"}, files=[
        ("file", ("", b"", "application/octet-stream")),
        ("archive", ("b.zip", zip_of(EXAMPLES), "application/zip"))])
    assert reply.status_code == 200 and reply.text == "zip Letters"
    assert (tmp_path / "upload").read_bytes()[:2] == b"PK"


def test_a_form_with_an_archive_and_a_folders_files_is_refused(tmp_path: Path) -> None:
    both = _form_app(tmp_path).post("/", data={"collection": "Letters"}, files=[
        ("archive", ("b.zip", zip_of(EXAMPLES), "application/zip")),
        ("file", ("b/item/metadata.json", b"{}", "application/json"))])
    assert both.status_code == 422 and "not both" in both.text


def test_check_answers_what_a_submission_would_and_registers_stores_and_stages_nothing(
        api: Api) -> None:
    events = list(api.services.catalog.events())

    reply = api.client.post("/batches?check=true", content=zip_of(EXAMPLES),
                            headers={**api.auth("submitter"), "Content-Type": "application/zip"})

    assert reply.status_code == 200
    checked = reply.json()
    assert checked["check"] is True and checked["batch_id"] is None
    assert _summary(checked) == {**EXPECTED, "letter-1952-03-sample": "accepted",
                                 "telegram-1951-06-21-mao-to-filippov": "accepted"}
    assert "location" not in reply.headers
    assert api.services.catalog.list_batches() == []
    assert list(api.services.catalog.events()) == events
    assert list(api.services.store.list("")) == []
    assert _staged(api) == []


def test_a_zip_made_by_info_zip_on_linux_keeps_accented_folder_and_file_names(api: Api) -> None:
    # Before: Info-ZIP's zip writes UTF-8 names without the UTF-8 flag; the batch
    # source read "Sammlung M├╝ller", the item "Brief M├╝ller ├⌐".
    class InfoZipName(zipfile.ZipInfo):
        def _encodeFilenameFlags(self) -> tuple[bytes, int]:
            return self.filename.encode(), self.flag_bits & ~0x800

    record = b'{"identifier": "brief-mueller", "title": "Brief an Anna", "date": "1951"}'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in (("metadata.json", record), ("Seite für Anna.txt", b"Liebe Anna")):
            zf.writestr(InfoZipName(f"Sammlung Müller/Brief Müller é/{name}"), data)
    done = api.upload(buffer.getvalue(), "application/zip")
    assert _summary(done) == {"Brief Müller é": "stored"}
    assert done["source"].endswith("/Sammlung Müller")
