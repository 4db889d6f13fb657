"""The catalog's batches and items: registering a batch, following and finishing its items."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ingest.errors import (
    BatchNotFound,
    ItemFinished,
    LeaseHeld,
    NotFound,
)
from ingest.findings import Finding
from ingest.models import (
    BATCH_FILTERS,
    Actor,
    BatchRecord,
    BatchSummary,
    ItemRecord,
    ItemStatus,
    ItemTally,
    NewEvent,
)
from storage.audit_log import append_events
from storage.catalog_base import CatalogBase, cast_table, rows_changed
from storage.catalog_rows import (
    ACCEPTED,
    ITEM_COLUMNS,
    findings_of,
    item_record,
    utc_now,
)
from storage.tables import Batch, Item

# Statements every item's ingest runs, built once: building a statement and its
# cache key cost SQLAlchemy more than running it. Values are bound parameters,
# named b_…: a column's own name is reserved in an UPDATE.
_ITEMS, _BATCHES = cast_table(Item), cast_table(Batch)
_ITEM = select(_ITEMS).where(_ITEMS.c.item_id == bindparam("b_item_id"))
_BATCH = select(_BATCHES).where(_BATCHES.c.batch_id == bindparam("b_batch_id"))
_TAKE_LEASE = (
    update(_ITEMS)
    .where(_ITEMS.c.item_id == bindparam("b_item_id"), _ITEMS.c.status == ACCEPTED,
           or_(_ITEMS.c.lease_holder.is_(None), _ITEMS.c.lease_holder == bindparam("b_holder"),
               _ITEMS.c.updated_at < bindparam("b_expired_before")))
    .values(lease_holder=bindparam("b_holder"), attempts=_ITEMS.c.attempts + 1,
            updated_at=bindparam("b_now")))
_ATTEMPTS = select(_ITEMS.c.attempts).where(_ITEMS.c.item_id == bindparam("b_item_id"))


class BatchesAndItems(CatalogBase):
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""

    def create_batch(self, batch: BatchRecord, item_names: Sequence[str],
                     events: Sequence[NewEvent] = (),
                     staged: Mapping[str, str] | None = None) -> list[ItemRecord]:
        """Register a batch, one accepted item per name, and ``events``, in one
        transaction; ``staged`` gives each item's staged listing digest. Returns
        the items in name order. Raises ValueError for a repeated name or a
        batch id already registered, CatalogUnavailable."""
        staged = staged or {}
        names = sorted(item_names)
        if len(set(names)) != len(names):
            raise ValueError(f"batch {batch.batch_id} names an item twice")
        now = utc_now()
        try:
            with self._write() as session:
                session.add(Batch(
                    batch_id=batch.batch_id,
                    source=batch.source,
                    submitted_at=batch.submitted_at,
                    submitter=batch.submitter,
                    collection=batch.collection,
                    schema=batch.schema,
                    findings=[finding.to_dict() for finding in batch.findings],
                    submitted_by=batch.submitted_by.to_dict() if batch.submitted_by else None,
                    staged_sha256=batch.staged_sha256,
                ))
                session.flush()
                items = [
                    Item(item_id=str(uuid.uuid4()), batch_id=batch.batch_id, name=name,
                         status=ACCEPTED, findings=[], attempts=0, updated_at=now,
                         staged_sha256=staged.get(name))
                    for name in names
                ]
                session.add_all(items)
                session.flush()
                append_events(session, events)
                return [item_record(item) for item in items]
        except IntegrityError as exc:
            raise ValueError(f"batch {batch.batch_id} is already registered") from exc

    def get_batch(self, batch_id: str) -> BatchRecord:
        """Raises BatchNotFound, CatalogUnavailable."""
        with self._read() as session:
            row = session.execute(_BATCH, {"b_batch_id": batch_id}).one_or_none()
            if row is None:
                raise BatchNotFound(f"no batch {batch_id}")
            return batch_record(row)

    def batches_by_id(self, batch_ids: Collection[str]) -> dict[str, BatchRecord]:
        """Each of ``batch_ids`` held, by batch id, in one query. Raises CatalogUnavailable."""
        wanted = sorted(set(batch_ids))
        if not wanted:
            return {}
        with self._read() as session:
            rows = session.execute(select(_BATCHES).where(_BATCHES.c.batch_id.in_(wanted)))
            return {row.batch_id: batch_record(row) for row in rows}

    def list_items(self, batch_id: str) -> list[ItemRecord]:
        """Items of a batch in name order. Raises BatchNotFound, CatalogUnavailable."""
        with self._read() as session:
            if session.get(Batch, batch_id) is None:
                raise BatchNotFound(f"no batch {batch_id}")
            # Columns, not mapped objects: a batch of 10,000 items is read in a
            # third of the time (no identity map, no instrumented attributes).
            rows = session.execute(select(*ITEM_COLUMNS).where(Item.batch_id == batch_id))
            # Sorted here, not by the database, whose collation may differ.
            return sorted((item_record(row) for row in rows), key=lambda item: item.name)

    def list_batches(self, since: datetime | None = None, status: str | None = None,
                     limit: int = 50, *, after: str | None = None,
                     submitted_by: Actor | None = None) -> list[BatchSummary]:
        """Batches submitted at or after ``since``, newest first, at most ``limit``,
        with their item counts; ``status``: ``accepted`` (an item still waits),
        ``done`` (none does) or an item status (an item has it). ``after`` (a
        batch id) continues the list after that batch, from the index, so a later
        page costs what the first does (none when no batch has that id);
        ``submitted_by`` keeps the batches its token or account submitted
        (``batch_readers.may_read_batch``). Raises ValueError for another status,
        CatalogUnavailable."""
        if status is not None and status not in BATCH_FILTERS:
            raise ValueError(f"unknown batch status {status!r}: use one of {', '.join(BATCH_FILTERS)}")
        query = select(Batch)
        if after is not None:
            mark = select(Batch.submitted_at).where(Batch.batch_id == after).scalar_subquery()
            query = query.where(or_(Batch.submitted_at < mark,
                                    and_(Batch.submitted_at == mark, Batch.batch_id < after)))
        if submitted_by is not None:
            same = [Batch.submitted_by[key].as_string() == value
                    for key, value in (("token_id", submitted_by.token_id),
                                       ("account_id", submitted_by.account_id)) if value is not None]
            if not same:
                return []
            query = query.where(or_(*same))
        if since is not None:
            query = query.where(Batch.submitted_at >= since)
        if status is not None:
            wanted = ACCEPTED if status == "done" else status
            has_item = exists().where(Item.batch_id == Batch.batch_id, Item.status == wanted)
            query = query.where(~has_item if status == "done" else has_item)
        query = query.order_by(Batch.submitted_at.desc(), Batch.batch_id.desc()).limit(limit)
        with self._read() as session:
            rows = session.execute(query).scalars().all()
            counts: dict[str, dict[str, int]] = {row.batch_id: {} for row in rows}
            if counts:
                tally = session.execute(
                    select(Item.batch_id, Item.status, func.count())
                    .where(Item.batch_id.in_(list(counts)))
                    .group_by(Item.batch_id, Item.status))
                for batch_id, item_status, count in tally:
                    counts[batch_id][item_status] = count
            return [BatchSummary(batch_record(row), counts[row.batch_id]) for row in rows]

    def batch_settled(self, batch_id: str) -> bool:
        """True when no item of the batch is accepted or failed. Raises CatalogUnavailable."""
        waiting = exists().where(Item.batch_id == batch_id,
                                 Item.status.in_([ACCEPTED, ItemStatus.FAILED.value]))
        with self._read() as session:
            return not session.execute(select(waiting)).scalar()

    def get_item(self, item_id: str) -> ItemRecord:
        """Raises NotFound, CatalogUnavailable."""
        with self._read() as session:
            row = session.execute(_ITEM, {"b_item_id": item_id}).one_or_none()
            if row is None:
                raise NotFound(f"no item {item_id}")
            return item_record(row)

    def count_attempt(self, item_id: str) -> int:
        """Add one to the item's attempts and return the new count. Raises
        NotFound, CatalogUnavailable."""
        with self._write() as session:
            # Starting an attempt is progress: updated_at tells a working item
            # from a stuck one (see stuck_items).
            result = session.execute(
                update(Item).where(Item.item_id == item_id)
                .values(attempts=Item.attempts + 1, updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            if rows_changed(result) == 0:
                raise NotFound(f"no item {item_id}")
            return session.execute(
                select(Item.attempts).where(Item.item_id == item_id)).scalar_one()

    def take_lease(self, item_id: str, holder: str, expired_before: datetime) -> int:
        """Begin an attempt: the item's lease goes to ``holder`` (a token of this
        attempt), its attempts grow by one and its updated_at becomes now, in one
        UPDATE, when the item is accepted and nobody holds a live lease on it
        (none, or one not renewed since ``expired_before``). Returns the attempts.
        Raises LeaseHeld while another holder renews it, ItemFinished when the
        item is final, NotFound, CatalogUnavailable."""
        with self._write() as session:
            result = session.execute(_TAKE_LEASE, {"b_item_id": item_id, "b_holder": holder,
                                                   "b_expired_before": expired_before,
                                                   "b_now": utc_now()})
            if rows_changed(result) == 0:
                row = session.get(Item, item_id)
                if row is None:
                    raise NotFound(f"no item {item_id}")
                if row.status != ACCEPTED:
                    raise ItemFinished(f"item {item_id} is already {row.status}")
                raise LeaseHeld(f"item {item_id} is held by a live attempt "
                                f"(renewed at {row.updated_at.isoformat()})")
            return int(session.execute(_ATTEMPTS, {"b_item_id": item_id}).scalar_one())

    def renew_lease(self, item_id: str, holder: str) -> bool:
        """Renew ``holder``'s lease on an accepted item (its updated_at becomes
        now): one UPDATE. Returns False, writing nothing, when ``holder`` no
        longer holds it (taken over, or the item is final). Raises
        CatalogUnavailable."""
        with self._write() as session:
            result = session.execute(
                update(Item)
                .where(Item.item_id == item_id, Item.status == ACCEPTED,
                       Item.lease_holder == holder)
                .values(updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            return rows_changed(result) == 1

    def release_lease(self, item_id: str, holder: str) -> None:
        """Give up ``holder``'s lease at the end of its attempt (the next attempt
        may take the item at once); another holder's is left alone. Raises
        CatalogUnavailable."""
        with self._write() as session:
            session.execute(
                update(Item).where(Item.item_id == item_id, Item.lease_holder == holder)
                .values(lease_holder=None)
                .execution_options(synchronize_session=False)
            )

    def finish_item(self, item_id: str, status: ItemStatus, findings: Sequence[Finding] = (),
                    package_id: str | None = None, version: int | None = None,
                    events: Sequence[NewEvent] = (), *, holder: str | None = None) -> bool:
        """Give an accepted item its final status and append ``events``, in one
        transaction. Returns False, writing nothing, when the item is already
        final, or when ``holder`` is given and no longer holds its lease (taken
        over). Raises ValueError for a status that is not final, NotFound,
        CatalogUnavailable."""
        final = ItemStatus(status)
        if not final.is_final:
            raise ValueError(f"{final.value} is not a final item status")
        held = [Item.lease_holder == holder] if holder is not None else []
        with self._write() as session:
            result = session.execute(
                update(Item)
                .where(Item.item_id == item_id, Item.status == ACCEPTED, *held)
                .values(status=final.value, findings=[f.to_dict() for f in findings],
                        package_id=package_id, version=version, lease_holder=None,
                        updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            if rows_changed(result) == 0:
                if session.get(Item, item_id) is None:
                    raise NotFound(f"no item {item_id}")
                return False
            append_events(session, events)
            return True

    def reset_item(self, item_id: str) -> None:
        """Put a failed item back to accepted, with no attempts and no findings, for
        a retry by hand; an item in any other status is left as it is. Raises
        NotFound, CatalogUnavailable."""
        with self._write() as session:
            result = session.execute(
                update(Item)
                .where(Item.item_id == item_id, Item.status == ItemStatus.FAILED.value)
                .values(status=ACCEPTED, attempts=0, findings=[], lease_holder=None,
                        updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            if rows_changed(result) == 0 and session.get(Item, item_id) is None:
                raise NotFound(f"no item {item_id}")

    def stuck_items(self, idle_before: datetime, limit: int = 1000,
                    begun: bool | None = None) -> list[ItemRecord]:
        """Accepted items of any batch last updated before ``idle_before``, the
        longest idle first, at most ``limit``; with ``begun``, only those with
        (True) or without (False) an attempt. Raises CatalogUnavailable."""
        attempted = [] if begun is None else [Item.attempts > 0 if begun else Item.attempts == 0]
        with self._read() as session:
            rows = session.execute(
                select(Item)
                .where(Item.status == ACCEPTED, Item.updated_at < idle_before, *attempted)
                .order_by(Item.updated_at, Item.item_id)
                .limit(limit)
            ).scalars()
            return [item_record(row) for row in rows]

    def item_tally(self, idle_before: datetime) -> ItemTally:
        """Items by status, and the accepted ones last updated before ``idle_before``,
        in one aggregate over the status index. Raises CatalogUnavailable."""
        stuck = case((and_(Item.status == ACCEPTED, Item.updated_at < idle_before), 1), else_=0)
        with self._read() as session:
            rows = session.execute(
                select(Item.status, func.count(), func.sum(stuck)).group_by(Item.status)).all()
        by_status = {status.value: 0 for status in ItemStatus}
        by_status.update({status: int(count) for status, count, _ in rows})
        return ItemTally(by_status=by_status, stuck=sum(int(s or 0) for _, _, s in rows))

    def record_requeue(self, item_ids: Sequence[str],
                       expired_before: datetime | None = None) -> int:
        """Note that the accepted items among ``item_ids`` are sent to the workers
        again (their updated_at becomes now, so they are not stuck again at once);
        a lease not renewed since ``expired_before`` is revoked in the same
        UPDATE, so that the new message's worker may take the item (a live lease
        is kept). Returns how many were accepted. Raises CatalogUnavailable."""
        if not item_ids:
            return 0
        lease: dict[str, object] = {}
        if expired_before is not None:
            lease["lease_holder"] = case((Item.updated_at < expired_before, None),
                                         else_=Item.lease_holder)
        with self._write() as session:
            result = session.execute(
                update(Item)
                .where(Item.item_id.in_(list(item_ids)), Item.status == ACCEPTED)
                .values(updated_at=utc_now(), **lease)
                .execution_options(synchronize_session=False)
            )
            return rows_changed(result)

    # ------------------------------------------------------------------ versions


def batch_record(row: Batch | Row[Any]) -> BatchRecord:
    """The record of a batches row."""
    return BatchRecord(
        batch_id=row.batch_id,
        source=row.source,
        submitted_at=row.submitted_at,
        submitter=row.submitter,
        collection=row.collection,
        schema=row.schema,
        findings=findings_of(row.findings),
        submitted_by=Actor.from_dict(row.submitted_by),
        staged_sha256=getattr(row, "staged_sha256", None),
    )
