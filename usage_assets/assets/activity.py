"""Per-install activity: the compact daily layer and the cumulative install table."""


from datetime import date

import dagster as dg
import polars as pl

from usage_assets.lib.activity import instance_days_from_events, instances_as_of
from usage_assets.lib.lake import Lake
from usage_assets.lib.timeseries import installs_by, installs_by_cloud
from usage_assets.partitions import PARTITIONS_START, daily_partitions, partition_day
from usage_assets.resources.storage import DataLake, ReportConfig
from usage_assets.resources.telemetry import TelemetrySource

# "Every instance_days partition up to D": a large negative offset is the documented way
# to express an all-history window (dagster issue #17797); it clips at the first partition.
ALL_DAYS_UP_TO_D = dg.TimeWindowPartitionMapping(start_offset=-100_000)
#: The dependency of every history-wide asset of day D: the daily layer of all days up to D.
HISTORY_UP_TO_D = dg.AssetDep("instance_days", partition_mapping=ALL_DAYS_UP_TO_D)


def history_first_day(telemetry: TelemetrySource, day: date) -> date:
    """First day a history-wide asset must see: the source's first day of data (clipped
    to the partitions' start), or ``day`` itself when the source has nothing earlier."""
    coverage = telemetry.cached_coverage()
    first = max(coverage[0], PARTITIONS_START) if coverage else day
    return min(first, day)


def scan_history(lake: Lake, telemetry: TelemetrySource, day: date) -> tuple[date, pl.LazyFrame]:
    """``(first, history)``: the first day a history-wide asset of ``day`` must see (see
    :func:`history_first_day`) and a lazy scan of ``instance_days`` from it to ``day``.
    Raises :class:`usage_assets.lib.lake.MissingPartitionsError` naming any missing day."""
    first = history_first_day(telemetry, day)
    return first, lake.scan_days("instance_days", first, day)


@dg.asset(
    partitions_def=daily_partitions,
    deps=["raw_events"],
    group_name="activity",
    kinds={"polars", "parquet"},
)
def instance_days(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """One row per (registry_id, UTC day D): event counts, first/last ts, latest non-empty
    attributes, versions seen and counter maxima. The compact layer every history-wide
    metric reads instead of raw events; unidentified events form one null-id row."""
    day = partition_day(context)
    lake = data_lake.lake()
    summary = instance_days_from_events(lake.read_frame("raw_events", day), day)
    path = lake.write_frame("instance_days", day, summary)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": summary.height,
            "distinct_installs": summary["registry_id"].drop_nulls().len(),
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    deps=[HISTORY_UP_TO_D],
    group_name="activity",
    kinds={"polars", "parquet"},
)
def instances(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake, report_config: ReportConfig
) -> dg.MaterializeResult:
    """Every install as of the end of day D: first/last seen, lifetime, active days,
    latest non-empty attributes, version trajectory, and internal/customer classification
    with its reason. Read lazily from all instance_days up to D; fails naming any missing day."""
    day = partition_day(context)
    lake = data_lake.lake()
    _first, history = scan_history(lake, telemetry, day)
    table = instances_as_of(history, report_config.allowlist())
    path = lake.write_frame("instances", day, table)
    internal = int(table["is_internal"].sum())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": table.height,
            "customers": table.height - internal,
            "internal": internal,
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    deps=[HISTORY_UP_TO_D],
    group_name="activity",
    kinds={"polars", "parquet"},
)
def install_timeseries(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake
) -> dg.MaterializeResult:
    """Installs by cloud for every day up to D: daily active, daily new and cumulative
    (all installs, internal included). Feeds the installs-over-time chart."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, telemetry, day)
    frame = installs_by_cloud(history, first, day)
    path = lake.write_frame("install_timeseries", day, frame)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": frame.height, "path": dg.MetadataValue.path(str(path))}
    )


@dg.asset(
    partitions_def=daily_partitions,
    deps=[HISTORY_UP_TO_D],
    group_name="activity",
    kinds={"polars", "parquet"},
)
def compute_timeseries(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake
) -> dg.MaterializeResult:
    """Installs by compute platform for every day up to D: daily active, daily new and
    cumulative (all installs). Feeds the compute-platform growth chart and table."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, telemetry, day)
    frame = installs_by(history, "compute", first, day)
    path = lake.write_frame("compute_timeseries", day, frame)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": frame.height, "path": dg.MetadataValue.path(str(path))}
    )
