"""Is every part of the archive reachable? The readiness use case behind
``GET /readyz`` and ``strongroom doctor``.

Each part is reached cheaply and without changing anything: the catalog reads
the head of its audit log, every storage location (the primary, then each
replica) is probed (``ObjectStore.probe``), and the broker, when one is
configured, is connected to (a ``BrokerProbe`` from ``workers.health``). The
parts are reached at once, each on its own thread, and a part that has not
answered within ``timeout`` seconds counts as unreachable: a hung mount or a
silent network never holds the answer.

Every part gets a plain sentence when it is not reachable (``problem``: safe to
show to anyone, it names no path, host or URL) and, for operators, what the
part itself said (``detail``, with any credentials in it replaced by ``***``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.errors import (
    CatalogOutdated,
    CatalogUnavailable,
    NotFound,
    QueueUnavailable,
    StorageUnavailable,
)
from ingest.services import Services

#: Seconds a part has to answer before it counts as unreachable.
DEFAULT_TIMEOUT = 5.0


class BrokerProbe(Protocol):
    """Reaches the workers' broker (``workers.health.BrokerProbe``)."""

    #: the broker's URL with any password replaced by ``***``
    where: str

    def __call__(self) -> None:
        """Connect to the broker and let go. Raises QueueUnavailable when it
        cannot be reached."""


@dataclass(frozen=True)
class PartHealth:
    """One part of the archive and whether it can be reached."""

    #: ``catalog``, ``storage`` (the primary location), ``replica 1`` …, ``broker``
    part: str
    ok: bool
    #: what is wrong, in a sentence that names no path, host or URL (None when ok)
    problem: str | None = None
    #: what the part itself said, credentials removed: for operators only
    detail: str | None = None
    #: where the part is (a URL without credentials): for operators only
    where: str | None = None

    def public(self) -> dict[str, Any]:
        """What anyone may see: the part, ok, and the plain sentence."""
        document: dict[str, Any] = {"part": self.part, "ok": self.ok}
        if self.problem is not None:
            document["problem"] = self.problem
        return document

    def to_dict(self) -> dict[str, Any]:
        """Everything, for the operator (``strongroom doctor --json``)."""
        return {**self.public(), "where": self.where, "detail": self.detail}


@dataclass(frozen=True)
class Readiness:
    """Every part, in a fixed order: catalog, storage, replicas, the staging
    area's location (STRONGROOM_STAGING_URL, when it is another), broker."""

    parts: tuple[PartHealth, ...]

    @property
    def ready(self) -> bool:
        """True when every part can be reached."""
        return all(part.ok for part in self.parts)

    @property
    def problems(self) -> tuple[PartHealth, ...]:
        return tuple(part for part in self.parts if not part.ok)


_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]*@")


#: a secret given as a URL's query parameter (libpq and Redis take ``?password=``)
_SECRET_PARAMETERS = re.compile(
    r"(?P<name>[?&](?:password|passwd|pass|secret|token|sslpassword|access_key|secret_key)=)"
    r"[^&#\s'\"]*", re.IGNORECASE)


def without_credentials(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``
    (``redis://:secret@host`` → ``redis://:***@host``; ``…/db?password=secret``
    → ``…/db?password=***``)."""
    text = _CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _SECRET_PARAMETERS.sub(lambda m: f"{m['name']}***", text)


@dataclass(frozen=True)
class PartCheck:
    """How to reach one part: ``reach`` raises when it cannot be used."""

    part: str
    #: what the part is, for the plain sentence ("the catalog database")
    what: str
    where: str | None
    reach: Callable[[], object]
    #: the error that means "cannot be reached"; anything else is an error of the part
    unreachable: type[Exception]


def check_readiness(services: Services, broker: BrokerProbe | None = None, *,
                    catalog_where: str | None = None,
                    timeout: float = DEFAULT_TIMEOUT) -> Readiness:
    """Reach the catalog, every storage location (and the staging area's, when it
    is another) and the broker (when given), at once, each within ``timeout``
    seconds, and say of each whether it can be reached. ``catalog_where`` names the catalog's database for operators.
    Never raises for a part that cannot be reached: that is the answer."""
    checks = [catalog_check(catalog_where, services.catalog.audit_head)]
    checks += [location_check(number, store.location, store.probe)
               for number, store in enumerate(services.locations)]
    if services.staging is not None and services.staging not in services.locations:
        checks.append(staging_check(services.staging.location, services.staging.probe))
    if broker is not None:
        checks.append(broker_check(broker))
    return check_parts(checks, timeout)


def catalog_check(where: str | None, reach: Callable[[], object]) -> PartCheck:
    """The catalog as a part: ``reach`` reads it (the head of its audit log)."""
    return PartCheck("catalog", "the catalog database", where, reach, CatalogUnavailable)


def location_check(number: int, where: str, reach: Callable[[], object]) -> PartCheck:
    """Storage location ``number`` as a part: 0 the primary (``storage``), then
    ``replica 1`` …; ``reach`` probes it."""
    part = "storage" if number == 0 else f"replica {number}"
    what = "the storage location" if number == 0 else f"storage replica {number}"
    return PartCheck(part, what, where, reach, StorageUnavailable)


def staging_check(where: str, reach: Callable[[], object]) -> PartCheck:
    """The staging area's location, when it is not one of the archive's, as a part."""
    return PartCheck("staging", "the staging area's location", where, reach, StorageUnavailable)


def broker_check(broker: BrokerProbe) -> PartCheck:
    """The broker as a part to reach."""
    return PartCheck("broker", "the broker (the workers' queue)", broker.where, broker,
                     QueueUnavailable)


def check_parts(checks: list[PartCheck], timeout: float = DEFAULT_TIMEOUT) -> Readiness:
    """Reach every part at once, each on its own thread and within ``timeout``
    seconds, and say of each whether it can be reached, in the order given.
    Never raises for a part that cannot be reached: that is the answer."""
    answers: list[PartHealth | None] = [None] * len(checks)

    def run(index: int, check: PartCheck) -> None:
        answers[index] = _reach(check)

    threads = [threading.Thread(target=run, args=(index, check), daemon=True,
                                name=f"readiness-{check.part}")
               for index, check in enumerate(checks)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    parts = []
    for check, answer in zip(checks, answers, strict=True):
        if answer is None:  # still waiting: a hung mount, a silent network
            answer = PartHealth(check.part, ok=False, where=_clean(check.where),
                                problem=f"{_capital(check.what)} did not answer within "
                                        f"{timeout:g} seconds.",
                                detail=f"no answer within {timeout:g} seconds")
        parts.append(answer)
    return Readiness(tuple(parts))


def _reach(check: PartCheck) -> PartHealth:
    where = _clean(check.where)
    try:
        check.reach()
    except check.unreachable as exc:
        return PartHealth(check.part, ok=False, where=where, detail=_clean(str(exc)),
                          problem=f"{_capital(check.what)} cannot be reached.")
    except NotFound as exc:  # opened by name, and not there (no catalog before init)
        return PartHealth(check.part, ok=False, where=where, detail=_clean(str(exc)),
                          problem=f"{_capital(check.what)} does not exist yet.")
    except CatalogOutdated as exc:  # made by an earlier release: init upgrades it
        return PartHealth(check.part, ok=False, where=where, detail=_clean(str(exc)),
                          problem=f"{_capital(check.what)} was made by an earlier release: "
                                  "`strongroom init` upgrades it.")
    except Exception as exc:  # noqa: BLE001  (any failure of a part is the answer, not a crash)
        return PartHealth(check.part, ok=False, where=where,
                          detail=_clean(f"{type(exc).__name__}: {exc}"),
                          problem=f"{_capital(check.what)} answered with an error.")
    return PartHealth(check.part, ok=True, where=where)


def _clean(text: str | None) -> str | None:
    """Credentials removed; the first line of a long message (database drivers
    add the statement and a help link on further lines)."""
    if text is None:
        return None
    first = text.strip().splitlines()[0] if text.strip() else ""
    return without_credentials(first)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


__all__ = ["DEFAULT_TIMEOUT", "BrokerProbe", "PartCheck", "PartHealth", "Readiness", "broker_check",
           "catalog_check", "check_parts", "check_readiness", "location_check", "staging_check",
           "without_credentials"]
