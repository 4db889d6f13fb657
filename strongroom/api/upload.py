"""Receiving an upload into its staging folder, within the request limits.

The body is read a chunk at a time with a limit on its size and on the time
between two chunks (a stalled or abandoned upload); breaking either drops the
upload and everything staged for it. A ``multipart/form-data`` upload is
parsed as it streams: each ``file`` part is written straight to the path its
filename gives, under the batch folder, after the same name checks as any
archive member; nothing goes to a temporary folder elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import Request

from ingest.errors import ArchiveRefused
from ingest.findings import Finding
from ingest.paths import check_relative_path, display_path
from strongroom.api.problems import ApiProblem


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, "archive-too-large", "The upload is too large",
                      f"the body exceeds {limit} bytes",
                      findings=[Finding("ARCHIVE_TOO_LARGE",
                                        params={"detail": f"body over {limit} bytes"}).to_dict()])


async def body_chunks(request: Request, max_bytes: int, idle_timeout: float) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk. Raises the 413 problem past ``max_bytes``
    and the 408 problem when no byte comes for ``idle_timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    stream = request.stream().__aiter__()
    received = 0
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout=idle_timeout)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ApiProblem(408, "upload-timeout", "The upload stalled",
                             f"no data for {idle_timeout:g} seconds") from None
        received += len(chunk)
        if received > max_bytes:
            raise too_large(max_bytes)
        if chunk:
            yield chunk


async def receive_file(request: Request, dest: Path, max_bytes: int, idle_timeout: float) -> int:
    """Write the body to ``dest`` (a new file); returns its size."""
    size = 0
    # Local-disk writes of one received chunk at a time: brief enough for the event loop.
    with open(dest, "xb") as out:
        async for chunk in body_chunks(request, max_bytes, idle_timeout):
            out.write(chunk)
            size += len(chunk)
    return size


class _Parts:
    """Callbacks of the streaming multipart parser: one ``file`` part, one file."""

    def __init__(self, root: Path, max_files: int) -> None:
        self.root = root.resolve()
        self.max_files = max_files
        self.files = 0
        self.findings: list[Finding] = []
        self.seen: set[str] = set()
        self.headers: dict[bytes, bytes] = {}
        self.field = b""
        self.value = b""
        self.out: BinaryIO | None = None

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_done, "on_part_data": self.data,
                "on_part_end": self.end}

    def begin(self) -> None:
        self.headers, self.out = {}, None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.field.lower()] = self.value
        self.field = self.value = b""

    def headers_done(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if options.get(b"name") != b"file" or b"filename" not in options:
            return  # other fields are ignored
        self.files += 1
        if self.files > self.max_files:
            raise ArchiveRefused("too many files", (Finding(
                "ARCHIVE_TOO_LARGE", params={"detail": f"more than {self.max_files} files"}),))
        try:
            name = options[b"filename"].decode("utf-8")
        except UnicodeDecodeError:
            name = options[b"filename"].decode("utf-8", "surrogateescape")
        problems = check_relative_path(name)
        if name in self.seen:
            problems.append(Finding("PATH_UNSAFE", path=name,
                                    params={"detail": "the name appears twice"}))
        self.seen.add(name)
        if problems:
            self.findings += [Finding("ARCHIVE_UNSAFE_MEMBER", path=display_path(name),
                                      params={"detail": p.params.get("detail", "unsafe name")})
                              for p in problems]
            return
        if self.findings:
            return  # refused already; keep reading only to report every problem
        dest = self.root.joinpath(*name.split("/"))
        if self.root not in dest.resolve().parents:
            self.findings.append(Finding("ARCHIVE_UNSAFE_MEMBER", path=name,
                                         params={"detail": "it resolves outside the batch"}))
            return
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.out = open(dest, "xb")  # noqa: SIM115  (closed by end() or close())
        except OSError as exc:
            self.findings.append(Finding("ARCHIVE_UNSAFE_MEMBER", path=name,
                                         params={"detail": exc.strerror or str(exc)}))

    def data(self, data: bytes, start: int, end: int) -> None:
        if self.out is not None:
            self.out.write(data[start:end])

    def end(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None

    def close(self) -> None:
        self.end()


async def receive_multipart(request: Request, root: Path, *, boundary: bytes, max_bytes: int,
                            max_files: int, idle_timeout: float) -> None:
    """Write every ``file`` part to ``root``/its filename. Raises ArchiveRefused
    (unsafe names, too many files, no file), the 413 and 408 problems."""
    from python_multipart.multipart import MultipartParser

    root.mkdir(parents=True, exist_ok=False)
    parts = _Parts(root, max_files)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in body_chunks(request, max_bytes, idle_timeout):
            parser.write(chunk)
        parser.finalize()
    except ValueError as exc:  # the parser's own complaint about a malformed body
        raise ArchiveRefused(str(exc), (Finding("ARCHIVE_UNREADABLE",
                                                params={"detail": str(exc)}),)) from exc
    finally:
        parts.close()
    if parts.findings:
        raise ArchiveRefused("; ".join(f.message for f in parts.findings), tuple(parts.findings))
    if parts.files == 0:
        raise ArchiveRefused("no file part", (Finding(
            "ARCHIVE_UNREADABLE", params={"detail": "the form has no `file` part"}),))
