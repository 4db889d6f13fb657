"""``strongroom submit --check`` finds what a submission finds about identifiers.

Before, the dry run checked each record against the schema only: an identifier
the ingest would refuse against the archive's packages (a package deaccessioned
as a whole, another package's id, an identifier written as a package id) was
"accepted" by ``--check`` and rejected by the submission that followed. Both now
ask one rule (``ingest.batch_identifiers.identifier_refusal``), the dry run
reading the catalog and writing nothing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.deaccession import approve_deaccession
from ingest.models import Actor, package_id_for
from strongroom.bootstrap import build_services
from strongroom.cli import main
from strongroom.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "batch"
LETTER = "letter-1952-03-sample"
TELEGRAM = "telegram-1951-06-21-mao-to-filippov"


@pytest.fixture(autouse=True)
def embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded shape, whatever the environment of the test run names."""
    for name in ("STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL", "STRONGROOM_REPLICAS",
                 "STRONGROOM_BROKER_URL", "STRONGROOM_STAGING_URL"):
        monkeypatch.delenv(name, raising=False)


def run(env: dict[str, str], *args: str, expect: int = 0) -> dict[str, Any]:
    done = CliRunner().invoke(main, [*args, "--json"], env=env)
    assert done.exit_code == expect, done.output
    return json.loads(done.output)


def item_with(batch: Path, name: str, identifier: str) -> None:
    """The example letter as item ``name``, its record given ``identifier``."""
    shutil.copytree(EXAMPLES / LETTER, batch / name)
    record = json.loads((batch / name / "metadata.json").read_text(encoding="utf-8"))
    record["identifier"] = identifier
    (batch / name / "metadata.json").write_text(json.dumps(record), encoding="utf-8")


def codes(report: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {i["name"]: (i["status"], [f["code"] for f in i["findings"]]) for i in report["items"]}


def test_check_refuses_what_the_submission_refuses_against_the_archive(
        tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_RETRY_BACKOFF": "0"}
    first = tmp_path / "first"
    for name in (LETTER, TELEGRAM):
        shutil.copytree(EXAMPLES / name, first / name)
    stored = {i["name"]: i["package_id"] for i in run(env, "submit", str(first))["items"]}
    # The letter is deaccessioned as a whole: asked at the command line, approved by another admin.
    asked = run(env, "deaccession", "request", stored[LETTER], "--reason", "court order")
    services = build_services(Settings.from_env(env))
    approve_deaccession(replace(services, actor=Actor("second admin", role="admin")),
                        asked["request_id"])
    services.catalog.engine.dispose()  # type: ignore[attr-defined]

    batch = tmp_path / "again"
    item_with(batch, "withdrawn-in-capitals", LETTER.upper())
    item_with(batch, "named-as-a-package", stored[TELEGRAM])
    item_with(batch, "in-package-id-form", package_id_for("SG-PR-0099"))
    item_with(batch, "new-record", "letter-1952-04-sample")

    checked = run(env, "submit", "--check", str(batch), expect=1)
    submitted = run(env, "submit", str(batch), expect=1)

    assert codes(checked) == {
        "withdrawn-in-capitals": ("rejected", ["PACKAGE_DEACCESSIONED"]),
        "named-as-a-package": ("rejected", ["IDENTIFIER_IS_A_PACKAGE_ID"]),
        "in-package-id-form": ("rejected", ["IDENTIFIER_IN_PACKAGE_ID_FORM"]),
        "new-record": ("accepted", []),
    }
    assert {name: code for name, (_, code) in codes(submitted).items()} == {
        name: code for name, (_, code) in codes(checked).items()}
    assert codes(submitted)["new-record"][0] == "stored"
    [withdrawn] = [i for i in checked["items"] if i["name"] == "withdrawn-in-capitals"]
    assert "court order" in withdrawn["findings"][0]["message"]


def test_check_without_an_archive_refuses_an_identifier_in_package_id_form_and_makes_none(
        tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data")}
    batch = tmp_path / "batch"
    item_with(batch, "in-package-id-form", package_id_for("SG-PR-0099"))

    checked = run(env, "submit", "--check", str(batch), expect=1)

    assert codes(checked) == {"in-package-id-form": ("rejected", ["IDENTIFIER_IN_PACKAGE_ID_FORM"])}
    assert not (tmp_path / "data").exists()
