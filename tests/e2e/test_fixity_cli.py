"""`strongroom fixity run-due | report | reconcile`, end to end in embedded mode with a replica.

What a preservation officer running these from cron sees: which copies were
checked, the coverage figure, what is overdue, every failure with its code, and
exit 1 whenever anything failed or is overdue.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import cli_runner
from tests.cli_runner import EXAMPLES


class Strongroom(cli_runner.Strongroom):
    """Runs the CLI against one data folder, with a replica folder beside it."""

    def __init__(self, data: Path) -> None:
        super().__init__(data)
        self.replica = data.parent / "replica"
        self.env = cli_runner.cli_env(STRONGROOM_DATA_DIR=str(data),
                                      STRONGROOM_REPLICAS=self.replica.as_uri(),
                                      STRONGROOM_FIXITY_WINDOW_DAYS="30")


def days_from_now(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture
def sr(tmp_path: Path) -> Strongroom:
    batch = tmp_path / "good-batch"
    shutil.copytree(EXAMPLES, batch)
    shutil.rmtree(batch / "bad-record-missing-title")
    sr = Strongroom(tmp_path / "data")
    report = sr.json("submit", str(batch))
    sr.packages = [i["package_id"] for i in report["items"]]  # type: ignore[attr-defined]
    return sr


def test_run_due_checks_every_copy_once_due_and_the_report_shows_full_coverage(
        sr: Strongroom) -> None:
    assert sr.json("fixity", "run-due")["checked"] == 0
    # ten days on, with no budget: deep checks not yet urgent wait, shallow ones run
    early = sr.json("fixity", "run-due", "--budget", "0", days_later=10)
    assert {c["tier"] for c in early["checks"]} == {"shallow"} and early["octets"] == 0

    run = sr.json("fixity", "run-due", days_later=31)
    assert run["checked"] == 4 and run["failed"] == 0 and run["octets"] > 0
    assert {(c["location"], c["tier"]) for c in run["checks"]} == {
        ((sr.data / "objects").as_uri(), "deep"), (sr.replica.as_uri(), "deep")}

    report = sr.json("fixity", "report", "--as-of", days_from_now(32))
    assert (report["coverage"]["covered"], report["coverage"]["versions"]) == (2, 2)
    assert [loc["covered"] for loc in report["coverage"]["locations"]] == [2, 2]
    assert report["overdue"] == [] and report["failures"] == [] and report["status"] == "ok"

    # past the window with no new check: overdue, and exit 1 for cron
    late = sr.json("fixity", "report", "--as-of", days_from_now(80), expect=1)
    assert late["coverage"]["covered"] == 0 and len(late["overdue"]) == 4
    assert late["overdue_total"] == 4 and late["failures_total"] == 0
    # a long list is cut at --limit, oldest first; the count and the exit status are not
    capped = sr.json("fixity", "report", "--as-of", days_from_now(80), "--limit", "1",
                     "--no-reconcile", expect=1)
    assert capped["overdue"] == late["overdue"][:1] and capped["overdue_total"] == 4
    text = sr.run("fixity", "report", "--as-of", days_from_now(80), "--limit", "1",
                  "--no-reconcile", expect=1).stdout
    assert text.count("\noverdue ") == 2 and "… and 3 more copies" in text
    bad = sr.run("fixity", "report", "--as-of", "next tuesday", expect=2)
    assert "not an ISO 8601" in bad.stderr


def test_a_flipped_byte_fails_run_due_and_the_report_lists_it_with_its_code(
        sr: Strongroom) -> None:
    package = sr.packages[0]  # type: ignore[attr-defined]
    page = max((p for p in (sr.replica / package / "v1" / "data").rglob("*") if p.is_file()),
               key=lambda p: p.stat().st_size)
    data = bytearray(page.read_bytes())
    data[0] ^= 0x20
    page.write_bytes(bytes(data))
    (sr.data / "objects" / "stray.bin").write_bytes(b"nobody's")

    run = sr.json("fixity", "run-due", days_later=31, expect=1)
    (failed,) = [c for c in run["checks"] if c["status"] == "failed"]
    assert (failed["package_id"], failed["location"]) == (package, sr.replica.as_uri())
    assert {f["code"] for f in failed["findings"]} == {"FIXITY_MISMATCH"}

    report = sr.json("fixity", "report", "--as-of", days_from_now(32), expect=1)
    assert [(c["package_id"], c["location"], c["tier"]) for c in report["failures"]] == [
        (package, sr.replica.as_uri(), "deep")]
    assert report["coverage"]["covered"] == 1
    primary = report["reconciliation"][0]
    assert [(f["code"], f["path"]) for f in primary["findings"]] == [
        ("UNTRACKED_OBJECT", "stray.bin")]

    rows = list(csv.DictReader(io.StringIO(sr.run(
        "fixity", "report", "--csv", "--as-of", days_from_now(32), expect=1).stdout)))
    assert {(r["kind"], r["code"]) for r in rows if r["kind"] != "coverage"} == {
        ("failure", "FIXITY_MISMATCH"), ("reconciliation", "UNTRACKED_OBJECT")}

    reconciled = sr.json("fixity", "reconcile", expect=1)
    assert [len(r["findings"]) for r in reconciled["locations"]] == [1, 0]



def test_run_due_as_of_a_future_date_records_no_check_dated_in_the_future(
        sr: Strongroom) -> None:
    # what would be due a month ahead: said, not done, and nothing recorded
    plan = sr.json("fixity", "run-due", "--as-of", days_from_now(31))
    assert plan["checked"] == 0 and plan["checks"] == [] and plan["octets"] == 0
    assert {(p["location"], p["tier"]) for p in plan["planned"]} == {
        ((sr.data / "objects").as_uri(), "deep"), (sr.replica.as_uri(), "deep")}
    assert len(plan["planned"]) == 4
    text = sr.run("fixity", "run-due", "--as-of", days_from_now(31)).stdout
    assert text.count("\nwould check deep ") + text.startswith("would check deep ") == 4
    assert "nothing was checked or recorded" in text

    # the report a month ahead shows no check: none happened
    report = sr.json("fixity", "report", "--as-of", days_from_now(32), "--no-reconcile",
                     expect=1)
    assert report["coverage"]["covered"] == 0 and report["overdue_total"] == 4
    shown = sr.json("show", sr.packages[0])  # type: ignore[attr-defined]
    assert [v["last_fixity"] for v in shown["versions"]] == [None]
    # nor does a later real run find them done: it checks them then, dated then
    run = sr.json("fixity", "run-due", days_later=31)
    assert run["checked"] == 4
    checked_at = datetime.fromisoformat(run["as_of"])
    assert checked_at > datetime.now(UTC) + timedelta(days=30)
