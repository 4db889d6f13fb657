"""`strongroom init` over a store that already holds an archive, with an empty
catalog (a catalog lost, or STRONGROOM_DATABASE_URL naming the wrong database):
it says so and exits 1, instead of "ready" over a second, empty record of the
same store."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli_runner import EXAMPLES, Strongroom, cli_env


def test_init_with_an_empty_catalog_over_an_archive_says_so_and_exits_1(tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES / "letter-1952-03-sample", batch / "letter-1952-03-sample")
    sr.json("submit", str(batch))
    assert sr.json("init")["empty_catalog_over_an_archive"] == []  # its own catalog: fine

    sr.env = cli_env(STRONGROOM_DATA_DIR=str(tmp_path / "data"),
                     STRONGROOM_DATABASE_URL=f"sqlite:///{tmp_path / 'mistyped.sqlite3'}")
    refused = sr.json("init", expect=1)
    assert refused["empty_catalog_over_an_archive"] == [(tmp_path / "data" / "objects").as_uri()]
    said = sr.run("init", expect=1).stdout
    assert "already holds committed versions" in said and "strongroom catalog rebuild" in said
    # the way back it names works from there
    sr.json("catalog", "rebuild")
    assert sr.json("init")["empty_catalog_over_an_archive"] == []
