"""A bound on the body of every request but an upload's.

FastAPI reads and parses a JSON or form body before any dependency runs, the
bearer-token check included: without a bound, anyone, with no token at all,
could make the server hold a body of any size in memory (a 500 MiB JSON body
to ``POST /deaccessions`` did, before it answered 401). ``BodyLimit`` counts
each request's body as it is received and answers ``413`` (``…:body-too-large``)
past ``SMALL_BODY_LIMIT``, at once when ``Content-Length`` says so, and closes
the connection: the rest of the body is never read.

The two upload routes stream their bodies to the staging folder under their own
bounds (``STRONGROOM_API_MAX_UPLOAD_BYTES``, ``strongroom.api.upload``) and are
left to them.
"""

from __future__ import annotations

from typing import Any

from strongroom.api.problems import BodyTooLarge, body_too_large

#: The largest body any request but an upload may carry: a deaccession request,
#: a form of the console, a fixity check's options are a few hundred bytes.
SMALL_BODY_LIMIT = 1024 * 1024
#: (method, path) of the routes that stream an upload under their own bounds.
UPLOADS = frozenset({("POST", "/batches"), ("POST", "/console/submit")})


class BodyLimit:
    """ASGI middleware: ``413`` and a closed connection for a body over ``limit``
    bytes on any route but ``uploads``."""

    def __init__(self, app: Any, limit: int = SMALL_BODY_LIMIT,
                 uploads: frozenset[tuple[str, str]] = UPLOADS) -> None:
        self.app, self.limit, self.uploads = app, limit, uploads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in self.uploads:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:  # the app's handler answers, or ours below
                    raise BodyTooLarge(self.limit)
            return message

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:  # nothing more can be said: the server drops the connection
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Any, receive: Any, send: Any) -> None:
        response = body_too_large(scope["path"], BodyTooLarge(self.limit))
        await response(scope, receive, send)


def _content_length(scope: Any) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


__all__ = ["SMALL_BODY_LIMIT", "UPLOADS", "BodyLimit"]
