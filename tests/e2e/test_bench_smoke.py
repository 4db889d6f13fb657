"""The benchmark harness still runs end to end (tiny corpora, one round, no targets).

Timings on a test machine mean nothing; what this guards is that the harness
keeps working as the CLI and the stores change: every side runs, every figure is
a number, and the table and JSON are written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.measures import Plan, p1_big_files, p2_small_files, p5_verify_filesystem
from bench.report import table, write_json

TINY = Plan(rounds=1, big_size=64 * 1024, big_items=3, small_items=2, small_files=3,
            small_size=1024, huge_size=1024 * 1024, s3_items=1, catalog_packages=10)


def test_harness_runs_every_embedded_side_and_reports(tmp_path: Path) -> None:
    keep: dict = {}
    results = [p1_big_files(tmp_path, TINY, lambda _line: None, keep)]
    results.append(p5_verify_filesystem(TINY, lambda _line: None, keep))
    results.append(p2_small_files(tmp_path, TINY, lambda _line: None))

    assert [r["id"] for r in results] == ["P1", "P5 fs", "P2"]
    for result in results:
        for name, figure in {**result["figures"], **result["ratios"]}.items():
            assert len(figure["runs"]) == 1, name
            # A marginal figure over tiny files may come out negative (noise
            # larger than the difference); it must still be a number.
            assert math.isfinite(figure["median"]), name
    assert set(results[0]["figures"]) == {"strongroom", "bagit p=1", "bagit p=2",
                                          "hashing limit", "hash + durable copy limit"}
    assert results[2]["fsync_probe"]["objects"] == TINY.small_items * (TINY.small_files + 6)

    text = table(results)
    assert text.count("\n| P") == 3  # one block per measure
    out = tmp_path / "bench.json"
    write_json(out, results, "python -m bench run (smoke)", 1.0)
    assert json.loads(out.read_text())["results"][2]["id"] == "P2"


def test_peak_rss_of_a_child_is_its_own_not_the_harness_size() -> None:
    """A forked child is charged its parent's pages until it execs: the harness
    must not report its own size as the product's (this once read 180 MiB)."""
    import sys

    from bench.timing import run_child, run_child_peak_rss

    ballast = bytearray(200 * 1024 * 1024)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # touch every page
    small = [sys.executable, "-c", "pass"]
    assert run_child(small).max_rss_kib > 200 * 1024  # the naive figure is the parent's
    assert run_child_peak_rss(small).max_rss_kib < 64 * 1024
    del ballast


def test_p11_counts_what_a_corrected_version_stores_through_the_cli(tmp_path: Path) -> None:
    from bench.storage_sharing import p11_versions_share_bytes

    result = p11_versions_share_bytes(tmp_path, 8 * 64 * 1024, lambda _line: None)

    figures = result["figures"]
    assert figures["version 2 (one of twenty changed) payload files written"]["median"] == 1
    assert figures["version 2 (title corrected) stored"]["median"] < 16  # KiB: tag files only
    assert result["met"] is True


def test_p8_samples_memory_and_times_status_and_list_through_the_cli(
        tmp_path: Path, monkeypatch) -> None:
    import bench.batch_scale
    from bench.batch_scale import p8_embedded

    monkeypatch.setattr(bench.batch_scale, "QUERY_RUNS", 1)
    monkeypatch.setattr(bench.batch_scale, "SAMPLE_EVERY", 0.2)
    plan = Plan(rounds=1, big_size=256 * 1024, batch_items=6, batch_big_items=1)

    result = p8_embedded(tmp_path, plan, lambda _line: None)

    assert result["id"] == "P8 embedded" and "6 items (5 of 1–4 files" in result["title"]
    assert result["samples"][-1]["done"] == 6
    assert result["rss_at"]["100 %"]["rss_mib"] > 0
    for name, figure in {**result["figures"], **result["ratios"]}.items():
        assert all(math.isfinite(value) for value in figure["runs"]), name
    assert {"strongroom submit", "bagit make_bag p=1", "strongroom status BATCH (CLI)",
            "strongroom list (CLI)"} <= set(result["figures"])
    assert "| P8 embedded" in table([result])
