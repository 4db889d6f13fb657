"""Fetching a package version into a local folder or tar file, which appears
under its name only once every file matched.

A folder is built in a hidden sibling folder and renamed to its name only when
every file matched; a tar file (``ingest.retrieval.write_tar``) is written
beside its name and linked into place only when complete. On failure nothing
is left under either name. Nothing is ever written to or through a symbolic
link, a folder given as a file, or a special file. Each file is checked on its
way out as every delivery's is (``ingest.retrieval``), and each refusal is
recorded as a failed fixity-check event.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from pathlib import Path
from typing import BinaryIO

from ingest.errors import TargetNotEmpty, TargetUnwritable
from ingest.findings import Finding
from ingest.layout import delivered_files, object_key
from ingest.models import VersionRecord
from ingest.retrieval import deliver_checked, plan_delivery, primary_copy, record_damage, write_tar
from ingest.services import Services


class _TargetWriter:
    """A local file being written; an OSError writing it is the target's fault."""

    def __init__(self, raw: BinaryIO, shown: Path) -> None:
        self.raw, self.shown = raw, shown

    def write(self, data: bytes | memoryview) -> int:
        try:
            return self.raw.write(data)
        except OSError as exc:
            raise _unwritable(self.shown, exc) from exc

    def flush(self) -> None:
        try:
            self.raw.flush()
        except OSError as exc:
            raise _unwritable(self.shown, exc) from exc


def _unwritable(shown: Path, exc: OSError) -> TargetUnwritable:
    return TargetUnwritable(f"cannot write {shown}: {exc.strerror or exc}; nothing was left there")


def _partial_name(final: Path) -> Path:
    """A hidden name beside ``final``, short enough for any file system."""
    return final.with_name(f".{final.name[:100]}.partial-{uuid.uuid4().hex[:12]}")


def fetch_to_folder(services: Services, package_id: str, number: int | None,
                    target: str | os.PathLike[str]) -> tuple[VersionRecord, list[Finding]]:
    """Write one version's bag into the folder ``target`` (absent or empty), verifying each file.

    The bag is built in a hidden sibling folder and renamed to ``target`` only
    when every file matched; on any failure nothing is left under its name.
    Returns the version and the findings (empty when every file matched; each
    refusal is recorded as a failed fixity-check event). Raises TargetNotEmpty,
    TargetUnwritable, PackageNotFound, VersionNotFound, StorageUnavailable.
    """
    root = Path(os.path.abspath(target))
    if root.is_symlink():
        raise TargetUnwritable(f"{target} is a symbolic link; give a folder to write the bag into")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise TargetNotEmpty(f"{target} is not an empty folder")
    version = services.catalog.get_version(package_id, number)
    build = _partial_name(root)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        build.mkdir()
    except OSError as exc:
        raise _unwritable(root, exc) from exc
    try:
        findings = _fill_folder(services, version, build, Path(target))
        if findings:
            record_damage(services, version, findings)
            return version, findings
        try:
            os.rename(build, root)  # onto an absent name or an empty folder
        except OSError as exc:
            if root.exists() and any(root.iterdir()):
                raise TargetNotEmpty(f"{target} is not an empty folder") from exc
            raise _unwritable(root, exc) from exc
        return version, []
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)


def _fill_folder(services: Services, version: VersionRecord, build: Path,
                 shown: Path) -> list[Finding]:
    findings: list[Finding] = []
    build = build.resolve()
    refused = plan_delivery(services, version)
    if refused:
        return refused
    primary = primary_copy(services, version)
    for f in delivered_files(version.files):
        dest = build / f.path
        if build not in dest.resolve().parents:  # the catalog only holds safe paths; be sure anyway
            findings.append(Finding("PATH_UNSAFE", path=f.path, params={"detail": "escapes the target"}))
            continue
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            raw = open(dest, "xb")  # noqa: SIM115 - closed by the `with raw` below, apart from its errors
        except OSError as exc:
            raise _unwritable(shown, exc) from exc
        try:
            with raw:
                problems = deliver_checked(services, primary,
                                         object_key(version.package_id, version.number, f), f,
                                         _TargetWriter(raw, shown).write)
                if not problems:
                    raw.flush()
                    os.fsync(raw.fileno())
        except OSError as exc:  # flushing or closing our own file
            raise _unwritable(shown, exc) from exc
        if problems:
            findings.extend(problems)
            dest.unlink()
    return findings


def _check_file_target(path: Path, shown: str, replace: bool) -> None:
    """Refuse what ``fetch -o`` must never write to or through."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    if stat.S_ISLNK(st.st_mode):
        raise TargetUnwritable(f"{shown} is a symbolic link; nothing is written through a link")
    if stat.S_ISDIR(st.st_mode):
        raise TargetUnwritable(f"{shown} is a folder; give a file name (or --to for a folder)")
    if not stat.S_ISREG(st.st_mode):
        raise TargetUnwritable(f"{shown} is not a regular file (a device, pipe or socket); "
                               f"use -o - to write to standard output")
    if not replace:
        raise TargetUnwritable(f"{shown} already exists; give --force to replace it")


def fetch_to_file(services: Services, package_id: str, number: int | None,
                  target: str | os.PathLike[str], *, replace: bool = False
                  ) -> tuple[VersionRecord, list[Finding]]:
    """Write one version's bag as a tar file ``target``, which appears only once
    every file matched.

    The tar is written to a new hidden file beside ``target`` and linked into
    place (or, with ``replace``, renamed over an existing regular file) on
    success; on any failure that file is removed and ``target`` is untouched.
    Never writes to or through a symbolic link, a folder or a special file.
    Returns the version and the findings (each refusal recorded as a failed
    fixity-check event). Raises TargetUnwritable, PackageNotFound,
    VersionNotFound, StorageUnavailable.
    """
    path = Path(os.path.abspath(target))
    shown = str(target)
    _check_file_target(path, shown, replace)
    version = services.catalog.get_version(package_id, number)
    partial = _partial_name(path)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    except OSError as exc:
        raise _unwritable(Path(shown), exc) from exc
    try:
        try:
            with os.fdopen(fd, "wb") as raw:
                version, findings = write_tar(services, package_id, version.number,
                                              _TargetWriter(raw, Path(shown)))  # type: ignore[arg-type]
                if findings:
                    return version, findings
                raw.flush()
                os.fsync(raw.fileno())
        except OSError as exc:  # flushing or closing our own file
            raise _unwritable(Path(shown), exc) from exc
        try:
            if replace:
                _check_file_target(path, shown, replace)
                os.replace(partial, path)
            else:
                os.link(partial, path)  # fails, and changes nothing, if the name was taken
        except FileExistsError as exc:
            raise TargetUnwritable(f"{shown} already exists; give --force to replace it") from exc
        except OSError as exc:
            raise _unwritable(Path(shown), exc) from exc
        return version, []
    finally:
        partial.unlink(missing_ok=True)
