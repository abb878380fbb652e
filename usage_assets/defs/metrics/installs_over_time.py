"""Installs over time, by cloud and by compute platform, for every day up to D."""

import dagster as dg

from usage_assets.daily.history import scan_history
from usage_assets.defs.daily.assets import HISTORY_UP_TO_D
from usage_assets.defs.materialize import daily_asset, frame_result
from usage_assets.defs.partitions import partition_day
from usage_assets.defs.resources.storage import DataLake
from usage_assets.metrics.installs_over_time import installs_by, installs_by_cloud
from usage_assets.storage.datasets import COMPUTE_TIMESERIES, INSTALL_TIMESERIES


@daily_asset(name=INSTALL_TIMESERIES, deps=[HISTORY_UP_TO_D], group_name="metrics", kinds={"polars", "parquet"})
def install_timeseries(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Installs by cloud for every day up to D: daily active, daily new and cumulative
    (all installs, internal included). Feeds the installs-over-time chart."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, day)
    return frame_result(lake, INSTALL_TIMESERIES, day, installs_by_cloud(history, first, day))


@daily_asset(name=COMPUTE_TIMESERIES, deps=[HISTORY_UP_TO_D], group_name="metrics", kinds={"polars", "parquet"})
def compute_timeseries(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Installs by compute platform for every day up to D: daily active, daily new and
    cumulative (all installs). Feeds the compute-platform growth chart and table."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, day)
    return frame_result(lake, COMPUTE_TIMESERIES, day, installs_by(history, "compute", first, day))
