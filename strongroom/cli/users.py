"""People's accounts for the web console: create, list, disable, set a password."""

from __future__ import annotations

import sys
from typing import Any

import click

from ingest.access import ROLES
from strongroom.cli.anchors import anchor_after
from strongroom.cli.base import (
    _emit,
    _services,
    command_errors,
    credential_services,
    json_option,
    main,
)


@main.group()
def user() -> None:
    """Create, list and disable the accounts people sign in to the console with."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(click.prompt("Password", hide_input=True, confirmation_prompt="Repeat it",
                            err=True))


@user.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the person may do.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input instead of asking.")
@json_option
@command_errors
def user_create(name: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Make an account; the password is asked on the terminal (at least 12 characters)."""
    from ingest.identities import make_account

    services = credential_services()
    account = make_account(services, name, role, _read_password(password_stdin))
    anchor_after(services)

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"account {doc['name']} ({doc['role']}) created: sign in to the console "
                   "served by `strongroom serve`")

    _emit(as_json, account.to_dict(), human)


@user.command("list")
@json_option
@command_errors
def user_list(as_json: bool) -> None:
    """List accounts (never their passwords), active and disabled, with their last sign-in."""
    document = {"accounts": [a.to_dict() for a in _services(read_only=True).catalog.list_accounts()]}

    def human(doc: dict[str, Any]) -> None:
        for a in doc["accounts"]:
            state = f"disabled {a['disabled_at']}" if a["disabled_at"] else "active"
            seen = f"last signed in {a['last_sign_in_at']}" if a["last_sign_in_at"] else "never signed in"
            click.echo(f"{a['name']:<24} {a['role']:<9} {state}, {seen}")
        click.echo(f"{len(doc['accounts'])} accounts")

    _emit(as_json, document, human)


@user.command("disable")
@click.argument("name")
@json_option
@command_errors
def user_disable(name: str, as_json: bool) -> None:
    """Disable an account: it cannot sign in any more, its sessions end at once and
    the API tokens its person made are revoked (in the console, or with `token
    create` under an operating-system account of the same name in any capitals).
    The accounts whose password that person set stay enabled: they are named, to
    review. The name stays taken, so the audit log keeps naming one person."""
    from ingest.identities import end_account

    services = credential_services(read_only=True)
    disabled = end_account(services, name)
    anchor_after(services)

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"account {doc['name']} disabled")
        for token in doc["tokens_revoked"]:
            maker = (token.get("created_by") or {}).get("name") or doc["name"]
            click.echo(f"token {token['name']} ({token['role']}, {token['token_id']}) revoked: "
                       f"{maker} made it")
        if doc["passwords_set"]:
            names = ", ".join(f"{a['name']} ({a['role']})" for a in doc["passwords_set"])
            click.echo(f"still enabled, with a password {doc['name']} set (review them): {names}")

    _emit(as_json, disabled.to_dict(), human)


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the new password from the first line of standard input instead of asking.")
@command_errors
def user_password(name: str, password_stdin: bool) -> None:
    """Set a new password for an account (an administrator's reset); its sessions end.
    Whoever set it stands behind the account for good (its owner changing it
    later does not end that): it may not approve a deaccession they asked for."""
    from ingest.identities import set_password

    services = credential_services(read_only=True)
    set_password(services, name, _read_password(password_stdin))
    anchor_after(services)
    click.echo(f"password of {name} changed; its sessions were ended")
