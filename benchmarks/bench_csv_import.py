"""Benchmark: peak memory and time of importing a large CSV export (issue 10, item 8), and
the CPU a day's ingest costs (issue 11).

Run from the project root (writes only to a temporary folder; a 2M-row export is about
600 MB on disk and takes a few minutes):

    .venv/bin/python benchmarks/bench_csv_import.py [--rows 2000000] [--days 60] [--installs 2000]
        [--archive PATH] [--compare-polars] [--days-cpu] [--run]

Writes one synthetic export in the reference's layout (34 columns, startup rows then
heartbeat rows, each in ts order, one dated snapshot folder), or takes an existing archive
(``--archive``, only read: e.g. the 20,000-install x 90-day demo archive), and prints, each
measured in a fresh child process:

1. the peak RSS, wall time and CPU time (user + system) of importing it into the day cache
   (``CsvArchive.refresh``: the tolerant line reader, per-day spooling and merging);
2. with ``--compare-polars``, the peak RSS of reading the same file whole with
   ``polars.read_csv``, the way the importer read exports before (for scale; synthetic only);
3. with ``--days-cpu``, the CPU time (``time.process_time``, every thread) of the ingest's
   own work on each cached day: reading it, validating it (``validate_events``,
   ``ingest_stats``) and summarizing it (``instance_days_from_events``), per day and in
   total, without Dagster's bookkeeping;
4. with ``--run``, the peak RSS and wall time of ``usage-report run`` on the archive
   (import, ingest of every day, the report), in an empty workspace. Past the import, memory
   follows the fleet (installs x days folded by the ``instances`` asset), not the export.

Prints figures only: nothing here asserts a time or a size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from usage_assets.sources.export_format import EXPORT_COLUMNS  # noqa: E402

SHARE = '"{""keycloak"":62,""session_cookie"":31,""unknown"":7}"'


def write_export(path: Path, rows: int, days: int, installs: int) -> date:
    """``rows`` events of ``installs`` installs over ``days`` days ending yesterday, a tenth of
    them startups; returns the snapshot day."""
    snapshot = date.today()
    first = snapshot - timedelta(days=days)
    startups, heartbeats = rows // 10, rows - rows // 10
    column = {name: index for index, name in enumerate(EXPORT_COLUMNS)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        out.write(",".join(EXPORT_COLUMNS) + "\n")
        for kind, count in (("startup", startups), ("heartbeat", heartbeats)):
            for n in range(count):
                seconds = n * days * 86_400 // count
                day, rest = divmod(seconds, 86_400)
                cells = [""] * len(EXPORT_COLUMNS)
                install = n % installs
                cells[column["event"]] = kind
                cells[column["registry_id"]] = f"{install:08x}-0000-4000-8000-{install:012x}"
                cells[column["v"]] = "v1.31.0"
                for name, value in (("py", "3.12"), ("os", "linux"), ("arch", "x86_64"), ("cloud", "aws"),
                                    ("compute", "ecs"), ("mode", "with-gateway"), ("registry_mode", "full"),
                                    ("storage", "documentdb"), ("auth", "keycloak"), ("federation", "False"),
                                    ("embeddings_provider", "litellm"), ("embeddings_backend_kind", "bedrock"),
                                    ("cloud_detection_method", "env"), ("internal_only_deployment", "False"),
                                    ("internal_deployment_type", "none"), ("search_queries_total", str(n % 5000)),
                                    ("search_queries_24h", str(n % 50)), ("search_queries_1h", str(n % 5))):
                    cells[column[name]] = value
                if kind == "heartbeat":
                    for name, value in (("servers_count", "12"), ("agents_count", "3"), ("skills_count", "5"),
                                        ("peers_count", "0"), ("search_backend", "documentdb"),
                                        ("uptime_hours", str(n % 700)), ("schema_version", "6"),
                                        ("auth_path_share_24h", SHARE), ("auth_path_volume_bucket_24h", "100-999"),
                                        ("auth_path_window_hours", "24")):
                        cells[column[name]] = value
                moment = first + timedelta(days=day)
                cells[column["ts"]] = (f"{moment}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}."
                                       f"{n % 1000:03d}Z")
                out.write(",".join(cells) + "\n")
    return snapshot


DAYS_CPU = """
import sys, time
from datetime import timedelta
from usage_assets.daily.activity import instance_days_from_events
from usage_assets.ingest.validation import ingest_stats, validate_events
from usage_assets.sources.csv_archive import CsvArchive

archive = CsvArchive(sys.argv[1], sys.argv[2])
first, last = archive.coverage()
days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
validate_events(archive.day(days[0]), days[0])  # polars' first-call set-up, not a day's cost
spent = []
for day in days:
    started = time.process_time()
    rows = archive.day(day)
    validated = validate_events(rows, day)
    ingest_stats(rows, validated)
    instance_days_from_events(validated.events, day)
    spent.append(time.process_time() - started)
print(f"{len(days)} {sum(spent):.3f} {sorted(spent)[len(spent) // 2]:.4f}")
"""


def measure(command: list[str], env: dict | None = None, output: bool = False) -> tuple[float, float, float, str]:
    """(peak RSS in MB, wall seconds, CPU seconds (user + system), its standard output if
    ``output``) of ``command`` run as a child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE if output else subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    printed = child.stdout.read().decode() if output else ""
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{child.stderr.read().decode()[-3000:]}")
    return usage.ru_maxrss / 1024, elapsed, usage.ru_utime + usage.ru_stime, printed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="Rows of the export (default 2,000,000).")
    parser.add_argument("--days", type=int, default=60, help="Days the rows are spread over (default 60).")
    parser.add_argument("--installs", type=int, default=2_000, help="Installs sending them (default 2,000).")
    parser.add_argument("--archive", type=Path, help="Import this archive (a file or folder of exports, only read) "
                        "instead of a synthetic export.")
    parser.add_argument("--compare-polars", action="store_true", help="Also read the file whole with polars.read_csv.")
    parser.add_argument("--days-cpu", action="store_true", help="Also measure the CPU of validating each cached day.")
    parser.add_argument("--run", action="store_true", help="Also time `usage-report run` on the archive (slow).")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.archive:
            exports = args.archive.resolve()
            print(f"archive: {exports}")
        else:
            started = time.perf_counter()
            exports = folder / "exports"
            export = exports / date.today().isoformat() / "registry_metrics.csv"
            write_export(export, args.rows, args.days, args.installs)
            print(f"export: {args.rows:,} rows of {args.installs:,} installs over {args.days} days, "
                  f"{export.stat().st_size / 1e6:,.0f} MB "
                  f"(written in {time.perf_counter() - started:.0f} s)")

        script = (
            "import json, sys; from usage_assets.sources.csv_archive import CsvArchive; "
            "s = CsvArchive(sys.argv[1], sys.argv[2]).refresh(); "
            "print(json.dumps({'rows': s.rows_read, 'days': s.days_written}))"
        )
        peak, seconds, cpu, _ = measure([python, "-c", script, str(exports), str(folder / "cache")])
        manifest = json.loads((folder / "cache" / "manifest.json").read_text())
        print(f"import into the day cache (CsvArchive.refresh): peak RSS {peak:,.0f} MB, {seconds:,.1f} s wall, "
              f"{cpu:,.1f} s CPU, {len(manifest['days'])} cached days")

        if args.compare_polars and not args.archive:
            script = "import sys, polars as pl; pl.read_csv(sys.argv[1], infer_schema=False, encoding='utf8-lossy')"
            peak, seconds, _, _ = measure([python, "-c", script, str(export)])
            print(f"for scale, polars.read_csv of the whole file: peak RSS {peak:,.0f} MB, {seconds:,.1f} s wall")

        if args.days_cpu:
            _, _, _, printed = measure([python, "-c", DAYS_CPU, str(exports), str(folder / "cache")], output=True)
            days, total, median = printed.split()
            print(f"each day's read, validation and daily summary: {float(total):,.2f} s CPU for {days} days "
                  f"(median {float(median) * 1000:,.1f} ms a day)")

        if args.run:
            env = {**os.environ, "USAGE_WORKSPACES_DIR": str(folder / "workspaces")}
            command = [str(Path(python).with_name("usage-report")), "run", "--source", "csv",
                       "--csv-path", str(exports)]
            peak, seconds, cpu, _ = measure(command, env)
            print(f"`usage-report run` (import, {len(manifest['days']) - 1} days ingested, report): "
                  f"peak RSS {peak:,.0f} MB, {seconds:,.1f} s wall, {cpu:,.1f} s CPU")

if __name__ == "__main__":
    main()
