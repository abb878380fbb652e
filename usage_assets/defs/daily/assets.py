"""The daily layer: one compact row per install and day, and the cumulative install table."""

import dagster as dg

from usage_assets.daily.activity import instance_days_from_events, instances_as_of
from usage_assets.daily.history import scan_history
from usage_assets.defs.materialize import frame_result
from usage_assets.defs.partitions import ALL_DAYS_UP_TO_D, daily_partitions, partition_day
from usage_assets.defs.resources.storage import DataLake, ReportConfig
from usage_assets.storage.datasets import INSTANCE_DAYS, INSTANCES, RAW_EVENTS

#: The dependency of every history-wide asset of day D: the daily layer of all days up to D.
HISTORY_UP_TO_D = dg.AssetDep(INSTANCE_DAYS, partition_mapping=ALL_DAYS_UP_TO_D)


@dg.asset(name=INSTANCE_DAYS, partitions_def=daily_partitions, deps=[RAW_EVENTS], group_name="daily", kinds={"polars", "parquet"})
def instance_days(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """One row per (registry_id, UTC day D): event counts, first/last ts, latest non-empty
    attributes, versions seen and counter maxima. The compact layer every history-wide
    metric reads instead of raw events; unidentified events form one null-id row."""
    day = partition_day(context)
    lake = data_lake.lake()
    summary = instance_days_from_events(lake.read_frame(RAW_EVENTS, day), day)
    return frame_result(lake, INSTANCE_DAYS, day, summary, distinct_installs=summary["registry_id"].drop_nulls().len())


@dg.asset(name=INSTANCES, partitions_def=daily_partitions, deps=[HISTORY_UP_TO_D], group_name="daily", kinds={"polars", "parquet"})
def instances(context: dg.AssetExecutionContext, data_lake: DataLake, report_config: ReportConfig) -> dg.MaterializeResult:
    """Every install as of the end of day D: first/last seen, lifetime, active days,
    latest non-empty attributes, version trajectory, and internal/customer classification
    with its reason. Read lazily from all instance_days up to D; fails naming any missing day."""
    day = partition_day(context)
    lake = data_lake.lake()
    _first, history = scan_history(lake, day)
    table = instances_as_of(history, report_config.allowlist())
    internal = int(table["is_internal"].sum())
    return frame_result(lake, INSTANCES, day, table, customers=table.height - internal, internal=internal)
