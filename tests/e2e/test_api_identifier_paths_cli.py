"""``strongroom fetch --version latest`` of a package whose identifier holds ``/``,
through the real command."""

from __future__ import annotations

import tarfile
from pathlib import Path

from tests.cli_runner import cli_env, run_cli
from tests.unit.api_support import Api
from tests.unit.test_api_identifier_paths import REFERENCE_CODE, api  # noqa: F401 (the fixture)


def test_cli_fetch_takes_version_latest(api: Api, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    env = cli_env(STRONGROOM_DATA_DIR=str(api.settings.data_dir))
    out = tmp_path / "bag.tar"
    done = run_cli("fetch", REFERENCE_CODE, "--version", "latest", "--format", "tar", "-o", str(out),
                   env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    with tarfile.open(out) as tar:
        assert any(m.name.endswith("/data/page-01.txt") for m in tar.getmembers())

