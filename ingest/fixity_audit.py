"""Re-verifying stored packages: the preservation officer's fixity check, on demand.

Every byte and tag file of a version is re-read from the store and re-hashed
(the deep tier), compared with the bag's own manifests and with the catalog's
record of the version, and the outcome is written to the catalog and, as a
PREMIS fixity-check event, to the audit log — pass or fail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingest.findings import Finding
from ingest.models import EventType, NewEvent, Outcome
from ingest.pipeline import Services
from ingest.verification import verify_bag


@dataclass(frozen=True)
class VersionCheck:
    package_id: str
    version: int
    location: str
    findings: tuple[Finding, ...]

    @property
    def status(self) -> str:
        return "failed" if self.findings else "ok"

    def to_dict(self) -> dict:
        return {
            "package_id": self.package_id,
            "version": self.version,
            "location": self.location,
            "status": self.status,
            "findings": [f.to_dict() for f in self.findings],
        }


def version_prefix(package_id: str, number: int) -> str:
    """The object-store prefix of one version's bag: ``{package_id}/v{N}/``."""
    return f"{package_id}/v{number}/"


def verify_version(services: Services, package_id: str, number: int) -> VersionCheck:
    """Deep-check one committed version and record the result.

    Raises PackageNotFound, VersionNotFound, StorageUnavailable (nothing is
    recorded then: an unreachable store is not evidence about the bytes).
    """
    version = services.catalog.get_version(package_id, number)
    store = services.store
    raw = verify_bag(store, version_prefix(package_id, number), expected=version.files)
    findings = tuple(
        Finding(f.code, path=f.path, pointer=f.pointer, expected=f.expected, found=f.found,
                params=f.params, location=store.location)
        for f in raw
    )
    check = VersionCheck(package_id, number, store.location, findings)
    now = services.clock.now()
    event = NewEvent(
        event_type=EventType.FIXITY_CHECK,
        outcome=Outcome.FAILURE if findings else Outcome.SUCCESS,
        agent=services.agent,
        occurred_at=now,
        package_id=package_id,
        version=number,
        detail={
            "location": store.location,
            "tier": "deep",
            "files": len(version.files),
            "octets": sum(f.size for f in version.files),
            "findings": [f.to_dict() for f in findings],
        },
    )
    services.catalog.record_fixity(package_id, number, now, check.status, [event])
    return check


def verify_packages(services: Services, refs: Iterable[str] | None = None) -> list[VersionCheck]:
    """Deep-check every version of the named packages (ids or identifiers), or of all.

    Raises PackageNotFound for an unknown reference before checking anything.
    """
    catalog = services.catalog
    if refs is None:
        package_ids = [p.package_id for p in catalog.list_packages()]
    else:
        package_ids = [catalog.resolve_package(ref) for ref in refs]
    results = []
    for package_id in package_ids:
        for version in catalog.list_versions(package_id):
            results.append(verify_version(services, package_id, version.number))
    return results
