"""A stop asked for while `submit` stages a batch in the object store (Ctrl-C,
SIGTERM): nothing was registered, and the command says so and how to start again,
exiting 130 as an interrupted command does. Before, it ended with exit 1 and
``{"error": {"kind": "StopRequested"}}``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.errors import StopRequested
from strongroom.cli import main

ROOT = Path(__file__).resolve().parents[2]
LETTER = ROOT / "examples" / "batch" / "letter-1952-03-sample"


@pytest.mark.parametrize("as_json", [False, True])
def test_a_stop_while_the_batch_is_staged_registers_nothing_and_says_how_to_start_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    import ingest.submission

    def stopped(*_: object, **__: object) -> object:
        raise StopRequested("stopped on request")
    monkeypatch.setattr(ingest.submission, "stage_batch", stopped)
    batch = tmp_path / "batch"
    shutil.copytree(LETTER, batch / LETTER.name)
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
           "STRONGROOM_BROKER_URL": "redis://127.0.0.1:1/0"}  # staged: a broker is set
    result = CliRunner().invoke(main, ["submit", str(batch), *(["--json"] if as_json else [])],
                                env=env)
    assert result.exit_code == 130, (result.output, result.exception)
    if as_json:
        report = json.loads(result.stdout)
        assert report["interrupted"] is True and report["registered"] is False
        assert report["resume"] == f"strongroom submit {batch}"
    else:
        assert "nothing was registered or ingested" in result.output
        assert f"`strongroom submit {batch}`" in result.output
