"""Run the benchmarks and merge their figures into benchmarks/results.json (other keys are kept).

A benchmark is any module in this folder with ``run() -> dict`` (``import_speed`` runs first). A module that
sets ``MERGE_AT_TOP_LEVEL = True`` names its own keys (e.g. ``import_readings_per_s``) and is merged at the top
level; any other module's figures go under its module name, so generic keys like "seconds" never clash.
``python benchmarks/run.py`` runs them all; ``python benchmarks/run.py NAME...`` runs only those.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
FIRST = ["import_speed"]
"""Modules run first, in this order; the other benchmark modules follow alphabetically."""


def benchmark_names() -> list[str]:
    """Every module here defining ``run`` (found by reading the source, so nothing is imported to look)."""
    found = sorted(
        p.stem
        for p in HERE.glob("*.py")
        if p.stem != "run" and not p.stem.startswith("_") and "\ndef run(" in p.read_text()
    )
    return [name for name in FIRST if name in found] + [name for name in found if name not in FIRST]


def machine_info() -> dict[str, Any]:
    """What the figures were measured on, so results from different machines are not compared blindly."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def merge_results(figures: dict[str, Any], path: Path = RESULTS) -> dict[str, Any]:
    """Update ``path`` with ``figures`` key by key, keeping whatever else is already there."""
    results: dict[str, Any] = {}
    if path.exists():
        results = json.loads(path.read_text() or "{}")
    results.update(figures)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or benchmark_names()
    if len(names) > 1:  # one fresh process each, so every peak-memory figure is that benchmark's own
        for name in names:
            subprocess.run([sys.executable, str(Path(__file__).resolve()), name], check=True)
        print(f"results merged into {RESULTS.relative_to(ROOT)}")
        return 0
    for directory in (ROOT, HERE):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    for name in names:
        module = importlib.import_module(name)
        figures = dict(module.run())
        if not getattr(module, "MERGE_AT_TOP_LEVEL", False):
            figures = {name: {**figures, "measured_on": dt.date.today().isoformat()}}
        figures["machine"] = machine_info()
        merge_results(figures)
    print(f"results merged into {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
