"""The command group and what every command shares: --json output, exit codes, error mapping."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

from ingest import models

if TYPE_CHECKING:  # the CLI imports them late: most commands need little
    from ingest.models import Actor
    from ingest.services import Services
    from strongroom.settings import Settings

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _emit(as_json: bool, document: dict[str, Any], human: Callable[[dict[str, Any]], None]) -> None:
    """Print ``document`` as JSON (exact), or have ``human`` print it for a person:
    then every string in it, keys too, has its control characters escaped
    (``strongroom.reports.printable``), so that no name can add or hide a line."""
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))
    else:
        human(_printable(document))


def _printable(value: Any) -> Any:
    from strongroom.reports import printable

    # The import once, not in every call of the walk: a batch of 10,000 items
    # has some 170,000 values, and an import statement each cost 0.5 s.
    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return printable(value)
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return value

    return walk(value)


def finding_line(finding: dict[str, Any], *, message: bool = True) -> str:
    """A finding on one line for a person: its code, the JSON pointer or path it
    concerns when it has one, then (``message``) its sentence."""
    place = finding.get("pointer") if finding.get("pointer") is not None else finding.get("path")
    line = f"{finding['code']} {place}" if place else finding["code"]
    return f"{line}: {finding['message']}" if message else line


def _fail(as_json: bool, code: int, kind: str, message: str,
          extra: dict[str, Any] | None = None) -> None:
    from strongroom.reports import printable

    if as_json:
        click.echo(json.dumps({"error": {"kind": kind, "message": message, **(extra or {})}},
                              indent=2, ensure_ascii=False))
    click.echo(f"strongroom: {printable(message)}", err=True)
    sys.exit(code)


def _warn(message: str) -> None:
    """A warning on stderr, its control characters escaped like any human output."""
    from strongroom.reports import printable

    click.echo(f"strongroom: warning: {printable(message)}", err=True)


def command_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map domain errors to exit codes, in one place."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ingest.errors import (
            CatalogDamaged,
            CatalogOutdated,
            Deaccessioned,
            DeaccessionRefused,
            InputError,
            NotFound,
            StrongroomError,
        )
        from strongroom.settings import SettingsError

        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except Deaccessioned as exc:  # gone, and the tombstone says when, why and by whom
            tombstone: dict[str, Any] = exc.tombstone.to_dict()
            tombstone.pop("versions", None)
            _fail(as_json, EXIT_USAGE, "Deaccessioned", str(exc), {"deaccession": tombstone})
        except DeaccessionRefused as exc:
            _fail(as_json, EXIT_PROBLEMS, "DeaccessionRefused",
                  f"{exc.finding.code}: {exc}", {"code": exc.finding.code})
        except (InputError, NotFound, SettingsError, CatalogDamaged, CatalogOutdated) as exc:
            _fail(as_json, EXIT_USAGE, type(exc).__name__, str(exc))
        except StrongroomError as exc:
            _fail(as_json, EXIT_PROBLEMS, type(exc).__name__, str(exc))

    return wrapper


def _services(read_only: bool = False) -> Services:
    return _settings_and_services(read_only)[1]


def credential_services(read_only: bool = False) -> Services:
    """The services, acting as the person at the terminal, for making and ending
    credentials (accounts, passwords, tokens): refused under ``--agent`` before
    anything is opened (``person_at_terminal``)."""
    from dataclasses import replace

    actor = person_at_terminal(CREDENTIALS_BY_PEOPLE)
    return replace(_services(read_only), actor=actor)


def _settings_and_services(read_only: bool = False, settings: Settings | None = None,
                           upgrade: bool = False) -> tuple[Settings, Services]:
    """Settings (``settings``, or read from the environment) and services; a
    ``read_only`` command creates no catalog or store folder (CatalogMissing,
    exit 2, when there is no catalog). Only ``upgrade`` (init) upgrades a
    catalog an earlier release made (CatalogOutdated, exit 2, otherwise)."""
    from dataclasses import replace

    from strongroom.bootstrap import build_services
    from strongroom.settings import Settings

    if settings is None:
        settings = Settings.from_env()
    services = replace(build_services(settings, create=not read_only, upgrade=upgrade),
                       actor=cli_actor())
    if settings.prometheus_multiproc_dir is None:
        # A command's counts die with its process unless they are written where the
        # API and the workers' metrics read them (PROMETHEUS_MULTIPROC_DIR): without
        # it, nobody could read them, and prometheus-client is not loaded to keep them.
        from ingest.work_metrics import NO_METRICS

        services = replace(services, metrics=NO_METRICS)
    _name_the_place(settings)
    return settings, services


def _name_the_place(settings: Settings) -> None:
    """Human output starts, on stderr, with the catalog and store in use when
    they are in the default place (no environment variable named them)."""
    from ingest.health import without_credentials

    context = click.get_current_context(silent=True)
    if not settings.default_place or (context is not None and context.params.get("as_json")):
        return
    click.echo(click.style(f"catalog {without_credentials(settings.database_url)}, "
                           f"store {settings.storage_url}", dim=True), err=True)


def cli_actor() -> Actor:
    """Who runs this command, for the audit log: ``--agent NAME`` (or
    STRONGROOM_AGENT), a service account; else the operating-system user."""
    import getpass
    import os

    from ingest.models import Actor

    context = click.get_current_context(silent=True)
    named = context.find_root().params.get("agent") if context is not None else None
    if named:
        return Actor(named, kind="service")
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry for this uid
        user = f"uid {os.getuid()}"
    return Actor(user, kind="person")


#: why a command acts as the person at the terminal, said when --agent is given
DECIDED_BY_PEOPLE = "a deaccession is decided by people, each as themselves"
CREDENTIALS_BY_PEOPLE = ("a credential is made by a person, as themselves (a deaccession "
                         "holds whoever made a credential to what it asks or approves)")


def person_at_terminal(why: str = DECIDED_BY_PEOPLE) -> Actor:
    """Who decides, for the decisions two people make (a deaccession) and the
    credentials they decide with (accounts, passwords, tokens): the
    operating-system account this process runs as, by its effective uid's
    passwd entry. Not ``--agent`` or STRONGROOM_AGENT (refused: a usage error
    saying ``why``) and not $USER or $LOGNAME, which anyone may set to
    another's name."""
    import os
    import pwd

    from ingest.models import Actor

    context = click.get_current_context(silent=True)
    if context is not None and context.find_root().params.get("agent"):
        raise click.UsageError(
            f"{why}: run it under your own operating-system account, without --agent or "
            "STRONGROOM_AGENT")
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # no passwd entry for this uid
        name = f"uid {uid}"
    return Actor(name, kind="person")


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


def _agent_name(context: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An agent name the audit log can show as one: at most 100 printable
    characters, not blank (a name of spaces, or with a line break in it, named
    nobody, or looked like two lines of the log)."""
    if value is None or value == "":
        return None
    name = value.strip()
    if not name or len(name) > 100 or any(not ch.isprintable() for ch in name):
        raise click.BadParameter(
            "an agent name is 1 to 100 printable characters, not blank, with no line breaks "
            f"or control characters (got {len(value)} characters)", ctx=context, param=param)
    return name


class CommandsOnDemand(click.Group):
    """The top-level group: a command's module is imported when that command is
    asked for (``strongroom.cli.commands.COMMANDS`` says which module), so a
    command loads its own module and what that imports, not every command's.
    ``--help`` lists every command with the one-line help the table holds."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from strongroom.cli.commands import COMMANDS

        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from strongroom.cli.commands import COMMANDS

        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import importlib

            importlib.import_module(COMMANDS[cmd_name][0])  # its decorators register it here
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from strongroom.cli.commands import COMMANDS

        # A command not imported yet is listed by its name and the table's help,
        # shortened to the width as click shortens a command's own.
        listed = {name: self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
                  for name in self.list_commands(ctx)}
        shown = click.Group(self.name, commands=listed)
        click.Group.format_commands(shown, ctx, formatter)


@click.group(cls=CommandsOnDemand, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(models.VERSION, prog_name="strongroom")
@click.option("--agent", envvar="STRONGROOM_AGENT", metavar="NAME", callback=_agent_name,
              help="Name the audit log gives whoever runs this command (a service account); "
                   "default: the operating-system user. Also STRONGROOM_AGENT.")
def main(agent: str | None) -> None:
    """Strongroom: archival ingest and preservation.

    Batches of documents go in; immutable, verified BagIt packages come out,
    with every step in a hash-chained audit log.
    """


#: What ``--version latest`` stands for.
LATEST = "latest"


class VersionParam(click.ParamType):
    """A version number (1 or more), or ``latest`` (kept as the string ``LATEST``)."""

    name = "N|latest"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int | str:
        if isinstance(value, int) or value == LATEST:
            return value
        if isinstance(value, str) and value.isdigit() and int(value) >= 1:
            return int(value)
        self.fail(f"{value!r} is neither a version number nor 'latest'", param, ctx)


VERSION = VersionParam()


def chosen_version(value: int | str | None) -> int | None:
    """The version ``--version`` names: its number, or None (the latest) for
    ``latest`` or when the option was not given."""
    return value if isinstance(value, int) else None
