"""``portfolio daily-run`` gives way to people browsing: it lowers its own CPU priority (PORTFOLIO_DAILY_RUN_NICE)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portfolio.cli import main
from portfolio.config import load_settings
from tests.cli.conftest import run_json

ROOT = Path(__file__).parents[2]


def _after_lowering(env: dict[str, str], report: str, *, own_session: bool = False) -> str:
    """What ``report`` (Python code) prints in a fresh process after ``lower_priority``: run apart, since renicing
    pytest itself would stick; with ``own_session``, in a session of its own, as systemd or ``setsid`` start it."""
    code = (
        "import os; from pathlib import Path; from portfolio.config import load_settings; "
        "from portfolio.cli.pipeline import lower_priority; before = os.nice(0); "
        f"after = lower_priority(load_settings(secret_key='x', instance_path='/tmp')); print({report})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        start_new_session=own_session,
    )
    return result.stdout.strip()


def _niceness_after_lowering(env: dict[str, str]) -> int:
    """How much ``lower_priority`` lowered a fresh process's priority."""
    return int(_after_lowering(env, "after - before"))


def _autogroup_after_lowering(env: dict[str, str], *, own_session: bool) -> str:
    """``/proc/self/autogroup`` of a fresh process after ``lower_priority``."""
    return _after_lowering(env, "Path('/proc/self/autogroup').read_text().strip()", own_session=own_session)


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no os.nice on this platform")
def test_the_daily_run_lowers_its_priority_by_ten_unless_told_otherwise() -> None:
    if os.nice(0) > 9:
        pytest.skip("this test process already runs at the lowest priorities")
    assert _niceness_after_lowering({}) == 10
    assert _niceness_after_lowering({"PORTFOLIO_DAILY_RUN_NICE": "3"}) == 3
    assert _niceness_after_lowering({"PORTFOLIO_DAILY_RUN_NICE": "0"}) == 0


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no scheduler autogroups on this kernel")
def test_in_a_session_of_its_own_the_daily_run_lowers_the_sessions_share_too() -> None:
    """Linux shares the cores between sessions before a niceness counts: a run alone in its session (systemd, cron
    with setsid) lowers the session's niceness; one sharing a session (a terminal's) leaves it as it was."""
    assert _autogroup_after_lowering({}, own_session=True).endswith("nice 10")
    assert _autogroup_after_lowering({"PORTFOLIO_DAILY_RUN_NICE": "3"}, own_session=True).endswith("nice 3")
    ours = Path("/proc/self/autogroup").read_text().strip()
    assert _autogroup_after_lowering({}, own_session=False) == ours


@pytest.mark.parametrize("bad", ["-1", "20", "low", ""])
def test_a_niceness_outside_0_to_19_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="PORTFOLIO_DAILY_RUN_NICE"):
        load_settings({"PORTFOLIO_DAILY_RUN_NICE": bad}, instance_path=Path("/tmp"), secret_key="x")


def test_keep_graphs_for_the_next_half_hour_says_what_it_kept(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``portfolio keep-graphs --next-half-hour --json``, for cron a minute before each half hour."""
    assert main(["load-demo", "--if-empty"]) == 0
    capsys.readouterr()
    status, report, _err = run_json(capsys, "keep-graphs", "--next-half-hour", "--json")
    assert status == 0 and isinstance(report, dict)
    assert report["kept"] is True and set(report) == {"kept", "portfolios", "views", "seconds"}


def test_keep_graphs_between_runs_needs_every(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["daily-run", "--keep-graphs"]) == 2
    assert "--keep-graphs keeps graphs between runs: it needs --every" in capsys.readouterr().err
