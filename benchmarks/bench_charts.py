"""Benchmark: the report's 15 charts drawn from a fleet-scale lake (about 20,000 installs over 90 days).

Run from the project root:

    .venv/bin/python benchmarks/bench_charts.py [--daily-new-installs 113] [--days 90] [--rounds 3]

The lake is built once, with ``usage-report run`` on the demo fleet (a few minutes on a
busy 2-core machine), and kept under ``/tmp/usage-bench-charts-<seed>-<installs>-<days>``
so later runs only draw. Prints the machine's load average, then each chart's draw time
(wall and CPU: in the first round, as this fresh process first draws it, and the best of
``--rounds`` rounds) and, for every round, the wall and CPU time of the ``charts`` asset's
work: :func:`usage_assets.charts.catalog.draw_charts` and the 15 previews (in two threads,
as the asset makes them), each round with this process's text caches emptied
(:func:`usage_assets.charts.agg.clear_caches`), as cold as a run worker's charts step.
``draw_charts`` runs as the asset calls it (a helper process only when a core is idle), in
this process alone, with a helper process started for the call, and with one started 3 s
before, as the ``chart_helper`` resource starts it with the run (CPU of this process and
of the helper, the helper's start-up included).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: The demo fleet's first day; fixed, so the lake and its report day do not depend on today.
DEMO_START = date(2026, 1, 5)
DEMO_SEED = 7


def build_lake(cache: Path, daily_new_installs: float, days: int) -> date:
    """Materialize ``days`` days of the demo fleet into ``cache/data`` (once) and return the report day."""
    report_day = DEMO_START + timedelta(days=days - 1)
    done = cache / "built"
    if done.exists():
        return report_day
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text((PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
        env = {
            **os.environ,
            "DAGSTER_HOME": home,
            "USAGE_SOURCE": "demo",
            "USAGE_DEMO_SEED": str(DEMO_SEED),
            "USAGE_DEMO_START": DEMO_START.isoformat(),
            "USAGE_DEMO_DAILY_NEW_INSTALLS": str(daily_new_installs),
            "USAGE_NO_PROMETHEUS": "1",
            "USAGE_WORKSPACES_DIR": str(cache / "workspaces"),
        }
        command = [
            str(Path(sys.executable).with_name("usage-report")),
            "run",
            "--date",
            report_day.isoformat(),
            "--data-dir",
            str(cache / "data"),
            "--reports-dir",
            str(cache / "reports"),
        ]
        print(f"building the lake once in {cache} (usage-report run, {days} days)...", flush=True)
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    done.write_text(report_day.isoformat())
    return report_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--daily-new-installs",
        type=float,
        default=113.0,
        help="Demo fleet's new installs on its first day (3x by day 90); 113 gives about 20,000.",
    )
    parser.add_argument("--days", type=int, default=90, help="Days of history up to the report day.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of drawing every chart.")
    args = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    cache = Path(tempfile.gettempdir()) / f"usage-bench-charts-{DEMO_SEED}-{args.daily_new_installs:g}-{args.days}"
    day = build_lake(cache, args.daily_new_installs, args.days)

    import polars as pl

    from usage_assets.charts.agg import clear_caches
    from usage_assets.charts.catalog import CHARTS, ChartDrawer, draw_charts
    from usage_assets.charts.parallel import SharedDrawing
    from usage_assets.charts.style import thumbnail_png
    from usage_assets.storage.datasets import INSTANCES
    from usage_assets.storage.lake import Lake

    lake = Lake(cache / "data")
    installs = pl.scan_parquet(lake.path(INSTANCES, day)).select(pl.len()).collect().item()
    print(f"machine: {os.cpu_count()} cores, load average {load()} (1/5/15 min)")
    print(f"lake {cache / 'data'}: report day {day}, {installs:,} installs")

    first_wall, first_cpu = {}, {}
    best_wall = {spec.stem: float("inf") for spec in CHARTS}
    best_cpu = dict(best_wall)
    for round_ in range(args.rounds):
        for spec in CHARTS:
            wall, cpu = time.perf_counter(), time.process_time()
            spec.draw(lake, day)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if round_ == 0:
                first_wall[spec.stem], first_cpu[spec.stem] = wall, cpu
            best_wall[spec.stem] = min(best_wall[spec.stem], wall)
            best_cpu[spec.stem] = min(best_cpu[spec.stem], cpu)
    print(f"one by one, in this process (first round: this process's first charts; best of {args.rounds}):")
    print(f"  {'chart':<34} {'first wall':>10} {'first cpu':>10} {'best wall':>10} {'best cpu':>10}")
    for spec in CHARTS:
        stem = spec.stem
        print(
            f"  {stem:<34} {first_wall[stem]:9.3f}s {first_cpu[stem]:9.3f}s {best_wall[stem]:9.3f}s {best_cpu[stem]:9.3f}s"
        )
    sums = (sum(first_wall.values()), sum(first_cpu.values()), sum(best_wall.values()), sum(best_cpu.values()))
    print(f"  {'sum':<34} {sums[0]:9.3f}s {sums[1]:9.3f}s {sums[2]:9.3f}s {sums[3]:9.3f}s")
    print("the charts asset's step: draw_charts, then the 15 previews in two threads (cpu: this process + the helper):")
    variants = (
        ("as the asset runs it", None),
        ("in this process alone", False),
        ("helper started here", True),
        ("helper up beforehand", "early"),
    )
    for name, helper in variants:
        for round_ in range(args.rounds):
            clear_caches()  # as cold as a run worker's first charts step
            shared = None
            if helper == "early":
                # As the chart_helper resource starts it: with the run, seconds before the step.
                shared = SharedDrawing()
                shared.start()
                time.sleep(3)
            wall, cpu, helper_cpu = time.perf_counter(), time.process_time(), children_cpu()
            if shared is not None:
                with ChartDrawer(lake, shared=shared) as drawer:
                    pngs = drawer.draw(day)
            else:
                pngs = draw_charts(lake, day, helper=helper)
            drawn = time.perf_counter() - wall
            with ThreadPoolExecutor(max_workers=2) as pool:
                previews = list(pool.map(thumbnail_png, pngs.values()))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if shared is not None:
                shared.close()
            helper_cpu = children_cpu() - helper_cpu
            print(
                f"  {name:<22} round {round_ + 1}: {len(previews)} charts in {wall:.3f}s wall ({drawn:.3f}s drawing), "
                f"cpu {cpu:.3f}s + {helper_cpu:.3f}s (load {load()})"
            )
    print(f"load average {load()} (1/5/15 min)")


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
