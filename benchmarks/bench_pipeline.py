"""Benchmark: first run on the demo default, and one day's cost with a week vs a year of history.

Run from the project root (takes a few minutes, writes only to a temporary folder):

    .venv/bin/python benchmarks/bench_pipeline.py [--skip-first-run]

Prints:

1. the wall time and peak memory of ``usage-report run`` on the demo default from empty
   folders (what a new user waits for after installation; target: under 60 s);
2. for a demo fleet with 7 and with 365 days of history, the cost of day D's steps:
   ingest (fetch + validate + write raw_events + instance_days), the cumulative install
   table (a lazy scan of the compact daily layer) and the whole report job for D run
   through Dagster. Ingest should cost about the same with either history; the
   cumulative steps read only the compact ``instance_days`` files.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: Days of demo history before day D in the comparison of day D's cost.
HISTORIES = (7, 365)


def history_window(history_days: int) -> tuple[date, date]:
    """(first day, report day D) of ``history_days`` days of history ending the day before yesterday."""
    report_day = date.today() - timedelta(days=2)
    return report_day - timedelta(days=history_days - 1), report_day


def first_run(workdir: Path) -> None:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(workdir / "dagster_home"),
        "USAGE_DATA_DIR": str(workdir / "data"),
        "USAGE_REPORTS_DIR": str(workdir / "reports"),
    }
    (workdir / "dagster_home").mkdir(parents=True)
    (workdir / "dagster_home" / "dagster.yaml").write_text((PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
    command = [str(Path(sys.executable).with_name("usage-report")), "run"]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=PROJECT_ROOT)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"first `usage-report run`, demo default, empty folders: {elapsed:6.1f} s wall, peak RSS {peak_mb:.0f} MB")


def history_costs(workdir: Path, history_days: int) -> dict[str, float]:
    """Build ``history_days`` days of demo history directly (pure functions), then time day D."""
    import dagster as dg

    from usage_assets.cli.runner import PipelineRunner
    from usage_assets.daily.activity import instance_days_from_events, instances_as_of
    from usage_assets.daily.internal import InternalAllowlist
    from usage_assets.ingest.validation import validate_events
    from usage_assets.settings import Settings
    from usage_assets.sources.demo_fleet import DemoFleetParams, demo_events_for_day
    from usage_assets.storage.lake import Lake

    start, report_day = history_window(history_days)
    params = DemoFleetParams(start=start)
    lake = Lake(workdir / "data")

    def ingest(day: date) -> None:
        validated = validate_events(demo_events_for_day(params, day), day)
        lake.write_frame("raw_events", day, validated.events)
        lake.write_frame("instance_days", day, instance_days_from_events(validated.events, day))

    for offset in range(history_days - 1):
        ingest(start + timedelta(days=offset))
    started = time.perf_counter()
    ingest(report_day)
    ingest_s = time.perf_counter() - started

    started = time.perf_counter()
    table = instances_as_of(lake.scan_days("instance_days", start, report_day), InternalAllowlist())
    cumulative_s = time.perf_counter() - started

    settings = Settings(
        data_dir=str(workdir / "data"), reports_dir=str(workdir / "reports"), demo_start=start.isoformat()
    )
    (workdir / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(workdir / "home")) as instance:
        runner = PipelineRunner(settings, instance)
        runner.report(report_day)  # warm-up: imports and first-run caches
        started = time.perf_counter()
        runner.report(report_day)
        report_s = time.perf_counter() - started
    layer_mb = sum(p.stat().st_size for p in (workdir / "data" / "instance_days").rglob("*.parquet")) / 1e6
    raw_mb = sum(p.stat().st_size for p in (workdir / "data" / "raw_events").rglob("*.parquet")) / 1e6
    return {
        "installs": table.height,
        "ingest_s": ingest_s,
        "cumulative_s": cumulative_s,
        "report_job_s": report_s,
        "instance_days_mb": layer_mb,
        "raw_events_mb": raw_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-first-run", action="store_true", help="Only measure the week/year comparison.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_first_run:
            first_run(Path(tmp) / "first")
        # The partitions are built when the pipeline is imported, from the source the
        # environment names (the demo fleet, from its default start); the histories below
        # start up to a year earlier.
        os.environ.setdefault("USAGE_PARTITIONS_START", history_window(max(HISTORIES))[0].isoformat())
        print(f"{'history':>8} {'installs':>9} {'ingest D':>9} {'instances D':>12} {'report job D':>13} "
              f"{'instance_days':>14} {'raw_events':>11}")
        for days in HISTORIES:
            costs = history_costs(Path(tmp) / f"h{days}", days)
            print(f"{days:>6} d {costs['installs']:>9} {costs['ingest_s']:>8.3f}s {costs['cumulative_s']:>11.3f}s "
                  f"{costs['report_job_s']:>12.2f}s {costs['instance_days_mb']:>11.2f} MB {costs['raw_events_mb']:>8.2f} MB")


if __name__ == "__main__":
    main()
