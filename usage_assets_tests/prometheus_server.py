"""A real Prometheus server for tests, loaded with a deterministic, hand-computable history.

How the history is made (so that every expected number is exact):

- The report day is ``REPORT_DAY`` = 2026-03-10, so every query is evaluated at
  ``T`` = 2026-03-11T00:00:00Z. Samples are hourly, from ``T - 28d`` to ``T + 1d``.
- Each series has a constant increment per hourly step within each 7-day *week* before T
  (week 1 = (T-28d, T-21d], ..., week 4 = (T-7d, T]) and a large one after T (so a query
  evaluated at the wrong instant gives visibly wrong numbers).
- ``increase(x[7d])`` at T then equals exactly ``168 * week-4 step``: Prometheus 2.x
  selects the samples in ``[T-7d, T]``, both edges included, and with samples on both
  edges it extrapolates by zero. (Prometheus 3.x uses ``(T-7d, T]`` and extrapolates the
  first hour back; with a constant step inside the window that is still exact.)
  ``offset 7d`` gives week 3; the 14-day window gives weeks 3+4 against weeks 1+2.
- A counter reset inside week 4 restarts the counter at one step's increment, so
  ``increase()`` (which adds the value before the drop) still counts exactly one step.
- A series with a ``first_step`` has no sample before it (Prometheus holds less history
  for it than the windows need) and starts at 0 there, like a fresh counter.

The files are written as OpenMetrics and turned into TSDB blocks with ``promtool tsdb
create-blocks-from openmetrics`` *before* the server starts, straight into its data
directory: backfilled blocks bypass the head's out-of-order window (samples older than the
head's last hour could not be appended to a running server), and the retention is set to
100 years because the default (15 days) would delete blocks this old. Plain instant
selectors look back only 5 minutes (``--query.lookback-delta``); the tests evaluate them
exactly on sample timestamps, and ``increase()`` uses its own range instead. The server
listens on a free 127.0.0.1 port with its own configuration (no scrape targets), never
the Debian service's 9090.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from usage_assets_tests.loopback_sshd import free_port

# Tests talk to 127.0.0.1 only; never through a proxy the environment may configure.
for _variable in ("NO_PROXY", "no_proxy"):
    os.environ[_variable] = ",".join(filter(None, [os.environ.get(_variable), "127.0.0.1", "localhost"]))

REPORT_DAY = date(2026, 3, 10)
EVALUATED_AT = datetime(2026, 3, 11, tzinfo=timezone.utc)
HOUR = 3600
WEEK_STEPS = 7 * 24  # hourly steps per 7-day window = 168
HOSTILE_TOOL = "[red]evil[/red]<script>alert(1)</script>|x"
#: Steps (hours after T - 28d) where the short-history series begin: T - 22d and T - 13d.
SHORT_FIRST_STEP = 6 * 24
YOUNG_FIRST_STEP = 15 * 24


@dataclass(frozen=True)
class Series:
    """One labelled counter: its step per week (weeks 1..4 before T) and after T."""

    labels: dict[str, str]
    steps: tuple[float, float, float, float]
    after: float = 100.0
    #: Step index (1 = first hour of week 1) at which the counter restarts, if any.
    reset_at_step: int | None = None
    #: Last step written, if the series stops (e.g. an install that went away).
    last_step: int | None = None
    #: First step written, if the series starts later than T - 28d (value 0 there).
    first_step: int = 0


def tool(name, server, success, steps, **extra):
    return Series({"tool_name": name, "server_name": server, "success": success, "method": "tools/call"},
                  steps, **extra)


# family name (without _total) -> its series. Expected values are derived in the tests.
HISTORY = {
    "mcpgw_registry_tool_execution": [
        # resets in the middle of week 4 (step 3*168 + 80)
        tool("search", "alpha", "true", (3, 3, 3, 2), reset_at_step=3 * WEEK_STEPS + 80),
        tool("search", "alpha", "false", (1, 1, 1, 1)),
        tool("fetch", "beta", "True", (1, 1, 1, 1)),  # the capitalised spelling occurs in the wild
        tool("fetch", "beta", "False", (0, 0, 0, 1)),
        tool(HOSTILE_TOOL, "gamma", "true", (1, 1, 1, 0)),
    ],
    "mcpgw_registry_auth_request": [
        Series({"success": "true", "method": "oauth", "target_kind": "mcp_server"}, (10, 10, 10, 10)),
        Series({"success": "false", "method": "oauth", "target_kind": "mcp_server"}, (0, 0, 0, 1)),
    ],
    # Exists, but flat in both windows: a true zero, not a missing series.
    "mcpgw_registry_tool_discovery": [Series({"results_count_bucket": "1-5"}, (2, 2, 0, 0))],
    "telemetry_sends": [
        Series({"event": "heartbeat", "status": "success"}, (4, 4, 4, 4)),
        Series({"event": "heartbeat", "status": "timeout"}, (1, 1, 1, 2)),
    ],
    # Not a default series: one label value whose series stops at T - 7d (exists only before).
    "retired_widget": [
        Series({"tool_name": "steady"}, (1, 1, 1, 1)),
        Series({"tool_name": "old"}, (1, 1, 1, 1), last_step=3 * WEEK_STEPS),
    ],
    # Prometheus holds 22 days of these (from T - 22d): less than two 14- or 30-day windows.
    "short_tool_execution": [
        tool("search", "alpha", "true", (2, 2, 2, 2), first_step=SHORT_FIRST_STEP),
        tool("search", "alpha", "false", (1, 1, 1, 1), first_step=SHORT_FIRST_STEP),
    ],
    "short_telemetry_sends": [
        Series({"event": "heartbeat", "status": "success"}, (4, 4, 4, 4), first_step=SHORT_FIRST_STEP),
        Series({"event": "heartbeat", "status": "timeout"}, (1, 1, 1, 1), first_step=SHORT_FIRST_STEP),
    ],
    # Held from T - 13d, at a constant rate: the previous 7-day window starts a day earlier.
    "young_requests": [Series({"tool_name": "search"}, (1, 1, 1, 1), first_step=YOUNG_FIRST_STEP)],
    # One counter name in two environments, told apart by a label selector only.
    "scoped_requests": [
        Series({"job": "registry", "env": "prod"}, (3, 3, 3, 3)),
        Series({"job": "registry", "env": "staging"}, (5, 5, 5, 5)),
    ],
}


def _label_text(labels: dict[str, str]) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return ",".join(f'{key}="{escape(value)}"' for key, value in sorted(labels.items()))


def openmetrics_history(history: dict[str, list[Series]] = HISTORY) -> str:
    """The OpenMetrics text of ``history``: one family per counter, series in time order."""
    start = int(EVALUATED_AT.timestamp()) - 4 * WEEK_STEPS * HOUR
    lines = []
    for family, series_list in history.items():
        lines.append(f"# TYPE {family} counter")
        for series in series_list:
            value = 0.0
            labels = _label_text(series.labels)
            for step in range(series.first_step, 4 * WEEK_STEPS + 24 + 1):  # 4 weeks before T and 24 hours after
                if series.last_step is not None and step > series.last_step:
                    break
                if step > series.first_step:
                    increment = series.steps[(step - 1) // WEEK_STEPS] if step <= 4 * WEEK_STEPS else series.after
                    value = increment if step == series.reset_at_step else value + increment
                lines.append(f"{family}_total{{{labels}}} {value:g} {start + step * HOUR}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def binaries_or_skip() -> tuple[str, str]:
    """Paths of ``prometheus`` and ``promtool``; skips the test when they are missing, unless
    ``USAGE_REQUIRE_PROMETHEUS=1`` (set by ``.ci/run``) makes their absence a failure."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus and promtool:
        return prometheus, promtool
    message = "the prometheus and promtool binaries are needed (Debian: apt-get install prometheus)"
    if os.environ.get("USAGE_REQUIRE_PROMETHEUS") == "1":
        pytest.fail(message)
    pytest.skip(message)


class PrometheusServer:
    """A Prometheus process on 127.0.0.1:``port`` with its data in ``folder``."""

    def __init__(self, folder: Path, history: dict[str, list[Series]] = HISTORY):
        self.folder = folder
        self.history = history
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "PrometheusServer":
        prometheus, promtool = binaries_or_skip()
        data = self.folder / "data"
        data.mkdir(parents=True)
        (self.folder / "history.om").write_text(openmetrics_history(self.history))
        (self.folder / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        # One block per 30 days instead of the default two hours: a handful of blocks to load.
        subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=720h",
             str(self.folder / "history.om"), str(data)],
            check=True, capture_output=True, timeout=60,
        )
        log = open(self.folder / "prometheus.log", "wb")
        self.process = subprocess.Popen(
            [prometheus, f"--config.file={self.folder / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
             "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{self.port}",
             "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(self.folder / 'prometheus.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus was not ready within {timeout} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory) -> PrometheusServer:
    """One real Prometheus for the whole test session, loaded with :data:`HISTORY`."""
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus")).start()
    try:
        yield server
    finally:
        server.stop()


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"

