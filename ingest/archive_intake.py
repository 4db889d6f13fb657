"""Unpacking an uploaded batch archive (zip or tar) into a fresh staging folder.

An archive from the network is hostile until proven otherwise. Before one byte
is written, every member is listed and checked, and every problem reported at
once: a name that is absolute, holds ``..`` or is otherwise unsafe
(zip-slip), a link (symbolic or hard: the batch reader refuses links anyway,
and a link is how an extraction is tricked into writing elsewhere), a device,
FIFO or other non-regular member, a duplicate name, too many members, too many
bytes in all, or a compression ratio only a zip bomb has. Only then are the
members written, each with an exclusive create under the staging folder and a
byte count that stops at the size the archive declared, so a header that lies
cannot fill the disk either. Tar members go through ``tarfile``'s own ``data``
filter as well, as a second line of defence.

Memory stays flat whatever the archive claims: a zip's end record and central
directory are checked by ``ingest.zip_directory`` before ``zipfile`` reads them,
and a tar's extended headers (PAX, GNU long names) are refused past a bound
before ``tarfile`` reads them; sparse tar members are refused outright.

Names are kept as their writer meant them: a zip member's name without the
UTF-8 flag is read as ``ingest.zip_directory.member_name`` says, a tar's as
UTF-8. A name that still holds bytes that are not UTF-8 (the archive does not
say which code page they are in) is refused, never stored garbled.

A refused archive leaves the staging folder empty.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Self

from ingest.errors import ArchiveRefused
from ingest.findings import Finding
from ingest.paths import check_relative_path, display_path
from ingest.received_bag import BAG_DECLARATION
from ingest.system_files import DEFAULT_SYSTEM_FILES, system_file_rule
from ingest.zip_directory import check_directory, member_name

ArchiveKind = Literal["zip", "tar"]

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """What an upload may unpack to. The defaults suit a reading-room batch."""

    max_members: int = 10_000
    max_total_bytes: int = 10 * 1024**3
    #: uncompressed / compressed size of one member; ordinary documents stay far below
    max_ratio: float = 200.0
    #: members smaller than this are not ratio-checked: tiny files compress oddly
    ratio_floor_bytes: int = 1024 * 1024
    #: largest PAX or GNU long-name header of a tar member (names are at most 1024 bytes)
    max_extended_header_bytes: int = 64 * 1024


@dataclass(frozen=True)
class _Member:
    name: str          # relative, '/'-separated, no trailing '/'
    is_dir: bool
    size: int


def unpack_archive(archive: str | Path, kind: ArchiveKind, target: str | Path,
                   limits: ArchiveLimits = ArchiveLimits(),
                   skip: Sequence[str] = DEFAULT_SYSTEM_FILES) -> Path:
    """Check every member of ``archive``, then unpack it into ``target``.

    ``target`` must not exist yet (it is created) or be empty. Returns the
    batch folder: ``target`` itself, or its single top-level folder when the
    archive wraps the batch in one (as ``zip -r batch.zip my-batch/`` does) and
    that folder is not itself an item (it has no ``metadata.json`` or
    ``bagit.txt``). System
    files beside that folder (``skip``, ``ingest.system_files``: the
    ``__MACOSX/`` that Finder's "Compress" adds) do not hide it; they are moved
    into it, so that reading the batch reports them skipped.
    Raises ArchiveRefused with findings ARCHIVE_UNSAFE_MEMBER, ARCHIVE_TOO_LARGE
    or ARCHIVE_UNREADABLE; ``target`` is left empty then.
    """
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise ArchiveRefused(f"staging folder {root} is not empty")
    root = root.resolve()
    try:
        if kind == "zip":
            _unpack_zip(Path(archive), root, limits)
        else:
            _unpack_tar(Path(archive), root, limits)
    except ArchiveRefused:
        _empty(root)
        raise
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, ValueError,
            NotImplementedError) as exc:
        _empty(root)
        raise _refused([Finding("ARCHIVE_UNREADABLE", params={"detail": _reason(exc)})]) from exc
    return batch_root(root, skip)


# --------------------------------------------------------------------------- zip


def _unpack_zip(archive: Path, root: Path, limits: ArchiveLimits) -> None:
    with open(archive, "rb") as source:
        checked = check_directory(source, limits.max_members)
    if checked.findings:
        raise _refused(checked.findings)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        findings: list[Finding] = []
        if len(infos) > limits.max_members:
            findings.append(_too_large(f"{len(infos)} members, at most {limits.max_members}"))
            raise _refused(findings)
        members: list[tuple[zipfile.ZipInfo, _Member]] = []
        for info in infos:
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode) if info.create_system == 3 and mode else 0
            problem = None
            if kind == stat.S_IFLNK:
                problem = "it is a symbolic link"
            elif kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                problem = "it is not a regular file or folder"
            elif info.flag_bits & 0x1:
                problem = "it is encrypted"
            elif (info.file_size > limits.ratio_floor_bytes
                  and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
                findings.append(_too_large(
                    f"member {display_path(info.filename)!r} expands {info.file_size} bytes from "
                    f"{info.compress_size} (ratio over {limits.max_ratio:g})"))
                continue
            if problem:
                findings.append(_unsafe(info.filename, problem))
                continue
            # zipfile read a name without the UTF-8 flag as cp437, which gives its
            # bytes back unchanged; it is read again as its writer meant it.
            raw = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            name = _plain_name(member_name(raw, info.flag_bits, info.extra))
            if name:
                members.append((info, _Member(name, info.is_dir(), info.file_size)))
        findings += _check_members([m for _, m in members], limits)
        if findings:
            raise _refused(findings)
        for info, member in members:
            if member.is_dir:
                _make_folder(root, member.name)
            else:
                with zf.open(info) as source:
                    _write_member(root, member, source)


# --------------------------------------------------------------------------- tar


def _unpack_tar(archive: Path, root: Path, limits: ArchiveLimits) -> None:
    compressed_size = archive.stat().st_size
    guarded = _guarded_tarinfo(limits.max_extended_header_bytes)
    with tarfile.open(archive, mode="r:*", tarinfo=guarded, encoding="utf-8",
                      errors="surrogateescape") as tar:
        findings: list[Finding] = []
        members: list[tuple[tarfile.TarInfo, _Member]] = []
        for count, info in enumerate(_bounded(tar, limits.max_members + 1), start=1):
            if count > limits.max_members:
                raise _refused([_too_large(f"more than {limits.max_members} members")])
            if info.issym() or info.islnk():
                findings.append(_unsafe(info.name, f"it is a {'symbolic' if info.issym() else 'hard'}"
                                                   f" link to {display_path(info.linkname)!r}"))
            elif not (info.isreg() or info.isdir()):
                findings.append(_unsafe(info.name, "it is a device, FIFO or other special file"))
            elif name := _plain_name(info.name):
                members.append((info, _Member(name, info.isdir(), info.size)))
        findings += _check_members([m for _, m in members], limits)
        total = sum(m.size for _, m in members)
        if (total > limits.ratio_floor_bytes
                and total > limits.max_ratio * max(compressed_size, 1)):
            findings.append(_too_large(f"{total} bytes unpacked from {compressed_size} "
                                       f"(ratio over {limits.max_ratio:g})"))
        if findings:
            raise _refused(findings)
        for info, member in members:
            try:  # the standard library's own check of the same member, as well as ours
                tarfile.data_filter(info, str(root))
            except tarfile.FilterError as exc:
                raise _refused([_unsafe(info.name, "the standard library's data filter refuses it "
                                                   f"({type(exc).__name__})")]) from exc
            if member.is_dir:
                _make_folder(root, member.name)
                continue
            source = tar.extractfile(info)
            if source is None:
                raise _refused([_unsafe(info.name, "it has no readable content")])
            with source:
                _write_member(root, member, source)


def _guarded_tarinfo(most: int) -> type[tarfile.TarInfo]:
    """A ``TarInfo`` that refuses, before ``tarfile`` reads them whole into memory,
    extended headers (PAX, GNU long name or link) over ``most`` bytes, and
    refuses sparse members (whose maps are read whole as well)."""

    class GuardedTarInfo(tarfile.TarInfo):
        @classmethod
        def fromtarfile(cls, tar: tarfile.TarFile) -> Self:
            # ``tarfile`` takes a damaged header after the first, or an archive
            # that stops between members with no end blocks, for the end of the
            # archive and says nothing: the members after it would be lost
            # without a word. Only a block of zeros ends an archive here.
            try:
                return super().fromtarfile(tar)
            except _HEADER_DAMAGE as exc:
                if tar.offset == 0:
                    raise  # the first header: not a tar (``tarfile.open`` tries another kind)
                missing = isinstance(exc, _HEADER_MISSING)
                raise _refused([Finding("ARCHIVE_UNREADABLE", params={"detail": (
                    f"it stops at byte {tar.offset} without the blocks that end a tar: it was "
                    "cut short" if missing else
                    f"the member header at byte {tar.offset} is damaged: the members after it "
                    "cannot be read")})]) from None

        # ``_proc_member`` and the ``_proc_gnusparse_*`` methods are the stdlib's
        # per-header hooks (unchanged from 3.11 to 3.13); the size is known here
        # from the header block alone, before a byte of the extended data is read.
        def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
            if self.type in _EXTENDED_HEADERS and self.size > most:
                raise _refused([_too_large(
                    f"an extended tar header (PAX or GNU long name) of {self.size} bytes, "
                    f"at most {most}")])
            if self.type == tarfile.GNUTYPE_SPARSE:
                raise _refused([_unsafe(self.name, "it is a sparse file")])
            return super()._proc_member(tar)  # type: ignore[misc,no-any-return]

        def _proc_gnusparse_00(self, next: tarfile.TarInfo, *args: object) -> None:
            raise _refused([_unsafe(next.name, "it is a sparse file")])

        _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00

    return GuardedTarInfo


#: ``tarfile``'s own header errors (not in its public interface): missing or cut
#: short, and any damage
_HEADER_MISSING: tuple[type[Exception], ...] = tuple(
    getattr(tarfile, name) for name in ("EmptyHeaderError", "TruncatedHeaderError"))
_HEADER_DAMAGE: tuple[type[Exception], ...] = (
    *_HEADER_MISSING, *(getattr(tarfile, name) for name in ("InvalidHeaderError",)))

_EXTENDED_HEADERS = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                     tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}


def _bounded(tar: tarfile.TarFile, most: int) -> Iterator[tarfile.TarInfo]:
    """Members one header at a time, stopping after ``most`` (a tar of a
    million empty members is a bomb of its own)."""
    for count, info in enumerate(tar, start=1):
        yield info
        if count >= most:
            return


# --------------------------------------------------------------------------- shared


def _check_members(members: list[_Member], limits: ArchiveLimits) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    total = 0
    for member in members:
        if display_path(member.name) != member.name:  # bytes left undecoded: no UTF-8
            findings.append(Finding("ARCHIVE_NAME_ENCODING_UNKNOWN", path=display_path(member.name)))
            continue
        for problem in check_relative_path(member.name):
            findings.append(_unsafe(member.name, problem.params.get("detail", "unsafe name")))
        if member.name in seen and not member.is_dir:
            findings.append(_unsafe(member.name, "the name appears twice"))
        seen.add(member.name)
        total += member.size
    files = {m.name for m in members if not m.is_dir}
    for member in members:  # "a" a file, "a/b" needing it to be a folder
        parts = member.name.split("/")
        for depth in range(1, len(parts)):
            if (parent := "/".join(parts[:depth])) in files:
                findings.append(_unsafe(parent, f"it is a file, and member "
                                                f"{display_path(member.name)!r} needs it to be a folder"))
                files.discard(parent)  # once per file
                break
    if total > limits.max_total_bytes:
        findings.append(_too_large(f"{total} bytes unpacked, at most {limits.max_total_bytes}"))
    return findings


def _plain_name(name: str) -> str:
    """The member name without a trailing ``/`` and leading ``./`` (``tar -C dir .``
    writes those); ``""`` for the archive's own top folder."""
    name = name.rstrip("/")
    while name.startswith("./"):
        name = name[2:]
    return "" if name == "." else name


def _make_folder(root: Path, name: str) -> Path:
    folder = root.joinpath(*name.split("/"))
    _inside(root, folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_member(root: Path, member: _Member, source: IO[bytes]) -> None:
    parts = member.name.split("/")
    folder = _make_folder(root, "/".join(parts[:-1])) if len(parts) > 1 else root
    dest = folder / parts[-1]
    _inside(root, dest)
    written = 0
    with open(dest, "xb") as out:  # exclusive: never through an existing name or link
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > member.size:
                raise _refused([_too_large(
                    f"member {display_path(member.name)!r} holds more than the {member.size} "
                    "bytes its header declares")])
            out.write(chunk)


def _inside(root: Path, path: Path) -> None:
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise _refused([_unsafe(str(path.relative_to(root)), "it resolves outside the batch")])


def batch_root(root: Path, skip: Sequence[str] = DEFAULT_SYSTEM_FILES) -> Path:
    """The batch folder among what was unpacked or uploaded into ``root``: ``root``
    itself, or its single top-level folder when everything sits in one (a zipped
    folder, a folder picked in a browser) and that folder is not itself an item
    (it has no ``metadata.json``, and no ``bagit.txt``: a received bag is an item);
    system files (``skip``) beside that folder are
    moved into it, to be reported as skipped. Raises OSError if ``root`` cannot be listed."""
    entries = list(root.iterdir())
    system = [e for e in entries
              if system_file_rule(e.name, is_folder=e.is_dir(), patterns=skip) is not None]
    others = [e for e in entries if e not in system]
    if len(others) == 1 and others[0].is_dir() and not _is_item(others[0]):
        wrapper = others[0]
        for entry in system:  # staging is ours: nothing submitted is changed
            if not (wrapper / entry.name).exists():
                entry.rename(wrapper / entry.name)
        return wrapper
    return root


def _is_item(folder: Path) -> bool:
    return any((folder / name).exists() for name in ("metadata.json", BAG_DECLARATION))


def _empty(root: Path) -> None:
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _unsafe(name: str, detail: str) -> Finding:
    return Finding("ARCHIVE_UNSAFE_MEMBER", path=display_path(name), params={"detail": detail})


def _too_large(detail: str) -> Finding:
    return Finding("ARCHIVE_TOO_LARGE", params={"detail": detail})


def _refused(findings: list[Finding]) -> ArchiveRefused:
    return ArchiveRefused("; ".join(f.message for f in findings), findings)


def _reason(exc: BaseException) -> str:
    """A plain sentence for a library's complaint, without the server's paths."""
    if isinstance(exc, zipfile.BadZipFile | tarfile.ReadError):
        return "it is damaged or not an archive of the kind its Content-Type says"
    if isinstance(exc, EOFError | tarfile.TarError):
        return "it ends before its last member is complete"
    if isinstance(exc, NotImplementedError):
        return "it uses a feature (a compression method or encryption) this service cannot unpack"
    if isinstance(exc, OSError):
        return f"it could not be unpacked ({exc.strerror or 'input/output error'})"
    return "its structure is damaged"
