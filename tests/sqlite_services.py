"""The services most tests run the use cases on: a fresh SQLite catalog in the
test's ``tmp_path``, the store the test gives, a clock stopped at ``AT``.

A ``services`` fixture is then::

    @pytest.fixture
    def services(tmp_path: Path) -> Iterator[Services]:
        with sqlite_services(tmp_path, FilesystemObjectStore(tmp_path / "objects")) as services:
            yield services
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.clock import FixedClock
from ingest.record_schema import SchemaSet
from ingest.services import Services
from storage.catalog import SqlCatalog

#: the moment the clock of ``sqlite_services`` stands at, unless told otherwise
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@contextmanager
def sqlite_services(tmp_path: Path, store: Any, *, at: datetime = AT,
                    **fields: Any) -> Iterator[Services]:
    """Services on a fresh SQLite catalog in ``tmp_path`` and ``store``, at ``at``;
    ``fields`` sets any other field of Services (``replicas``, ``actor``, …). The
    catalog's engine is disposed after."""
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    try:
        yield Services(catalog=catalog, store=store, clock=FixedClock(at),
                       schemas=SchemaSet.default(),
                       **{"source_organization": "Strongroom test archive", **fields})
    finally:
        catalog.engine.dispose()
