"""``strongroom catalog rebuild`` through the real command: ``list`` and ``show`` say the
same after a rebuild into an empty catalog as before the catalog was lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.cli_runner import EXAMPLES, cli_env, run_cli

#: Keys of ``show --json`` versions a bag cannot give back (see ingest.rebuild).
LOST_VERSION_KEYS = ("item_id", "created_at", "last_fixity")


class Strongroom:
    def __init__(self, data: Path, database: Path | None = None) -> None:
        self.env = cli_env(STRONGROOM_DATA_DIR=str(data), STRONGROOM_RETRY_BACKOFF="0")
        if database is not None:
            self.env["STRONGROOM_DATABASE_URL"] = f"sqlite:///{database}"
        self.cwd = data.parent

    def json(self, *args: str, expect: int = 0) -> Any:
        done = run_cli(*args, "--json", env=self.env, cwd=self.cwd)
        assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout)


def without_lost_fields(show: dict[str, Any]) -> dict[str, Any]:
    return {**show, "versions": [{k: v for k, v in version.items() if k not in LOST_VERSION_KEYS}
                                 for version in show["versions"]]}


def test_list_and_show_are_the_same_after_a_rebuild_into_an_empty_catalog(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = Strongroom(data)
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES, batch)
    shutil.rmtree(batch / "bad-record-missing-title")
    before.json("submit", str(batch))
    # a second version of one package
    (batch / "letter-1952-03-sample" / "scan" / "note.txt").write_text("added later\n")
    before.json("submit", str(batch))
    listed = before.json("list")
    shown = {p["package_id"]: before.json("show", p["package_id"]) for p in listed["packages"]}
    assert max(p["latest_version"] for p in listed["packages"]) == 2

    after = Strongroom(data, database=tmp_path / "rebuilt.sqlite3")
    rebuilt = after.json("catalog", "rebuild")

    assert rebuilt["packages"] == 2 and len(rebuilt["versions"]) == 3
    assert rebuilt["skipped"] == [] and rebuilt["strangers"] == []
    assert all(v["findings"] == [] for v in rebuilt["versions"])
    assert rebuilt["anchors"]  # the lost log's anchors, found and recorded
    assert after.json("list") == listed
    for package_id, document in shown.items():
        again = after.json("show", package_id)
        assert without_lost_fields(again) == without_lost_fields(document)
        assert all(v["item_id"] is None and v["last_fixity"] is None for v in again["versions"])
        assert [v["created_at"][:10] for v in again["versions"]] == [
            v["created_at"][:10] for v in document["versions"]]
    # the new catalog's log starts with the seals of the versions it took in, anchored;
    # the old log's anchors are known as superseded
    verified = after.json("audit", "verify")
    assert verified["ok"] is True and verified["count"] == 3
    assert verified["anchors"]["count"] == 1 and verified["anchors"]["findings"] == []
    assert verified["anchors"]["superseded"] == len(rebuilt["anchors"])
    assert verified["log_id"] != before.json("audit", "verify")["log_id"]
    # the original catalog, were it still about, is held to all its anchors
    original = before.json("audit", "verify")
    assert original["anchors"]["superseded"] == 0
    assert original["anchors"]["count"] == len(rebuilt["anchors"])
    # a rebuild never merges into a catalog that holds anything
    refused = before.json("catalog", "rebuild", expect=2)
    assert refused["error"]["kind"] == "CatalogNotEmpty"

