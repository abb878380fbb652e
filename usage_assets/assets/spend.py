"""Hypothetical AWS infra spend of customer installs and the daily reporters behind it."""

import dagster as dg

from usage_assets.assets.activity import HISTORY_UP_TO_D, scan_history
from usage_assets.lib.spend import daily_reporters as count_daily_reporters
from usage_assets.lib.spend import priced_install_days, spend_by_day, spend_summary
from usage_assets.partitions import daily_partitions, partition_day
from usage_assets.resources.storage import DataLake, ReportConfig
from usage_assets.resources.telemetry import TelemetrySource


@dg.asset(
    partitions_def=daily_partitions,
    deps=["instances", HISTORY_UP_TO_D],
    group_name="spend",
    kinds={"polars", "json"},
)
def infra_spend(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake, report_config: ReportConfig
) -> dg.MaterializeResult:
    """What AWS customer installs would cost at list price (USD/day rates of the cost
    model per compute platform, plus Bedrock embeddings from search-counter increases),
    per day up to D under the three counting rules (all days, persisted, proven), with
    yesterday, last 7 days, cumulative and the ARR projection. The ``ltv-spend-D``
    sidecars (JSON summary and per-day CSV)."""
    day = partition_day(context)
    lake = data_lake.lake()
    model = report_config.spend_model()
    _first, history = scan_history(lake, telemetry, day)
    table = lake.read_frame("instances", day)
    days = priced_install_days(history, table, model, day)
    by_day = spend_by_day(days, model, day)
    summary = spend_summary(by_day, days, model, day)
    lake.write_frame("infra_spend_by_day", day, by_day)
    path = lake.write_json("infra_spend", day, summary)
    return dg.MaterializeResult(
        metadata={
            "ltv_all_days_usd": summary["ltv"]["all_days"]["total_usd"],
            "last_7_days_all_days_usd": summary["last_7_days"]["all_days_total_usd"],
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    deps=["instances", HISTORY_UP_TO_D],
    group_name="spend",
    kinds={"polars", "parquet"},
)
def daily_reporters(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake
) -> dg.MaterializeResult:
    """AWS customer installs reporting each day up to D: all of them, those with at least
    2 events and those with at least 2 days. The ``daily-reporters-D.csv`` sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    _first, history = scan_history(lake, telemetry, day)
    frame = count_daily_reporters(history, lake.read_frame("instances", day), day)
    path = lake.write_frame("daily_reporters", day, frame)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": frame.height, "path": dg.MetadataValue.path(str(path))}
    )
