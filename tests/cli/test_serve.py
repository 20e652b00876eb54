"""The production entry points (``gunicorn app:server`` and ``portfolio serve``) settle the collector once the app is
built: its objects frozen out of full collections, young collections less frequent (a 1,000-site panel's p95)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from portfolio.web.app import GC_GEN0_THRESHOLD

ROOT = Path(__file__).parents[2]


def test_the_wsgi_entry_point_freezes_the_built_app_and_collects_less_often(tmp_path: Path) -> None:
    code = "import gc, app; print(gc.get_freeze_count(), gc.get_threshold()[0], type(app.server).__name__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", "PORTFOLIO_INSTANCE": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    frozen, threshold, server = result.stdout.split()
    assert int(frozen) > 10_000  # the app and its libraries
    assert int(threshold) == GC_GEN0_THRESHOLD
    assert server == "Flask"
    assert gc.get_freeze_count() == 0  # this test process (which builds many apps) is left as it was
