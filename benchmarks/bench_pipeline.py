"""Benchmark: the pipeline at fleet scale, one row per figure of issue 11's table.

Run from the project root (writes only to a temporary folder, or ``--keep DIR``):

    .venv/bin/python benchmarks/bench_pipeline.py [--installs 20000] [--days 90] [--ui] [--tiny]

Every measured command runs in a fresh child process; its wall time, CPU time (user +
system) and peak RSS are printed, with the machine's load (``uptime``) before and after,
since wall time on a shared machine says little without it. Prints figures only: nothing
here asserts a time or a size (``--tiny`` is CI's smoke test of this script).

Rows:

1. **cold first report**: ``usage-report run --date D-1`` from empty folders on a CSV
   archive of the demo fleet sized ``--installs`` x ``--days`` (written once by the demo
   simulator, untimed, like an existing archive): importing, ingesting every day in one
   run, the comparison days' metrics and the report;
2. **warm daily run**: ``usage-report run --date D`` right after (day D-1 done);
3. **the 15 charts**: the ``charts`` step of that warm report run (from the run's step
   statistics in the Dagster instance), and the report run's other steps for scale;
4. **report job, 365 vs 30 days of history**: the report job of day D on the default demo
   fleet with 30 and with 365 days of history before D (history built directly through
   the pure functions; day D fetched from a CSV export of the same events, since the demo
   simulator's cost for a lone day grows with the history it replays), with the instances
   fold of day D apart;
5. with ``--ui``: a backfill of 3 days launched in the Dagster UI's way (webserver +
   daemon on a temporary ``DAGSTER_HOME``, GraphQL ``launchPartitionBackfill``) against
   ``usage-report backfill`` for the same days, each on a copy of the same lake;
6. the reference comparison only where the reference scripts are present
   (``USAGE_REFERENCE_SCRIPTS``, a folder with ``run_report.sh``); skipped otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))
USAGE_REPORT = str(Path(sys.executable).with_name("usage-report"))


@dataclass
class Measured:
    """One child process: wall and CPU seconds, peak RSS in MB."""

    wall_s: float
    cpu_s: float
    peak_mb: float

    def __str__(self) -> str:
        return f"{self.wall_s:7.1f} s wall {self.cpu_s:7.1f} s CPU {self.peak_mb:7.0f} MB peak RSS"


def measure(command: list[str], env: dict[str, str]) -> Measured:
    """Run ``command`` in a child process (failing loudly) and measure it with GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        timed = ["/usr/bin/time", "-q", "-o", out.name, "-f", "%e %U %S %M", *command]
        completed = subprocess.run(timed, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
        if completed.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
        wall, user, system, peak_kb = out.read().split()[-4:]
    return Measured(float(wall), float(user) + float(system), int(peak_kb) / 1024)


def load() -> str:
    """The machine's load (``uptime``) and the CPU seconds a fixed loop of pure Python takes
    now: on a shared virtual machine the same work can take a third longer from one hour
    to the next, so figures are comparable only with their probe."""
    started = time.process_time()
    total = 0
    for number in range(10_000_000):
        total += number
    probe = time.process_time() - started
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{uptime}; CPU probe (10M-step loop) {probe:.2f} s"


def write_demo_archive(folder: Path, installs: int, days: int, last_day: date) -> Path:
    """The demo fleet of ``installs`` x ``days`` ending ``last_day`` as one dated export in
    the reference layout (``folder/<last_day + 1>/registry_metrics.csv``: startup rows then
    heartbeat rows, each in ts order); kept and reused when already written."""
    import polars as pl

    from usage_assets.sources.demo_fleet import demo_events_for_day, fleet_of_size
    from usage_assets.sources.export_format import EXPORT_COLUMNS

    path = folder / (last_day + timedelta(days=1)).isoformat() / "registry_metrics.csv"
    if path.is_file():
        return folder
    fleet = fleet_of_size(installs, days, last_day)
    events = pl.concat([demo_events_for_day(fleet, fleet.start + timedelta(days=n)) for n in range(days)])
    events = events.sort(pl.col("event") != "startup", "ts", maintain_order=True).select(EXPORT_COLUMNS)
    path.parent.mkdir(parents=True, exist_ok=True)
    events.write_csv(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    print(f"archive: {events.height} events of {installs} installs x {days} days ({path})", flush=True)
    return folder


def workspace_env(workdir: Path, **settings: str) -> dict[str, str]:
    """The environment of a CLI run in an empty workspace under ``workdir``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("USAGE_") and key != "DAGSTER_HOME"}
    return {**env, "MPLBACKEND": "Agg", "USAGE_WORKSPACES_DIR": str(workdir / "workspaces"),
            **{f"USAGE_{key.upper()}": value for key, value in settings.items()}}


def report_step_seconds(workspaces: Path) -> dict[str, float]:
    """Seconds per step of the newest report run recorded in the workspace's instance."""
    import dagster as dg

    (home,) = workspaces.glob("*/dagster_home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="daily_usage_report"), limit=1)
        return {stat.step_key: stat.end_time - stat.start_time for stat in instance.get_run_step_stats(run.run_id)
                if stat.end_time and stat.start_time}


def fleet_rows(workdir: Path, installs: int, days: int) -> None:
    """Rows 1-3: cold first report, warm daily run, charts step; on the CSV archive."""
    yesterday = date.today() - timedelta(days=1)
    archive = write_demo_archive(workdir / "archive", installs, days, yesterday)
    env = workspace_env(workdir / "cold", source="csv", csv_path=str(archive))
    cold = measure([USAGE_REPORT, "run", "--date", (yesterday - timedelta(days=1)).isoformat()], env)
    print(f"cold first report, empty folders, {installs} installs x {days} days:  {cold}", flush=True)
    warm = measure([USAGE_REPORT, "run", "--date", yesterday.isoformat()], env)
    print(f"warm daily run (day D after D-1):                  {warm}", flush=True)
    steps = report_step_seconds(workdir / "cold" / "workspaces")
    slowest = ", ".join(f"{key} {seconds:.2f} s" for key, seconds in sorted(steps.items(), key=lambda kv: -kv[1])[:6])
    print(f"the 15 charts (the `charts` step of that run):     {steps.get('charts', float('nan')):7.2f} s wall")
    print(f"  report run: {sum(steps.values()):.1f} s in steps; slowest: {slowest}", flush=True)


HISTORY_SCRIPT = """
import sys, time
from datetime import date, timedelta
from pathlib import Path
sys.path.insert(0, {root!r})
from benchmarks.bench_pipeline import build_history, time_report
print(time_report(Path({workdir!r}), int({days!r})))
"""


def build_history(workdir: Path, start: date, report_day: date) -> Path:
    """The default demo fleet's raw_events and instance_days from ``start`` to ``report_day``,
    written directly through the pure functions (what the ingest job would write), and its
    events as one CSV export (returned: the archive folder) from which the timed report job
    fetches day D, as a production source would: the demo simulator regenerates each
    install's whole life for a lone day, which costs more the longer the history."""
    import polars as pl

    from usage_assets.daily.activity import instance_days_from_events
    from usage_assets.ingest.validation import validate_events
    from usage_assets.sources.demo_fleet import DemoFleetParams, demo_events_for_day
    from usage_assets.storage.lake import Lake

    params, lake = DemoFleetParams(start=start), Lake(workdir / "data")
    exported = []
    for offset in range((report_day - start).days + 1):
        day = start + timedelta(days=offset)
        events = demo_events_for_day(params, day)
        exported.append(events)
        validated = validate_events(events, day)
        lake.write_frame("raw_events", day, validated.events)
        lake.write_frame("instance_days", day, instance_days_from_events(validated.events, day))
    archive = workdir / "archive"
    export = archive / (report_day + timedelta(days=1)).isoformat() / "registry_metrics.csv"
    export.parent.mkdir(parents=True)
    pl.concat(exported).sort(pl.col("event") != "startup", "ts", maintain_order=True).write_csv(export)
    return archive


def time_report(workdir: Path, history_days: int) -> str:
    """Build ``history_days`` days of history ending D, the report of D-1 (the warm state of
    a daily run), then time the report job of D and the instances fold of D; one JSON line."""
    import dagster as dg

    from usage_assets.cli.runner import PipelineRunner
    from usage_assets.daily.activity import instances_as_of
    from usage_assets.daily.internal import InternalAllowlist
    from usage_assets.settings import Settings
    from usage_assets.storage.lake import Lake

    report_day = date.today() - timedelta(days=2)
    start = report_day - timedelta(days=history_days - 1)
    archive = build_history(workdir, start, report_day)
    settings = Settings(data_dir=str(workdir / "data"), reports_dir=str(workdir / "reports"),
                        source="csv", csv_path=str(archive))
    (workdir / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(workdir / "home")) as instance:
        runner = PipelineRunner(settings, instance)
        runner.prepare_source()  # imports the archive (untimed, once, as in a daily run)
        runner.report(report_day - timedelta(days=1))  # D-1 and its comparison days: a warm lake
        started, cpu_started = time.perf_counter(), time.process_time()
        runner.report(report_day)
        report_s, report_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="daily_usage_report"), limit=1)
        steps = {stat.step_key: round(stat.end_time - stat.start_time, 2)
                 for stat in instance.get_run_step_stats(run.run_id) if stat.end_time and stat.start_time}
    started = time.perf_counter()
    table = instances_as_of(Lake(workdir / "data").scan_days("instance_days", start, report_day), InternalAllowlist())
    fold_s = time.perf_counter() - started
    return json.dumps(
        {"installs": table.height, "report_job_s": report_s, "report_job_cpu_s": report_cpu_s, "instances_s": fold_s,
         "slowest_steps": dict(sorted(steps.items(), key=lambda kv: -kv[1])[:8])}
    )


def history_rows(workdir: Path, histories: tuple[int, ...]) -> None:
    """Row 4: the report job of D with each history length (each in a fresh process)."""
    timings = {}
    for days in histories:
        folder = workdir / f"history{days}"
        folder.mkdir(parents=True)
        # The partitions start at the earliest history's first day (read when the pipeline is imported).
        first = date.today() - timedelta(days=2) - timedelta(days=max(histories) - 1)
        env = {**workspace_env(folder), "USAGE_PARTITIONS_START": first.isoformat()}
        script = HISTORY_SCRIPT.format(root=str(PROJECT_ROOT), workdir=str(folder), days=days)
        completed = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=PROJECT_ROOT, capture_output=True, check=False, text=True
        )
        if completed.returncode:
            raise SystemExit(f"report job with {days} days of history failed:\n{completed.stderr}")
        timings[days] = json.loads(completed.stdout.strip().splitlines()[-1])
        figures = timings[days]
        print(f"report job of D, {days:>3} days of history ({figures['installs']} installs): "
              f"{figures['report_job_s']:6.2f} s wall {figures['report_job_cpu_s']:6.2f} s CPU "
              f"(instances fold {figures['instances_s']:.2f} s)", flush=True)
        slowest = figures["slowest_steps"].items()
        print("  slowest steps: " + ", ".join(f"{key} {seconds:.2f} s" for key, seconds in slowest))
    short, long = min(histories), max(histories)
    ratio = timings[long]["report_job_s"] / timings[short]["report_job_s"]
    cpu_ratio = timings[long]["report_job_cpu_s"] / timings[short]["report_job_cpu_s"]
    print(f"  ratio {long} d / {short} d: {ratio:.2f} wall, {cpu_ratio:.2f} CPU")


def ui_backfill_row(workdir: Path, installs: int, days: int, backfill_days: int = 3) -> None:
    """Row 5: the same backfill of the last ``backfill_days`` days, launched as an asset
    backfill through the webserver's GraphQL API (the daemon runs it) and with
    ``usage-report backfill``, each on a copy of a lake ingested up to the day before."""
    yesterday = date.today() - timedelta(days=1)
    first = yesterday - timedelta(days=backfill_days - 1)
    archive = write_demo_archive(workdir / "archive", installs, days, yesterday)
    prepared = workdir / "prepared"
    env = workspace_env(prepared, source="csv", csv_path=str(archive))
    measure([USAGE_REPORT, "run", "--date", (first - timedelta(days=1)).isoformat()], env)
    for name in ("cli", "ui"):
        shutil.copytree(prepared, workdir / name, symlinks=True)
    cli_env = workspace_env(workdir / "cli", source="csv", csv_path=str(archive))
    cli = measure([USAGE_REPORT, "backfill", "--start", first.isoformat(), "--end", yesterday.isoformat()], cli_env)
    print(f"backfill of {backfill_days} days, `usage-report backfill`:        {cli}", flush=True)
    ui_s, runs_done_s, runs = ui_backfill(workdir / "ui", archive, first, yesterday)
    print(f"backfill of {backfill_days} days launched in the UI (daemon):  {ui_s:7.1f} s wall until the backfill "
          f"shows Completed ({runs} run(s); its runs were done after {runs_done_s:.1f} s); "
          f"ratio UI / CLI {ui_s / cli.wall_s:.2f}", flush=True)


def ui_backfill(workdir: Path, archive: Path, first: date, last: date, port: int = 3917) -> tuple[float, float, int]:
    """Start dagster-webserver and the project's daemon (``usage-report daemon``, as the
    services and ``usage-report ui`` run it) on the workspace's instance, launch an asset
    backfill of every asset for ``first..last`` and wait for it; (seconds until the
    backfill is marked completed, seconds until its runs were finished, runs). The daemon
    looks at backfills every ``USAGE_AUTOMATION_BACKFILL_INTERVAL_S`` (5 s; Dagster's own
    daemon every 30 s), so the first figure includes up to that before the run is
    submitted and up to that after it ends. The daily sensor is stopped (in the UI's way)
    before the daemon starts: on this fresh lake it would build a month of missing reports
    beside the backfill, which the CLI row does not; the backfill is launched once the
    daemon reports healthy."""
    (home,) = (workdir / "workspaces").glob("*/dagster_home")
    env = {**workspace_env(workdir, source="csv", csv_path=str(archive)), "DAGSTER_HOME": str(home),
           "USAGE_PARTITIONS_START": json.loads((home.parent / "data" / "workspace.json").read_text())
           .get("first_day", "")}
    bin_dir = Path(sys.executable).parent
    workspace = ["-w", str(PROJECT_ROOT / "workspace.yaml")]
    processes = [
        subprocess.Popen([str(bin_dir / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(port)],
                         env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True),
    ]
    try:
        graphql = f"http://127.0.0.1:{port}/graphql"
        wait_for_webserver(graphql)
        sensor = graphql_call(graphql, '{ sensorOrError(sensorSelector: {repositoryLocationName: "usage_assets", '
                                       'repositoryName: "__repository__", sensorName: "daily_usage_report_sensor"}) '
                                       '{ __typename ... on Sensor { id } } }')["sensorOrError"]
        if "id" not in sensor:
            raise SystemExit(f"the UI has no sensor daily_usage_report_sensor to stop: {sensor['__typename']}")
        graphql_call(graphql, "mutation($id: String) { stopSensor(id: $id) { __typename } }", {"id": sensor["id"]})
        processes.append(subprocess.Popen([str(bin_dir / "usage-report"), "daemon", *workspace], env=env,
                                          cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        wait_for_backfill_daemon(graphql)
        keys = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
        started = time.perf_counter()
        backfill_id = launch_backfill(graphql, keys)
        runs_done_s = None
        while True:
            status, runs = backfill_status(graphql, backfill_id)
            if runs_done_s is None and runs and all(run["status"] in FINISHED_RUN_STATUSES for run in runs):
                runs_done_s = time.perf_counter() - started
            if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
                break
            time.sleep(1)  # as often as the UI's own backfill page asks; faster polling loads the webserver
        elapsed = time.perf_counter() - started
        if status not in ("COMPLETED", "COMPLETED_SUCCESS"):
            raise SystemExit(f"the UI backfill ended {status}")
        return elapsed, runs_done_s or elapsed, len(runs)
    finally:
        for process in processes:
            os.killpg(process.pid, 15)
        for process in processes:
            process.wait(timeout=60)


def graphql_call(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise SystemExit(f"GraphQL error: {answer['errors']}")
    return answer["data"]


def wait_for_webserver(url: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            data = graphql_call(url, "{ workspaceOrError { ... on Workspace { locationEntries { "
                                     "locationOrLoadError { __typename } } } } }")
            entries = data["workspaceOrError"]["locationEntries"]
            if entries and entries[0]["locationOrLoadError"] and \
                    entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation":
                return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit("the webserver did not load the code location in time")


def wait_for_backfill_daemon(url: str, timeout_s: float = 300) -> None:
    """Until the webserver sees the backfill daemon's heartbeats (in the instance it reads)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = graphql_call(url, '{ instance { daemonHealth { daemonStatus(daemonType: "BACKFILL") { healthy } } } }')
        if status["instance"]["daemonHealth"]["daemonStatus"]["healthy"]:
            return
        time.sleep(1)
    raise SystemExit("the webserver saw no heartbeat of the backfill daemon in time: do both use the same instance?")


def launch_backfill(url: str, partition_keys: list[str]) -> str:
    """An asset backfill of every asset over ``partition_keys``; returns its id."""
    nodes = graphql_call(url, "{ assetNodes { assetKey { path } isMaterializable } }")["assetNodes"]
    selection = [{"path": node["assetKey"]["path"]} for node in nodes if node["isMaterializable"]]
    data = graphql_call(
        url,
        "mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) { "
        "__typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }",
        {"params": {"assetSelection": selection, "partitionNames": partition_keys}},
    )["launchPartitionBackfill"]
    if data["__typename"] != "LaunchBackfillSuccess":
        raise SystemExit(f"the backfill was not launched: {data}")
    return data["backfillId"]


#: Run statuses after which a run does nothing more.
FINISHED_RUN_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")


def backfill_status(url: str, backfill_id: str) -> tuple[str, list[dict]]:
    """The backfill's status (set by the daemon's next look after its runs end) and its runs."""
    data = graphql_call(url, "query($id: String!) { partitionBackfillOrError(backfillId: $id) { "
                             "... on PartitionBackfill { status numPartitions runs(limit: 1000) { runId status } } } }",
                        {"id": backfill_id})["partitionBackfillOrError"]
    return data["status"], data.get("runs") or []


def reference_row() -> None:
    scripts = os.environ.get("USAGE_REFERENCE_SCRIPTS")
    if not scripts or not (Path(scripts) / "run_report.sh").is_file():
        print("reference comparison: skipped (set USAGE_REFERENCE_SCRIPTS to the reference scripts' folder)")
        return
    print(f"reference comparison: not automated here; the scripts are in {scripts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installs", type=int, default=20_000, help="Fleet size of rows 1-3 and 5.")
    parser.add_argument("--days", type=int, default=90, help="Days of history of rows 1-3 and 5.")
    parser.add_argument("--histories", default="30,365", help="History lengths of row 4 (days, comma-separated).")
    parser.add_argument("--ui", action="store_true", help="Also row 5: a 3-day backfill in the UI vs the CLI.")
    parser.add_argument("--tiny", action="store_true", help="CI's smoke test: 300 installs x 10 days, histories "
                        "7 and 14 days.")
    parser.add_argument("--keep", type=Path, help="Work in this folder (kept; the archive is reused) instead of a "
                        "temporary one.")
    args = parser.parse_args()
    if args.tiny:
        args.installs, args.days, args.histories = 300, 10, "7,14"
    histories = tuple(sorted(int(days) for days in args.histories.split(",")))
    print(f"load before: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        workdir = args.keep or Path(tmp)
        for stale in ("cold", "prepared", "cli", "ui", *(f"history{days}" for days in histories)):
            shutil.rmtree(workdir / stale, ignore_errors=True)
        fleet_rows(workdir, args.installs, args.days)
        history_rows(workdir, histories)
        if args.ui:
            ui_backfill_row(workdir, args.installs, args.days)
        reference_row()
    print(f"load after:  {load()}")


if __name__ == "__main__":
    main()
