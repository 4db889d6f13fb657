"""Files leave with the media type identified at ingest, and a stored file can
never act on the service's own site (an archive holds HTML with scripts too)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from tests.unit.api_support import Api, make_api, tar_of
from tests.unit.test_format_identification import IDENTIFIER, NOISE, PDF, TEXT, TIFF, write_item

#: a deposited web page whose script would read the console's pages if it ran there
HOSTILE_HTML = (b"<!DOCTYPE html><html><head><title>Deposited page</title></head><body>"
                b"<script>fetch('/console/admin').then(r => r.text()).then(alert)</script>"
                b"</body></html>")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    batch = tmp_path_factory.mktemp("formats") / "batch"
    write_item(batch, {"minutes.pdf": PDF, "scans/page-01.tif": TIFF, "minutes.txt": TEXT,
                       "noise": NOISE, "site/index.html": HOSTILE_HTML})
    api = make_api(tmp_path_factory.mktemp("served") / "data")
    document = api.upload(tar_of(batch), "application/x-tar")
    assert [item["status"] for item in document["items"]] == ["stored"], document
    return api


def _get(api: Api, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    reply = api.client.request(method, f"/packages/{IDENTIFIER}/versions/1/files/data/{path}",
                               headers=api.auth("reader"))
    return reply.status_code, dict(reply.headers), reply.content


@pytest.mark.parametrize("path, media_type, body", [
    ("minutes.pdf", "application/pdf", PDF),
    ("scans/page-01.tif", "image/tiff", TIFF),
    ("minutes.txt", "text/plain", TEXT),
    ("noise", "application/octet-stream", NOISE),
])
def test_a_file_is_served_with_the_media_type_identified_at_ingest(
        api: Api, path: str, media_type: str, body: bytes) -> None:
    for method in ("GET", "HEAD"):
        status, headers, content = _get(api, path, method)
        assert status == 200
        assert headers["content-type"].split(";")[0] == media_type, (method, headers)
        if method == "GET":
            assert content == body


def test_a_pdf_named_as_something_else_is_still_served_as_a_pdf(
        tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write_item(batch, {"report.bin": PDF})
    api = make_api(tmp_path / "data")
    api.upload(tar_of(batch), "application/x-tar")
    assert _get(api, "report.bin")[1]["content-type"] == "application/pdf"


def test_a_deposited_web_page_cannot_run_its_script_on_the_service_s_site(api: Api) -> None:
    status, headers, content = _get(api, "site/index.html")
    assert status == 200 and content == HOSTILE_HTML
    assert headers["content-type"].startswith("text/html")
    # Downloaded, not shown; and if a browser showed it anyway, as a sandbox with no script.
    assert headers["content-disposition"].startswith("attachment;")
    assert 'filename="index.html"' in headers["content-disposition"]
    policy = [part.strip() for part in headers["content-security-policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert "script-src 'self'" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["scans/page-01.tif", "minutes.txt"])
def test_images_and_plain_text_are_shown_in_place_still_sandboxed(api: Api, path: str) -> None:
    _, headers, _ = _get(api, path)
    assert headers["content-disposition"].startswith("inline;")
    assert headers["content-security-policy"].startswith("sandbox;")



def test_a_file_named_beyond_ascii_keeps_its_exact_name_in_filename_star(tmp_path: Path) -> None:
    """The plain filename is printable ASCII (others become _, and so do quotes and
    backslashes, which would end or escape it); the exact name is in filename*."""
    name = 'Protokoll "Sitzung" 1921 — Entwurf.txt'
    batch = tmp_path / "batch"
    write_item(batch, {name: TEXT})
    api = make_api(tmp_path / "data")
    api.upload(tar_of(batch), "application/x-tar")
    reply = api.client.get(f"/packages/{IDENTIFIER}/versions/1/files/data/{quote(name)}",
                           headers=api.auth("reader"))
    assert reply.status_code == 200 and reply.content == TEXT
    disposition = reply.headers["content-disposition"]
    assert 'filename="Protokoll _Sitzung_ 1921 _ Entwurf.txt"' in disposition
    assert "filename*=UTF-8''" + quote(name, safe="") in disposition
