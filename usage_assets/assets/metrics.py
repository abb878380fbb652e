"""Fleet metrics for report day D, written as JSON in the data lake."""


import dagster as dg
import polars as pl

from usage_assets.assets.activity import HISTORY_UP_TO_D, history_first_day, scan_history
from usage_assets.lib.breakdowns import fleet_breakdowns
from usage_assets.lib.detection import detection_by_version
from usage_assets.lib.fleet import fleet_summary as summarize_fleet
from usage_assets.lib.liveness import STRONGER_WINDOW_DAYS, liveness_summary, liveness_table, window_start
from usage_assets.lib.versions import build_summary
from usage_assets.partitions import daily_partitions, partition_day
from usage_assets.resources.storage import DataLake
from usage_assets.resources.telemetry import TelemetrySource

LAST_14_DAYS = dg.TimeWindowPartitionMapping(start_offset=-(STRONGER_WINDOW_DAYS - 1))


@dg.asset(
    partitions_def=daily_partitions,
    deps=["instances", HISTORY_UP_TO_D],
    group_name="metrics",
    kinds={"json"},
)
def fleet_summary(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake
) -> dg.MaterializeResult:
    """Key metrics, stickiness (one-day wonders, lifetime buckets 3/7/14/30 over customers),
    unique-install distributions (all and active on D), per-cloud installs, version adoption,
    the internal installs with their reasons, and the customer breakdowns (upgrade
    trajectories, features, embeddings, search, detection, auth paths, sticky profiles,
    rankings) as of the end of day D. The ``metrics-D.json`` sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    table = lake.read_frame("instances", day)
    _first, history = scan_history(lake, telemetry, day)
    summary = {**summarize_fleet(table, history, day), **fleet_breakdowns(table, history, day)}
    path = lake.write_json("fleet_summary", day, summary)
    key = summary["key_metrics"]
    sticky = summary["stickiness"]
    return dg.MaterializeResult(
        metadata={
            "identified_instances": key["identified_instances"],
            "total_events": key["total_events"],
            "customers": sticky["total_non_internal"],
            "one_day_wonder_pct": sticky["one_day_wonder_pct"],
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    deps=["instances", dg.AssetDep("instance_days", partition_mapping=LAST_14_DAYS)],
    group_name="metrics",
    kinds={"json"},
)
def liveness(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake
) -> dg.MaterializeResult:
    """Liveness tiers of customer installs (Confirmed, Stronger, Likely, Silent-but-recent,
    Dormant) over calendar-day windows ending at D."""
    day = partition_day(context)
    lake = data_lake.lake()
    customers = lake.read_frame("instances", day).filter(~pl.col("is_internal"))
    first = max(window_start(day, STRONGER_WINDOW_DAYS), history_first_day(telemetry, day))
    recent = lake.scan_days("instance_days", first, day)
    table = liveness_table(customers, recent, day)
    summary = liveness_summary(table, day)
    lake.write_frame("liveness_by_install", day, table)
    path = lake.write_json("liveness", day, summary)
    return dg.MaterializeResult(
        metadata={**summary["counts"], "path": dg.MetadataValue.path(str(path))}
    )


@dg.asset(
    partitions_def=daily_partitions,
    deps=["instances", HISTORY_UP_TO_D],
    group_name="metrics",
    kinds={"json"},
)
def build_kinds(context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake) -> dg.MaterializeResult:
    """Community builds (release tags) against internal builds (git-describe, bare sha,
    dev) by each install's latest version: active on D, cumulative, per version and per
    day up to D. The ``prod-internal-D.json`` sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, telemetry, day)
    summary = build_summary(lake.read_frame("instances", day), history, first, day)
    path = lake.write_json("build_kinds", day, summary)
    return dg.MaterializeResult(
        metadata={**{f"cumulative_{kind}": n for kind, n in summary["cumulative"].items()},
                  "path": dg.MetadataValue.path(str(path))}
    )


@dg.asset(partitions_def=daily_partitions, deps=["instances"], group_name="metrics", kinds={"polars", "parquet"})
def cloud_detection(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """How each customer install's cloud was detected, by its latest version: one column per
    detection method the collector allows (none dropped). The ``detection-by-version-D.csv``
    sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    frame = detection_by_version(lake.read_frame("instances", day))
    path = lake.write_frame("cloud_detection", day, frame)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": frame.height, "path": dg.MetadataValue.path(str(path))}
    )
