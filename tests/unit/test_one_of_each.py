"""One rule, one place: each rule of the domain is written once and used everywhere.

These tests read the source of the production packages, so that a second copy
of a rule (a key layout, a digest loop, a backoff formula, a limit) is caught
when it is added, not when the copies begin to disagree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ingest", "storage", "workers", "strongroom")


def production_modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def _version_key_fstring(node: ast.JoinedStr) -> bool:
    """An f-string that spells ``.../v{N}/``: a literal ending in ``/v`` followed by a value
    and then a literal starting with ``/``."""
    parts = node.values
    return any(isinstance(a, ast.Constant) and str(a.value).endswith("/v")
               and isinstance(b, ast.FormattedValue)
               and isinstance(c, ast.Constant) and str(c.value).startswith("/")
               for a, b, c in zip(parts, parts[1:], parts[2:], strict=False))


def test_the_version_key_prefix_is_spelled_in_one_place() -> None:
    spelled = [f"{name}:{node.lineno}" for name, tree in production_modules()
               for node in ast.walk(tree)
               if isinstance(node, ast.JoinedStr) and _version_key_fstring(node)]
    assert [place.split(":")[0] for place in spelled] == ["ingest/layout.py"], spelled


def _calls(tree: ast.Module, dotted: str) -> list[int]:
    """Lines where ``tree`` calls ``dotted`` (e.g. ``hashlib.sha512``) by that name."""
    head, _, attr = dotted.rpartition(".")
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == attr and isinstance(node.func.value, ast.Name)
            and node.func.value.id == head]


def test_the_fixity_digests_are_computed_by_ingest_fixity_alone() -> None:
    # SHA-512 is computed only as one of the two fixity digests: a module that
    # makes one hashes both by hand instead of asking ingest.fixity.
    by_hand = [f"{name}:{line}" for name, tree in production_modules()
               if name != "ingest/fixity.py" for line in _calls(tree, "hashlib.sha512")]
    assert by_hand == [], by_hand


def test_running_digests_match_the_digests_of_the_whole() -> None:
    from ingest.fixity import RunningDigests, digest_bytes, digest_stream

    data = bytes(range(256)) * 5000
    running = RunningDigests()
    for start in range(0, len(data), 70_000):
        running.update(memoryview(data)[start:start + 70_000])
    import io
    assert running.digests() == digest_bytes(data) == digest_stream(io.BytesIO(data))


def test_fixity_is_recorded_one_way_a_check_of_one_copy() -> None:
    # A check of a copy, found however (the schedule, verify, a delivery that
    # refused damage), is what the schedule, the report and `show` all read.
    from ingest.ports import FixityCatalog

    recording = sorted(name for name in dir(FixityCatalog)
                       if name.startswith("record_") and ("fixity" in name or "check" in name))
    assert recording == ["record_check_of_copy"]


def test_every_retry_waits_by_the_one_backoff() -> None:
    from ingest.retry import backoff_delay

    assert [backoff_delay(n, 1.5) for n in (0, 1, 2, 3, 4)] == [1.5, 1.5, 3.0, 6.0, 12.0]
    assert backoff_delay(10, 1.0, cap=30.0) == 30.0
    # Nowhere else doubles a delay by hand.
    by_hand = [f"{name}:{node.lineno}" for name, tree in production_modules()
               if name != "ingest/retry.py" for node in ast.walk(tree)
               if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
               and isinstance(node.left, ast.Constant) and node.left.value == 2
               and not isinstance(node.right, ast.Constant)]
    assert by_hand == [], by_hand


def test_the_version_comes_from_the_package_metadata_alone() -> None:
    import importlib.metadata

    from click.testing import CliRunner

    from ingest.models import SOFTWARE_AGENT, VERSION
    from strongroom.api.app import openapi_document
    from strongroom.cli import main

    assert importlib.metadata.version("strongroom") == VERSION
    assert f"strongroom/{VERSION}" == SOFTWARE_AGENT
    assert openapi_document()["info"]["version"] == VERSION
    shown = CliRunner().invoke(main, ["--version"])
    assert shown.exit_code == 0 and VERSION in shown.output
    written = [f"{name}:{node.lineno}" for name, tree in production_modules() for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and node.value == VERSION]
    assert written == [], written


def test_the_presign_limit_is_defined_once() -> None:
    defined = [f"{name}:{node.lineno}" for name, tree in production_modules() for node in ast.walk(tree)
               if isinstance(node, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "MAX_PRESIGN_SECONDS" for t in node.targets)]
    assert len(defined) == 1 and defined[0].startswith("ingest/"), defined


def test_no_two_functions_of_the_domain_share_a_name() -> None:
    # Two check_copy functions (one confirming a write, one running a fixity check)
    # read as one; a public function's name says what it does, once.
    where: dict[str, list[str]] = {}
    for name, tree in production_modules():
        if name.startswith("ingest/"):
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                    where.setdefault(node.name, []).append(name)
    shared = {function: modules for function, modules in where.items() if len(modules) > 1}
    assert shared == {}, shared


def test_each_cli_module_is_named_after_the_commands_it_holds() -> None:
    import click

    from strongroom.cli import main

    commands = {name: main.get_command(click.Context(main), name)
                for name in main.list_commands(click.Context(main))}
    where = {name: (command.callback.__module__ if command and command.callback else None)
             for name, command in commands.items()}
    assert where["repair"] == "strongroom.cli.repair"
    assert where["catalog"] == "strongroom.cli.catalog"
    assert where["staging"] == "strongroom.cli.staging"


def test_stores_are_asked_not_probed() -> None:
    # What a store can do is part of the ObjectStore port: no caller looks for a
    # method or attribute with getattr and falls back when it is missing.
    capabilities = {"ensure_bucket", "ensure_ready", "bucket", "presigned_get"}
    probed = [f"{name}:{node.lineno}" for name, tree in production_modules() for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in {"getattr", "hasattr"} and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in capabilities]
    assert probed == [], probed


def test_audit_events_are_made_by_services_event_alone() -> None:
    """Every event names the software and who caused it because one factory fills
    both in: an event built anywhere else could forget the actor."""
    made = [f"{name}:{node.lineno}" for name, tree in production_modules()
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "NewEvent"]
    assert [place.split(":")[0] for place in made] == ["ingest/services.py"], made


def test_an_event_from_services_names_the_software_and_who_caused_it(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from ingest.clock import FixedClock
    from ingest.models import Actor, EventType, Outcome
    from ingest.record_schema import SchemaSet
    from ingest.services import Services
    from storage.catalog import SqlCatalog
    from tests.fakes import MemoryObjectStore

    at = datetime(1951, 6, 21, 12, 0, tzinfo=UTC)
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    services = Services(catalog=catalog, store=MemoryObjectStore(), clock=FixedClock(at),
                        schemas=SchemaSet.default(), actor=Actor("archivist", kind="person"))
    event = services.event(EventType.FIXITY_CHECK, Outcome.SUCCESS, package_id="p", version=1)
    assert (event.agent, event.actor, event.occurred_at) == (services.agent, services.actor, at)
    assert event.agent.startswith("strongroom/")
