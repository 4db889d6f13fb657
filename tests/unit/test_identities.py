"""Who may act is part of the record: every account and token change is an
audit event naming who made it, and whoever made a credential (or set its
password) cannot use it as the second person of a deaccession they asked for.

Before, an administrator signed in to the console could make an admin token and
approve their own deaccession request with it: the log said "requested by
admin, approved by helper (token)" and nothing anywhere said who made the
token; account and token changes left no event at all."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.audit import verify_chain
from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"
PASSWORD = "correct horse battery staple"
BASE = "http://testserver"


@pytest.fixture
def api(tmp_path: Path) -> Api:
    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    from ingest.accounts import create_account

    create_account(api.services.catalog, "ada", "admin", PASSWORD, api.services.clock.now())
    return api


def _signed_in(api: Api, name: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(api.app, base_url=BASE, follow_redirects=False)
    page = client.get("/console/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = client.post("/console/sign-in", headers={"Origin": BASE},
                         data={"name": name, "password": password, "csrf": token.group(1),
                               "next": "/console/"})
    assert answer.status_code == 303 and "sign-in" not in answer.headers["location"], answer.text[:500]
    return client


def _csrf(client: TestClient, page: str = "/console/admin") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert found
    return found.group(1)


def _post(client: TestClient, path: str, **form: str) -> object:
    return client.post(path, headers={"Origin": BASE}, data={"csrf": _csrf(client), **form})


def _made_token(client: TestClient, name: str, role: str) -> str:
    """Make a token in the console; its secret, from the page the form sends the maker on to."""
    made = _post(client, "/console/admin/tokens", name=name, role=role)
    assert made.status_code == 303, made.text[:500]  # type: ignore[attr-defined]
    assert "srt_" not in made.headers["location"]  # type: ignore[attr-defined]
    page = client.get(made.headers["location"]).text  # type: ignore[attr-defined]
    secret = re.search(r"(srt_[A-Za-z0-9_\-]+)", page)
    assert secret, page[:1000]
    return secret.group(1)


def _policy_events(api: Api) -> list[dict]:
    return [{"detail": e.detail, "actor": e.actor.to_dict() if e.actor else None}
            for e in api.services.catalog.events()  # type: ignore[attr-defined]
            if e.event_type == "policy assignment"]


def test_account_and_token_changes_in_the_console_are_audit_events_naming_who_made_them(api: Api) -> None:
    ada = _signed_in(api, "ada")
    assert _post(ada, "/console/admin/accounts", name="grace", role="auditor",
                 password=PASSWORD + "!", repeat=PASSWORD + "!").status_code == 303
    _made_token(ada, "nightly export", "reader")
    assert _post(ada, "/console/admin/tokens/revoke", token="nightly export").status_code == 303
    assert _post(ada, "/console/admin/accounts/disable", name="grace").status_code == 303

    events = _policy_events(api)
    assert [(e["detail"]["action"], (e["detail"].get("account") or e["detail"].get("token"))["name"])
            for e in events] == [("account created", "grace"), ("token created", "nightly export"),
                                 ("token revoked", "nightly export"), ("account disabled", "grace")]
    assert {e["actor"]["name"] for e in events} == {"ada"}
    assert all(e["actor"]["account_id"] for e in events)
    assert not any("secret" in str(e["detail"]) or "hash" in str(e["detail"]) for e in events)
    assert verify_chain(api.services.catalog.events()).ok  # type: ignore[attr-defined]
    page = ada.get("/console/audit").text
    assert "token created: nightly export (reader)" in page and "account disabled: grace (auditor)" in page


def test_an_admin_cannot_approve_their_own_deaccession_with_a_token_they_made(api: Api) -> None:
    ada = _signed_in(api, "ada")
    asked = _post(ada, "/console/deaccessions/request", package=TELEGRAM,
                  reason="takedown: the rights holder withdrew permission")
    assert asked.status_code in (200, 201, 303), asked.text[:500]  # type: ignore[attr-defined]
    [request] = api.client.get("/deaccessions", headers=api.auth("admin")).json()["requests"]
    secret = _made_token(ada, "helper", "admin")

    approved = api.client.post(f"/deaccessions/{request['request_id']}/approve",
                               headers={"Authorization": f"Bearer {secret}"})

    assert approved.status_code == 409, approved.text
    assert approved.json()["findings"][0]["code"] == "DEACCESSION_SAME_PERSON"
    assert api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("reader")).status_code == 200


def test_disabling_an_admin_ends_the_tokens_they_made_and_says_which(api: Api, tmp_path: Path) -> None:
    """Before, `strongroom user disable ada` ended her console session but the
    admin token she had made kept working: it listed and asked for deaccessions
    as if nothing had happened, and the command said nothing about tokens."""
    from click.testing import CliRunner

    from strongroom.cli import main

    ada = _signed_in(api, "ada")
    secret = _made_token(ada, "ada's laptop", "admin")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/deaccessions", headers=bearer).status_code == 200

    disabled = CliRunner().invoke(main, ["user", "disable", "ada"],
                                  env={"STRONGROOM_DATA_DIR": str(tmp_path / "data")})

    assert disabled.exit_code == 0, disabled.output
    assert "account ada disabled" in disabled.output
    assert "ada's laptop" in disabled.output and "revoked" in disabled.output
    assert api.client.get("/deaccessions", headers=bearer).status_code == 401
    asked = api.client.post("/deaccessions", headers=bearer,
                            json={"package": TELEGRAM, "reason": "after she left"})
    assert asked.status_code == 401
    assert "sign-in" in ada.get("/console/admin").headers.get("location", "")  # type: ignore[attr-defined]
    [revoked] = [e for e in _policy_events(api) if e["detail"]["action"] == "token revoked"]
    assert revoked["detail"]["token"]["name"] == "ada's laptop"
    assert "ada" in revoked["detail"]["reason"] and "disabled" in revoked["detail"]["reason"]
    assert revoked["actor"]["name"] != "ada"  # whoever ran the command, named as for any event
    assert verify_chain(api.services.catalog.events()).ok  # type: ignore[attr-defined]


def test_an_admin_the_requester_made_cannot_approve_even_after_changing_its_password(
        api: Api) -> None:
    """One admin alone deleted a package: she made a second admin account, "changed
    its own password" herself (she knew the first one) and approved her own
    request with it. Whoever made an account, or ever set its password, stands
    behind it for good; an admin made by someone else approves."""
    ada = _signed_in(api, "ada")
    assert _post(ada, "/console/admin/accounts", name="bob", role="admin",
                 password=PASSWORD + "?", repeat=PASSWORD + "?").status_code == 303
    _post(ada, "/console/deaccessions/request", package=TELEGRAM, reason="withdrawn by the depositor")
    [request] = api.client.get("/deaccessions", headers=api.auth("admin")).json()["requests"]
    bob = _signed_in(api, "bob", PASSWORD + "?")
    # The page offers bob no Approve button, and says who may approve.
    page = bob.get("/console/deaccessions").text
    assert 'action="/console/deaccessions/approve"' not in page
    assert "one whose account the asker did not make" in page and "strongroom user create" in page
    asked_page = _signed_in(api, "ada").get("/console/deaccessions").text
    assert 'action="/console/deaccessions/approve"' not in asked_page  # ada asked: not hers
    assert ">Withdraw</button>" in asked_page and ">Reject</button>" in page  # hers to withdraw

    # "bob" makes the password "his own": whoever did it knew the first one.
    changed = bob.post("/console/account", headers={"Origin": BASE},
                       data={"csrf": _csrf(bob, "/console/account"), "current": PASSWORD + "?",
                             "new": "bob's own long secret", "repeat": "bob's own long secret"})
    assert changed.status_code == 303, changed.text[:500]
    bob = _signed_in(api, "bob", "bob's own long secret")
    assert 'action="/console/deaccessions/approve"' not in bob.get("/console/deaccessions").text
    refused = _post(bob, "/console/deaccessions/approve", request_id=request["request_id"])
    assert "DEACCESSION_SAME_PERSON" in refused.text or "cannot approve" in refused.text  # type: ignore[attr-defined]
    assert api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("reader")).status_code == 200

    # ada setting the password of an admin someone else made counts the same.
    from ingest.accounts import create_account

    create_account(api.services.catalog, "carol", "admin", PASSWORD, api.services.clock.now())
    from dataclasses import replace

    from ingest.identities import set_password

    found = api.services.catalog.find_account("ada")
    assert found is not None
    set_password(replace(api.services, actor=found[0].actor()), "carol", PASSWORD + "!")
    carol = _signed_in(api, "carol", PASSWORD + "!")
    assert 'action="/console/deaccessions/approve"' not in carol.get("/console/deaccessions").text

    # dora, made at the terminal and never touched by ada, is a second person.
    create_account(api.services.catalog, "dora", "admin", PASSWORD, api.services.clock.now())
    dora = _signed_in(api, "dora")
    _post(dora, "/console/deaccessions/approve", request_id=request["request_id"])
    assert api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("reader")).status_code == 410
    actions = [e["detail"]["action"] for e in _policy_events(api)]
    assert actions == ["account created", "password changed", "password set"]


def test_guessing_the_current_password_on_the_account_page_is_throttled_like_sign_in(api: Api) -> None:
    ada = _signed_in(api, "ada")
    answers = [ada.post("/console/account", headers={"Origin": BASE},
                        data={"csrf": _csrf(ada, "/console/account"), "current": f"guess {n:04d} wrong",
                              "new": "a brand new long secret", "repeat": "a brand new long secret"}
                        ).status_code for n in range(8)]
    assert set(answers) == {400}
    right = ada.post("/console/account", headers={"Origin": BASE},
                     data={"csrf": _csrf(ada, "/console/account"), "current": PASSWORD,
                           "new": "a brand new long secret", "repeat": "a brand new long secret"})
    assert right.status_code == 400, "the right password went through after a run of guesses"
    assert _policy_events(api) == []


def test_a_request_made_with_a_token_the_approver_made_cannot_be_approved_by_its_maker(
        api: Api) -> None:
    """The rule was asked one way only: a token ada made asked for a deaccession,
    and ada approved it as herself; the package was deleted."""
    ada = _signed_in(api, "ada")
    secret = _made_token(ada, "ada's script", "admin")
    asked = api.client.post("/deaccessions", headers={"Authorization": f"Bearer {secret}"},
                            json={"package": TELEGRAM, "reason": "asked by a script"})
    assert asked.status_code == 201, asked.text

    assert 'action="/console/deaccessions/approve"' not in ada.get("/console/deaccessions").text
    refused = _post(ada, "/console/deaccessions/approve", request_id=asked.json()["request_id"])
    assert "DEACCESSION_SAME_PERSON" in refused.text or "cannot approve" in refused.text  # type: ignore[attr-defined]
    assert api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("reader")).status_code == 200


def test_a_long_chain_of_accounts_each_made_by_the_last_still_leads_back_to_its_first_maker(
        api: Api) -> None:
    """Past sixteen makers the rule gave up and called them two people."""
    from dataclasses import replace

    from ingest.identities import make_account, stands_behind

    found = api.services.catalog.find_account("ada")
    assert found is not None
    maker = found[0].actor()
    for n in range(20):
        made = make_account(replace(api.services, actor=maker), f"chain-{n:02}", "admin",
                            PASSWORD + f" {n}")
        maker = made.actor()
    assert stands_behind(api.services, found[0].actor(), maker)


def test_disabling_an_account_revokes_the_tokens_its_person_made_at_the_command_line(
        api: Api, tmp_path: Path) -> None:
    """Defect: a token made with `strongroom token create` named the operating-system
    account as its maker, and disabling the console account of the same person
    (the same name in other capitals: one person for the two-person rule) left it
    working. Now every token whose maker is that person, or was made with one of
    theirs, is revoked, each an audit event saying who disabled the account and
    why; and the accounts whose password that person set, which stay enabled,
    are named for review, at the command line and in the console."""
    import pwd
    from dataclasses import replace

    from click.testing import CliRunner

    from ingest.identities import make_account
    from strongroom.cli import main

    me = pwd.getpwuid(os.geteuid()).pw_name
    same_me = me.swapcase()
    assert same_me != me, "the test needs a login name with letters"
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data")}
    run = CliRunner()
    made = run.invoke(main, ["token", "create", "--role", "admin", "--name", "night shift", "--json"],
                      env=env)
    assert made.exit_code == 0, made.output
    bearer = {"Authorization": f"Bearer {json.loads(made.output)['token']}"}
    assert api.client.get("/deaccessions", headers=bearer).status_code == 200
    from ingest.accounts import create_account

    person = create_account(api.services.catalog, same_me, "admin", PASSWORD, api.services.clock.now())
    make_account(replace(api.services, actor=person.actor()), "bob", "reader", PASSWORD + "?")
    assert run.invoke(main, ["user", "create", "carol", "--role", "reader", "--password-stdin"],
                      input=PASSWORD + "!\n", env=env).exit_code == 0

    disabled = run.invoke(main, ["user", "disable", same_me], env=env)

    assert disabled.exit_code == 0, disabled.output
    assert "night shift" in disabled.output and "revoked" in disabled.output
    assert api.client.get("/deaccessions", headers=bearer).status_code == 401
    revoked = [e for e in _policy_events(api) if e["detail"]["action"] == "token revoked"]
    assert "night shift" in [e["detail"]["token"]["name"] for e in revoked]
    for event in revoked:
        assert event["actor"]["name"] == me  # who disabled the account
        assert same_me in event["detail"]["reason"] and "disabled" in event["detail"]["reason"]
        assert event["detail"]["disabled_by"]["name"] == me, event
    # bob's and carol's passwords were set by that person: they stay enabled, named for review.
    review = disabled.output.split("review", 1)[-1]
    assert "bob" in review and "carol" in review and "ada" not in review
    accounts = {a.name: a for a in api.services.catalog.list_accounts()}
    assert accounts["bob"].active and accounts["carol"].active and not accounts[same_me].active
    page = _signed_in(api, "ada").get("/console/admin").text
    row = page.split(f"<td>{same_me}</td>", 1)[1].split("</tr>", 1)[0]
    assert "bob" in row and "carol" in row and "review" in row


def test_an_admin_cannot_approve_their_own_deaccession_through_an_account_named_in_fullwidth_letters(
        api: Api, tmp_path: Path) -> None:
    """Defect: the two-person rule compared names case-folded only, while account
    names are told apart after NFKC as well (``ｊｏｅ`` is ``joe`` to a reader, so
    one of them is refused as a new account). A person who asked for a
    deaccession at the command line approved it in the console, signed in to an
    account named with the fullwidth letters of their login name: the audit log
    then read as one person deciding twice."""
    import pwd

    from click.testing import CliRunner

    from ingest.accounts import create_account
    from strongroom.cli import main

    me = pwd.getpwuid(os.geteuid()).pw_name
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in me)
    assert fullwidth != me, "the test needs a login name with letters"
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data")}
    package = next(p for p in api.services.catalog.list_packages()  # type: ignore[attr-defined]
                   if p.identifier == TELEGRAM)
    asked = CliRunner().invoke(main, ["deaccession", "request", package.package_id,
                                      "--reason", "takedown", "--json"], env=env)
    assert asked.exit_code == 0, asked.output
    request = json.loads(asked.output)
    assert request["requested_by"]["name"] == me
    create_account(api.services.catalog, fullwidth, "admin", PASSWORD, api.services.clock.now())
    look_alike = _signed_in(api, fullwidth)

    approved = _post(look_alike, "/console/deaccessions/approve", request_id=request["request_id"])

    assert approved.status_code == 409, approved.status_code  # type: ignore[attr-defined]
    assert "two people" in approved.text  # type: ignore[attr-defined]
    state = api.services.catalog.get_deaccession_request(  # type: ignore[attr-defined]
        request["request_id"]).state
    assert state == "requested"
    assert api.client.get(f"/packages/{package.package_id}",
                          headers=api.auth("reader")).status_code == 200
