"""Installs over time, by cloud and by compute platform, for every day up to D."""

from contextlib import suppress
from datetime import date

import dagster as dg
import polars as pl

from usage_assets.daily.history import carried_forward, installs_seen_before, scan_history
from usage_assets.defs.daily.assets import HISTORY_UP_TO_D
from usage_assets.defs.materialize import daily_asset, frame_result
from usage_assets.defs.partitions import partition_day
from usage_assets.defs.resources.storage import DataLake
from usage_assets.metrics.installs_over_time import installs_by, installs_by_extended
from usage_assets.storage.datasets import COMPUTE_TIMESERIES, INSTALL_TIMESERIES, INSTANCE_DAYS
from usage_assets.storage.lake import Lake


@daily_asset(name=INSTALL_TIMESERIES, deps=[HISTORY_UP_TO_D], group_name="metrics", kinds={"polars", "parquet"})
def install_timeseries(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Installs by cloud for every day up to D: daily active, daily new and cumulative
    (all installs, internal included). Feeds the installs-over-time chart. D-1's frame
    plus day D when it is current, else computed over all history."""
    day = partition_day(context)
    lake = data_lake.lake()
    return frame_result(lake, INSTALL_TIMESERIES, day, installs_over_time(lake, INSTALL_TIMESERIES, "cloud", day))


@daily_asset(name=COMPUTE_TIMESERIES, deps=[HISTORY_UP_TO_D], group_name="metrics", kinds={"polars", "parquet"})
def compute_timeseries(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Installs by compute platform for every day up to D: daily active, daily new and
    cumulative (all installs). Feeds the compute-platform growth chart and table. D-1's
    frame plus day D when it is current, else computed over all history."""
    day = partition_day(context)
    lake = data_lake.lake()
    return frame_result(lake, COMPUTE_TIMESERIES, day, installs_over_time(lake, COMPUTE_TIMESERIES, "compute", day))


def installs_over_time(lake: Lake, dataset: str, facet: str, day: date) -> pl.DataFrame:
    """The frame of ``dataset`` for ``day``: D-1's frame plus day D when it and the install
    table of D-1 are current (the table says which of D's installs are new), else computed
    over all history."""
    previous = carried_forward(lake, dataset, day)
    seen_before = installs_seen_before(lake, day) if previous is not None and not previous.is_empty() else None
    if seen_before is not None:
        with suppress(ValueError):  # D-1's frame in another shape (an older release wrote it)
            return installs_by_extended(previous, lake.read_frame(INSTANCE_DAYS, day), seen_before, facet, day)
    first, history = scan_history(lake, day)
    return installs_by(history, facet, first, day)
