"""``strongroom token create | revoke | list`` through the real command: one live token
per name, and revoke by name touches exactly that token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli_runner import Strongroom
from tests.unit.api_support import make_api


@pytest.fixture
def sr(tmp_path: Path) -> Strongroom:
    return Strongroom(tmp_path / "data")


def test_a_second_live_token_with_the_same_name_is_refused(sr: Strongroom) -> None:
    first = sr.json("token", "create", "--name", "alice", "--role", "submitter")
    second = sr.run("token", "create", "--name", "alice", "--role", "admin", expect=2)
    assert "already named 'alice'" in second.stderr
    live = [t for t in sr.json("token", "list")["tokens"] if t["revoked_at"] is None]
    assert [(t["name"], t["token_id"]) for t in live] == [("alice", first["token_id"])]


def test_revoke_by_name_revokes_exactly_the_live_token_of_that_name(sr: Strongroom) -> None:
    """A name freed by revoking may be given again; revoking by it touches only the
    live token, and a token id names exactly that token."""
    old = sr.json("token", "create", "--name", "alice", "--role", "submitter")
    sr.json("token", "revoke", "alice")
    new = sr.json("token", "create", "--name", "alice", "--role", "submitter")
    bob = sr.json("token", "create", "--name", "bob", "--role", "reader")
    revoked = sr.json("token", "revoke", "alice")["revoked"]
    assert [t["token_id"] for t in revoked] == [new["token_id"]]
    assert [t["token_id"] for t in sr.json("token", "revoke", bob["token_id"])["revoked"]] \
        == [bob["token_id"]]
    sr.run("token", "revoke", "alice", expect=2)  # nothing live is called alice any more
    states = {t["token_id"]: t["revoked_at"] for t in sr.json("token", "list")["tokens"]}
    assert set(states) == {old["token_id"], new["token_id"], bob["token_id"]}
    assert all(states.values())

def test_token_list_shows_last_use_written_at_most_once_a_minute(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    catalog = api.services.catalog
    before = {t.name: t.last_used_at for t in catalog.list_tokens()}  # type: ignore[attr-defined]
    assert before["test reader"] is None
    assert api.client.get("/packages", headers=api.auth("reader")).status_code == 200
    used = {t.name: t.last_used_at for t in catalog.list_tokens()}  # type: ignore[attr-defined]
    assert used["test reader"] is not None and used["test auditor"] is None
    for _ in range(3):
        assert api.client.get("/packages", headers=api.auth("reader")).status_code == 200
    again = {t.name: t.last_used_at for t in catalog.list_tokens()}  # type: ignore[attr-defined]
    assert again["test reader"] == used["test reader"]  # within the minute: not written again

    sr = Strongroom(tmp_path / "data")
    listed = {t["name"]: t for t in sr.json("token", "list")["tokens"]}
    assert listed["test reader"]["last_used_at"].startswith(
        used["test reader"].isoformat()[:16])
    human = sr.run("token", "list").stdout
    assert "test auditor  live, never used" in human
    assert "test reader  live, last used " in human



def test_making_and_revoking_a_token_at_the_command_line_are_audit_events_naming_who(
        tmp_path: Path) -> None:
    """Before, `token create` and `token revoke` left nothing in the audit log."""
    import pwd

    me = pwd.getpwuid(os.geteuid()).pw_name
    sr = Strongroom(tmp_path / "data")
    sr.run("token", "create", "--role", "reader", "--name", "catalogue sync")
    sr.run("token", "revoke", "catalogue sync")

    shown = sr.run("audit", "log").stdout
    assert f"token created: catalogue sync (reader)  by {me} (person)" in shown
    assert f"token revoked: catalogue sync (reader)  by {me} (person)" in shown
    assert "srt_" not in shown
    assert sr.run("audit", "verify").returncode == 0


@pytest.mark.parametrize("command", [
    ("token", "create", "--role", "admin", "--name", "svcadm"),
    ("token", "revoke", "anything"),
    ("user", "create", "bea", "--role", "admin", "--password-stdin"),
    ("user", "disable", "bea"),
    ("user", "password", "bea", "--password-stdin"),
])
def test_a_credential_is_made_by_the_person_at_the_terminal_never_under_another_name(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    # Before: `--agent svc token create --role admin` made a token recorded as made by
    # "svc (service)"; the OS account that had asked for a deaccession then approved
    # it with that token, and the two-person rule saw two people.
    sr = Strongroom(tmp_path / "data")
    refused = sr.run("--agent", "svc", *command, expect=2)
    assert "a credential is made by a person, as themselves" in refused.stderr
    assert "without --agent or STRONGROOM_AGENT" in refused.stderr
    assert not (tmp_path / "data" / "catalog.sqlite3").exists()  # refused before anything opened
