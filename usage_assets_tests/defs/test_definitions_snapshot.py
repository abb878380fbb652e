"""The asset graph as a reviewed file: a changed graph is a diff in definitions_snapshot.json.

The snapshot lists every asset (group, kinds, partitions, dependencies with their
partition mapping), every asset check, every job with the assets it materializes, and
the schedule. When a change to the graph is intended, regenerate the file with
``USAGE_UPDATE_SNAPSHOT=1 pytest usage_assets_tests/defs/test_definitions_snapshot.py``
and review the diff with the change.
"""

import json
import os
from pathlib import Path

import dagster as dg

from usage_assets.definitions import build_definitions
from usage_assets.settings import Settings

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def _mapping(mapping: dg.PartitionMapping | None) -> str:
    if isinstance(mapping, dg.TimeWindowPartitionMapping):
        if (mapping.start_offset, mapping.end_offset) == (0, 0):
            return "same day"
        return f"days D{mapping.start_offset:+d}..D{mapping.end_offset:+d}".replace("D+0", "D")
    return type(mapping).__name__ if mapping else "same day"


def graph_snapshot(defs: dg.Definitions) -> dict:
    """The graph's shape as plain, sorted JSON-ready data."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitions": str(node.partitions_def) if node.partitions_def else None,
            "deps": {
                parent.to_user_string(): _mapping(graph.get_partition_mapping(key, parent))
                for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string())
            },
        }
    checks = sorted(
        f"{check.asset_key.to_user_string()}:{check.name}" for check in graph.asset_check_keys
    )
    jobs = {
        job.name: sorted(key.to_user_string() for key in job.asset_layer.executable_asset_keys)
        for job in defs.resolve_all_job_defs()
        if not job.name.startswith("__")
    }
    schedules = {}
    for unresolved in defs.schedules or ():
        schedule = defs.resolve_schedule_def(unresolved.name)
        schedules[schedule.name] = {
            "cron": schedule.cron_schedule, "timezone": schedule.execution_timezone, "job": schedule.job_name,
        }
    return {"assets": assets, "asset_checks": checks, "jobs": jobs, "schedules": schedules}


def test_the_graph_matches_its_reviewed_snapshot():
    current = graph_snapshot(build_definitions(Settings()))
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("USAGE_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(text)
    assert json.loads(SNAPSHOT.read_text()) == current, (
        "the asset graph changed; if intended, regenerate with USAGE_UPDATE_SNAPSHOT=1 and review the diff"
    )


def test_each_chart_depends_only_on_what_it_draws():
    assets = graph_snapshot(build_definitions(Settings()))["assets"]
    charts = {key: spec for key, spec in assets.items() if key.startswith("charts/")}
    assert len(charts) == 15
    # The hairball this replaced: every chart used to depend on 12 metric assets.
    assert max(len(spec["deps"]) for spec in charts.values()) == 2
    assert charts["charts/retention_over_time"]["deps"] == {"lifetime_buckets": "same day"}
    assert charts["charts/install_forecast"]["deps"] == {"cumulative_installs": "same day", "install_forecast": "same day"}


def test_the_datasets_the_mission_names_are_assets():
    assets = graph_snapshot(build_definitions(Settings()))["assets"]
    assert {"raw_events", "fleet_metrics", "liveness", "lifetime_buckets", "ltv_spend", "install_forecast",
            "usage_report"} <= set(assets)
    # Side files that used to be written without an asset are assets now.
    assert {"ingest_stats", "liveness_by_install", "cumulative_installs", "ltv_spend_by_day"} <= set(assets)
