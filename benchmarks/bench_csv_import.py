"""Benchmark: peak memory of importing a large CSV export (issue 10, item 8).

Run from the project root (writes only to a temporary folder; a 2M-row export is about
600 MB on disk and takes a few minutes):

    .venv/bin/python benchmarks/bench_csv_import.py [--rows 2000000] [--days 60] [--installs 2000]
        [--compare-polars] [--run]

Writes one synthetic export in the reference's layout (34 columns, startup rows then
heartbeat rows, each in ts order, one dated snapshot folder) and prints, each measured in
a fresh child process:

1. the peak RSS and wall time of importing it into the day cache
   (``CsvArchive.refresh``: the tolerant line reader, per-day spooling and merging);
2. with ``--compare-polars``, the peak RSS of reading the same file whole with
   ``polars.read_csv``, the way the importer read exports before (for scale);
3. with ``--run``, the peak RSS and wall time of ``usage-report run`` on the archive
   (import, ingest of every day, the report), in an empty lake. Past the import, memory
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


def measure(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of ``command`` run as a child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{child.stderr.read().decode()[-3000:]}")
    return usage.ru_maxrss / 1024, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="Rows of the export (default 2,000,000).")
    parser.add_argument("--days", type=int, default=60, help="Days the rows are spread over (default 60).")
    parser.add_argument("--installs", type=int, default=2_000, help="Installs sending them (default 2,000).")
    parser.add_argument("--compare-polars", action="store_true", help="Also read the file whole with polars.read_csv.")
    parser.add_argument("--run", action="store_true", help="Also time `usage-report run` on the archive (slow).")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        export = folder / "exports" / date.today().isoformat() / "registry_metrics.csv"
        write_export(export, args.rows, args.days, args.installs)
        print(f"export: {args.rows:,} rows of {args.installs:,} installs over {args.days} days, "
              f"{export.stat().st_size / 1e6:,.0f} MB "
              f"(written in {time.perf_counter() - started:.0f} s)")

        script = (
            "import json, sys; from usage_assets.sources.csv_archive import CsvArchive; "
            "s = CsvArchive(sys.argv[1], sys.argv[2]).refresh(); "
            "print(json.dumps({'rows': s.rows_read, 'days': s.days_written}))"
        )
        peak, seconds = measure([python, "-c", script, str(folder / "exports"), str(folder / "cache")])
        manifest = json.loads((folder / "cache" / "manifest.json").read_text())
        print(f"import into the day cache (CsvArchive.refresh): peak RSS {peak:,.0f} MB, {seconds:,.1f} s wall, "
              f"{len(manifest['days'])} cached days")

        if args.compare_polars:
            script = "import sys, polars as pl; pl.read_csv(sys.argv[1], infer_schema=False, encoding='utf8-lossy')"
            peak, seconds = measure([python, "-c", script, str(export)])
            print(f"for scale, polars.read_csv of the whole file: peak RSS {peak:,.0f} MB, {seconds:,.1f} s wall")

        if args.run:
            home = folder / "dagster_home"
            home.mkdir()
            (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
            env = {**os.environ, "DAGSTER_HOME": str(home), "USAGE_DATA_DIR": str(folder / "data"),
                   "USAGE_REPORTS_DIR": str(folder / "reports"), "USAGE_PARTITIONS_START": "2020-01-01"}
            command = [str(Path(python).with_name("usage-report")), "run", "--source", "csv",
                       "--csv-path", str(folder / "exports")]
            peak, seconds = measure(command, env)
            print(f"`usage-report run` (import, {len(manifest['days']) - 1} days ingested, report): "
                  f"peak RSS {peak:,.0f} MB, {seconds:,.1f} s wall")


if __name__ == "__main__":
    main()
