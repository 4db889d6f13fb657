"""The HTTP API: serve it, and manage its tokens."""

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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@command_errors
def serve(host: str, port: int) -> None:
    """Serve the HTTP API (uvicorn). Every request needs a token from `strongroom token create`."""
    import uvicorn

    from strongroom.api.server import serve_options, tidy_server_logs
    from strongroom.asgi import create_app
    from strongroom.cli.logs import configure_from
    from strongroom.settings import Settings

    settings = Settings.from_env()
    configure_from(settings)
    tidy_server_logs()
    # Access logs name the method and path (a query's names, not its values), never a
    # header: tokens and callback secrets stay out of logs. Every
    # record, uvicorn's too, goes through the one handler (STRONGROOM_LOG_FORMAT).
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower(),
                log_config=None,
                **serve_options(settings.api_header_timeout, settings.api_upload_timeout))


@main.group()
def token() -> None:
    """Create, list and revoke the HTTP API's bearer tokens."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do.")
@click.option("--name", required=True,
              help="Who or what holds the token; unique among live tokens, and the name "
                   "the audit log gives what the token does.")
@json_option
@command_errors
def token_create(role: str, name: str, as_json: bool) -> None:
    """Make a token and print it once; only its hash is kept."""
    from ingest.identities import make_token

    services = credential_services()
    info, secret = make_token(services, name, role)
    anchor_after(services)
    document = {"token": secret, **info.to_dict()}

    def human(doc: dict[str, Any]) -> None:
        click.echo(doc["token"])
        click.echo(f"token {doc['token_id']} ({doc['role']}, {doc['name']}): store it now, "
                   "it cannot be shown again", err=True)

    _emit(as_json, document, human)


@token.command("revoke")
@click.argument("token_ref", metavar="TOKEN_ID_OR_NAME")
@json_option
@command_errors
def token_revoke(token_ref: str, as_json: bool) -> None:
    """Revoke the one live token with this id or name; it stops working at once."""
    from ingest.identities import revoke_token

    services = credential_services(read_only=True)
    revoked = revoke_token(services, token_ref)
    anchor_after(services)
    document = {"revoked": [t.to_dict() for t in revoked]}

    def human(doc: dict[str, Any]) -> None:
        for t in doc["revoked"]:
            click.echo(f"revoked {t['token_id']} ({t['role']}, {t['name']})")

    _emit(as_json, document, human)


@token.command("list")
@json_option
@command_errors
def token_list(as_json: bool) -> None:
    """List tokens (never their secrets), live and revoked, with their last use
    (to the minute)."""
    document = {"tokens": [t.to_dict() for t in _services(read_only=True).catalog.list_tokens()]}

    def human(doc: dict[str, Any]) -> None:
        for t in doc["tokens"]:
            state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "live"
            used = f"last used {t['last_used_at']}" if t["last_used_at"] else "never used"
            click.echo(f"{t['token_id']}  {t['role']:<9} {t['name']}  {state}, {used}")
        click.echo(f"{len(doc['tokens'])} tokens")
        sys.stdout.flush()

    _emit(as_json, document, human)
