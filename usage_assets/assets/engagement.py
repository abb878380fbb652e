"""Engagement, retention and the install forecast for report day D: series over every
day up to D, computed from the daily layer (never from earlier report files)."""

import dagster as dg
import polars as pl

from usage_assets.assets.activity import HISTORY_UP_TO_D, scan_history
from usage_assets.lib.engagement import engagement_series
from usage_assets.lib.forecast import cumulative_installs, install_forecast as forecast_installs
from usage_assets.lib.retention import retention_series
from usage_assets.partitions import daily_partitions, partition_day
from usage_assets.resources.storage import DataLake, ReportConfig
from usage_assets.resources.telemetry import TelemetrySource


def customer_ids(instances: pl.DataFrame) -> list[str]:
    """registry_ids of the customer installs (not internal) of an ``instances`` table."""
    return instances.filter(~pl.col("is_internal"))["registry_id"].to_list()


@dg.asset(
    partitions_def=daily_partitions,
    deps=["instances", HISTORY_UP_TO_D],
    group_name="engagement",
    kinds={"polars", "parquet"},
)
def engagement(context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake) -> dg.MaterializeResult:
    """Customer engagement for every day up to D: daily active installs (DAI), its 7-day
    mean (MA7), the 7-day streak, cumulative installs, Likely Alive (7 days) and DAI as a
    share of both. The ``active-instances-D.csv`` sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, telemetry, day)
    frame = engagement_series(history, customer_ids(lake.read_frame("instances", day)), first, day)
    path = lake.write_frame("engagement", day, frame)
    latest = frame.row(-1, named=True) if frame.height else {}
    return dg.MaterializeResult(
        metadata={
            "daily_active": latest.get("daily_active"),
            "streak7": latest.get("streak7"),
            "dagster/row_count": frame.height,
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    deps=["instances", HISTORY_UP_TO_D],
    group_name="engagement",
    kinds={"polars", "parquet"},
)
def retention(context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake) -> dg.MaterializeResult:
    """Customer lifetime retention for every day up to D: the one-day-wonder share and the
    shares reporting over 3+/7+/14+/30+ days, each day's ages as of that day. The
    ``lifetime-buckets-D.csv`` sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, telemetry, day)
    frame = retention_series(history, customer_ids(lake.read_frame("instances", day)), first, day)
    path = lake.write_frame("retention", day, frame)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": frame.height, "path": dg.MetadataValue.path(str(path))}
    )


@dg.asset(
    partitions_def=daily_partitions,
    deps=[HISTORY_UP_TO_D],
    group_name="engagement",
    kinds={"polars", "json"},
)
def install_forecast(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake, report_config: ReportConfig
) -> dg.MaterializeResult:
    """Cumulative identified installs for every day up to D, and the forecast of when they
    reach the target: least squares over the last 14 days with a 95% band, and the last
    7 days' pace. The ``install-forecast-D.json`` sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, telemetry, day)
    series = cumulative_installs(history, first, day)
    forecast = forecast_installs(series, target=report_config.forecast_target)
    lake.write_frame("cumulative_installs", day, series)
    path = lake.write_json("install_forecast", day, forecast)
    return dg.MaterializeResult(
        metadata={
            "available": forecast["available"],
            "target": forecast["target"],
            "linear_eta": forecast["linear"]["eta"],
            "recent_pace_eta": forecast["recent_pace"]["eta"],
            "path": dg.MetadataValue.path(str(path)),
        }
    )
