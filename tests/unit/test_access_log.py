"""The server's access log names a request's query parameters, never their values:
a callback URL's receiver secret (docs/api.md tells clients to put one there)
was written to the log whole."""

from __future__ import annotations

import logging

from strongroom.api.server import QueryValuesHidden, tidy_server_logs

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


def test_serve_installs_the_filters_once() -> None:
    tidy_server_logs()
    tidy_server_logs()
    access = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, QueryValuesHidden) for f in access.filters) == 1


def test_a_delivery_cut_on_damage_is_one_warning_line_not_a_traceback() -> None:
    import sys

    from ingest.errors import DeliveryRefused
    from ingest.findings import Finding
    from strongroom.api.delivery import DeliveryAborted
    from strongroom.api.server import CutDeliverySaidOnce

    try:
        try:
            raise DeliveryRefused([Finding("FIXITY_MISMATCH", path="data/a.txt")])
        except DeliveryRefused as refused:
            raise DeliveryAborted(refused) from refused
    except DeliveryAborted:
        exc_info = sys.exc_info()
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1,
                               "Exception in ASGI application", (), exc_info)
    assert CutDeliverySaidOnce().filter(record)
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage().startswith("a delivery was cut short on damage")
    # any other error keeps its traceback
    try:
        raise ValueError("a defect")
    except ValueError:
        other = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1,
                                  "Exception in ASGI application", (), sys.exc_info())
    assert CutDeliverySaidOnce().filter(other) and other.exc_info is not None
