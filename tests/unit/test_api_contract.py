"""What a client written against the documentation gets, where an integrator's
trial found otherwise: the version fields docs/api.md promises (``held_by``,
the payload figures), files named with a line break, resumed downloads
(``If-Range``, ``If-None-Match``), and a body that is not JSON said in words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.models import package_id_for
from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of

LETTER = "letter-1952-03-sample"
#: the sample letter's package
PACKAGE = package_id_for(json.loads((EXAMPLES / LETTER / "metadata.json").read_text())["identifier"])


def send_letter(api: Api, folder: Path, files: dict[str, bytes] | None = None,
                title: str | None = None) -> dict[str, object]:
    """Upload the sample letter from ``folder``, with ``files`` beside its own and
    its title changed when given; the batch document once ingested."""
    shutil.copytree(EXAMPLES / LETTER, folder / LETTER)
    for name, body in (files or {}).items():
        (folder / LETTER / name).write_bytes(body)
    if title is not None:
        record_file = folder / LETTER / "metadata.json"
        record = json.loads(record_file.read_text(encoding="utf-8"))
        record_file.write_text(json.dumps({**record, "title": title}), encoding="utf-8")
    return api.upload(zip_of(folder), "application/zip")


def test_a_version_sharing_a_file_says_which_version_holds_it_and_what_it_stores_itself(
        tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    send_letter(api, tmp_path / "first")
    # The same files, the record corrected: version 2 stores no payload byte again.
    send_letter(api, tmp_path / "second", title="A letter about rubber trees (corrected)")

    reply = api.client.get(f"/packages/{PACKAGE}", headers=api.auth("reader"))
    assert reply.status_code == 200
    v1, v2 = sorted(reply.json()["versions"], key=lambda v: v["version"])
    payload = [f for f in v2["files"] if f["path"].startswith("data/")]
    assert payload and {f["held_by"] for f in payload} == {1}
    assert all(f["held_by"] is None for f in v1["files"])
    assert v2["payload_octets"] == v1["payload_octets"] == sum(f["size"] for f in payload)
    assert v2["payload_files"] == len(payload)
    assert (v1["payload_octets_stored"], v2["payload_octets_stored"]) == (v1["payload_octets"], 0)


def test_a_file_named_with_a_line_feed_is_served_by_the_file_route(tmp_path: Path) -> None:
    # Legal in a name (README); before, the route's pattern stopped at the line
    # break and the file was a bare 404, though it was stored and in the bag.
    from urllib.parse import quote

    api = make_api(tmp_path / "data")
    done = send_letter(api, tmp_path / "batch", {"two\nlines.txt": b"a name on two lines\n",
                                                 "cr\rname.txt": b"a carriage return\n"})
    assert [i["status"] for i in done["items"]] == ["stored"], done  # type: ignore[attr-defined]
    package = PACKAGE
    for name, body in (("two\nlines.txt", b"a name on two lines\n"),
                       ("cr\rname.txt", b"a carriage return\n")):
        url = f"/packages/{package}/versions/1/files/" + quote(f"data/{name}")
        reply = api.client.get(url, headers=api.auth("reader"))
        assert (reply.status_code, reply.content) == (200, body), (name, reply.text)
        assert "\n" not in reply.headers["content-disposition"]
        assert api.client.head(url, headers=api.auth("reader")).status_code == 200


def test_a_resumed_download_of_latest_gets_the_whole_new_file_not_a_range_of_it(
        tmp_path: Path) -> None:
    # If-Range was ignored: a client resuming `latest` after a new version landed
    # got a range of the new bytes spliced onto the old ones.
    api = make_api(tmp_path / "data")
    for text in (b"the first text of the page\n", b"the second, longer text of the page\n"):
        send_letter(api, tmp_path / f"batch-{len(text)}", {"page.txt": text})
    package = PACKAGE
    first = api.client.get(f"/packages/{package}/versions/1/files/data/page.txt",
                           headers=api.auth("reader"))
    old_tag = first.headers["etag"]
    latest = f"/packages/{package}/versions/latest/files/data/page.txt"
    resumed = api.client.get(latest, headers={**api.auth("reader"), "Range": "bytes=10-",
                                              "If-Range": old_tag})
    assert (resumed.status_code, resumed.content) == (200, b"the second, longer text of the page\n")
    new_tag = resumed.headers["etag"]
    ranged = api.client.get(latest, headers={**api.auth("reader"), "Range": "bytes=4-9",
                                             "If-Range": new_tag})
    assert (ranged.status_code, ranged.content) == (206, b"second")
    unchanged = api.client.get(latest, headers={**api.auth("reader"), "If-None-Match": new_tag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert api.client.get(latest, headers={**api.auth("reader"),
                                           "If-None-Match": old_tag}).status_code == 200


def test_a_body_that_is_not_json_is_said_so_with_where_it_breaks(tmp_path: Path) -> None:
    # Before: "body.1: JSON decode error".
    api = make_api(tmp_path / "data")
    reply = api.client.post("/deaccessions", content=b"{not json",
                            headers={**api.auth("admin"), "Content-Type": "application/json"})
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith("the body is not JSON at character 1"), reply.json()


def test_a_bag_asked_for_over_http_1_0_is_refused_since_a_cut_would_look_whole(
        tmp_path: Path) -> None:
    # Over HTTP/1.0 there is no chunked encoding: a bag stream cut on damage ended
    # as a closed connection and `curl --fail` exited 0.
    import socket

    from tests.unit.api_support import served_on_a_socket

    api = make_api(tmp_path / "data")
    send_letter(api, tmp_path / "batch")
    package = PACKAGE
    with served_on_a_socket(api, 30, 900) as port:
        for version in ("1.0", "1.1"):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(f"GET /packages/{package}/versions/1/bag HTTP/{version}\r\n"
                             f"Host: x\r\nAuthorization: Bearer {api.tokens['reader']}\r\n"
                             "Connection: close\r\n\r\n".encode())
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            status = answer.split(b"\r\n", 1)[0]
            assert status.endswith(b"505 HTTP Version Not Supported" if version == "1.0"
                                   else b"200 OK"), (version, answer[:300])


def test_the_home_page_says_what_is_not_yet_checked_and_what_is_out_of_sight(
        tmp_path: Path) -> None:
    # Before: "No failed check and no overdue copy." beside a coverage of 0 of 2,
    # and nothing of copies in a location the settings no longer name.
    import html
    import re as regex

    from ingest.accounts import create_account
    from ingest.fixity_audit import verify_packages
    from tests.unit.test_identities import PASSWORD, _signed_in

    replica = tmp_path / "replica"
    api = make_api(tmp_path / "data", STRONGROOM_REPLICAS=replica.as_uri())
    api.upload(zip_of(EXAMPLES), "application/zip")
    create_account(api.services.catalog, "ada", "admin", PASSWORD, api.services.clock.now())

    def home(app_api: object) -> str:
        page = _signed_in(app_api, "ada").get("/console/")  # type: ignore[arg-type]
        return regex.sub(r"\s+", " ", html.unescape(page.text))

    assert "No failed check and no overdue copy, but 2 of 2 versions are not yet found whole" in (
        home(api))
    verify_packages(api.services, None)
    assert "No failed check and no overdue copy." in home(api)
    # The replica dropped from the settings: its copies are out of sight.
    from types import SimpleNamespace

    from strongroom.asgi import create_app
    from strongroom.bootstrap import build_services
    from strongroom.settings import Settings

    settings = Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp_path / "data")})
    said = home(SimpleNamespace(app=create_app(settings, build_services(settings))))
    assert "Copies are noted in 1 location the settings no longer name" in said


def test_a_catalog_out_of_reach_is_503_without_the_databases_host_or_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Before: the 503's detail carried the driver's words (host, port, database
    # name) to whoever asked, a token not yet checked included.
    import logging

    from ingest.errors import CatalogUnavailable

    api = make_api(tmp_path / "data")
    said = ('catalog database unavailable: connection to server at "10.1.2.3", port 5432 '
            'failed: FATAL: database "archive_prod" does not exist')

    def out_of_reach(*_: object, **__: object) -> object:
        raise CatalogUnavailable(said)
    monkeypatch.setattr(type(api.services.catalog), "search_packages", out_of_reach)
    with caplog.at_level(logging.WARNING):
        reply = api.client.get("/packages", headers=api.auth("reader"))
    assert reply.status_code == 503 and reply.headers["retry-after"] == "30"
    assert "10.1.2.3" not in reply.text and "archive_prod" not in reply.text
    assert reply.json()["type"] == "urn:strongroom:problem:catalog-unavailable"
    assert any("archive_prod" in r.getMessage() for r in caplog.records)  # the operator's log
