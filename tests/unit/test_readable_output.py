"""Output a person can read: ``show`` gives the descriptive record and the payload in
words, ``verify`` names the copy on every line and ends with a summary, and the
``fixity report`` headline counts failures and overdue copies honestly. The JSON
documents keep every key they had."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli import main

EXAMPLE_BATCH = Path(__file__).parents[2] / "examples" / "batch"
TELEGRAM = "telegram-1951-06-21-mao-to-filippov"
LETTER = "letter-1952-03-sample"


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An archive holding the example batch; returns its data folder."""
    for name in ("STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL", "STRONGROOM_REPLICAS",
                 "STRONGROOM_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(data))
    monkeypatch.setenv("STRONGROOM_RETRY_BACKOFF", "0")
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLE_BATCH, batch)
    result = CliRunner().invoke(main, ["submit", str(batch)])
    assert result.exit_code == 1, result.output  # the example's bad item is rejected
    return data


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def damage_telegram(data: Path) -> None:
    (stored,) = (data / "objects").glob("*/v1/data/transcription/telegram-en.txt")
    stored.write_bytes(b"X" + stored.read_bytes()[1:])


def test_show_prints_the_descriptive_record_and_the_payload_in_words(archive: Path) -> None:
    out = run("show", TELEGRAM)
    assert out.splitlines()[0] == "Telegram from Mao Zedong to I. V. Stalin"
    for expected in (
        f"identifier   {TELEGRAM}",
        "date         1951-06-21",
        "creators     Mao Zedong (sender)",
        "recipients   I. V. Stalin, written as \u201cFilippov\u201d (addressee)",
        "citation     APRF, f. 45, op. 1, d. 339, ll. 64-65 (Archive of the President of the",
        "rights       Reuse for research and teaching is welcome.",
        "History and Public Policy Program",
        "834 bytes in 2 files",
    ):
        assert expected in out, (expected, out)
    assert "oxum" not in out


def test_show_json_keeps_its_keys_and_adds_the_payload_in_numbers(archive: Path) -> None:
    version = json.loads(run("show", TELEGRAM, "--json"))["versions"][0]
    assert version["payload_oxum"] == "834.2"
    assert (version["payload_octets"], version["payload_files"]) == (834, 2)


def test_verify_names_the_copy_on_every_line_and_ends_with_a_summary(archive: Path) -> None:
    damage_telegram(archive)
    out = run("verify", "--all", code=1)
    location = (archive / "objects").resolve().as_uri()
    lines = out.splitlines()
    body, summary = lines[:-1], lines[-1]
    assert body and all(location in line for line in body), out
    assert any(line.startswith("ok") and LETTER in line
               and "Sample letter (invented for the example batch)" in line for line in body)
    assert any(line.startswith("failed") and TELEGRAM in line
               and "Telegram from Mao Zedong to I. V. Stalin" in line for line in body)
    # every byte of both bags, tag files too (metadata/formats.json among them), as stored
    stored = sum(f.stat().st_size for f in (archive / "objects").glob("*/v1/**/*") if f.is_file())
    size = f"{stored / 1000:.1f} kB ({stored:,} bytes)"
    assert summary == f"2 packages (2 versions), 2 copies, {size} read: 1 copy failed"


def test_verify_json_keeps_its_keys_and_adds_identifier_and_title(archive: Path) -> None:
    results = json.loads(run("verify", "--all", "--json"))["results"]
    telegram = next(r for r in results if r["identifier"] == TELEGRAM)
    assert telegram["title"] == "Telegram from Mao Zedong to I. V. Stalin"
    assert {"package_id", "version", "location", "tier", "status", "octets", "findings",
            "repair"} <= telegram.keys()


def test_fixity_report_headline_counts_a_version_that_failed_after_a_good_check(
        archive: Path) -> None:
    run("verify", "--all")
    damage_telegram(archive)
    run("verify", "--all", code=1)
    lines = run("fixity", "report", code=1).splitlines()
    assert "deep-verified" not in lines[0]
    assert lines[0].startswith("PROBLEMS: 2 versions, 1 failing their last check, "
                               "0 copies overdue; coverage 1/2 (found whole by their last deep check, "
                               "within 90 days)"), lines[0]
    # the version that failed after its good check is not covered: its last check failed
    assert lines[1].endswith(": 1/2 covered, 1 failing")


def test_fixity_report_headline_when_all_is_well(archive: Path) -> None:
    run("verify", "--all")
    headline = run("fixity", "report").splitlines()[0]
    assert headline.startswith("ok: 2 versions, 0 failing their last check, 0 copies overdue; "
                               "coverage 2/2"), headline
