"""Automatic repair from the command line: ``fixity run-due`` with the policy on, then
``fixity report`` a day later."""

from __future__ import annotations

from tests.e2e.test_fixity_cli import Strongroom, days_from_now, sr  # noqa: F401 (fixture)
from tests.unit.test_auto_repair import flip_a_byte


def test_run_due_from_the_command_line_repairs_and_the_report_at_that_moment_is_clean(
        sr: Strongroom) -> None:  # noqa: F811 (the fixture)
    sr.env["STRONGROOM_FIXITY_AUTO_REPAIR"] = "1"
    package_id = sr.packages[0]  # type: ignore[attr-defined]
    replica_page = max((p for p in (sr.replica / package_id / "v1" / "data").rglob("*")
                        if p.is_file()), key=lambda p: p.stat().st_size)
    good = replica_page.read_bytes()
    flip_a_byte(replica_page)

    run = sr.json("fixity", "run-due", days_later=31, expect=1)

    assert run["repaired"] == 1
    (failed,) = [c for c in run["checks"] if c["status"] == "failed"]
    assert failed["repair"]["status"] == "repaired"
    assert replica_page.read_bytes() == good
    # a day after the run: the re-check after the repair is the last word
    report = sr.json("fixity", "report", "--as-of", days_from_now(32))
    assert report["failures"] == [] and report["coverage"]["covered"] == 2
    assert report["policy"]["auto_repair"] is True
