"""The results as a table (Markdown, for the terminal and docs/benchmarks.md) and JSON."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any


def _number(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(results: list[dict[str, Any]]) -> str:
    """One Markdown table: every figure and ratio (median, and the per-round values)."""
    lines = ["| measure | figure | median | runs | target | met |", "|---|---|---|---|---|---|"]
    for result in results:
        first = True
        rows = [(name, fig) for name, fig in result["figures"].items()]
        rows += [(f"**{name}**", fig) for name, fig in result["ratios"].items()]
        for name, fig in rows:
            shown = fig["runs"] if len(fig["runs"]) <= 6 else fig["runs"][:5]
            runs = ", ".join(_number(v) for v in shown)
            if len(fig["runs"]) > len(shown):
                runs += f", … ({len(fig['runs'])} runs)"
            head = f"{result['id']}: {result['title']}" if first else ""
            target = result["target"] if first else ""
            met = ("yes" if result["met"] else "**no**") if first else ""
            lines.append(f"| {head} | {name} | {_number(fig['median'])} {fig['unit']} | {runs} "
                         f"| {target} | {met} |")
            first = False
        for note in result.get("notes", []):
            lines.append(f"| | _{note}_ | | | | |")
        if "fsync_probe" in result:
            probe = result["fsync_probe"]
            lines.append(f"| | _fsync probe: {probe['objects']} objects through the store "
                         f"{probe['store_seconds']:.2f} s vs {probe['no_fsync_seconds']:.2f} s "
                         f"without fsync ({probe['fsync_ms_per_object']:.2f} ms per object)_ "
                         f"| | | | |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import os

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def write_json(path: Path, results: list[dict[str, Any]], command: str, seconds: float) -> None:
    document = {"command": command, "machine": machine(), "seconds": seconds, "results": results}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
