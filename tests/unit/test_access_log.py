"""The server's access log names a request's query parameters, never their values:
a callback URL's receiver secret (docs/api.md tells clients to put one there)
was written to the log whole."""

from __future__ import annotations

import logging

from strongroom.api.server import QueryValuesHidden, hide_query_values_in_access_log

#: uvicorn's access record: client, method, path with its query, HTTP version, status
ACCESS_FORMAT = '%s - "%s %s HTTP/%s" %d'


def _line(path: str) -> str:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, ACCESS_FORMAT,
                               ("127.0.0.1:50000", "POST", path, "1.1", 202), None)
    assert QueryValuesHidden().filter(record)
    return record.getMessage()


def test_a_callback_secret_in_the_query_stays_out_of_the_access_log() -> None:
    line = _line("/batches?callback_url=http%3A%2F%2Freceiver%2Fhook%3Fsecret%3DS3CRET&check=true")
    assert "S3CRET" not in line and "receiver" not in line
    assert line == '127.0.0.1:50000 - "POST /batches?callback_url=…&check=… HTTP/1.1" 202'


def test_a_path_without_a_query_is_logged_as_it_was() -> None:
    assert _line("/packages/abc/versions/1/bag") == (
        '127.0.0.1:50000 - "POST /packages/abc/versions/1/bag HTTP/1.1" 202')


def test_serve_installs_it_once_on_uvicorns_access_logger() -> None:
    hide_query_values_in_access_log()
    hide_query_values_in_access_log()
    access = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, QueryValuesHidden) for f in access.filters) == 1
