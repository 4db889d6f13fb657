"""The ``strongroom`` command called in this process (``click.testing.CliRunner``),
as ``tests/unit`` calls it: a test's archive subclasses ``InProcessCli`` and sets
``env``, the settings of its archive (its data folder, its replicas, …)."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from strongroom.cli import main


class InProcessCli:
    """``run`` and ``json`` of the CLI with the settings of ``env``."""

    env: dict[str, str]

    def run(self, *args: str, expect: int | None = 0) -> Result:
        """The command's result; its exit code must be ``expect`` unless that is None."""
        result = CliRunner().invoke(main, list(args), env=self.env)
        if expect is not None:
            assert result.exit_code == expect, (args, result.exit_code, result.output,
                                                result.exception)
        return result

    def json(self, *args: str, expect: int | None = 0) -> Any:
        """What the command prints with ``--json``, read."""
        return json.loads(self.run(*args, "--json", expect=expect).stdout)
