"""The daily layer: one compact row per install and day, and the cumulative install table."""

import dagster as dg

from usage_assets.daily.activity import instance_days_from_events, instances_as_of, instances_extended
from usage_assets.daily.history import carried_forward, scan_history
from usage_assets.defs.materialize import DayByDay, write_frame
from usage_assets.defs.partitions import ALL_DAYS_UP_TO_D, ONE_RUN_PER_RANGE, daily_partitions, partition_days
from usage_assets.defs.resources.storage import DataLake, ReportConfig
from usage_assets.storage.datasets import INSTANCE_DAYS, INSTANCES, RAW_EVENTS

#: The dependency of every history-wide asset of day D: the daily layer of all days up to D.
HISTORY_UP_TO_D = dg.AssetDep(INSTANCE_DAYS, partition_mapping=ALL_DAYS_UP_TO_D)


@dg.asset(
    name=INSTANCE_DAYS,
    partitions_def=daily_partitions,
    backfill_policy=ONE_RUN_PER_RANGE,
    deps=[RAW_EVENTS],
    group_name="daily",
    kinds={"polars", "parquet"},
)
def instance_days(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """One row per (registry_id, UTC day D): event counts, first/last ts, latest non-empty
    attributes, versions seen and counter maxima. The compact layer every history-wide
    metric reads instead of raw events; unidentified events form one null-id row. Each day
    of the run's range is written as its own partition."""
    lake = data_lake.lake()
    with DayByDay(context) as recorder:
        for day in partition_days(context):
            summary = instance_days_from_events(lake.read_frame(RAW_EVENTS, day), day)
            recorder.written(INSTANCE_DAYS, day, write_frame(
                lake, INSTANCE_DAYS, day, summary, distinct_installs=summary["registry_id"].drop_nulls().len()
            ))
    (result,) = recorder.results(INSTANCE_DAYS)
    return result


@dg.asset(
    name=INSTANCES,
    partitions_def=daily_partitions,
    backfill_policy=ONE_RUN_PER_RANGE,
    deps=[HISTORY_UP_TO_D],
    group_name="daily",
    kinds={"polars", "parquet"},
)
def instances(
    context: dg.AssetExecutionContext, data_lake: DataLake, report_config: ReportConfig
) -> dg.MaterializeResult:
    """Every install as of the end of day D: first/last seen, lifetime, active days,
    latest non-empty attributes, version trajectory, and internal/customer classification
    with its reason. The table of D-1 extended by day D's instance_days when it is
    current (the same table at the cost of a day), else read lazily from all
    instance_days up to D; fails naming any missing day. Each day of the run's range is
    written as its own partition, each extending the one before."""
    lake = data_lake.lake()
    allowlist = report_config.allowlist()
    table = None
    with DayByDay(context) as recorder:
        for day in partition_days(context):
            previous = table if table is not None else carried_forward(lake, INSTANCES, day)
            if previous is not None:
                table = instances_extended(previous, lake.read_frame(INSTANCE_DAYS, day), allowlist)
            else:
                _first, history = scan_history(lake, day)
                table = instances_as_of(history, allowlist)
            internal = int(table["is_internal"].sum())
            recorder.written(INSTANCES, day, write_frame(
                lake, INSTANCES, day, table, customers=table.height - internal, internal=internal
            ))
    (result,) = recorder.results(INSTANCES)
    return result
