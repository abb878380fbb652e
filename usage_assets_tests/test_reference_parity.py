"""Parity with the reference on the same CSV export.

The reference's analyzer rules (reference 6.1: identified installs, lifetime as days
between the first and last ``ts[:10]``, one-day wonders and lifetime buckets over
customers) are re-stated here in plain Python over the raw CSV rows, and compared with
what the pipeline reports from the same folder. The one difference applied is the
customer definition documented in docs/differences.md: internal = any backticked id on any
allowlist line (truncated ids by prefix) or the ``internal_only_deployment`` flag, where
the reference's analyzer takes the first full UUID per line and ignores the flag.
"""

import csv
import json
import re
from collections import defaultdict
from datetime import date, timedelta

import dagster as dg
import polars as pl

from usage_assets.lib.demo_fleet import DEMO_INTERNAL_ALLOWLIST, DemoFleetParams, demo_events_for_day
from usage_assets.lib.lake import day_range
from usage_assets.runner import PipelineRunner
from usage_assets.settings import Settings

START = date(2026, 8, 23)
REPORT_DAY = START + timedelta(days=19)
BACKTICKED_ID = re.compile(r"`([0-9a-f-]{8,36})(?:\.\.\.)?`")


def write_reference_export(path, params) -> list[dict]:
    """One cumulative export up to the snapshot day, startups first (the reference's order)."""
    frames = [demo_events_for_day(params, day) for day in day_range(START, REPORT_DAY + timedelta(days=1))]
    rows = pl.concat(frames)
    rows = pl.concat([rows.filter(pl.col("event") == "startup"), rows.filter(pl.col("event") == "heartbeat")])
    path.parent.mkdir(parents=True)
    rows.write_csv(path)
    with path.open() as stream:
        return list(csv.DictReader(stream))


def reference_numbers(rows: list[dict], allowlist: list[str], report_day: date) -> dict:
    """The reference analyzer's counts over rows up to the end of ``report_day``."""
    rows = [r for r in rows if r["ts"][:10] <= report_day.isoformat()]
    seen = {}
    by_id = defaultdict(list)
    for row in rows:
        if row["registry_id"].strip():
            by_id[row["registry_id"]].append(row)
    for registry_id, events in by_id.items():
        events.sort(key=lambda r: r["ts"])
        first, last = date.fromisoformat(events[0]["ts"][:10]), date.fromisoformat(events[-1]["ts"][:10])
        flags = [r["internal_only_deployment"] for r in events if r["internal_only_deployment"]]
        seen[registry_id] = {"age": (last - first).days, "flagged": bool(flags) and flags[-1].lower() == "true"}
    customers = {k: v for k, v in seen.items() if not any(k.startswith(entry) for entry in allowlist)}
    return {"identified": len(seen), "customers": customers}


def test_identified_installs_one_day_wonders_and_buckets_match_the_reference(pipeline_env):
    params = DemoFleetParams(start=START, daily_new_installs=3.0)
    snapshot = pipeline_env / "exports" / (REPORT_DAY + timedelta(days=1)).isoformat() / "registry_metrics.csv"
    rows = write_reference_export(snapshot, params)
    allowlist = BACKTICKED_ID.findall(DEMO_INTERNAL_ALLOWLIST.read_text())
    reference = reference_numbers(rows, allowlist, REPORT_DAY)

    settings = Settings(source="csv", csv_path=str(pipeline_env / "exports"),
                        internal_instances=str(DEMO_INTERNAL_ALLOWLIST),
                        data_dir=str(pipeline_env / "data"), reports_dir=str(pipeline_env / "reports"))
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = PipelineRunner(settings, instance)
        runner.prepare_source()
        assert runner.default_report_day() == REPORT_DAY
        for day in day_range(START, REPORT_DAY - timedelta(days=1)):
            runner.ingest(day)
        report = runner.report(REPORT_DAY)
    ours = json.loads((report.parent / f"metrics-{REPORT_DAY}.json").read_text())

    customers = [v["age"] for v in reference["customers"].values() if not v["flagged"]]
    assert ours["key_metrics"]["identified_instances"] == reference["identified"]
    sticky = ours["stickiness"]
    assert sticky["total_non_internal"] == len(customers)
    assert sticky["one_day_wonders"] == sum(age == 0 for age in customers)
    assert sticky["lifetime_bucket_counts"] == {str(t): sum(age >= t for age in customers) for t in (3, 7, 14, 30)}
    assert sticky["longest_non_internal_days"] == max(customers)
    # The fleet is big enough for the comparison to mean something.
    assert len(customers) > 50 and sticky["one_day_wonders"] > 10 and sticky["lifetime_bucket_counts"]["7"] > 5
