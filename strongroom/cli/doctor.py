"""``strongroom doctor``: are the settings usable, and can every part be reached?"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from strongroom.cli.base import EXIT_PROBLEMS, _emit, json_option, main

if TYPE_CHECKING:
    from ingest.health import PartHealth


@main.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check the settings (naming every one that cannot be used) and reach each
    part on its own: the catalog, every storage location and the broker (when one
    is configured). Each part is ok or says in a sentence what is wrong. Creates
    nothing. Exit 0 when every part can be reached, 1 otherwise."""
    parts = _check()
    ready = all(part.ok for part in parts)
    document = {"ready": ready, "parts": [part.to_dict() for part in parts]}
    _emit(as_json, document, _print)
    if not ready:
        sys.exit(EXIT_PROBLEMS)


def _check() -> list[PartHealth]:
    """The settings, then, when they can be used, every part on its own: one
    that cannot be opened or reached keeps none of the others from being checked."""
    from ingest.health import PartHealth, broker_check, check_parts, without_credentials
    from strongroom.bootstrap import part_checks
    from strongroom.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return [PartHealth("settings", ok=False, detail=without_credentials(str(exc)),
                           problem="The settings cannot be used.")]
    checks = part_checks(settings)  # a check never makes an archive
    if settings.broker_url:
        from workers.health import BrokerProbe

        checks.append(broker_check(BrokerProbe(settings.broker_url)))
    return [PartHealth("settings", ok=True), *check_parts(checks).parts]


def _print(document: dict[str, Any]) -> None:
    width = max(len(part["part"]) for part in document["parts"])
    for part in document["parts"]:
        where = f"  {part['where']}" if part.get("where") else ""
        if part["ok"]:
            click.echo(f"{part['part']:<{width}}  {'ok':<6}{where}")
            continue
        click.echo(f"{part['part']:<{width}}  {click.style('not ok', fg='red')}{where}")
        click.echo(f"{'':<{width}}  {part['problem']}")
        if part.get("detail"):
            click.echo(f"{'':<{width}}  ({part['detail']})")
    broken = [part["part"] for part in document["parts"] if not part["ok"]]
    if broken:
        click.echo(f"{len(broken)} of {len(document['parts'])} parts cannot be used: {', '.join(broken)}")
    else:
        click.echo("every part can be reached")
