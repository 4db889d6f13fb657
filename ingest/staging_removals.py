"""What a staged object found missing means: gone for good, or looked for in the wrong place.

A worker reads a staged batch from the staging area its own settings name
(STRONGROOM_STAGING_URL, else the primary location). When an object of the
batch is not there, two causes must not be confused:

- the staged bytes are gone (``strongroom staging prune --failed`` removed the
  staging of failed items, or an object was deleted from the store): no retry
  brings them back, and the item is rejected with STAGED_CONTENT_MISSING
  ("submit the batch again");
- the worker looks in another place than the submitter staged to (a typo in
  the setting, another bucket or prefix, a mount missing on that host): the
  staged bytes may be whole where they were put, and a rejection, which is
  final, would lose a good item to an operator's mistake. This is a fault of
  the storage settings, not of the item: StorageUnavailable, naming the place
  looked at, so the item is tried again, then left failed for ``requeue
  --failed`` once the setting is mended.

They are told apart by two records in the staging area itself. The submitter
writes the batch's listing (``_staging/{batch_id}/batch/staged.json``) before
anything of its items, and it stays until no item of the batch can be read
again; ``staging prune`` writes a removal record
(``_staging/_removed/{batch_id}.json``: when, by whom, which items, how much)
before it deletes a batch's staging that failed items could still have been
requeued from, and leaves it there. A missing object beside the batch's listing,
or where a removal record says the batch's staging went, is gone; a missing
object with neither is looked for in the wrong place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ingest.errors import ContentRefused, ObjectBlocked, ObjectNotFound, StorageUnavailable
from ingest.findings import Finding
from ingest.layout import STAGING_PREFIX
from ingest.models import Actor
from ingest.paths import display_path
from ingest.ports import ObjectStore

#: The folder of the staging area that holds removal records (never a batch id:
#: batch ids are UUIDs).
REMOVED = "_removed"
REMOVED_PREFIX = f"{STAGING_PREFIX}{REMOVED}/"
#: More than any removal record holds.
_MOST = 1024 * 1024


def removal_key(batch_id: str) -> str:
    """``_staging/_removed/{batch_id}.json``: the record of a batch's staging removed."""
    return f"{REMOVED_PREFIX}{batch_id}.json"


def record_removal(store: ObjectStore, batch_id: str, *, at: datetime, by: Actor | None,
                   items: Sequence[str], objects: int, octets: int) -> None:
    """Write the record that the staging of ``batch_id`` is being removed, before
    anything of it is deleted (a removal that stops part way is still told
    apart from a wrong place). Raises StorageUnavailable."""
    body = {"batch_id": batch_id, "removed_at": at.isoformat(), "removed_by": by.to_dict() if by else None,
            "during": "staging prune", "items": list(items), "objects": objects,
            "octets": octets}
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    store.put_bytes(removal_key(batch_id), raw, hashlib.sha256(raw).hexdigest())
    store.sync(REMOVED_PREFIX)


def removal_of(store: ObjectStore, batch_id: str) -> dict[str, Any] | None:
    """The removal record of ``batch_id``'s staging, or None when there is none
    (an unreadable one counts as a record: something says the staging went).
    Raises StorageUnavailable."""
    try:
        with store.open(removal_key(batch_id)) as stream:
            raw = stream.read(_MOST)
    except ObjectBlocked as exc:
        raise unusable(exc) from exc
    except ObjectNotFound:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def missing(store: ObjectStore, batch_id: str, listing: str,
            shown: str) -> ContentRefused | StorageUnavailable:
    """What it means that the staged object shown as ``shown`` of batch ``batch_id``
    is not in ``store`` (see the module docstring): ContentRefused
    (STAGED_CONTENT_MISSING) when the batch's listing (key ``listing``) is there,
    or a removal record says its staging was removed; StorageUnavailable, naming
    the place looked at, when neither is. Raises StorageUnavailable when the
    store cannot say."""
    try:
        store.stat(listing)
    except ObjectBlocked as exc:
        return unusable(exc)
    except ObjectNotFound:
        pass
    else:
        return ContentRefused(missing_finding(shown, "the staged object is gone"))
    removal = removal_of(store, batch_id)
    if removal is not None:
        by = Actor.from_dict(removal.get("removed_by"))
        detail = ("`strongroom staging prune --failed` removed the batch's staging"
                  + (f" on {removal['removed_at']}" if isinstance(removal.get("removed_at"), str)
                     else "")
                  + (f", run by {by.name}" if by is not None else ""))
        return ContentRefused(missing_finding(shown, detail))
    return StorageUnavailable(
        f"the staging area this worker reads, {store.location} (prefix {STAGING_PREFIX}), "
        f"holds nothing of batch {batch_id} and no record of its removal: the batch was "
        "staged elsewhere (STRONGROOM_STAGING_URL, or STRONGROOM_STORAGE_URL when it is "
        "not set, names another place on this host than the submitter's, or a mount is "
        "missing here), and its staged files may be whole there; mend the setting on "
        "this host")


def missing_finding(path: str, detail: str) -> Finding:
    """STAGED_CONTENT_MISSING at ``path``, saying how it went."""
    return Finding("STAGED_CONTENT_MISSING", path=display_path(path), params={"detail": detail})


def unusable(exc: ObjectBlocked) -> StorageUnavailable:
    """The staging area cannot be read because the store is damaged there (a file
    where it keeps a folder): a fault of the store, not of the item, whose staged
    bytes may be whole once the store is mended. The item is tried again, then
    left failed for ``requeue --failed``; never rejected for it."""
    return StorageUnavailable(f"the staging area cannot be read: {exc}")


__all__ = [
    "REMOVED",
    "REMOVED_PREFIX",
    "missing",
    "missing_finding",
    "record_removal",
    "removal_key",
    "removal_of",
    "unusable",
]
