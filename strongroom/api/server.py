"""Serving the API: uvicorn on h11, with a bound on how long a client may take.

uvicorn closes an idle kept-alive connection, and the upload route drops a body
that stalls for STRONGROOM_API_UPLOAD_IDLE_TIMEOUT; but a client that trickles
keeps both happy: a header block sent a byte at a time and never finished, or a
body sent a byte every few seconds, holds a connection (and a staging folder)
for as long as it likes. ``TimedH11Protocol`` bounds both by the clock:

- the request line and headers must be complete within ``header_timeout``
  seconds of the connection opening (or of the previous response, on a kept-alive
  connection);
- the body must be complete within ``upload_timeout`` seconds of the headers.

Past either, the client gets ``408`` (a problem document, when no response has
started) and the connection is closed; the route sees the client gone and
removes what it staged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from strongroom.api.problems import MEDIA_TYPE, problem_type


def _timeout_answer(detail: str) -> bytes:
    body = json.dumps({"type": problem_type("upload-timeout"), "title": "The request took too long",
                       "status": 408, "detail": detail}).encode("utf-8")
    head = ("HTTP/1.1 408 Request Timeout\r\n"
            f"content-type: {MEDIA_TYPE}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a clock on the header block and on the body."""

    header_timeout: float = 30.0
    upload_timeout: float = 900.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before and self.cycle is not None:  # a request's headers are in
            self._stop_timers()
            if self.cycle.more_body:
                self._body_timer = self.loop.call_later(self.upload_timeout, self._body_too_slow)
        if self.cycle is not None and not self.cycle.more_body and self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._stop_timers()  # waiting for the next request on a kept-alive connection
            self._header_timer = self.loop.call_later(self.header_timeout,
                                                      self._headers_too_slow)

    def _stop_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        self.logger.warning("closed a connection whose request headers took over %g s",
                            self.header_timeout)
        if self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE:
            self.transport.write(_timeout_answer(
                f"the request headers were not complete within {self.header_timeout:g} seconds"))
        self.transport.close()

    def _body_too_slow(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None or not cycle.more_body:
            return
        self.logger.warning("closed a request whose body took over %g s", self.upload_timeout)
        if not cycle.response_started:
            self.transport.write(_timeout_answer(
                f"the request body was not complete within {self.upload_timeout:g} seconds"))
        cycle.disconnected = True  # the route reads a disconnect and drops what it staged
        cycle.message_event.set()
        self.transport.close()


def protocol(header_timeout: float, upload_timeout: float) -> type[TimedH11Protocol]:
    """The h11 protocol class with these bounds, for ``uvicorn.Config(http=...)``."""
    return type("TimedH11Protocol", (TimedH11Protocol,),
                {"header_timeout": header_timeout, "upload_timeout": upload_timeout})


def serve_options(header_timeout: float, upload_timeout: float) -> dict[str, Any]:
    """The options ``strongroom serve`` gives ``uvicorn.run`` (or ``uvicorn.Config``)
    besides the app, host and port: h11 with the time bounds, no proxy headers
    trusted, no server header."""
    return {"http": protocol(header_timeout, upload_timeout), "proxy_headers": False,
            "server_header": False}


class QueryValuesHidden(logging.Filter):
    """uvicorn's access log without the values of a request's query: a client may
    put a secret there (a callback URL's receiver secret, docs/api.md; a token
    sent where it does not belong), and a log is read by more people than the
    API's clients. The names stay: ``POST /batches?callback_url=… 202``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) \
                and "?" in args[2]:
            path, _, query = args[2].partition("?")
            names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
            shown = "&".join(f"{name}=…" for name in names) if names else "…"
            record.args = (*args[:2], f"{path}?{shown}", *args[3:])
        return True




class CutDeliverySaidOnce(logging.Filter):
    """uvicorn's "Exception in ASGI application" for a delivery cut on damage, as
    one line: the cut is the intended end of that response (the damage is in the
    audit log as a failed fixity check), not a defect whose traceback anyone
    needs, and forty lines of it for every cut hid the errors that are."""

    def filter(self, record: logging.LogRecord) -> bool:
        from strongroom.api.delivery import DeliveryAborted

        error = record.exc_info[1] if record.exc_info else None
        while error is not None and not isinstance(error, DeliveryAborted):
            error = error.__cause__ or error.__context__
        if isinstance(error, DeliveryAborted):
            record.msg, record.args, record.exc_info, record.exc_text = (
                "a delivery was cut short on damage (the client got a broken stream): %s",
                (error,), None, None)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def tidy_server_logs() -> None:
    """Install ``QueryValuesHidden`` on uvicorn's access logger and
    ``CutDeliverySaidOnce`` on its error logger (once each)."""
    for name, kind in (("uvicorn.access", QueryValuesHidden),
                       ("uvicorn.error", CutDeliverySaidOnce)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())

