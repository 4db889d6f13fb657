"""A write abandoned by a crash leaves a temporary file in the store's staging
folder; the sweep removes it once it has been idle long enough, and never a
write still in progress nor any committed object."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from storage.filesystem import FilesystemObjectStore
from storage.filesystem_paths import STAGING
from strongroom.cli import main


def _age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_an_abandoned_write_is_swept_and_a_live_one_is_not(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    kept = b"Dear Sir,\n"
    store.put_bytes("p1/v1/data/letter.txt", kept, hashlib.sha256(kept).hexdigest())
    crashed = store.writer("p2/v1/data/scan.tif")  # its process died: no commit, no abort
    crashed.write(b"half a scan")
    live = store.writer("p3/v1/data/scan.tif")
    live.write(b"still arriving")
    staged = sorted((tmp_path / "objects" / STAGING).iterdir())
    assert len(staged) == 2
    crashed_file = crashed._temp  # type: ignore[attr-defined]
    assert crashed_file in staged
    _age(crashed_file, days=2)

    day_ago = datetime.now(UTC) - timedelta(days=1)
    assert store.sweep_abandoned(day_ago) == 1
    assert not crashed_file.exists()
    live.write(b", now whole")
    live.commit(hashlib.sha256(b"still arriving, now whole").hexdigest())
    assert store.open("p3/v1/data/scan.tif").read() == b"still arriving, now whole"
    assert store.open("p1/v1/data/letter.txt").read() == kept
    assert store.sweep_abandoned(day_ago) == 0


def test_reconcile_sweeps_when_asked_and_reports_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"STRONGROOM_DATA_DIR": str(data)}
    assert CliRunner().invoke(main, ["init", "--json"], env=env).exit_code == 0
    store = FilesystemObjectStore(data / "objects")
    store.writer("p9/v1/data/a.txt").write(b"left by a crash")  # never committed
    for leftover in (data / "objects" / STAGING).iterdir():
        _age(leftover, days=3)

    plain = CliRunner().invoke(main, ["fixity", "reconcile", "--json"], env=env)
    assert "swept" not in json.loads(plain.output)
    assert len(list((data / "objects" / STAGING).iterdir())) == 1

    swept = CliRunner().invoke(main, ["fixity", "reconcile", "--sweep-abandoned", "24",
                                      "--json"], env=env)
    assert swept.exit_code == 0, swept.output
    assert json.loads(swept.output)["swept"] == {store.location: 1}
    assert list((data / "objects" / STAGING).iterdir()) == []
