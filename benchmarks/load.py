"""Load: 100 concurrent signed-in users against gunicorn (several workers) on PostgreSQL while a daily run imports.

Each user is a thread with its own ``requests`` session (own cookies, own CSRF token) signed in as one of the
demo accounts, browsing for ``DURATION_S`` seconds: graphs (a new range on the Graphs page, 30 days or a year:
its selection callback, then the graph, load profile and expected-consumption panel at once, as Dash sends them),
lists (the portfolio table callback), exports (a 30-day daily CSV, body drained) and page loads (the Dash index and
the Pages router callback). Meanwhile ``portfolio daily-run`` imports ``IMPORT_FILES`` meter
files from the inbox (one file repeats half of another's readings, to check upserts). Afterwards the readings
are counted: none lost, none duplicated. Only loopback (127.0.0.1) is used. The demo is set up as ``make run``
sets it up, its models fitted and the big portfolios' graphs readied (``LOAD_FIT_FIRST=0``: not, so the daily run
fits every model for the first time under the load, as on a supplier's first night). Just before the run starts, the default graphs are kept
for its half hour, as the Procfile's scheduler keeps them a minute before each half hour (``LOAD_KEPT_BEFORE_RUN=0``:
not, as with a plain cron job).

Users pause between actions as people do: ``LOAD_THINK_S`` (default 10 s) is the mean of an exponential think
time, and each user starts at a random moment of its first pause so arrivals spread. ``LOAD_THINK_S=0`` is the
closed-loop stress variant (each user sends its next request as soon as the last answers): then latency is
users / throughput, whatever the server does, and the figures say how much work the machine does per second.

The load runs twice (:func:`run`), each time on a fresh database with its own daily run. First the users alone: the
server's figures, as in use, where the users' browsers run on their own machines. Then (``LOAD_BROWSER=1``, the
default) again while Debian's chromium opens the Graphs page as the demo customer, broker and admin in turn, for 7
days, 30 days and a year, timed as ``page_speed.py`` times it (navigation to Dash idle: every callback of the page
answered and drawn); its sign-in and first loads (the browser's own warm-up) are done before the users start. That
pass is reported under ``with_chromium``: what a browser feels under the load, and the server's figures with the
browser drawing on the same 2 cores (an upper bound). The browser and the users' client threads run at nice 10
(``LOAD_CLIENT_NICE``), every thread of Chromium kept there and its session's autogroup too. Every callback
response's ``Server-Timing`` (``app``: wall time in the worker, queueing for a thread not included; ``cpu``: that
thread's CPU time; ``db``: its SQL's wall time) is collected per callback output, from the users and from the
browser.

``python benchmarks/load.py`` prints the figures as JSON; ``python benchmarks/run.py load`` merges them into
``results.json``. Targets (issue 18): p95 <= 1 s, errors < 0.1 %, no lost or duplicated rows; (issue 20) the
Graphs page <= 1.0 s median and <= 1.5 s p95 in Chromium, server time per callback <= 150 ms p95, under this load.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work" / "load"
USERS = int(os.environ.get("LOAD_USERS", "100"))
DURATION_S = float(os.environ.get("LOAD_DURATION_S", "90"))
THINK_S = float(os.environ.get("LOAD_THINK_S", "10"))  # mean pause between one user's actions [s]
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))
THREADS = int(os.environ.get("LOAD_THREADS", "4"))
IMPORT_FILES = 12
MERGE_AT_TOP_LEVEL = True
IMPORT_DAYS = 60
MIX = (("graph", 4), ("list", 3), ("page", 2), ("export", 1))  # action, weight
BROWSER = os.environ.get("LOAD_BROWSER", "1") == "1"
CLIENT_NICE = int(os.environ.get("LOAD_CLIENT_NICE", "10"))
"""The CPU priority (0-19) of what stands in for the users' own machines: the measuring browser and the users' client
threads. They share the server's 2 cores here (the browser used 40 % of them, session 19); at 0 they compete with it
as equals (Chromium then sets its own, -8 for its main thread as root)."""
CLIENT_IDLE = os.environ.get("LOAD_CLIENT_IDLE", "0") == "1"
"""``LOAD_CLIENT_IDLE=1``: those threads also under Linux's SCHED_IDLE policy, run only when the server leaves a core
idle (a niceness is a weight per thread, and Chromium runs a dozen at once). Tried in session 20: no callback faster
than at nice 10 alone (graph p95 191 ms against 146-177), the browser's own pages a little slower."""


def _lower_priority(thread: int) -> None:
    """Put one thread (a Linux thread id) at :data:`CLIENT_NICE`, and under SCHED_IDLE when :data:`CLIENT_IDLE`."""
    if CLIENT_NICE > 0 and os.getpriority(os.PRIO_PROCESS, thread) < CLIENT_NICE:
        os.setpriority(os.PRIO_PROCESS, thread, CLIENT_NICE)
    if CLIENT_IDLE and os.sched_getscheduler(thread) != os.SCHED_IDLE:
        os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))


def _lower_autogroup(pid: int) -> None:
    """Put the scheduler autogroup of process ``pid``'s session at :data:`CLIENT_NICE`.

    With ``kernel.sched_autogroup_enabled`` (on here), the kernel first shares the cores between sessions, each an
    equal weight, and a thread's niceness only weighs against threads of its own session. Playwright starts Chromium
    in a session of its own (found in session 23), so a browser thread at nice 10 still took a whole session's share
    beside the server's. Lowering the session's own niceness makes it yield as :data:`CLIENT_NICE` says."""
    from portfolio.cli.pipeline import lower_autogroup

    try:
        own_session = os.getsid(pid) == os.getsid(0)
    except OSError:
        return  # gone
    if CLIENT_NICE > 0 and not own_session:  # the Playwright driver shares ours: gunicorn's, never to be lowered
        lower_autogroup(CLIENT_NICE, pid)


FIT_FIRST = os.environ.get("LOAD_FIT_FIRST", "1") == "1"  # the demo's models fitted before the load, as `make run` does
KEPT_BEFORE_RUN = os.environ.get("LOAD_KEPT_BEFORE_RUN", "1") == "1"
"""The default graphs kept for the half hour the daily run starts in, just before it starts, as the Procfile's
scheduler (``daily-run --every 24h --at 06:00 --keep-graphs``) keeps them a minute before each half hour: its run at
06:00 then finds them kept and its first step only reads them (2-3 s of drawing otherwise, under the load).
``LOAD_KEPT_BEFORE_RUN=0``: not, as with cron running ``daily-run`` without ``keep-graphs``."""
BROWSER_ROLES = ("customer", "broker", "admin")
BROWSER_RANGES = {"7 days": 7, "30 days": 30, "1 year": 365}
TIMINGS = ("app", "cpu", "db")
"""Server-Timing's metrics (``web/server_timing.py``): the worker's wall time, its thread's CPU, its SQL's wall time."""
SERVER_TIMING: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in TIMINGS}
"""Server-Timing per callback output, from every thread (list.append is atomic under the GIL)."""
SERVER_TIMING_AT: list[tuple[float, str, str, float]] = []
"""The same samples with when they arrived: (perf_counter [s], a metric of :data:`TIMINGS`, output, [ms]), to tell
the daily run's minutes from the rest."""
GRAPH_PAGE_OUTPUTS = ("graph-figure.figure", "graph-heatmap.figure", "graph-expected.children")
"""What a new date range on the Graphs page asks the server for once its selection is checked: the graph, the load
profile and the expected-consumption panel, together, as Dash sends them."""
FAN_OUT = ThreadPoolExecutor(
    max_workers=len(GRAPH_PAGE_OUTPUTS) * USERS, initializer=lambda: _lower_priority(threading.get_native_id())
)
"""The users' concurrent requests (each user sends its Graphs page's callbacks at once), on the users' machines."""
CALLBACK = "/_dash-update-component"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"Accept": "text/html"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _inbox_files(inbox: Path, end: dt.date) -> tuple[int, float]:
    """Write the meter files the daily run imports; return the distinct readings and their total [kWh]."""
    from portfolio.identifiers import mpan_check_digit

    inbox.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(18)
    start = dt.datetime.combine(end - dt.timedelta(days=IMPORT_DAYS), dt.time(), dt.UTC)
    times = [start + dt.timedelta(minutes=30 * i) for i in range(IMPORT_DAYS * 48)]
    distinct, total = 0, 0.0
    first_rows: list[str] = []
    for number in range(IMPORT_FILES):
        values = np.round(rng.uniform(0.1, 5.0, len(times)), 3)
        first = f"19{number:010d}"
        mpan = first + str(mpan_check_digit(first))  # a valid core: a bad check digit is refused
        rows = [f"{mpan},{t:%Y-%m-%dT%H:%M:%SZ},{v}" for t, v in zip(times, values, strict=True)]
        if number == 0:
            first_rows = rows
        (inbox / f"load_{number:02d}.csv").write_text("mpan,timestamp,kwh\n" + "\n".join(rows) + "\n")
        distinct += len(rows)
        total += float(values.sum())
    repeat = first_rows[: len(first_rows) // 2]  # the same readings again: upserts, never duplicates
    (inbox / "load_repeat.csv").write_text("mpan,timestamp,kwh\n" + "\n".join(repeat) + "\n")
    return distinct, total


def _prepare(url: str, instance: Path, today: dt.date) -> list[dict[str, str]]:
    """The demo on PostgreSQL, set up as ``make run`` sets it up (with ``FIT_FIRST``): models fitted, their
    predictions stored, the big portfolios' default graphs readied. The daily run under load is then a night's run:
    the imports, and the refits they make due. Without it, that run fits every model of the demo for the first time
    (65 of the 90 s on 2026-12-07), which happens once, when a supplier starts."""
    from portfolio.config import load_settings
    from portfolio.db import make_engine, make_session_factory
    from portfolio.schema import upgrade
    from portfolio.services.demo import demo_logins, load_demo
    from portfolio.services.expected import fit_due_models
    from portfolio.services.expected_series import refresh_expected_series
    from portfolio.services.graphs_warm import warm_graphs

    engine = make_engine(url)
    upgrade(engine)
    settings = load_settings({}, instance_path=instance, database_url=url, secret_key="load-benchmark")
    factory = make_session_factory(engine)
    load_demo(factory, settings, today=today)
    if FIT_FIRST:  # what `make run` does: portfolio fit-models, then portfolio warm-graphs
        fit_due_models(factory, store_predictions=False)
        refresh_expected_series(factory)
        warm_graphs(factory)
    engine.dispose()
    return demo_logins(settings)


def _count_readings(url: str) -> tuple[int, int, float]:
    from sqlalchemy import text

    from portfolio.db import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        rows, distinct, kwh = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT (site_id, start_ts)), coalesce(sum(energy_kwh), 0) FROM readings "
                "WHERE site_id IN (SELECT site_id FROM meters WHERE identifier LIKE '19%')"
            )
        ).one()
    engine.dispose()
    return int(rows), int(distinct), float(kwh)


class User:
    """One browser: its own session, CSRF token and timings."""

    def __init__(self, base: str, login: dict[str, str], dependencies: list[dict[str, Any]], today: dt.date) -> None:
        import requests

        self.base = base
        self.http = requests.Session()
        self.failures: list[str] = []  # what each failed call raised (timeouts, resets), for the summary
        self.login = login
        self.dependencies = dependencies
        self.today = today
        self.timings: list[tuple[str, float, int]] = []

    def sign_in(self) -> None:
        form = self.http.get(f"{self.base}/login", timeout=60).text
        token = TOKEN.search(form)
        assert token, "no CSRF token on the login form"
        data = {"email": self.login["email"], "password": self.login["password"], "csrf_token": token.group(1)}
        response = self.http.post(f"{self.base}/login", data=data, allow_redirects=False, timeout=60)
        assert response.status_code == 303, f"sign-in failed: {response.status_code}"
        self.http.get(f"{self.base}/", headers=HTML, timeout=60)

    def _body(self, output: str, values: dict[str, Any], changed: list[str]) -> dict[str, Any]:
        dependency = next(d for d in self.dependencies if output in d["output"])

        def fill(items: list[dict[str, str]]) -> list[dict[str, Any]]:
            return [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

        parts = dependency["output"].strip(".").split("...") if dependency["output"].startswith("..") else [output]
        outputs = [dict(zip(("id", "property"), p.split("@")[0].rsplit(".", 1), strict=True)) for p in parts]
        return {
            "output": dependency["output"],
            "outputs": outputs if dependency["output"].startswith("..") else outputs[0],
            "inputs": fill(dependency["inputs"]),
            "state": fill(dependency.get("state", [])),
            "changedPropIds": changed,
        }

    def _post(self, body: dict[str, Any]) -> int:
        headers = {"X-CSRFToken": self.http.cookies.get("_csrf_token", "")}
        response = self.http.post(f"{self.base}{CALLBACK}", json=body, headers=headers, timeout=120)
        _record_server_timing(str(body.get("output", "?")), response.headers.get("Server-Timing", ""))
        return response.status_code

    def act(self, action: str, rng: np.random.Generator) -> None:
        end = self.today - dt.timedelta(days=1)
        days = 365 if rng.random() < 0.25 else 30
        start = end - dt.timedelta(days=days - 1)
        began = time.perf_counter()
        if action == "graph":
            values = {
                "graph-group.value": "all",
                "graph-dates.start_date": start.isoformat(),
                "graph-dates.end_date": end.isoformat(),
                "graph-fuel.value": "power",
                "graph-granularity.value": "auto",
                "graph-stack.value": "total",
            }
            changed = ["graph-dates.end_date"]
            selection = self._post(self._body("graph-site.options", values, changed))
            drawn = FAN_OUT.map(self._post, [self._body(output, values, changed) for output in GRAPH_PAGE_OUTPUTS])
            status = max(selection, *drawn)
        elif action == "list":
            values = {
                "portfolio-group.value": "all",
                "portfolio-dates.start_date": start.isoformat(),
                "portfolio-dates.end_date": end.isoformat(),
                "portfolio-fuel.value": "both",
            }
            status = self._post(self._body("portfolio-table.rowData", values, ["portfolio-dates.end_date"]))
        elif action == "export":
            query = {"group": "all", "from": start.isoformat(), "to": end.isoformat(), "shape": "daily"}
            with self.http.get(f"{self.base}/export/download", params={**query, "format": "csv"}, stream=True) as r:
                for _ in r.iter_content(65536):
                    pass
                status = r.status_code
        else:
            page = self.http.get(f"{self.base}/graphs", headers=HTML, timeout=60).status_code
            values = {"_pages_location.pathname": "/portfolio", "_pages_location.search": ""}
            status = self._post(self._body("_pages_content.children", values, ["_pages_location.pathname"]))
            status = max(status, page)
        self.timings.append((action, time.perf_counter() - began, status))


def _by_phase(daily_window: tuple[float, float]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """Server-Timing p50/p95 per callback output while the daily run ran and after it: its imports and fits share
    the cores with the workers, and every import moves the data's version on (graphs drawn, not read)."""
    phases: dict[str, dict[str, dict[str, list[float]]]] = {
        "during_daily_run": {name: defaultdict(list) for name in TIMINGS},
        "after_daily_run": {name: defaultdict(list) for name in TIMINGS},
    }
    for at, name, output, milliseconds in SERVER_TIMING_AT:
        phase = "during_daily_run" if daily_window[0] <= at <= daily_window[1] else "after_daily_run"
        phases[phase][name][output].append(milliseconds)
    return {
        phase: {name: _percentiles(by_output) for name, by_output in by_name.items()}
        for phase, by_name in phases.items()
    }


def _percentiles(by_output: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """p50, p95 and count of each callback output's samples [ms]."""
    return {
        output: {
            "p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1),
            "n": len(values),
        }
        for output, values in sorted(by_output.items())
    }


PROCESS_KINDS = (  # (kind, words of /proc/PID/cmdline), first match wins
    ("daily run", ("daily-run",)),
    ("web workers (gunicorn)", ("serve",)),
    ("postgresql", ("postgres",)),
    ("chromium and its driver", ("chromium", "playwright", "node")),
)


class CpuAccount:
    """CPU seconds each kind of process used while the users browsed, and how busy the machine was: every process on
    these 2 cores (the load's own clients and Chromium too) competes with the workers, and a callback's wall time
    is mostly that wait. Sampled from /proc every half second (a process that ends keeps its last sample)."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.kind: dict[int, str] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.machine_start = self._machine()
        self.started = False
        self._sample()  # what the processes there now had used before: not counted
        self.started = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _machine(self) -> tuple[float, float]:
        fields = [float(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all ticks, idle + iowait

    def _sample(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                stat = (entry / "stat").read_text()
                if pid not in self.kind:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    own = pid == os.getpid()
                    self.kind[pid] = (
                        "load clients (this process)"
                        if own
                        else next(
                            (kind for kind, words in PROCESS_KINDS if any(word in cmdline for word in words)), "other"
                        )
                    )
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            used = (float(fields[11]) + float(fields[12])) / self.tick  # utime + stime [s]
            self.first.setdefault(pid, 0.0 if self.started else used)
            self.last[pid] = used

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            with self.lock:
                self._sample()

    def snapshot(self) -> tuple[dict[int, float], tuple[float, float], float]:
        """Each process's CPU seconds so far, the machine's ticks and the time [perf_counter s]: to account for a
        part of the run (:meth:`between`)."""
        with self.lock:
            self._sample()
            return dict(self.last), self._machine(), time.perf_counter()

    def between(
        self,
        first: tuple[dict[int, float], tuple[float, float], float],
        last: tuple[dict[int, float], tuple[float, float], float],
    ) -> dict[str, Any]:
        """What each kind of process used between two snapshots, and how busy the machine was."""
        by_kind: dict[str, float] = defaultdict(float)
        for pid, used in last[0].items():
            by_kind[self.kind[pid]] += used - first[0].get(pid, self.first.get(pid, 0.0))
        (total0, idle0), (total1, idle1) = first[1], last[1]
        seconds = max(last[2] - first[2], 1e-9)
        return {
            "seconds": round(seconds, 1),
            "cpu_seconds": {kind: round(value, 1) for kind, value in sorted(by_kind.items(), key=lambda kv: -kv[1])},
            "cores_busy": round(sum(by_kind.values()) / seconds, 2),
            "machine_busy_percent": round(100 * (1 - (idle1 - idle0) / max(total1 - total0, 1.0)), 1),
        }

    def finish(self, seconds: float) -> dict[str, Any]:
        machine_end = self._machine()
        self.stop.set()
        self.thread.join()
        self._sample()
        by_kind: dict[str, float] = defaultdict(float)
        for pid, used in self.last.items():
            by_kind[self.kind[pid]] += used - self.first.get(pid, 0.0)
        (total0, idle0), (total1, idle1) = self.machine_start, machine_end
        return {
            "cpu_seconds": {kind: round(value, 1) for kind, value in sorted(by_kind.items(), key=lambda kv: -kv[1])},
            "cores_busy": round(sum(by_kind.values()) / seconds, 2),
            "machine_busy_percent": round(100 * (1 - (idle1 - idle0) / (total1 - total0)), 1),
        }


def _record_server_timing(output: str, header: str) -> None:
    from portfolio.web.server_timing import parse_server_timing

    for name, milliseconds in parse_server_timing(header).items():
        if name in SERVER_TIMING:
            SERVER_TIMING[name][output[:60]].append(milliseconds)
            SERVER_TIMING_AT.append((time.perf_counter(), name, output[:60], milliseconds))


class BrowserPriority:
    """Keeps every thread of the Chromium and Playwright driver processes this one started at :data:`CLIENT_NICE`
    (and under SCHED_IDLE with :data:`CLIENT_IDLE`).

    Chromium sets its own priorities, and sets them again as it works: -8 for its main thread as root, 0 for a
    renderer while its page loads (above the server's workers either way). A user's browser runs on the user's
    machine; this one shares the server's 2 cores, so it is put back every ``period`` seconds (its processes looked
    for again every second). Linux keeps a priority per thread, so each thread is set."""

    def __init__(self, period: float = 0.1) -> None:
        self.period = period
        self.pids: set[int] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        if CLIENT_NICE > 0 or CLIENT_IDLE:
            self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        _lower_priority(threading.get_native_id())  # this watcher's own thread too
        rounds = 0
        while not self.stop.wait(self.period):
            if rounds % round(1 / self.period) == 0:
                self.pids = self._browser_pids()
            rounds += 1
            for pid in list(self.pids):
                try:
                    _lower_autogroup(pid)
                    for task in Path(f"/proc/{pid}/task").iterdir():
                        _lower_priority(int(task.name))
                except (OSError, ValueError):
                    self.pids.discard(pid)  # gone, or not ours to change

    @staticmethod
    def _browser_pids() -> set[int]:
        """The Chromium and driver processes descending from this one."""
        parents: dict[int, int] = {}
        browsers: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
                if any(word in (entry / "cmdline").read_bytes() for word in (b"chromium", b"playwright", b"node")):
                    browsers.add(int(entry.name))
            except (OSError, ValueError):
                continue
        own, ours = os.getpid(), set()
        for pid in browsers:
            ancestor = parents.get(pid, 0)
            while ancestor > 1 and ancestor != own:
                ancestor = parents.get(ancestor, 0)
            if ancestor == own:
                ours.add(pid)
        return ours


def _watch_in_chromium(
    base: str, logins: list[dict[str, str]], ready: threading.Event, start: threading.Event, out: dict[str, Any]
) -> None:
    """Chromium opening the Graphs page as each of ``BROWSER_ROLES`` in turn until ``out["stop_at"]``.

    Signs in and warms the browser up (``page_speed.WARM_LOADS`` loads per role), sets ``ready``, waits for
    ``start`` (the users and the daily run begin), then measures. Playwright's sync API lives in this thread alone.
    """
    sys.path.insert(0, str(HERE))
    from playwright.sync_api import sync_playwright

    import page_speed

    timings: dict[str, list[float]] = defaultdict(list)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=page_speed.CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            pages: dict[str, Any] = {}
            for role in BROWSER_ROLES:
                login = next(item for item in logins if item.get("role") == role)
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.add_init_script(page_speed.INSTRUMENT)
                page = context.new_page()
                page.goto(base + "/login")
                page.get_by_label("Email").fill(login["email"])
                page.get_by_label("Password").fill(login["password"])
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(base + "/")

                def on_finished(request: Any) -> None:
                    if "_dash-update-component" not in request.url:
                        return
                    try:
                        output = str(json.loads(request.post_data or "{}").get("output", "?"))
                        response = request.response()
                        if response is not None:
                            _record_server_timing(output, response.headers.get("server-timing", ""))
                    except Exception:  # noqa: BLE001 - a response gone with its page is simply not recorded
                        pass

                for _ in range(page_speed.WARM_LOADS):
                    page_speed._measure(page, base, "open", page_speed._graph_url(30))
                page.on("requestfinished", on_finished)
                pages[role] = page
            ready.set()
            start.wait()
            while time.perf_counter() < out["stop_at"]:
                for role, page in pages.items():
                    for view, days in BROWSER_RANGES.items():
                        if time.perf_counter() < out["stop_at"]:
                            seconds = page_speed._measure(page, base, "open", page_speed._graph_url(days))
                            timings[f"{role} {view}"].append(seconds)
            browser.close()
    except Exception as error:  # noqa: BLE001 - reported with the figures, never hidden
        out["error"] = f"{type(error).__name__}: {str(error)[:300]}"
    finally:
        ready.set()
    out["views"] = {
        view: {
            "median_s": round(float(np.median(values)), 3),
            "p95_s": round(float(np.percentile(values, 95)), 3),
            "runs": len(values),
        }
        for view, values in timings.items()
    }


def _browse(user: User, stop_at: float, seed: int) -> None:
    _lower_priority(threading.get_native_id())  # a user's own machine (CLIENT_NICE, CLIENT_IDLE)
    rng = np.random.default_rng(seed)
    actions = [a for a, _ in MIX]
    weights = np.array([w for _, w in MIX], dtype=float)
    if THINK_S > 0:
        time.sleep(float(rng.uniform(0, THINK_S)))  # users do not all click at the same instant
    while time.perf_counter() < stop_at:
        action = str(rng.choice(actions, p=weights / weights.sum()))
        try:
            user.act(action, rng)
        except Exception as error:  # noqa: BLE001 - a timeout or reset is an error to count, not a crash
            user.timings.append((action, float("nan"), 599))
            user.failures.append(f"{action}: {type(error).__name__}: {str(error)[:160]}")
            print(f"{action}: {type(error).__name__}: {error}", file=sys.stderr)
        if THINK_S > 0:
            time.sleep(min(float(rng.exponential(THINK_S)), max(stop_at - time.perf_counter(), 0.0)))


def _serve(url: str, instance: Path, port: int, inbox: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "load-benchmark",
        "PORTFOLIO_INSTANCE": str(instance),
        "PORTFOLIO_INBOX": str(inbox),
        "PORTFOLIO_COOKIE_SECURE": "0",
        "PORTFOLIO_LOGIN_MAX_FAILURES": "1000",
    }
    command = [  # what `make run` and the Procfile serve with: gunicorn through `portfolio serve`
        str(Path(sys.executable).parent / "portfolio"), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(WORKERS), "--threads", str(THREADS),
    ]  # fmt: skip
    log = (WORK / "gunicorn.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    import requests

    for _ in range(240):
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited; see benchmarks/work/load/gunicorn.log")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not become healthy")


def _summary(users: list[User]) -> dict[str, Any]:
    by_action: dict[str, list[float]] = defaultdict(list)
    errors = calls = 0
    for user in users:
        for action, seconds, status in user.timings:
            calls += 1
            if status >= 500 or status == 599 or status in (400, 401, 403):
                errors += 1
            elif seconds == seconds:
                by_action[action].append(seconds)
    every = [s for values in by_action.values() for s in values]

    def p(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)) * 1000, 1) if values else float("nan")

    return {
        "requests": calls,
        "errors": errors,
        "error_rate_percent": round(100 * errors / max(calls, 1), 3),
        "p50_ms": p(every, 50),
        "p95_ms": p(every, 95),
        "per_action_p95_ms": {a: p(v, 95) for a, v in sorted(by_action.items())},
        "per_action_count": {a: len(v) for a, v in sorted(by_action.items())},
        "throughput_per_s": round(calls / DURATION_S, 1),
        "failures": sorted(Counter(f for user in users for f in user.failures).items()),
        "statuses": dict(sorted(Counter(str(status) for user in users for _, _, status in user.timings).items())),
    }


def _machine_speed_ms() -> float:
    """[ms] a fixed pure-Python workload takes on one core, best of 3, with nothing else of ours running: these
    machines differ from run to run (the same daily run took 15-34 s on 2026-12-07), so a run's figures are read
    beside it."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        total = 0
        for number in range(2_000_000):
            total += number * number
        best = min(best, (time.perf_counter() - began) * 1000)
    return round(best, 1)


def _load(browser: bool) -> dict[str, Any]:
    """One pass of the load on a fresh PostgreSQL; with ``browser``, Chromium timing the Graphs page meanwhile."""
    sys.path.insert(0, str(ROOT))
    machine_speed_ms = _machine_speed_ms()
    from sqlalchemy import text
    from tests.pg_server import PostgresServer

    from portfolio.db import make_engine

    WORK.mkdir(parents=True, exist_ok=True)
    instance, inbox = WORK / "instance", WORK / "inbox"
    today = dt.datetime.now(dt.UTC).date()
    server = PostgresServer.start()
    gunicorn: subprocess.Popen[bytes] | None = None
    try:
        admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE load"))
        admin.dispose()
        url = server.url("load")
        began = time.perf_counter()
        logins = _prepare(url, instance, today)
        prepare_s = time.perf_counter() - began
        expected_rows, expected_kwh = _inbox_files(inbox, today)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn = _serve(url, instance, port, inbox)
        _wait_healthy(base, gunicorn)
        import requests

        probe = requests.Session()
        users_: list[User] = []
        for number in range(USERS):
            user = User(base, logins[number % len(logins)], [], today)
            user.sign_in()
            users_.append(user)
        dependencies = users_[0].http.get(f"{base}/_dash-dependencies", timeout=60).json()
        for user in users_:
            user.dependencies = dependencies
        del probe
        watcher: dict[str, Any] = {"stop_at": float("inf")}
        ready, start = threading.Event(), threading.Event()
        chromium = threading.Thread(target=_watch_in_chromium, args=(base, logins, ready, start, watcher))
        browser_priority = BrowserPriority()
        if browser:
            chromium.start()
            browser_priority.start()
            ready.wait(timeout=600)
        env = {**os.environ, "DATABASE_URL": url, "PORTFOLIO_INSTANCE": str(instance), "PORTFOLIO_INBOX": str(inbox)}
        env["SECRET_KEY"] = "load-benchmark"
        kept_before: dict[str, Any] = {"kept": False, "reason": "LOAD_KEPT_BEFORE_RUN=0"}
        if KEPT_BEFORE_RUN:
            keep = subprocess.run(
                [str(Path(sys.executable).parent / "portfolio"), "keep-graphs", "--json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                check=True,
            )
            kept_before = json.loads(keep.stdout.decode().strip().splitlines()[-1])
        for samples in SERVER_TIMING.values():
            samples.clear()  # the browser's warm-up is not measured
        SERVER_TIMING_AT.clear()
        cpu = CpuAccount()
        daily = subprocess.Popen(
            [str(Path(sys.executable).parent / "portfolio"), "daily-run", "--json"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # as systemd, or cron through the README's `setsid -w`, starts it
        )
        daily_began = time.perf_counter()
        daily_first = cpu.snapshot()
        daily_done: dict[str, Any] = {}

        def finish_daily() -> None:  # its pipes read as it goes (a full pipe would stall it); its end timed
            daily_done["out"], daily_done["err"] = daily.communicate(timeout=1800)
            daily_done["at"] = time.perf_counter()
            daily_done["cpu"] = cpu.between(daily_first, cpu.snapshot())

        daily_reader = threading.Thread(target=finish_daily)
        daily_reader.start()
        stop_at = time.perf_counter() + DURATION_S
        watcher["stop_at"] = stop_at
        start.set()
        threads = [threading.Thread(target=_browse, args=(u, stop_at, n)) for n, u in enumerate(users_)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        machine = cpu.finish(DURATION_S)
        if browser:
            chromium.join(timeout=300)
        browser_priority.finish()
        daily_reader.join()
        daily_out, daily_err = daily_done["out"], daily_done["err"]
        daily_window = (daily_began, daily_done["at"])
        daily_result = json.loads(daily_out.decode().strip().splitlines()[-1]) if daily_out.strip() else {}
        rows, distinct, kwh = _count_readings(url)
        figures = _summary(users_)
        figures.update(
            {
                "users": USERS,
                "gunicorn": f"{WORKERS} workers x {THREADS} threads",
                "client_nice": CLIENT_NICE,
                "client_sched_idle": CLIENT_IDLE,
                "duration_s": DURATION_S,
                "think_time_mean_s": THINK_S,
                "prepare_s": round(prepare_s, 1),
                "machine_speed_ms": machine_speed_ms,
                "models_fitted_before": FIT_FIRST,
                "graphs_kept_before_run": kept_before,
                "daily_run_status": daily_result.get("status", daily_err.decode()[-300:]),
                "daily_run_steps_s": {
                    str(step.get("name")): step.get("duration_s") for step in daily_result.get("steps", [])
                },  # the run overlaps the users for its whole length when the sum is near DURATION_S or more
                "imported_rows_expected": expected_rows,
                "imported_rows_found": rows,
                "duplicated_rows": rows - distinct,
                "imported_kwh_difference": round(kwh - expected_kwh, 6),
                "server_timing_ms": {name: _percentiles(by_output) for name, by_output in SERVER_TIMING.items()},
                "daily_run_s": round(daily_window[1] - daily_window[0], 1),
                "server_timing_by_phase_ms": _by_phase(daily_window),
                "machine_while_browsing": machine,
                "machine_during_daily_run": daily_done.get("cpu"),
            }
        )
        if browser:
            figures["chromium_graphs_page"] = watcher.get("views", {})
            if "error" in watcher:
                figures["chromium_error"] = watcher["error"]
        return figures
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=60)
        server.stop()


def run() -> dict[str, Any]:
    """The load twice, each on a fresh database with its own daily run: first the users alone, then (with
    ``LOAD_BROWSER=1``) again with Chromium timing the Graphs page beside them.

    The first pass gives the server's figures: in use, the users' browsers run on their own machines. Chromium on
    these 2 cores is not a user's machine: it draws each page it times. Weighing as much as the server (before its
    session's autogroup was lowered, :func:`_lower_autogroup`) it took 10-14 of the 13-17 CPU-s while the daily run
    imported and every request waited for a core; lowered, it waits for the cores instead. The second pass
    (``with_chromium``) gives what a browser feels under the load, an upper bound, and the server's figures beside
    it."""
    figures = _load(browser=False)
    if BROWSER:
        figures["with_chromium"] = _load(browser=True)
    return {"load": figures}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
