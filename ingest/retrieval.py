"""Fetching a package version back out: as a folder or as one streamed tar.

Every byte is checked against the catalog's sizes and digests on its way out.
A folder fetch writes each file under a temporary name and renames it only
once its digests match, so a damaged file is never left looking like a good
one. A tar stream cannot take bytes back: on a mismatch it stops, leaving a
truncated (invalid) archive, and reports the finding.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ingest.errors import ObjectNotFound, TargetNotEmpty
from ingest.findings import Finding
from ingest.fixity import Digests
from ingest.fixity_audit import version_prefix
from ingest.models import StoredFile, VersionRecord
from ingest.pipeline import Services
from ingest.verification import check_digests, verify_stream


def fetch_to_folder(services: Services, package_id: str, number: int | None,
                    target: str | os.PathLike) -> tuple[VersionRecord, list[Finding]]:
    """Write one version's bag into ``target`` (absent or empty), verifying each file.

    Returns the version and the findings (empty when every file matched).
    Raises TargetNotEmpty, PackageNotFound, VersionNotFound, StorageUnavailable.
    """
    version = services.catalog.get_version(package_id, number)
    root = Path(target)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise TargetNotEmpty(f"{root} is not an empty folder")
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    prefix = version_prefix(package_id, version.number)
    findings: list[Finding] = []
    for f in version.files:
        dest = (root / f.path).resolve()
        if root not in dest.parents:  # the catalog only holds safe paths; be sure anyway
            findings.append(Finding("PATH_UNSAFE", path=f.path, params={"detail": "escapes the target"}))
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A short temporary name: the real one may already be at the 255-byte limit.
        partial = dest.with_name(f".strongroom-partial-{uuid.uuid4().hex[:12]}")
        try:
            with services.store.open(prefix + f.path) as source, open(partial, "wb") as out:
                problems = verify_stream(source, f, out.write)
                out.flush()
                os.fsync(out.fileno())
        except ObjectNotFound:
            findings.append(Finding("FILE_MISSING", path=f.path))
            partial.unlink(missing_ok=True)
            continue
        if problems:
            findings.extend(problems)
            partial.unlink()
        else:
            os.replace(partial, dest)
    return version, findings


class _CheckedReader:
    """Passes an object's bytes on while hashing them; tarfile reads exactly ``size``."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.size += len(data)
        self.sha256.update(data)
        self.sha512.update(data)
        return data


def write_tar(services: Services, package_id: str, number: int | None, out: BinaryIO,
              on_file: Callable[[StoredFile], None] | None = None) -> tuple[VersionRecord, list[Finding]]:
    """Stream one version's bag as an uncompressed tar to ``out``; no temp file.

    Members are ``{package_id}_v{N}/{bag path}``. Stops at the first damaged or
    missing file (the archive is then truncated, so no reader mistakes it for a
    whole bag) and returns that finding. Raises PackageNotFound, VersionNotFound,
    StorageUnavailable.
    """
    version = services.catalog.get_version(package_id, number)
    prefix = version_prefix(package_id, version.number)
    top = f"{package_id}_v{version.number}"
    mtime = int(version.created_at.timestamp())
    tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
    for f in version.files:
        info = tarfile.TarInfo(f"{top}/{f.path}")
        info.size = f.size
        info.mtime = mtime
        info.mode = 0o644
        try:
            with services.store.open(prefix + f.path) as source:
                reader = _CheckedReader(source)
                try:
                    tar.addfile(info, reader)
                except OSError:  # the object is shorter than the catalog says
                    return version, [Finding("SIZE_MISMATCH", path=f.path, expected=f.size,
                                             found=reader.size)]
                extra = source.read(1)
        except ObjectNotFound:
            return version, [Finding("FILE_MISSING", path=f.path)]
        if extra:
            return version, [Finding("SIZE_MISMATCH", path=f.path, expected=f.size,
                                     found=f"more than {f.size}")]
        problems = check_digests(f, Digests(reader.size, reader.sha256.hexdigest(),
                                            reader.sha512.hexdigest()))
        if problems:
            return version, problems
        if on_file:
            on_file(f)
    tar.close()
    return version, []
