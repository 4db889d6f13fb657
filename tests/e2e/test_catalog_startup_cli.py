"""What an embedded ``strongroom submit`` loads, in a fresh interpreter: no Celery, and no
Alembic, on a new catalog (made from the models) as on an up-to-date one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.cli_runner import EXAMPLES, cli_env

TELEGRAM = EXAMPLES / "telegram-1951-06-21-mao-to-filippov"


# --------------------------------------------------------------------------- what submit loads

_LOADED = """
import atexit, json, runpy, sys
out, sys.argv = sys.argv[1], ["strongroom", *sys.argv[2:]]
def report():
    with open(out, "w") as f:
        json.dump(sorted({name.split(".")[0] for name in sys.modules}), f)
atexit.register(report)
runpy.run_module("strongroom.cli", run_name="__main__")
"""


def submit_and_list_modules(tmp_path: Path, data: Path, batch: Path, run: str) -> tuple[dict, set[str]]:
    env = cli_env(STRONGROOM_DATA_DIR=str(data))
    out = tmp_path / f"modules-{run}.json"
    result = subprocess.run([sys.executable, "-c", _LOADED, str(out), "submit", str(batch), "--json"],
                            env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout), set(json.loads(out.read_text()))


def test_embedded_submit_loads_no_celery_kombu_nor_alembic_on_a_new_or_up_to_date_catalog(
        tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(TELEGRAM, batch / TELEGRAM.name)
    data = tmp_path / "data"

    first, loaded_first = submit_and_list_modules(tmp_path, data, batch, "first")
    assert [item["status"] for item in first["items"]] == ["stored"]
    # the new catalog is made from the models, with Alembic's stamp (storage.new_catalog)
    assert not {"celery", "kombu", "billiard", "alembic", "mako"} & loaded_first

    second, loaded_second = submit_and_list_modules(tmp_path, data, batch, "second")
    assert [item["status"] for item in second["items"]] == ["unchanged"]
    assert not {"celery", "kombu", "billiard", "alembic"} & loaded_second


def _damage_by_truncating(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 3)


def _damage_by_overwriting(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 20)
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)


import pytest  # noqa: E402


@pytest.mark.parametrize("damage", [_damage_by_truncating, _damage_by_overwriting],
                         ids=["truncated", "not-a-database"])
def test_a_damaged_catalog_is_a_sentence_and_exit_2_not_a_traceback(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    """Before, every command printed SQLAlchemy's traceback and exited 1."""
    data = tmp_path / "data"
    env = cli_env(STRONGROOM_DATA_DIR=str(data))
    subprocess.run([sys.executable, "-m", "strongroom.cli", "submit", str(EXAMPLES)], env=env,
                   capture_output=True, timeout=300)
    damage(data / "catalog.sqlite3")

    for command in (["list"], ["batches", "--json"], ["audit", "verify"], ["submit", str(EXAMPLES)]):
        got = subprocess.run([sys.executable, "-m", "strongroom.cli", *command], env=env,
                             capture_output=True, text=True, timeout=300)
        assert got.returncode == 2, (command, got.stderr)
        assert "Traceback" not in got.stderr
        assert "catalog database is damaged" in got.stderr + got.stdout
        assert "strongroom catalog rebuild" in got.stderr + got.stdout
