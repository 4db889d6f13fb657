"""``python -m bench run [--quick] [--only P1,P2] [--runs N] [--json out.json] [--keep]``

Builds the corpora under a temporary folder (``--work``, default a new folder
in the current directory's filesystem, removed at the end), runs every measure
with both sides alternating, prints the table and writes the JSON.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ALL = ("P7", "P1", "P5", "P2", "P4", "P11", "P3", "P6", "P9", "P8", "P10")
#: What a run without --only measures: P8 and P10 (10,000 items each, tens of
#: minutes) only when named.
DEFAULT = tuple(name for name in ALL if name not in ("P8", "P10"))
_NEEDS_SERVICES = {"P3", "P4", "P5", "P6", "P8", "P9", "P10"}


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _compile_bytecode() -> None:
    """Compile Strongroom's modules to bytecode before anything is timed, as an
    installed package is (pip compiles what it installs; bagit, the other side,
    is such a package). A checkout run with PYTHONDONTWRITEBYTECODE set, or from
    a read-only tree, would otherwise compile about a hundred modules from source
    in every ``strongroom`` process measured: about 0.2 s each time."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("ingest", "storage", "workers", "strongroom"):
        compileall.compile_dir(root / package, quiet=1)


def run(args: argparse.Namespace) -> int:
    from bench import measures
    from bench.report import table, write_json

    only = [name.strip().upper() for name in args.only.split(",")] if args.only else list(DEFAULT)
    unknown = set(only) - set(ALL)
    if unknown:
        _log(f"unknown measures: {', '.join(sorted(unknown))} (known: {', '.join(ALL)})")
        return 2
    _compile_bytecode()
    plan = measures.Plan.quick() if args.quick else measures.Plan()
    if args.runs:
        plan = measures.Plan(**{**plan.__dict__, "rounds": args.runs})
    base = Path(args.work).absolute() if args.work else Path.cwd()
    work = Path(tempfile.mkdtemp(prefix="strongroom-bench-", dir=base))
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    keep: dict[str, Any] = {}
    try:
        if "P7" in only:
            _log("P7 fixed cost"); results.append(measures.p7_fixed_cost(work, plan, _log))
        if "P1" in only or "P5" in only:
            _log("P1 big files"); p1 = measures.p1_big_files(work, plan, _log, keep)
            if "P1" in only:
                results.append(p1)
        if "P5" in only:
            _log("P5 verify (filesystem)")
            results.append(measures.p5_verify_filesystem(plan, _log, keep))
        shutil.rmtree(work / "p1", ignore_errors=True)
        if "P2" in only:
            _log("P2 small files"); results.append(measures.p2_small_files(work, plan, _log))
        if "P4" in only:
            _log("P4 peak RSS (embedded)"); results.append(measures.p4_rss_embedded(work, plan, _log))
        if "P11" in only:
            from bench.storage_sharing import p11_versions_share_bytes

            _log("P11 what a new version stores")
            results.append(p11_versions_share_bytes(work, plan.shared_item_size, _log))
        if "P8" in only:
            from bench.batch_scale import p8_embedded

            _log("P8 a batch of mixed items, embedded")
            results.append(p8_embedded(work, plan, _log))
            if not args.keep:
                shutil.rmtree(work / "p8", ignore_errors=True)
        if {"P3", "P4", "P5", "P8", "P10"} & set(only) and not args.no_services:
            from bench.services import p3_and_p5_s3, p4_rss_s3, services

            with services(work) as svc:
                if "P3" in only or "P5" in only:
                    _log("P3 distributed ingest, P5 verify (S3)")
                    results.extend(r for r in p3_and_p5_s3(work, plan, _log, svc,
                                                           verify="P5" in only)
                                   if r["id"].split()[0] in only)
                if "P4" in only:
                    _log("P4 peak RSS (S3)"); results.append(p4_rss_s3(work, plan, _log, svc))
                if "P8" in only:
                    from bench.batch_scale import p8_distributed

                    _log("P8 a batch of mixed items, distributed")
                    results.append(p8_distributed(work, plan, _log, svc))
                if "P10" in only:
                    from bench.ingest_scale import p10_ten_thousand

                    _log("P10 10,000 items, four workers")
                    results.append(p10_ten_thousand(work, plan, _log, svc))
        if "P6" in only and not args.no_services:
            from bench.catalog_scale import p6_catalog

            _log("P6 catalog scale"); results.append(p6_catalog(plan, _log))
        if "P9" in only and not args.no_services:
            from bench.console_scale import p9_console

            _log("P9 console pages"); results.append(p9_console(plan, _log))
    finally:
        if args.keep:
            _log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    command = "python -m bench " + shlex.join(sys.argv[1:])
    print(table(results))
    print(f"\n{command}: {seconds:.0f} s")
    if args.json:
        write_json(Path(args.json), results, command, seconds)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("run", help="run the benchmarks and print the table")
    bench.add_argument("--quick", action="store_true", help="smaller corpora, fewer rounds")
    bench.add_argument("--only", help=f"comma-separated measures of {','.join(ALL)} "
                                      f"(default: all but P8 and P10)")
    bench.add_argument("--runs", type=int, help="rounds of A B alternation (default 3)")
    bench.add_argument("--json", help="also write the results to this JSON file")
    bench.add_argument("--work", help="folder for the temporary corpora (default: here)")
    bench.add_argument("--keep", action="store_true", help="keep the corpora folder")
    bench.add_argument("--no-services", action="store_true",
                       help="skip everything that needs SeaweedFS, Redis or PostgreSQL")
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
