"""`fetch -o FILE` and `fetch --to DIR` never destroy what they did not create.

The tar is written beside FILE and linked into place only when every file
verified; an existing FILE is refused unless --force; nothing is written to or
through a symbolic link or a special file (a device node given as FILE
survives, even when the fetch fails); a dangling link, a folder given to -o and
a full disk end with exit 2 and one sentence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.cli_runner import CLI
from tests.unit.test_damaged_delivery import damage_sample_batch


class Cli:
    def __init__(self, data: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
        self.env["STRONGROOM_DATA_DIR"] = str(data)
        self.env["STRONGROOM_RETRY_BACKOFF"] = "0"
        self.data = data

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True,
                              timeout=120)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, str]:
    root = tmp_path_factory.mktemp("fetch-targets")
    cli = Cli(root / "data")
    done = cli.run("submit", str(damage_sample_batch(root / "batch")), "--json")
    assert done.returncode == 0, done.stderr
    return cli, "damage-sample"


def _one_sentence_exit_2(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_fetch_o_refuses_an_existing_file_unless_force(stored: tuple[Cli, str],
                                                       tmp_path: Path) -> None:
    cli, package = stored
    existing = tmp_path / "bag.tar"
    existing.write_text("someone's work")
    said = _one_sentence_exit_2(cli.run("fetch", package, "--format", "tar", "-o", str(existing)))
    assert "already exists" in said and "--force" in said
    assert existing.read_text() == "someone's work"
    replaced = cli.run("fetch", package, "--format", "tar", "-o", str(existing), "--force")
    assert replaced.returncode == 0, replaced.stderr
    with tarfile.open(existing) as tar:
        assert any(m.name.endswith("data/report.pdf") for m in tar.getmembers())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag.tar"]


def test_fetch_o_never_writes_through_a_symbolic_link(stored: tuple[Cli, str],
                                                      tmp_path: Path) -> None:
    cli, package = stored
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "bag.tar"
    link.symlink_to(victim)
    for extra in ((), ("--force",)):
        said = _one_sentence_exit_2(cli.run("fetch", package, "--format", "tar", "-o", str(link),
                                            *extra))
        assert "symbolic link" in said
    assert victim.read_text() == "keep me" and link.is_symlink()
    dangling = tmp_path / "nowhere"
    dangling.symlink_to(tmp_path / "no-such-file")
    _one_sentence_exit_2(cli.run("fetch", package, "--format", "tar", "-o", str(dangling)))
    assert not (tmp_path / "no-such-file").exists()


def test_fetch_o_device_node_survives_a_damaged_fetch(tmp_path: Path) -> None:
    """As root, `-o /dev/null` once deleted /dev/null when the fetch failed."""
    cli = Cli(tmp_path / "data")
    assert cli.run("submit", str(damage_sample_batch(tmp_path / "batch"))).returncode == 0
    (note,) = (tmp_path / "data" / "objects").glob("*/v1/data/scan/note.txt")
    note.chmod(0o644)
    note.write_bytes(note.read_bytes().upper())
    node = tmp_path / "null"
    made = subprocess.run(["mknod", str(node), "c", "1", "3"], capture_output=True)
    if made.returncode != 0:
        pytest.skip("mknod needs root")
    for extra in ((), ("--force",)):
        said = _one_sentence_exit_2(cli.run("fetch", "damage-sample", "--format", "tar",
                                            "-o", str(node), *extra))
        assert "not a regular file" in said
        assert node.is_char_device()


def test_fetch_o_given_a_folder_exits_2_with_one_sentence(stored: tuple[Cli, str],
                                                         tmp_path: Path) -> None:
    cli, package = stored
    folder = tmp_path / "out"
    folder.mkdir()
    said = _one_sentence_exit_2(cli.run("fetch", package, "--format", "tar", "-o", str(folder)))
    assert "is a folder" in said
    assert list(folder.iterdir()) == []


def test_fetch_to_a_dangling_link_exits_2_with_one_sentence(stored: tuple[Cli, str],
                                                           tmp_path: Path) -> None:
    cli, package = stored
    link = tmp_path / "bag"
    link.symlink_to(tmp_path / "elsewhere")
    said = _one_sentence_exit_2(cli.run("fetch", package, "--to", str(link)))
    assert "symbolic link" in said
    assert link.is_symlink() and not (tmp_path / "elsewhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag"]


@pytest.fixture
def full_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 1 MiB file system: the 2 MB report cannot fit."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_fetch_on_a_full_disk_exits_2_and_leaves_nothing(stored: tuple[Cli, str],
                                                        full_disk: Path) -> None:
    cli, package = stored
    said = _one_sentence_exit_2(cli.run("fetch", package, "--format", "tar", "-o",
                                        str(full_disk / "bag.tar")))
    assert "No space left on device" in said
    said = _one_sentence_exit_2(cli.run("fetch", package, "--to", str(full_disk / "bag")))
    assert "No space left on device" in said
    assert list(full_disk.iterdir()) == []
    assert shutil.disk_usage(full_disk).used < 64 * 1024
