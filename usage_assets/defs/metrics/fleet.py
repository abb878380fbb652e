"""Fleet metrics of report day D: the metrics document, liveness, builds and cloud detection."""

from contextlib import suppress

import dagster as dg

from usage_assets.daily.history import carried_document, carried_forward, history_first_day, scan_history
from usage_assets.daily.internal import customers
from usage_assets.defs.daily.assets import HISTORY_UP_TO_D
from usage_assets.defs.materialize import daily_asset, daily_multi_asset, frame_result, json_result
from usage_assets.defs.metadata import fleet_numbers, liveness_numbers
from usage_assets.defs.partitions import days_up_to_d, partition_day
from usage_assets.defs.resources.storage import DataLake
from usage_assets.metrics.breakdowns import fleet_breakdowns
from usage_assets.metrics.detection import detection_by_version
from usage_assets.metrics.fleet import fleet_metrics as summarize_fleet
from usage_assets.metrics.fleet import fleet_metrics_extended
from usage_assets.metrics.liveness import STRONGER_WINDOW_DAYS, liveness_summary, liveness_table, window_start
from usage_assets.metrics.versions import build_summary, build_summary_extended, same_build_classes
from usage_assets.storage.datasets import (
    BUILD_KINDS,
    CLOUD_DETECTION,
    FLEET_METRICS,
    INSTANCE_DAYS,
    INSTANCES,
    LIVENESS,
    LIVENESS_BY_INSTALL,
)

#: Liveness reads the install table and the daily layer of the longest window (D-13..D).
LIVENESS_INPUTS = [INSTANCES, dg.AssetDep(INSTANCE_DAYS, partition_mapping=days_up_to_d(STRONGER_WINDOW_DAYS - 1))]


@daily_asset(name=FLEET_METRICS, deps=[INSTANCES, HISTORY_UP_TO_D], group_name="metrics", kinds={"json"})
def fleet_metrics(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Key metrics, stickiness (one-day wonders, lifetime buckets 3/7/14/30 over customers),
    unique-install distributions (all and active on D), per-cloud installs, version adoption,
    the internal installs with their reasons, and the customer breakdowns (upgrade
    trajectories, features, embeddings, search, detection, auth paths, sticky profiles,
    rankings) as of the end of day D. The ``metrics-D.json`` sidecar. The event totals and
    version counts extend D-1's document by day D when it is current, else they are
    computed over all history."""
    day = partition_day(context)
    lake = data_lake.lake()
    table = lake.read_frame(INSTANCES, day)
    day_layer = lake.read_frame(INSTANCE_DAYS, day)
    previous = carried_document(lake, FLEET_METRICS, day)
    fleet = None
    if previous is not None:
        # D-1's document is current: its event totals and version counts plus day D's
        # (unless an older release wrote it in another shape).
        with suppress(ValueError):
            fleet = fleet_metrics_extended(previous, table, day_layer, day)
    if fleet is None:
        _first, history = scan_history(lake, day)
        fleet = summarize_fleet(table, history, day)
    summary = {**fleet, **fleet_breakdowns(table, day_layer.lazy(), day)}
    return json_result(
        lake, FLEET_METRICS, day, summary,
        total_events=summary["key_metrics"]["total_events"],
        **fleet_numbers(summary),
    )


@daily_multi_asset(
    specs=[
        dg.AssetSpec(
            LIVENESS,
            description="Liveness tiers of customer installs (Confirmed, Stronger, Likely, "
            "Silent-but-recent, Dormant) over calendar-day windows ending at D: counts and shares. "
            "The ``liveness-D.json`` sidecar.",
            deps=LIVENESS_INPUTS,
            group_name="metrics",
            kinds={"json"},
        ),
        dg.AssetSpec(
            LIVENESS_BY_INSTALL,
            description="Each customer install's liveness on day D: heartbeats in the 7- and 14-day "
            "windows ending at D, events in the 7-day window, days since its last event, and its tier "
            "flags. Parquet.",
            deps=LIVENESS_INPUTS,
            group_name="metrics",
            kinds={"polars", "parquet"},
        ),
    ],
)
def liveness(context: dg.AssetExecutionContext, data_lake: DataLake):
    """Per-install liveness of day D and its tier counts."""
    day = partition_day(context)
    lake = data_lake.lake()
    first = max(window_start(day, STRONGER_WINDOW_DAYS), history_first_day(lake, day))
    table = liveness_table(customers(lake.read_frame(INSTANCES, day)), lake.scan_days(INSTANCE_DAYS, first, day), day)
    summary = liveness_summary(table, day)
    yield frame_result(lake, LIVENESS_BY_INSTALL, day, table)
    yield json_result(lake, LIVENESS, day, summary, **summary["counts"], **liveness_numbers(summary))


@daily_asset(name=BUILD_KINDS, deps=[INSTANCES, HISTORY_UP_TO_D], group_name="metrics", kinds={"json"})
def build_kinds(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Community builds (release tags) against internal builds (git-describe, bare sha,
    dev) by each install's latest version: active on D, cumulative, per version and per
    day up to D. The ``prod-internal-D.json`` sidecar. D-1's series plus day D when it and
    D-1's install table are current and no install changed class on D, else computed
    over all history."""
    day = partition_day(context)
    lake = data_lake.lake()
    table = lake.read_frame(INSTANCES, day)
    previous = carried_document(lake, BUILD_KINDS, day)
    before = carried_forward(lake, INSTANCES, day) if previous is not None else None
    summary = None
    if before is not None and same_build_classes(before, table):
        with suppress(ValueError):  # D-1's document in another shape (an older release wrote it)
            summary = build_summary_extended(previous, table, lake.read_frame(INSTANCE_DAYS, day), day)
    if summary is None:
        first, history = scan_history(lake, day)
        summary = build_summary(table, history, first, day)
    return json_result(lake, BUILD_KINDS, day, summary, **{f"cumulative_{kind}": n for kind, n in summary["cumulative"].items()})


@daily_asset(name=CLOUD_DETECTION, deps=[INSTANCES], group_name="metrics", kinds={"polars", "parquet"})
def cloud_detection(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """How each customer install's cloud was detected, by its latest version: one column per
    detection method the collector allows (none dropped). The ``detection-by-version-D.csv``
    sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    return frame_result(lake, CLOUD_DETECTION, day, detection_by_version(lake.read_frame(INSTANCES, day)))
