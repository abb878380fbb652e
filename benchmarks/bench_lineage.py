"""Benchmark: precision and recall of the install stitching on a large demo fleet (issue 14).

Run from the project root (a few minutes for 20,000 installs on a 2-core machine):

    .venv/bin/python benchmarks/bench_lineage.py [--daily-new-installs 78] [--days 90]

Simulates the demo fleet (``DemoFleetParams(daily_new_installs=...)``; the default 91
gives about 20,000 installs over 90 days), builds the install table with the pipeline's
pure functions, computes ``install_lineage`` and scores it against the fleet's truth
(``demo_deployments``). Prints figures only: the default-size figures are asserted by
``usage_assets_tests/metrics/test_lineage.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from usage_assets.metrics.lineage import install_lineage, lineage_counts  # noqa: E402
from usage_assets.sources.demo_fleet import DemoFleetParams, demo_deployments  # noqa: E402
from usage_assets_tests.metrics.demo_lineage import demo_instances, stitching_score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daily-new-installs", type=float, default=91.0)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    params = DemoFleetParams(daily_new_installs=args.daily_new_installs)
    started = time.monotonic()
    last, instances = demo_instances(params, args.days)
    simulated = time.monotonic()
    lineage = install_lineage(instances)
    score = stitching_score(instances, lineage, demo_deployments(params, last))
    print(f"installs: {instances.height:,} over {args.days} days (daily_new_installs={args.daily_new_installs})")
    print(f"lineage: {lineage_counts(lineage)}")
    print(f"linked {score.linked:,}, correct {score.correct:,}; true links {score.true_links:,}, found {score.found:,}")
    print(f"precision {score.precision:.4f}, recall {score.recall:.4f}")
    print(
        f"simulation + install table {simulated - started:.1f} s, lineage and scoring {time.monotonic() - simulated:.1f} s"
    )


if __name__ == "__main__":
    main()
