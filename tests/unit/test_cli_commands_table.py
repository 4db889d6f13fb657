"""``strongroom`` imports a command's module only when the command runs; the
table it lists commands from (``strongroom.cli.commands``) must say what the
modules define, or ``--help`` would show a command that is gone, miss a new
one, or show help its command no longer has."""

from __future__ import annotations

import importlib
import pkgutil

import click

import strongroom.cli
from strongroom.cli import main
from strongroom.cli.base import CommandsOnDemand
from strongroom.cli.commands import COMMANDS


def _every_command() -> dict[str, click.Command]:
    """The commands every module of ``strongroom.cli`` defines, all imported."""
    for module in pkgutil.iter_modules(strongroom.cli.__path__):
        if module.name != "__main__":  # it runs the command
            importlib.import_module(f"strongroom.cli.{module.name}")
    return dict(main.commands)


def test_the_table_names_every_command_with_its_module_and_its_help() -> None:
    defined = {name: (command.callback.__module__ if command.callback else None,
                      command.get_short_help_str(10**6))
               for name, command in _every_command().items()}
    assert defined == COMMANDS


def test_help_lists_commands_not_imported_as_their_own_help_lists_them() -> None:
    _every_command()

    def commands_section(group: click.Group, width: int) -> str:
        help_text = group.get_help(click.Context(group, info_name="strongroom",
                                                 terminal_width=width))
        return help_text[help_text.index("\nCommands:\n"):]

    for width in (50, 80, 200):
        # a group whose commands are all still to be imported: only the table speaks
        unloaded = CommandsOnDemand("strongroom")
        assert unloaded.commands == {}
        table = commands_section(unloaded, width)
        assert "\n  verify " in table
        assert table == commands_section(main, width), width


def test_a_command_runs_from_its_module_imported_on_demand() -> None:
    command = main.get_command(click.Context(main), "verify")
    assert command is not None and command.callback is not None
    assert command.callback.__module__ == "strongroom.cli.packages"
    assert main.get_command(click.Context(main), "verfy") is None
