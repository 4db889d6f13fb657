"""Nothing damaged leaves looking whole through the real ``strongroom fetch`` command:
tar to a file and to stdout, and a folder (the HTTP ways are in
tests/unit/test_damaged_delivery.py, whose damaged store this module shares)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli_runner import CLI, cli_env
from tests.unit.test_damaged_delivery import (  # noqa: F401 (pytestmark, the fixture)
    DamagedStore,
    _refused_by_tar,
    damaged_store,
    pytestmark,
)


def cli(store: DamagedStore, *args: str, **kw: object) -> subprocess.CompletedProcess:
    env = cli_env(STRONGROOM_DATA_DIR=str(store.data))
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([*CLI, *args], env=env, stderr=subprocess.PIPE, timeout=120,
                          **kw)  # type: ignore[call-overload]


def test_cli_tar_to_a_file_of_a_damaged_bag_leaves_no_file(
        damaged_store: DamagedStore, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    before = len(damaged_store.failed_fixity_events())
    archive = tmp_path / "bag.tar"
    got = cli(damaged_store, "fetch", damaged_store.package, "--format", "tar", "-o", str(archive))
    assert got.returncode == 1, got
    assert sorted(tmp_path.iterdir()) == []
    assert len(damaged_store.failed_fixity_events()) == before + 1


def test_cli_tar_to_stdout_of_a_damaged_bag_is_refused_by_tar_and_bagit(
        damaged_store: DamagedStore, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    archive = tmp_path / "bag.tar"
    with archive.open("wb") as out:
        got = cli(damaged_store, "fetch", damaged_store.package, "--format", "tar", "-o", "-",
                  stdout=out)
    assert got.returncode == 1, got
    _refused_by_tar(archive, tmp_path)


def test_cli_fetch_to_folder_of_a_damaged_bag_leaves_nothing_under_its_name(
        damaged_store: DamagedStore, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    target = tmp_path / "bag"
    got = cli(damaged_store, "fetch", damaged_store.package, "--to", str(target), "--json")
    assert got.returncode == 1, got
    # a changed file is a digest or size mismatch; a link or a FIFO in its place, no stored file
    assert any(code in got.stdout.decode() for code in ("FIXITY_MISMATCH", "SIZE_MISMATCH",
                                                        "FILE_MISSING"))
    assert "Traceback" not in got.stderr.decode()
    assert sorted(tmp_path.iterdir()) == []  # no bag, no hidden build folder

