"""The direction of imports is a contract: import-linter checks it on every run."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


# --------------------------------------------------------------------------- unit tests stay unit tests

#: A string that starts the CLI in a new interpreter: ``python -m strongroom.cli``,
#: ``runpy.run_module("strongroom.cli")``, or a program for ``python -c`` importing it.
_CLI_MODULE = re.compile(r"""(^|-m\s+|run_module\(\s*["'])strongroom\.cli($|["'\s])"""
                         r"""|^(from strongroom\.cli[\w.]* import |import strongroom\.cli)""")
#: Modules that start the CLI in a subprocess: the end-to-end helpers, the end-to-end tests
#: themselves and the benchmark harness.
_STARTERS = ("tests.cli_runner", "tests.cli_zygote", "tests.e2e", "bench")


def _starts(module: str) -> bool:
    return any(module == s or module.startswith(s + ".") for s in _STARTERS)


def cli_subprocess_uses(source: str) -> list[str]:
    """Where ``source`` starts the ``strongroom`` CLI in a subprocess (by what it imports
    or by the module name it hands to a new interpreter), as "line N: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = []
            if any(_CLI_MODULE.search(line.strip()) for line in node.value.splitlines() or [""]):
                found.append(f"line {node.lineno}: starts the module strongroom.cli")
            continue
        else:
            continue
        found += [f"line {node.lineno}: imports {name}" for name in names if _starts(name)]
    return found


def test_the_guard_sees_each_way_a_test_starts_the_cli() -> None:
    for source in ('CLI = [sys.executable, "-m", "strongroom.cli"]',
                   'subprocess.run(["python", "-m", "strongroom.cli", "submit"])',
                   'PROGRAM = """\nimport runpy\nrunpy.run_module("strongroom.cli", run_name="__main__")\n"""',
                   'PROGRAM = """\nfrom strongroom.cli import main\nmain(["submit", "b"])\n"""',
                   "from tests.cli_runner import Strongroom",
                   "from tests import cli_runner",
                   "from tests.e2e.test_fixity_cli import sr",
                   "from bench.measures import p1_big_files"):
        assert cli_subprocess_uses(source), source
    for source in ("from strongroom.cli import main",
                   'monkeypatch.setattr("strongroom.cli.api.uvicorn.run", fake)',
                   '"""Calls strongroom.cli.main in process."""'):
        assert cli_subprocess_uses(source) == [], source


def test_unit_tests_never_start_the_cli_in_a_subprocess() -> None:
    """tests/unit stays fast and needs no service: a test that runs the real ``strongroom``
    command in a subprocess belongs in tests/e2e (helpers: tests/cli_runner.py); in
    tests/unit, call ``strongroom.cli.main`` in process (``click.testing.CliRunner``)."""
    sources = [p for p in sorted((ROOT / "tests" / "unit").glob("*.py"))
               if p != Path(__file__).resolve()]  # this file holds the examples above
    offenders = {path.name: uses for path in sources
                 if (uses := cli_subprocess_uses(path.read_text()))}
    assert offenders == {}, (
        f"these tests/unit files start the strongroom CLI in a subprocess; move those tests "
        f"to tests/e2e: {offenders}")


def test_no_module_reads_the_environment_when_it_is_imported() -> None:
    """Settings are read when a command runs (``Settings.from_env``), never when a
    module is imported: a worker pool process, a test's forked command
    (``tests/cli_zygote.py``) or an app made twice in one process would otherwise
    run with the environment of whoever imported the module first."""
    found = []
    for package in ("ingest", "storage", "workers", "strongroom"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            # What runs on import: module and class bodies, not the functions they define.
            top, bodies = [], list(tree.body)
            while bodies:
                node = bodies.pop()
                if isinstance(node, ast.ClassDef):
                    bodies += node.body + node.decorator_list
                elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    top.append(node)
            for statement in top:
                for node in ast.walk(statement):
                    if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                            and isinstance(node.value, ast.Name) and node.value.id == "os":
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
