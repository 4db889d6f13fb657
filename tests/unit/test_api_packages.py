"""Reading over HTTP: search with cursors, one package, whole bags (tar and zip)
validated by LOC bagit, single files with Range, and damage cutting a response short."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import bagit
import pytest

from tests.unit.api_support import EXAMPLES, Api, make_api, tar_of, zip_of

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"
LETTER = "letter-1952-03-sample"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    api = make_api(tmp_path_factory.mktemp("packages") / "data")
    api.upload(tar_of(EXAMPLES), "application/x-tar")
    return api


def _package(api: Api, identifier: str) -> dict:
    reply = api.client.get(f"/packages/{identifier}", headers=api.auth("reader"))
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_upload_store_fetch_round_trip_validates_with_loc_bagit(api: Api, tmp_path: Path) -> None:
    package = _package(api, TELEGRAM)
    url = f"/packages/{package['package_id']}/versions/1/bag"
    reply = api.client.get(url, headers=api.auth("reader"))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(reply.content)) as tar:
        tar.extractall(tmp_path, filter="data")
    bag = bagit.Bag(str(tmp_path / f"{package['package_id']}_v1"))
    bag.validate()
    assert (Path(bag.path) / "data" / "transcription" / "telegram-en.txt").read_bytes() == \
        (EXAMPLES / TELEGRAM / "transcription" / "telegram-en.txt").read_bytes()


def test_bag_as_zip_validates_with_loc_bagit(api: Api, tmp_path: Path) -> None:
    package = _package(api, LETTER)
    reply = api.client.get(f"/packages/{package['package_id']}/versions/1/bag?format=zip",
                           headers=api.auth("reader"))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(reply.content)) as zf:
        assert zf.testzip() is None
        zf.extractall(tmp_path)
    bagit.Bag(str(tmp_path / f"{package['package_id']}_v1")).validate()


def test_show_package_lists_versions_and_manifest(api: Api) -> None:
    package = _package(api, TELEGRAM)
    assert package["identifier"] == TELEGRAM
    assert package["metadata"]["source"]["citation"] == "APRF, f. 45, op. 1, d. 339, ll. 64-65"
    paths = {f["path"] for f in package["versions"][0]["files"]}
    assert "data/transcription/telegram-en.txt" in paths
    assert "manifest-sha512.txt" in paths


@pytest.mark.parametrize("query, expected", [
    ("", [LETTER, TELEGRAM]),
    ("identifier=tele", [TELEGRAM]),
    ("title=stalin+MAO", [TELEGRAM]),
    ("title=stalin+letter", []),
    ("type=letter", [LETTER]),
    ("collection=Korean+War+diplomatic+correspondence+(sample)", [LETTER, TELEGRAM]),
    ("collection=Other", []),
    ("date_from=1951-06-21&date_to=1951-06-21", [TELEGRAM]),
    ("date_from=1952", [LETTER]),
    ("date_from=1952-03-15&date_to=1952-03-16", [LETTER]),
    ("date_to=1951-06-20", []),
])
def test_search_filters(api: Api, query: str, expected: list[str]) -> None:
    reply = api.client.get(f"/packages?{query}", headers=api.auth("reader"))
    assert reply.status_code == 200, reply.text
    assert [p["identifier"] for p in reply.json()["packages"]] == expected


def test_cursor_pages_through_every_package_once(api: Api) -> None:
    seen, cursor = [], None
    for _ in range(5):
        url = "/packages?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = api.client.get(url, headers=api.auth("reader")).json()
        seen += [p["identifier"] for p in page["packages"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [LETTER, TELEGRAM]


def test_an_error_the_server_did_not_expect_is_a_problem_without_its_traceback(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error answered 500 "Internal Server Error" as text/plain, not
    the problem document every other error is (a client keys on its type)."""
    from fastapi.testclient import TestClient

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("/srv/secret/path: something unforeseen")

    monkeypatch.setattr(api.services.catalog, "search_packages", broken)
    client = TestClient(api.app, raise_server_exceptions=False)
    reply = client.get("/packages", headers=api.auth("reader"))
    assert reply.status_code == 500
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["type"] == "urn:strongroom:problem:internal"
    assert "secret" not in reply.text and "Traceback" not in reply.text


def test_an_error_the_server_did_not_expect_is_a_console_page_in_a_browser(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from ingest.accounts import create_account
    from tests.unit.test_identities import PASSWORD, _signed_in

    create_account(api.services.catalog, "rosa", "reader", PASSWORD, api.services.clock.now())
    rosa = _signed_in(api, "rosa")

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("/srv/secret/path: something unforeseen")

    monkeypatch.setattr(api.services.catalog, "search_packages", broken)
    browser = TestClient(api.app, raise_server_exceptions=False, cookies=rosa.cookies)
    page = browser.get("/console/packages")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "the operator" in page.text and "secret" not in page.text


def test_bad_cursor_is_a_problem_not_a_crash(api: Api) -> None:
    reply = api.client.get("/packages?cursor=%%%", headers=api.auth("reader"))
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("value", ["2026-12-08T01:38:02", "2026-12-08", 1951, ["x"], "9999-99-99"])
def test_a_newest_cursor_with_a_moment_altered_is_a_problem_not_a_500(api: Api, value: object) -> None:
    """A cursor of the "newest" order whose moment had lost its time zone reached the
    database and answered 500 (and the CLI a traceback quoting the SQL)."""
    import base64
    import json as json_module

    text = json_module.dumps(["newest", value, "x"])
    cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    reply = api.client.get(f"/packages?sort=newest&cursor={cursor}", headers=api.auth("reader"))
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"] == "application/problem+json"


def test_unknown_package_version_and_file_are_404_problems(api: Api) -> None:
    package = _package(api, TELEGRAM)["package_id"]
    for url in ("/packages/no-such-record", f"/packages/{package}/versions/9/bag",
                f"/packages/{package}/versions/1/files/data/nothing.txt"):
        reply = api.client.get(url, headers=api.auth("reader"))
        assert reply.status_code == 404, url
        assert reply.json()["type"] == "urn:strongroom:problem:not-found"


def _file_url(api: Api) -> tuple[str, bytes]:
    package = _package(api, TELEGRAM)["package_id"]
    data = (EXAMPLES / TELEGRAM / "transcription" / "telegram-en.txt").read_bytes()
    return f"/packages/{package}/versions/1/files/data/transcription/telegram-en.txt", data


def test_whole_file_carries_its_digests(api: Api) -> None:
    url, data = _file_url(api)
    reply = api.client.get(url, headers=api.auth("reader"))
    assert reply.status_code == 200
    assert reply.content == data
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["repr-digest"].startswith("sha-256=:")


@pytest.mark.parametrize("header, first, last", [
    ("bytes=0-9", 0, 9),
    ("bytes=10-", 10, None),
    ("bytes=-5", -5, None),
    ("bytes=100-100000000", 100, None),
])
def test_range_request_gets_206_with_content_range(api: Api, header: str, first: int,
                                                   last: int | None) -> None:
    url, data = _file_url(api)
    reply = api.client.get(url, headers={**api.auth("reader"), "Range": header})
    assert reply.status_code == 206
    expected = data[first:] if last is None else data[first:last + 1]
    assert reply.content == expected
    start = first if first >= 0 else len(data) + first
    assert reply.headers["content-range"] == f"bytes {start}-{start + len(expected) - 1}/{len(data)}"


def test_range_past_the_end_gets_416(api: Api) -> None:
    url, data = _file_url(api)
    reply = api.client.get(url, headers={**api.auth("reader"), "Range": f"bytes={len(data)}-"})
    assert reply.status_code == 416
    assert reply.headers["content-range"] == f"bytes */{len(data)}"


def test_range_unit_in_capitals_is_still_a_range(api: Api) -> None:
    url, data = _file_url(api)
    reply = api.client.get(url, headers={**api.auth("reader"), "Range": "BYTES=0-5"})
    assert reply.status_code == 206
    assert reply.content == data[:6]
    assert reply.headers["content-range"] == f"bytes 0-5/{len(data)}"


def test_head_on_a_file_answers_its_headers_without_a_body(api: Api) -> None:
    url, _data = _file_url(api)
    got = api.client.get(url, headers=api.auth("reader"))
    head = api.client.head(url, headers=api.auth("reader"))
    assert head.status_code == 200 and head.content == b""
    for name in ("content-length", "etag", "repr-digest", "accept-ranges", "content-type"):
        assert head.headers[name] == got.headers[name], name
    ranged = api.client.head(url, headers={**api.auth("reader"), "Range": "bytes=0-5"})
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "6"
    assert api.client.head(url + ".missing", headers=api.auth("reader")).status_code == 404
    assert api.client.head(url).status_code == 401


def test_head_on_a_bag_answers_its_headers_without_a_body(api: Api) -> None:
    package = _package(api, TELEGRAM)["package_id"]
    for fmt, media in (("tar", "application/x-tar"), ("zip", "application/zip")):
        head = api.client.head(f"/packages/{package}/versions/1/bag?format={fmt}",
                               headers=api.auth("reader"))
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == media
        assert head.headers["content-disposition"].endswith(f'_v1.{fmt}"')
        assert "content-length" not in head.headers  # the size is known only once streamed
    assert api.client.head(f"/packages/{package}/versions/9/bag",
                           headers=api.auth("reader")).status_code == 404


def test_multiple_ranges_get_the_whole_file(api: Api) -> None:
    url, data = _file_url(api)
    reply = api.client.get(url, headers={**api.auth("reader"), "Range": "bytes=0-1,5-6"})
    assert reply.status_code == 200
    assert reply.content == data


@pytest.fixture
def damaged(tmp_path: Path) -> tuple[Api, str, Path]:
    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    package = _package(api, TELEGRAM)["package_id"]
    stored = tmp_path / "data" / "objects" / package / "v1" / "data" / "transcription" / \
        "telegram-en.txt"
    text = stored.read_bytes()
    stored.chmod(0o644)
    stored.write_bytes(text[:-1] + (b"X" if text[-1:] != b"X" else b"Y"))  # same size, other bytes
    return api, package, stored


def _fixity_events(api: Api, package: str) -> list[dict]:
    report = api.client.get(f"/packages/{package}/fixity-checks", headers=api.auth("auditor"))
    return report.json()["events"]


def _refused(reply) -> list[str]:  # type: ignore[no-untyped-def]
    """A damage found before the first byte went out: a problem, nothing of the file."""
    assert reply.status_code == 500, reply.text
    problem = reply.json()
    assert problem["type"] == "urn:strongroom:problem:delivery-refused"
    return [f["code"] for f in problem["findings"]]


def test_damaged_file_is_refused_and_records_failed_fixity(
        damaged: tuple[Api, str, Path]) -> None:
    api, package, _ = damaged
    url = f"/packages/{package}/versions/1/files/data/transcription/telegram-en.txt"
    assert "FIXITY_MISMATCH" in _refused(api.client.get(url, headers=api.auth("reader")))
    events = _fixity_events(api, package)
    assert [(e["outcome"], e["detail"]["tier"]) for e in events] == [("failure", "delivery")]
    assert events[0]["detail"]["findings"][0]["code"] == "FIXITY_MISMATCH"


def test_damaged_file_refuses_the_bag_and_records_failed_fixity(
        damaged: tuple[Api, str, Path]) -> None:
    api, package, _ = damaged
    for fmt in ("tar", "zip"):
        reply = api.client.get(f"/packages/{package}/versions/1/bag?format={fmt}",
                               headers=api.auth("reader"))
        assert "FIXITY_MISMATCH" in _refused(reply)
    events = _fixity_events(api, package)
    assert [e["outcome"] for e in events] == ["failure", "failure"]
    shown = _package(api, package)["versions"][0]["last_fixity"]
    assert shown["outcome"] == "failed"


def test_missing_stored_file_refuses_the_response(damaged: tuple[Api, str, Path]) -> None:
    api, package, stored = damaged
    stored.unlink()
    reply = api.client.get(f"/packages/{package}/versions/1/files/data/transcription/telegram-en.txt",
                           headers=api.auth("reader"))
    assert _refused(reply) == ["FILE_MISSING"]
    codes = [e["detail"]["findings"][0]["code"] for e in _fixity_events(api, package)]
    assert codes == ["FILE_MISSING"]


@pytest.mark.parametrize("sort, expected", [
    ("identifier", [LETTER, TELEGRAM]),
    ("title", [LETTER, TELEGRAM]),      # "Letter …" before "Telegram …"
    ("date", [TELEGRAM, LETTER]),       # 1951-06-21 before 1952-03
    ("-date", [LETTER, TELEGRAM]),
])
def test_search_in_the_order_asked_for_a_page_at_a_time(api: Api, sort: str, expected: list[str]) -> None:
    seen, cursor = [], None
    while True:
        url = f"/packages?limit=1&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
        reply = api.client.get(url, headers=api.auth("reader"))
        assert reply.status_code == 200, reply.text
        seen += [p["identifier"] for p in reply.json()["packages"]]
        cursor = reply.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert all(p["updated_at"] for p in api.client.get(f"/packages?sort={sort}",
                                                       headers=api.auth("reader")).json()["packages"])


def test_an_unknown_order_is_refused(api: Api) -> None:
    reply = api.client.get("/packages?sort=size", headers=api.auth("reader"))
    assert reply.status_code in (400, 422)
    assert "newest" in reply.text


def test_the_first_version_has_no_changes_to_tell(api: Api) -> None:
    package = _package(api, TELEGRAM)
    assert package["versions"][0]["changes"] is None
