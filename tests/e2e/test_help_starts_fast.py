"""``strongroom --help`` is read by a person waiting at a terminal: it loads the
commands' names and options, never what a command needs to do its work."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli_runner import EXAMPLES
from tests.fresh_process import modules_loaded

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"

HEAVY = ("jsonschema", "sqlalchemy", "ingest.pipeline", "ingest.record_schema", "botocore",
         "celery", "fastapi", "fido")


def test_help_loads_neither_jsonschema_nor_the_catalog_nor_the_pipeline() -> None:
    # --help had come to import jsonschema (through the services' type of the
    # schemas, and the dry run's report type): half a second on a busy machine.
    probe = ("from click.testing import CliRunner\n"
             "from strongroom.cli import main\n"
             "shown = CliRunner().invoke(main, ['--help'])\n"
             "assert shown.exit_code == 0, shown.output\n")
    assert modules_loaded(probe, HEAVY) == []


def test_commands_that_only_read_the_catalog_never_load_jsonschema(tmp_path) -> None:
    # `list`, `status` and `show` read the catalog; every one of them loaded
    # jsonschema and compiled the shipped schemas at start (bootstrap builds the
    # schema set), a fifth of their start-up, though they validate nothing.
    data = tmp_path / "data"
    probe = ("from click.testing import CliRunner\n"
             "from strongroom.cli import main\n"
             "out = CliRunner().invoke(main, ['init'])\n"
             "assert out.exit_code == 0, out.output\n"
             "for args in (['list'], ['list', '--json'], ['batches']):\n"
             "    out = CliRunner().invoke(main, args)\n"
             "    assert out.exit_code == 0, (args, out.output)\n")
    assert modules_loaded(probe, ("jsonschema", "referencing"),
                          env={"STRONGROOM_DATA_DIR": str(data)}) == []


#: the modules of the commands other than ``verify`` (and of what only they use)
OTHER_COMMANDS = ("strongroom.cli.api", "strongroom.cli.batches", "strongroom.cli.operations",
                  "strongroom.cli.users", "strongroom.cli.deaccession", "strongroom.cli.locations",
                  "strongroom.cli.repair", "strongroom.cli.staging", "strongroom.cli.template",
                  "strongroom.cli.doctor", "strongroom.cli.catalog", "strongroom.cli.audit",
                  "strongroom.cli.formats", "strongroom.api", "strongroom.web", "uvicorn",
                  "fastapi", "celery", "jsonschema")


def test_verify_loads_no_other_command_s_module(tmp_path) -> None:
    # Every command's module was imported to register it: `verify` loaded what
    # `serve`, `worker`, `submit`, `user` and the rest are defined with.
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data")}
    made = ("from click.testing import CliRunner\n"
            "from strongroom.cli import main\n"
            "out = CliRunner().invoke(main, ['init'])\n"
            "assert out.exit_code == 0, out.output\n")
    modules_loaded(made, (), env=env)
    probe = ("from click.testing import CliRunner\n"
             "from strongroom.cli import main\n"
             "out = CliRunner().invoke(main, ['verify', '--all'])\n"
             "assert out.exit_code == 0, out.output\n")
    assert modules_loaded(probe, OTHER_COMMANDS, env=env) == []


def _submit_the_telegram(tmp_path: Path, env: dict[str, str]) -> list[str]:
    """Submit one item in a new Python; return which of prometheus-client and
    argon2 it loaded."""
    batch = tmp_path / "batch"
    if not batch.exists():
        shutil.copytree(EXAMPLES / TELEGRAM, batch / TELEGRAM)
    probe = ("from click.testing import CliRunner\n"
             "from strongroom.cli import main\n"
             f"out = CliRunner().invoke(main, ['submit', {str(batch)!r}])\n"
             "assert out.exit_code == 0, out.output\n")
    return modules_loaded(probe, ("prometheus_client", "argon2"), env=env)


def test_a_command_whose_counts_nobody_can_read_loads_no_prometheus_client_nor_argon2(
        tmp_path: Path) -> None:
    # Every command loaded argon2 (through the ports: the accounts' password
    # hasher) and an ingest or a check loaded prometheus-client for counters that
    # died with the process.
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data")}
    assert _submit_the_telegram(tmp_path, env) == []
    verified = ("from click.testing import CliRunner\n"
                "from strongroom.cli import main\n"
                "out = CliRunner().invoke(main, ['verify', '--all'])\n"
                "assert out.exit_code == 0, out.output\n")
    assert modules_loaded(verified, ("prometheus_client", "argon2"), env=env) == []


def test_a_command_counts_its_work_where_the_metrics_of_every_process_are_read(
        tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    assert _submit_the_telegram(tmp_path, env) == ["prometheus_client"]
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    assert registry.get_sample_value("strongroom_items_finished_total", {"status": "stored"}) == 1
