"""``fixity report --as-of`` a moment past.

The report is worked out from each copy's latest checks: asked for a moment
past, it counted checks made after that moment as coverage and left out copies
that were overdue then, a figure that never held. A past moment is refused,
saying what to use instead; now and moments to come (what will be overdue)
are reported as before.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from strongroom.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "batch"


def _run(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"STRONGROOM_DATA_DIR": str(data)})
    return result.exit_code, result.output


def test_a_fixity_report_as_of_a_moment_past_is_refused_not_made_up(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES, batch)
    data = tmp_path / "data"
    _run(data, "submit", str(batch))
    past = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    code, said = _run(data, "fixity", "report", "--as-of", past, "--json")
    assert code == 2
    assert "not for a moment past" in said and "--since" in said
    code, said = _run(data, "fixity", "report", "--no-reconcile", "--json", "--as-of",
                      (datetime.now(UTC) + timedelta(days=1)).isoformat())
    assert code == 0 and json.loads(said)["coverage"]["versions"] == 2


def test_a_shallow_verify_that_finds_nothing_says_it_read_no_byte(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES, batch)
    data = tmp_path / "data"
    _run(data, "submit", str(batch))
    page = next(p for p in (data / "objects").rglob("data/*/*.txt") if p.stat().st_size)
    raw = bytearray(page.read_bytes())
    raw[0] ^= 1
    page.write_bytes(bytes(raw))  # a byte changed in place: a shallow look cannot see it
    code, said = _run(data, "verify", "--all", "--shallow")
    assert code == 0
    last = said.strip().splitlines()[-1]
    assert "shallow" in last and "no byte read" in last  # not "0 bytes read: no failures"
    code, said = _run(data, "verify", "--all")
    assert code == 1 and "FIXITY_MISMATCH" in said


def test_a_run_planned_at_a_moment_near_the_ends_of_the_calendar_is_refused_not_a_traceback(
        tmp_path: Path) -> None:
    # The policy's windows (up to 100 years each) are counted from the moment
    # named: near year 1 or 9999 they ran off the calendar, and run-due --as-of
    # ended in Python's OverflowError.
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES, batch)
    data = tmp_path / "data"
    _run(data, "submit", str(batch))
    for moment in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
        result = CliRunner().invoke(main, ["fixity", "run-due", "--as-of", moment],
                                    env={"STRONGROOM_DATA_DIR": str(data)})
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            repr(result.exception)
        assert result.exit_code == 2, result.output
        assert "cannot be planned" in result.output
    code, said = _run(data, "fixity", "run-due", "--json", "--as-of",
                      (datetime.now(UTC) + timedelta(days=400)).isoformat())
    assert code == 0 and json.loads(said)["plan_only"] is True
