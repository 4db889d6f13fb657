"""The catalog's packages and their committed versions, read: a version with its
files, a package's history, the listing, lookups by identifier, the format tally.
Part of ``SqlCatalog`` (claiming and committing: ``storage.catalog_versions``)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import BindParameter, bindparam, func, or_, select
from sqlalchemy.orm import Session

from ingest.errors import InputError, PackageNotFound, VersionNotFound
from ingest.models import PackageSummary, VersionRecord
from ingest.ports import FormatCount
from storage.catalog_base import CatalogBase, cast_table
from storage.catalog_rows import COMMITTED, version_record
from storage.tables import File, Package, Version

_V, _F, _P = cast_table(Version), cast_table(File), cast_table(Package)
_PACKAGE: BindParameter[str] = bindparam("b_package_id")
_NUMBER: BindParameter[int] = bindparam("b_number")
_LATEST_NUMBER = select(_P.c.latest_version).where(_P.c.package_id == _PACKAGE)
_COMMITTED_VERSION = select(_V).where(_V.c.package_id == _PACKAGE, _V.c.number == _NUMBER,
                                      _V.c.state == COMMITTED)
#: A version's files (also read by a commit that finds its version unchanged).
_FILES = select(_F).where(_F.c.package_id == _PACKAGE, _F.c.number == _NUMBER)


class PackageReads(CatalogBase):
    """Part of ``SqlCatalog``: needs ``self._read()`` sessions and ``self._withdrawn``."""

    def format_tally(self) -> list[FormatCount]:
        """Files and bytes per format over the payload of each package's latest
        version, in one aggregate query. Raises CatalogUnavailable."""
        columns = (File.puid, File.format_name, File.format_version, File.mime_type)
        with self._read() as session:
            rows = session.execute(
                select(*columns, func.count(), func.coalesce(func.sum(File.size), 0))
                .join(Package, (Package.package_id == File.package_id)
                      & (Package.latest_version == File.number))
                .where(File.path.like("data/%"))
                .group_by(*columns)).all()
        return [FormatCount(puid=puid, name=name or "", version=version or "", mime=mime or "",
                            files=int(files), octets=int(octets))
                for puid, name, version, mime, files, octets in rows]

    def latest_version(self, package_id: str) -> VersionRecord | None:
        """The newest committed version, or None. Raises CatalogUnavailable."""
        try:
            return self.get_version(package_id)
        except PackageNotFound:
            return None

    def get_version(self, package_id: str, number: int | None = None) -> VersionRecord:
        """One committed version, the latest when ``number`` is None. Raises
        PackageNotFound, VersionNotFound, CatalogUnavailable."""
        with self._read() as session:
            latest = self._visible_latest(session, package_id)
            wanted = latest if number is None else number
            where = {"b_package_id": package_id, "b_number": wanted}
            row = session.execute(_COMMITTED_VERSION, where).one_or_none()
            if row is None:
                self._withdrawn(session, package_id, wanted)
                raise VersionNotFound(f"package {package_id} has no version {wanted}")
            return version_record(row, session.execute(_FILES, where).all())

    def list_versions(self, package_id: str) -> list[VersionRecord]:
        """Committed versions, oldest first. Raises PackageNotFound, CatalogUnavailable."""
        with self._read() as session:
            self._visible_latest(session, package_id)
            rows = session.execute(
                select(Version)
                .where(Version.package_id == package_id, Version.state == COMMITTED)
                .order_by(Version.number)
            ).scalars().all()
            files_of: dict[int, list[File]] = {}
            for file in session.execute(
                    select(File).where(File.package_id == package_id)).scalars():
                files_of.setdefault(file.number, []).append(file)
            return [version_record(row, files_of.get(row.number, [])) for row in rows]

    def _visible_latest(self, session: Session, package_id: str) -> int:
        latest = session.execute(
            _LATEST_NUMBER, {"b_package_id": package_id}).scalar_one_or_none()
        if latest is None:
            self._withdrawn(session, package_id)
            raise PackageNotFound(f"no package {package_id}")
        return latest

    def list_packages(self) -> list[PackageSummary]:
        """Packages with a committed version, by identifier. Raises CatalogUnavailable."""
        # Columns, not mapped objects: the whole archive is read (10,000
        # packages: a third of the time, no identity map).
        with self._read() as session:
            rows = session.execute(
                select(Package.package_id, Package.identifier, Package.title,
                       Package.latest_version).where(Package.latest_version.is_not(None)))
            summaries = [
                PackageSummary(package_id=row.package_id, identifier=row.identifier,
                               title=row.title or "", latest_version=row.latest_version or 0)
                for row in rows
            ]
        return sorted(summaries, key=lambda summary: summary.identifier)

    def packages_with_identifier_key(self, key: str) -> list[tuple[str, str]]:
        """(package id, identifier) of each package with a committed version whose
        identifier has ``key`` (``ingest.batch_identifiers.identifier_key``), by
        the index on it. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(Package.package_id, Package.identifier)
                .where(Package.identifier_key == key, Package.latest_version.is_not(None))
                .order_by(Package.identifier)).all()
        return [(row.package_id, row.identifier) for row in rows]

    def package_summaries(self, package_ids: Collection[str]) -> dict[str, PackageSummary]:
        """Identifier, title and latest version of each of ``package_ids`` that has a
        committed version (one a deaccession removed is absent), in one query.
        Raises CatalogUnavailable."""
        wanted = sorted(set(package_ids))
        if not wanted:
            return {}
        with self._read() as session:
            rows = session.execute(
                select(Package.package_id, Package.identifier, Package.title, Package.latest_version)
                .where(Package.package_id.in_(wanted), Package.latest_version.is_not(None)))
            return {row.package_id: PackageSummary(package_id=row.package_id, identifier=row.identifier,
                                                   title=row.title or "", latest_version=row.latest_version or 0)
                    for row in rows}

    def resolve_package(self, ref: str) -> str:
        """The id of the package ``ref`` names, by package id or record identifier.
        Raises Deaccessioned (a package whose every version was deaccessioned),
        PackageNotFound, CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(Package.package_id, Package.identifier)
                .where(or_(Package.package_id == ref, Package.identifier == ref),
                       Package.latest_version.is_not(None))
            ).all()
            if not rows:
                self._withdrawn(session, ref)
        by_id = [row for row in rows if row.package_id == ref]
        by_identifier = [row for row in rows if row.package_id != ref]
        if by_id and by_identifier:
            # A record identifier written as another package's id: neither may
            # quietly win, or the one named by identifier could never be found.
            raise InputError(
                f"{ref!r} is the id of package {by_id[0].package_id} (identifier "
                f"{by_id[0].identifier!r}) and the identifier of package "
                f"{by_identifier[0].package_id}: name the first by its identifier, the "
                "second by its package id")
        found = [row.package_id for row in by_id or by_identifier]
        if not found:
            raise PackageNotFound(f"no package {ref!r}")
        return found[0]


__all__ = ["PackageReads"]
