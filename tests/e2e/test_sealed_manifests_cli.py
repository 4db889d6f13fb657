"""A bag rewritten consistently passes LOC ``bagit`` but the real ``strongroom verify``
command finds it not as sealed in the audit chain."""

from __future__ import annotations

import json
from pathlib import Path

import bagit

from tests.cli_runner import EXAMPLES
from tests.e2e.test_anchoring_cli import cli
from tests.unit.test_sealed_manifests import FORGED, PAYLOAD_FILE, rewrite_consistently, sha256_of


def test_a_bag_rewritten_consistently_passes_bagit_but_verify_finds_it_not_as_sealed(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    submitted = cli(data, "submit", str(EXAMPLES), "--json")
    assert submitted.returncode == 1  # the example's bad item
    listed = json.loads(cli(data, "list", "--json").stdout)["packages"]
    [package] = [p for p in listed if p["identifier"].startswith("telegram")]
    package_id = package["package_id"]
    bag = data / "objects" / package_id / "v1"
    sealed_manifest = sha256_of(bag / "manifest-sha256.txt")
    assert cli(data, "verify", package_id, "--json").returncode == 0

    rewrite_consistently(bag, data / "catalog.sqlite3", package_id, 1, PAYLOAD_FILE, FORGED)

    bagit.Bag(str(bag)).validate()  # LOC bagit: a valid bag
    assert cli(data, "audit", "verify", "--json").returncode == 0  # the chain itself is whole
    verified = cli(data, "verify", package_id, "--json")
    assert verified.returncode == 1, verified.stdout
    findings = [f for check in json.loads(verified.stdout)["results"] for f in check["findings"]]
    assert sorted((f["code"], f["path"]) for f in findings) == [
        ("MANIFEST_NOT_AS_SEALED", "manifest-sha256.txt"),
        ("MANIFEST_NOT_AS_SEALED", "tagmanifest-sha256.txt")]
    manifest = next(f for f in findings if f["path"] == "manifest-sha256.txt")
    assert manifest["expected"] == sealed_manifest
    assert manifest["found"] == sha256_of(bag / "manifest-sha256.txt")
    assert "sealed" in manifest["message"]
    human = cli(data, "verify", package_id)
    assert human.returncode == 1 and "MANIFEST_NOT_AS_SEALED" in human.stdout

