"""How a person at a terminal reads an item's findings in `submit` and `status`:
code, the path or JSON pointer it concerns when it has one, then the sentence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from strongroom.cli import main

ROOT = Path(__file__).resolve().parents[2]
LETTER = ROOT / "examples" / "batch" / "letter-1952-03-sample"


def _check(batch: Path, data: Path) -> list[str]:
    result = CliRunner().invoke(main, ["submit", "--check", str(batch)],
                                env={"STRONGROOM_DATA_DIR": str(data)})
    assert result.exit_code == 1, (result.output, result.exception)
    return [line.strip() for line in result.output.splitlines()]


def test_a_finding_with_no_path_is_printed_without_a_stray_space_before_its_colon(
        tmp_path: Path) -> None:
    # An item of metadata alone: PAYLOAD_EMPTY concerns the item, no path in it.
    item = tmp_path / "batch" / "letter"
    item.mkdir(parents=True)
    shutil.copy(LETTER / "metadata.json", item / "metadata.json")
    lines = _check(tmp_path / "batch", tmp_path / "data")
    assert "PAYLOAD_EMPTY: the item has no payload file besides metadata.json" in lines, lines


def test_a_finding_with_a_pointer_or_a_path_names_it_before_the_sentence(tmp_path: Path) -> None:
    item = tmp_path / "batch" / "letter"
    shutil.copytree(LETTER, item)
    record = json.loads((item / "metadata.json").read_text(encoding="utf-8"))
    record["date"] = 1952
    (item / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    (item / "a\x01b.txt").write_bytes(b"x")
    lines = _check(tmp_path / "batch", tmp_path / "data")
    assert any(line.startswith("METADATA_INVALID /date: ") for line in lines), lines
    assert any(line.startswith("PATH_UNSAFE a\\x01b.txt: ") for line in lines), lines


def test_a_finding_many_items_share_is_summed_up_once_after_the_items(tmp_path: Path) -> None:
    """300 items refused for one wrong value were 300 lines and no sum."""
    for n in range(6):
        item = tmp_path / "batch" / f"letter-{n}"
        shutil.copytree(LETTER, item)
        record = json.loads((item / "metadata.json").read_text(encoding="utf-8"))
        record.update(identifier=f"letter-{n}", type="register")  # not a type of the schema
        (item / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    lines = _check(tmp_path / "batch", tmp_path / "data")
    assert "6 items: METADATA_INVALID /type" in lines, lines
    assert lines.index("6 items: METADATA_INVALID /type") > max(
        i for i, line in enumerate(lines) if line.startswith("METADATA_INVALID /type: "))
