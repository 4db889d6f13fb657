"""``strongroom show`` says what changed in each version since the one before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "batch" / "telegram-1951-06-21-mao-to-filippov"


def test_show_tells_the_files_and_fields_changed_since_the_version_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL", "STRONGROOM_REPLICAS",
                 "STRONGROOM_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLE, batch / "telegram")
    assert runner.invoke(main, ["submit", str(batch)]).exit_code == 0
    record = json.loads((batch / "telegram" / "metadata.json").read_text(encoding="utf-8"))
    (batch / "telegram" / "metadata.json").write_text(
        json.dumps({**record, "language": "en-GB"}), encoding="utf-8")
    (batch / "telegram" / "notes" / "second-reading.md").write_text("checked again\n", encoding="utf-8")
    assert runner.invoke(main, ["submit", str(batch)]).exit_code == 0

    shown = runner.invoke(main, ["show", record["identifier"]])
    assert shown.exit_code == 0, shown.output
    assert "since v1: files: 1 added; record: Language" in shown.output
    document = json.loads(runner.invoke(main, ["show", record["identifier"], "--json"]).output)
    assert document["versions"][0]["changes"] is None
    changes = document["versions"][1]["changes"]
    assert [(f["change"], f["path"]) for f in changes["files"]] == [("added", "data/notes/second-reading.md")]
    assert [(f["pointer"], f["before"], f["after"]) for f in changes["metadata"]] == [("/language", "en", "en-GB")]
