"""``strongroom --help`` is read by a person waiting at a terminal: it loads the
commands' names and options, never what a command needs to do its work."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("jsonschema", "sqlalchemy", "ingest.pipeline", "ingest.record_schema", "botocore",
         "celery", "fastapi", "fido")


def test_help_loads_neither_jsonschema_nor_the_catalog_nor_the_pipeline() -> None:
    # --help had come to import jsonschema (through the services' type of the
    # schemas, and the dry run's report type): half a second on a busy machine.
    probe = ("import sys\n"
             "from click.testing import CliRunner\n"
             "from strongroom.cli import main\n"
             "shown = CliRunner().invoke(main, ['--help'])\n"
             "assert shown.exit_code == 0, shown.output\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
