"""Uploaded batches in staging: which can go, and removing them.

An upload is unpacked into ``{staging}/{upload_id}/batch/``. Once the batch is
registered, its id is written beside it (``{upload_id}/batch-id``). The folder
must stay while any item may still be ingested from it: an item still
``accepted`` (queued, or lost and waiting for ``requeue``) or ``failed`` (a
transient error; ``requeue --failed`` reads the folder again). When every item
is ``stored``, ``unchanged`` or ``rejected``, the bytes are in the archive or
were refused, and the folder is only taking space.

Nothing else is removed: a folder with no batch id (an upload still arriving)
or whose batch the catalog does not know is kept and reported.

Clients never see the staging path: a batch document names its source
``upload:{upload_id}/batch…`` (see ``shown_source``).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.batch_source import origin_of
from ingest.errors import BatchNotFound
from ingest.models import ItemStatus
from ingest.ports import Catalog

#: the file beside ``batch/`` naming the batch registered from the upload
MARKER = "batch-id"

_log = logging.getLogger("strongroom.api")

_DONE = {ItemStatus.STORED, ItemStatus.UNCHANGED, ItemStatus.REJECTED}


def mark(upload_dir: Path, batch_id: str) -> None:
    """Record, beside the unpacked batch, the id of the batch registered from it.

    Raises nothing: without the mark the folder is only kept longer (``prune``
    leaves unmarked folders alone), which must not fail an accepted upload."""
    temporary = upload_dir / (MARKER + ".tmp")
    try:
        temporary.write_text(batch_id + "\n", encoding="utf-8")
        os.replace(temporary, upload_dir / MARKER)
    except OSError:
        _log.warning("could not mark staged upload %s with its batch %s", upload_dir, batch_id)


def shown_source(source: str, staging: Path) -> str:
    """A batch's ``source`` as a client may see it: ``upload:{upload_id}/…`` for an
    uploaded batch, ``folder:{name}`` for one submitted from a folder on the server
    (its path says how the server's disks are laid out). Raises nothing."""
    path = Path(origin_of(source))
    try:
        return "upload:" + path.relative_to(staging).as_posix()
    except ValueError:
        return "folder:" + path.name


def client_view(report: dict[str, Any], staging: Path) -> dict[str, Any]:
    """The batch document of ``strongroom.reports.batch_report`` as the API shows it:
    the same, with the source named by ``shown_source``."""
    return {**report, "source": shown_source(report["source"], staging)}


@dataclass(frozen=True)
class StagedUpload:
    folder: str
    batch_id: str | None
    #: the batch is done with it
    removable: bool
    #: and it was removed (not a dry run)
    removed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "batch_id": self.batch_id, "removable": self.removable,
                "removed": self.removed, "reason": self.reason}


def prune(staging: Path, catalog: Catalog, dry_run: bool = False,
          abandoned_after: float | None = None) -> list[StagedUpload]:
    """Remove the staged uploads whose batches are done (see the module docstring),
    and, with ``abandoned_after`` (seconds), those no batch was registered from
    and nothing has written to for that long (an upload cut off by a server that
    crashed or was killed); report every folder, removed or kept, and why. Raises
    CatalogUnavailable."""
    if not staging.is_dir():
        return []
    results = []
    now = time.time()
    for folder in sorted(staging.iterdir()):
        if folder.is_symlink() or not folder.is_dir():
            continue  # never ours: uploads are always real folders
        batch_id, removable, reason = _judge(folder, catalog)
        if batch_id is None and abandoned_after is not None:
            idle = now - _last_written(folder)
            if idle >= abandoned_after:
                removable, reason = True, (f"no batch was registered from it and nothing has "
                                           f"written to it for {idle / 3600:.1f} hours")
        if removable and not dry_run:
            shutil.rmtree(folder)
        results.append(StagedUpload(str(folder), batch_id, removable, removable and not dry_run,
                                    reason))
    return results


def release(folder: Path, catalog: Catalog) -> bool:
    """Remove one staged upload once its batch is done (as ``prune`` would), right
    after an in-process ingest of it; whether it was removed. Never raises: a
    folder kept for now is ``prune``'s to judge later."""
    try:
        _, removable, reason = _judge(folder, catalog)
        if removable:
            shutil.rmtree(folder)
            return True
        _log.info("staged upload %s kept: %s", folder.name, reason)
    except Exception as exc:  # noqa: BLE001 - tidying; `staging prune` comes after
        _log.warning("staged upload %s not removed: %s", folder.name, exc)
    return False


def _last_written(folder: Path) -> float:
    """The newest modification time in ``folder`` (links not followed)."""
    newest = folder.lstat().st_mtime
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
            except OSError:
                continue
    return newest


def _judge(folder: Path, catalog: Catalog) -> tuple[str | None, bool, str]:
    try:
        batch_id = (folder / MARKER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None, False, "no batch registered from it (an upload in progress?)"
    try:
        items = catalog.list_items(batch_id)
    except BatchNotFound:
        return batch_id, False, "its batch is not in the catalog"
    waiting = sum(1 for i in items if i.status is ItemStatus.ACCEPTED)
    failed = sum(1 for i in items if i.status is ItemStatus.FAILED)
    if waiting:
        return batch_id, False, f"{waiting} item(s) still to ingest"
    if failed:
        return batch_id, False, f"{failed} failed item(s) may be requeued"
    if not all(i.status in _DONE for i in items):  # a status this module does not know
        return batch_id, False, "an item is in an unknown state"
    return batch_id, True, "every item stored, unchanged or rejected"
