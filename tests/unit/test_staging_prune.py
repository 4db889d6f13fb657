"""Staged uploads are removed once their batch is done with them, and not before.

A staged folder is the only source of an item that is still to be ingested or
that failed and may be requeued: removing it then would lose the item. Once
every item is stored, unchanged or rejected it only takes space.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from ingest.models import ItemStatus
from ingest.pipeline import ingest_item
from ingest.submission import submit_batch
from strongroom.api.staging import MARKER, mark, prune
from strongroom.cli import main
from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of


def stage(api: Api, name: str) -> tuple[Path, str]:
    """A staged upload as the API leaves it: the batch unpacked and registered."""
    folder = api.settings.staging / name
    shutil.copytree(EXAMPLES, folder / "batch")
    batch = submit_batch(folder / "batch", api.services)
    mark(folder, batch.batch.batch_id)
    return folder, batch.batch.batch_id


def test_an_upload_ingested_here_leaves_nothing_staged_once_every_item_is_final(
        tmp_path: Path) -> None:
    # Before, every upload stayed staged until someone ran `staging prune`.
    api = make_api(tmp_path / "data")
    reply = api.client.post("/batches", content=zip_of(EXAMPLES),
                            headers={**api.auth("submitter"), "Content-Type": "application/zip"})
    assert reply.status_code == 202
    api.app.state.strongroom.wait(timeout=60)
    assert list(api.settings.staging.iterdir()) == []
    assert prune(api.settings.staging, api.services.catalog) == []
    listing = api.client.get("/packages", headers=api.auth("reader")).json()["packages"]
    assert len(listing) == 2  # the archive keeps what the staging folder held


def test_items_still_to_ingest_or_failed_keep_their_folder(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    waiting, _ = stage(api, "waiting")
    failing, failing_batch = stage(api, "failing")
    for item in api.services.catalog.list_items(failing_batch):
        if item.status is ItemStatus.ACCEPTED:
            api.services.catalog.finish_item(item.item_id, ItemStatus.FAILED)

    results = {Path(r.folder).name: r for r in prune(api.settings.staging, api.services.catalog)}
    assert not results["waiting"].removable and "3 item(s) still to ingest" in results["waiting"].reason
    assert not results["failing"].removable and "requeue" in results["failing"].reason
    assert waiting.is_dir() and failing.is_dir()


def test_dry_run_removes_nothing_then_a_real_run_removes_only_the_done(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    done, done_batch = stage(api, "done")
    for item in api.services.catalog.list_items(done_batch):
        assert ingest_item(item.item_id, api.services).outcome == "done"
    waiting, _ = stage(api, "waiting")

    dry = prune(api.settings.staging, api.services.catalog, dry_run=True)
    assert [(Path(r.folder).name, r.removable, r.removed) for r in dry] == [
        ("done", True, False), ("waiting", False, False)]
    assert done.is_dir()
    prune(api.settings.staging, api.services.catalog)
    assert not done.exists() and waiting.is_dir()


def test_unmarked_unknown_and_linked_folders_are_left_alone(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    staging = api.settings.staging
    arriving = staging / "arriving" / "batch"  # an upload still being received
    arriving.mkdir(parents=True)
    unknown = staging / "unknown"
    unknown.mkdir()
    (unknown / MARKER).write_text("no-such-batch\n")
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "only-copy.txt").write_text("keep me")
    (staging / "link").symlink_to(outside, target_is_directory=True)

    results = {Path(r.folder).name: r for r in prune(staging, api.services.catalog)}
    assert set(results) == {"arriving", "unknown"}  # a link is not an upload: not even looked at
    assert not any(r.removed for r in results.values())
    assert "not in the catalog" in results["unknown"].reason
    assert arriving.is_dir() and unknown.is_dir()
    assert (outside / "only-copy.txt").read_text() == "keep me"


def test_the_command_reports_each_folder_and_removes_the_done(tmp_path: Path) -> None:
    data = tmp_path / "data"
    api = make_api(data)
    _done, done_batch = stage(api, "done")
    for item in api.services.catalog.list_items(done_batch):
        ingest_item(item.item_id, api.services)
    stage(api, "waiting")
    env = {"STRONGROOM_DATA_DIR": str(data)}

    result = CliRunner().invoke(main, ["staging", "prune", "--json"], env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [(Path(u["folder"]).name, u["removed"]) for u in document["uploads"]] == [
        ("done", True), ("waiting", False)]
    human = CliRunner().invoke(main, ["staging", "prune"], env=env)
    assert "kept" in human.output and "1 staged uploads looked at" in human.output


def test_an_upload_a_crashed_server_left_goes_once_untouched_for_the_abandoned_time(
        tmp_path: Path) -> None:
    # Before: kept for ever ("an upload in progress?"), 400 MB at a time, while the
    # same command removed abandoned staging in the object store.
    import os
    import time

    api = make_api(tmp_path / "data")
    left = api.settings.staging / "cut-off"
    (left / "upload").parent.mkdir(parents=True)
    (left / "upload").write_bytes(b"the first part of a zip")
    arriving = api.settings.staging / "arriving"
    arriving.mkdir()
    (arriving / "upload").write_bytes(b"still coming")
    old = time.time() - 25 * 3600
    for path in (left / "upload", left):
        os.utime(path, (old, old))

    results = {Path(r.folder).name: r for r in prune(api.settings.staging, api.services.catalog,
                                                     abandoned_after=24 * 3600)}
    assert results["cut-off"].removed and "no batch was registered" in results["cut-off"].reason
    assert not left.exists()
    assert not results["arriving"].removable and arriving.is_dir()
