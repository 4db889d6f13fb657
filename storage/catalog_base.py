"""What the parts of the SQL catalog share: the engine, a read and a write
transaction, and the few helpers one part calls inside another's transaction.

``SqlCatalog`` (storage.catalog) is made of parts, one module each (batches and
items, packages and versions, the fixity schedule, replicas and anchors, access
and search). Each part derives from ``CatalogBase``, so that what it uses of the
others is declared here, checked by the type checker, and implemented once by
the part that owns it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ingest.copies import CopyRecord
from storage.database import catalog_errors


class CatalogBase:
    engine: Engine
    #: the engine that serializes writes (storage.database.writing)
    _writer: Engine

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A session in a write transaction, committed when the block ends."""
        with catalog_errors(), Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A session in a read transaction."""
        with catalog_errors(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    # Implemented by the part that owns them; declared here for the others.

    def _ensure_package(self, session: Session, package_id: str, identifier: str) -> None:
        """storage.catalog_versions: insert the package row unless present."""
        raise NotImplementedError

    def _track_version(self, session: Session, package_id: str, number: int,
                       locations: Iterable[str] = (), *,
                       committed: tuple[datetime, int] | None = None) -> None:
        """storage.catalog_fixity_state: give a committed version its fixity rows."""
        raise NotImplementedError

    def _untrack_version(self, session: Session, package_id: str, number: int) -> None:
        """storage.catalog_fixity_state: remove a withdrawn version's fixity rows."""
        raise NotImplementedError

    def _withdrawn(self, session: Session, ref: str, number: int | None = None) -> None:
        """storage.catalog_deaccession: raise Deaccessioned for a withdrawn package or version."""
        raise NotImplementedError

    def _newest_withdrawn(self, session: Session, package_id: str) -> int:
        """storage.catalog_deaccession: the highest version number a deaccession withdrew."""
        raise NotImplementedError

    def _refuse_if_withdrawn_whole(self, session: Session, package_id: str) -> None:
        """storage.catalog_deaccession: raise Deaccessioned for a package withdrawn as a whole."""
        raise NotImplementedError

    def _note_copies(self, session: Session, package_id: str, number: int,
                     copies: Sequence[CopyRecord]) -> None:
        """storage.catalog_replicas: upsert the notes on a version's copies."""
        raise NotImplementedError


def rows_changed(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched (its cursor's rowcount)."""
    return cast("CursorResult[Any]", result).rowcount


@functools.cache
def prepared_upsert(dialect: str, entity: Any, conflict: tuple[str, ...] = (),
                    add: tuple[str, ...] = (), replace: tuple[str, ...] = ()) -> Any:
    """An INSERT of ``entity`` (values given by column name when it is run) that,
    on a clash on the ``conflict`` columns, adds the new values of ``add`` to
    the row's and sets ``replace`` to the new ones, or else (and on any clash,
    with no ``conflict`` columns) does nothing. Built
    once per dialect (``session.get_bind().dialect.name``), like the statements
    every ingest runs (see ``storage.catalog_batches``)."""
    table = cast_table(entity)
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    changes = {**{name: table.c[name] + statement.excluded[name] for name in add},
               **{name: statement.excluded[name] for name in replace}}
    if not changes:
        return statement.on_conflict_do_nothing(index_elements=list(conflict) or None)
    return statement.on_conflict_do_update(index_elements=list(conflict), set_=changes)


def dialect_name(session: Session) -> str:
    """``"postgresql"`` or ``"sqlite"``: the database the session writes to."""
    return str(session.get_bind().dialect.name)


def upsert(session: Session) -> Any:
    """The INSERT builder of the session's dialect, which has ``on_conflict_do_update``
    and ``on_conflict_do_nothing`` (SQLite and PostgreSQL spell them alike)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def cast_table(entity: Any) -> Table:
    """The Core table of a mapped class (``__table__``), typed as one."""
    return cast(Table, entity.__table__)
