"""A person at a terminal: long commands show progress there and nowhere else, and Ctrl-C
during ``submit`` stops cleanly, says which batch and how to resume it, and the resume works.

The real ``strongroom`` command runs on a pseudo-terminal (``tests.cli_runner.Terminal``).
"""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest

from tests.cli_runner import Strongroom, Terminal

MB = 1024 * 1024
#: "12.3/150.0 MB" in rich's download column
DONE_OF = re.compile(r"(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?) MB")
#: "410.2 MB/s", or "1.0 GB/s" on a fast disk: rich's transfer speed, in whatever unit fits
SPEED = re.compile(r"\d+(?:\.\d+)? [kMGT]?B/s")


@pytest.fixture
def sr(tmp_path: Path) -> Strongroom:
    return Strongroom(tmp_path / "data")


def make_batch(root: Path, items: int, size: int) -> Path:
    """A batch of ``items`` items of one payload file of ``size`` random-ish bytes each."""
    batch = root / "big-batch"
    for n in range(1, items + 1):
        item = batch / f"scan-{n:02d}"
        item.mkdir(parents=True)
        (item / "metadata.json").write_text(json.dumps(
            {"identifier": f"scan-{n:02d}", "title": f"Scanned reel {n}", "date": "1951-06-21"}))
        block = bytes(range(256)) * 4096 + n.to_bytes(4, "big")
        with (item / "reel.tif").open("wb") as out:
            written = 0
            while written < size:
                out.write(block[: size - written])
                written += len(block[: size - written])
    return batch


def fractions_shown(screen: str) -> list[tuple[float, float]]:
    return [(float(done), float(total)) for done, total in DONE_OF.findall(screen)]


def test_submit_on_a_terminal_shows_bytes_moving_through_a_large_item(sr: Strongroom,
                                                                      tmp_path: Path) -> None:
    batch = make_batch(tmp_path, items=1, size=160 * MB)
    term = Terminal("submit", str(batch), env=sr.env, cwd=tmp_path)
    code, screen, _ = term.finish()
    assert code == 0, screen
    shown = fractions_shown(screen)
    # Not stuck at 0% then 100%: the bar shows the item's bytes part-way through. How many
    # steps a terminal sees depends on the machine's speed (8 refreshes a second); that bytes
    # are reported chunk by chunk is asserted in tests/unit/test_progress.py.
    assert any(0 < done < total for done, total in shown), screen
    assert "scan-01" in screen and "1/1 items" in screen and SPEED.search(screen)
    assert "stored    scan-01" in screen


LONG_COMMANDS = {
    "verify": (["verify", "--all"], "verifying"),
    "fetch": (["fetch", "scan-01", "--to", "{tmp}/fetched"], "fetching"),
    "fetch-tar": (["fetch", "scan-01", "--format", "tar", "-o", "{tmp}/bag.tar"], "fetching"),
    "repair": (["repair", "scan-01"], "checking copies"),
    "fixity-run-due": (["fixity", "run-due"], "checking"),
    "catalog-rebuild": (["catalog", "rebuild"], "reading bags"),
}


@pytest.mark.parametrize("command", LONG_COMMANDS)
def test_long_command_on_a_terminal_shows_bytes_moving(sr: Strongroom, tmp_path: Path,
                                                       command: str) -> None:
    batch = make_batch(tmp_path, items=1, size=160 * MB)
    sr.run("submit", str(batch))
    args, verb = LONG_COMMANDS[command]
    env = sr.env
    if command == "catalog-rebuild":  # into an empty catalog, from the same store
        env = {**env, "STRONGROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}"}
    # a fixity run a year on, when every copy's deep check is due
    later = 365 if command == "fixity-run-due" else None
    term = Terminal(*[a.format(tmp=tmp_path) for a in args], env=env, cwd=tmp_path,
                    days_later=later)
    code, screen, _ = term.finish()
    assert code == 0, screen
    assert any(0 < done < total for done, total in fractions_shown(screen)), screen
    assert verb in screen and SPEED.search(screen) and "items" in screen


@pytest.mark.parametrize("how", ["stdout-a-pipe", "json"])
def test_no_progress_when_stdout_is_not_a_terminal_or_with_json(sr: Strongroom, tmp_path: Path,
                                                                how: str) -> None:
    batch = make_batch(tmp_path, items=1, size=40 * MB)
    args = ("submit", str(batch), *(["--json"] if how == "json" else []))
    term = Terminal(*args, env=sr.env, cwd=tmp_path, stdout_to_pipe=how == "stdout-a-pipe")
    code, screen, piped = term.finish()
    assert code == 0, screen
    assert "ingesting" not in screen and not SPEED.search(screen) and "\x1b[" not in screen
    if how == "json":
        assert json.loads(screen)["counts"]["stored"] == 1
    else:
        assert "stored    scan-01" in piped


def interrupted_submit(sr: Strongroom, tmp_path: Path, presses: int,
                       sent: signal.Signals = signal.SIGINT) -> tuple[int, str, Path]:
    batch = make_batch(tmp_path, items=6, size=60 * MB)
    term = Terminal("submit", str(batch), env=sr.env, cwd=tmp_path)
    assert term.read_until(b"ingesting"), term.output
    for press in range(presses):
        if press:  # as a person does: the next press once the first is answered
            # (two signals pending at once are one to the process)
            assert term.read_until(b"Ctrl-C again"), term.output
        term.process.send_signal(sent)
        time.sleep(0.005)
    code, screen, _ = term.finish()
    return code, screen, batch


def assert_nothing_half_visible(sr: Strongroom) -> list[str]:
    """Every package a reader can see is whole and verifies; returns their identifiers."""
    listed = sr.json("list")["packages"]
    if listed:
        results = sr.json("verify", "--all")["results"]
        assert all(r["status"] == "ok" for r in results), results
        assert len(results) == len(listed)
    return sorted(p["identifier"] for p in listed)


def resume_command(screen: str) -> tuple[str, list[str]]:
    found = re.search(r"resume with `strongroom (requeue ([0-9a-f-]{36}))`", screen)
    assert found, screen
    return found.group(2), found.group(1).split()


def test_ctrl_c_during_submit_stops_names_the_batch_and_the_printed_command_resumes_it(
        sr: Strongroom, tmp_path: Path) -> None:
    code, screen, _ = interrupted_submit(sr, tmp_path, presses=1)
    assert code == 130, screen
    batch_id, resume = resume_command(screen)
    assert f"batch {batch_id}" in screen
    assert re.search(r"interrupted: \d of 6 items finished, \d left accepted", screen), screen
    status = sr.json("status", batch_id, expect=None)
    stored_now = assert_nothing_half_visible(sr)
    assert len(stored_now) < 6  # it did stop
    assert {i["status"] for i in status["items"]} <= {"stored", "accepted"}

    sr.run(*resume)
    assert assert_nothing_half_visible(sr) == [f"scan-{n:02d}" for n in range(1, 7)]
    assert sr.json("status", batch_id)["counts"]["stored"] == 6


def test_sigterm_during_submit_stops_as_ctrl_c_does_and_the_resume_finishes_the_batch(
        sr: Strongroom, tmp_path: Path) -> None:
    """Before, SIGTERM (kill, systemd, docker stop) ended submit where it stood:
    no word, the file in hand left half-written in the store's staging, its
    version claimed, and a resume within a minute failed those items."""
    code, screen, _ = interrupted_submit(sr, tmp_path, presses=1, sent=signal.SIGTERM)
    assert code == 130, screen
    assert "asked to stop (SIGTERM)" in screen
    batch_id, resume = resume_command(screen)
    assert len(assert_nothing_half_visible(sr)) < 6
    assert not list((sr.data / "objects" / ".staging").glob("*.part"))

    sr.run(*resume)  # at once: nothing is left claimed
    assert assert_nothing_half_visible(sr) == [f"scan-{n:02d}" for n in range(1, 7)]
    assert sr.json("status", batch_id)["counts"]["stored"] == 6


def test_second_ctrl_c_stops_at_once_and_leaves_nothing_half_visible(sr: Strongroom,
                                                                     tmp_path: Path) -> None:
    code, screen, _ = interrupted_submit(sr, tmp_path, presses=2)
    assert code == 130, screen
    assert "stopped at once" in screen
    batch_id, resume = resume_command(screen)
    assert len(assert_nothing_half_visible(sr)) < 6

    sr.run(*resume)
    assert assert_nothing_half_visible(sr) == [f"scan-{n:02d}" for n in range(1, 7)]
    assert sr.json("status", batch_id)["counts"]["stored"] == 6
