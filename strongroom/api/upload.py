"""Receiving an upload into its staging folder, within the request limits.

The body is read a chunk at a time with a limit on its size and on the time
between two chunks (a stalled or abandoned upload); breaking either drops the
upload and everything staged for it. A ``multipart/form-data`` upload is
parsed as it streams: each ``file`` part is written straight to the path its
filename gives, under the batch folder, after the same name checks as any
archive member; nothing goes to a temporary folder elsewhere. A form may
instead carry one ``archive`` part (a zip or tar), written beside the batch
folder, and short text fields asked for by name; a part with an empty filename
is a file input left empty and is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from fastapi import Request

from ingest.errors import ArchiveRefused
from ingest.findings import Finding
from ingest.paths import check_relative_path, display_path
from strongroom.api.problems import ApiProblem


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, "archive-too-large", "The upload is too large",
                      f"the body exceeds {limit} bytes",
                      findings=[Finding("ARCHIVE_TOO_LARGE",
                                        params={"detail": f"body over {limit} bytes"}).to_dict()],
                      # the rest of the body is not read: the connection is closed after the answer
                      headers={"Connection": "close"})


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
                             f"no data for {idle_timeout:g} seconds",
                             headers={"Connection": "close"}) from None
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


class NoFileSent(ArchiveRefused):
    """The form carried no file at all (a form sent with nothing chosen)."""


#: The longest text field of a form kept (a batch description is a few paragraphs).
MAX_FIELD_BYTES = 64 * 1024


@dataclass
class ReceivedForm:
    """What a multipart form brought besides its files."""

    #: the text fields asked for, decoded as UTF-8
    fields: dict[str, str] = field(default_factory=dict)
    #: the kind of its ``archive`` part, when it had one
    archive_kind: Literal["zip", "tar"] | None = None


def archive_kind_of(filename: str, content_type: str) -> Literal["zip", "tar"] | None:
    """zip or tar, from an archive's file name (or, failing that, its media type)."""
    name = filename.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar", ".tar.gz", ".tgz")):
        return "tar"
    media = content_type.split(";")[0].strip().lower()
    if media in ("application/zip", "application/x-zip-compressed"):
        return "zip"
    if media in ("application/x-tar", "application/tar", "application/gzip", "application/x-gzip"):
        return "tar"
    return None


class _Parts:
    """Callbacks of the streaming multipart parser: one ``file`` part, one file."""

    def __init__(self, root: Path, max_files: int, *, fields: Collection[str] = (),
                 archive_to: Path | None = None,
                 before_files: Callable[[Mapping[str, str]], None] | None = None) -> None:
        self.root = root.resolve()
        self.max_files = max_files
        self.wanted = frozenset(fields)
        self.archive_to = archive_to
        self.before_files = before_files
        self.form = ReceivedForm()
        self.field_name: str | None = None
        self.field_value = bytearray()
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
        self.headers, self.out, self.field_name = {}, None, None

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
        part = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            if part in self.wanted:
                self.field_name, self.field_value = part, bytearray()
            return  # other fields are ignored
        if not options[b"filename"] or part not in ("file", "archive") or (
                part == "archive" and self.archive_to is None):
            return  # a file input left empty, or a part this form does not take
        if self.before_files is not None:
            check, self.before_files = self.before_files, None
            check(self.form.fields)
        if part == "archive":
            self._archive(options[b"filename"].decode("utf-8", "replace"),
                          self.headers.get(b"content-type", b"").decode("latin-1"))
            return
        if self.form.archive_kind is not None:
            self._refuse_mixed()
            return
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

    def _archive(self, filename: str, content_type: str) -> None:
        assert self.archive_to is not None  # headers_done takes no archive part without it
        kind = archive_kind_of(filename, content_type)
        if self.files or self.form.archive_kind is not None:
            self._refuse_mixed()
        elif kind is None:
            self.findings.append(Finding("ARCHIVE_UNREADABLE", path=display_path(filename), params={
                "detail": "it is neither a zip nor a tar (.zip, .tar, .tar.gz, .tgz)"}))
        elif not self.findings:
            self.form.archive_kind = kind
            self.out = open(self.archive_to, "xb")  # noqa: SIM115  (closed by end() or close())

    def _refuse_mixed(self) -> None:
        self.findings.append(Finding("ARCHIVE_UNREADABLE", params={
            "detail": "send one archive, or the files of one folder, not both"}))

    def data(self, data: bytes, start: int, end: int) -> None:
        if self.out is not None:
            self.out.write(data[start:end])
        elif self.field_name is not None:
            self.field_value += data[start:end]
            if len(self.field_value) > MAX_FIELD_BYTES:
                raise ArchiveRefused("form field too long", (Finding("ARCHIVE_TOO_LARGE", params={
                    "detail": f"the field {self.field_name!r} is over {MAX_FIELD_BYTES} bytes"}),))

    def end(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        if self.field_name is not None:
            self.form.fields[self.field_name] = self.field_value.decode("utf-8", "replace")
            self.field_name = None

    def close(self) -> None:
        self.end()


async def receive_multipart(request: Request, root: Path, *, boundary: bytes, max_bytes: int,
                            max_files: int, idle_timeout: float, fields: Collection[str] = (),
                            archive_to: Path | None = None,
                            before_files: Callable[[Mapping[str, str]], None] | None = None,
                            ) -> ReceivedForm:
    """Write every ``file`` part to ``root``/its filename, or (given ``archive_to``)
    the one ``archive`` part to ``archive_to``; keep the text fields named in
    ``fields``; call ``before_files`` with them before the first file. Raises
    ArchiveRefused (unsafe names, too many files, no file, both an archive and
    files), the 413 and 408 problems, and what ``before_files`` raises."""
    from python_multipart.multipart import MultipartParser

    root.mkdir(parents=True, exist_ok=False)
    parts = _Parts(root, max_files, fields=fields, archive_to=archive_to, before_files=before_files)
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
    if parts.before_files is not None:  # no file came: the check is still owed
        parts.before_files(parts.form.fields)
    if parts.findings:
        raise ArchiveRefused("; ".join(f.message for f in parts.findings), tuple(parts.findings))
    if parts.files == 0 and parts.form.archive_kind is None:
        raise NoFileSent("no file part", (Finding(
            "ARCHIVE_UNREADABLE", params={"detail": "the form has no `file` part"}),))
    return parts.form
