"""Package references in URL paths.

Archives' reference codes hold ``/`` (``GB 123 ABC/1/2``). A client sends one
percent-encoded as a single segment (``/packages/GB%20123%20ABC%2F1%2F2/...``),
but the server decodes the path before routing, and ``%2F`` would become a
segment boundary. ``PackageSegment`` routes on the raw path instead: it keeps
the segment after ``/packages/`` whole, handing it to the router still
percent-encoded (so no ``/`` is left in it), and ``PackageRef`` decodes it once.
Every other segment is decoded as usual.

``VersionRef`` takes a version number or ``latest`` wherever a version is named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Path
from pydantic import AfterValidator
from starlette.convertors import Convertor, register_url_convertor

#: A package id or record identifier; ``/`` in an identifier is sent as ``%2F``.
PackageRef = Annotated[str, Path(description="package id or record identifier; a `/` in an "
                                             "identifier is sent percent-encoded, as `%2F`"),
                       AfterValidator(unquote)]


def _version_number(value: str) -> int | None:
    return None if value == "latest" else int(value)


#: A version number, or ``latest`` (the route then gets None: the latest version).
if TYPE_CHECKING:
    VersionRef = int | None  # what the route receives, once validated
else:
    VersionRef = Annotated[str, Path(pattern=r"^([1-9][0-9]{0,8}|latest)$",
                                     description="a version number, or `latest`"),
                           AfterValidator(_version_number)]

class _AnyPath(Convertor[str]):
    """Starlette's ``path`` convertor, but for every character: its ``.*`` stops at
    a line break, and a file named with a CR or LF (legal, README) was a 404."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anypath", _AnyPath())

_PREFIX = b"/packages/"


class PackageSegment:
    """ASGI middleware: the segment after ``/packages/`` is taken from the raw path
    as one segment, whatever ``%2F`` it holds."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/packages/"):
            raw = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
            raw = raw.split(b"?", 1)[0]
            if raw.startswith(_PREFIX):
                segment, slash, rest = raw[len(_PREFIX):].partition(b"/")
                ref = unquote(segment.decode("ascii", "replace"))
                path = ("/packages/" + quote(ref, safe="")
                        + unquote((slash + rest).decode("ascii", "replace")))
                scope = {**scope, "path": path}
        await self.app(scope, receive, send)
