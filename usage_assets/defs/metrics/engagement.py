"""Engagement, lifetime buckets and the install forecast for report day D: series over
every day up to D, computed from the daily layer (never from earlier report files)."""

from contextlib import suppress
from datetime import timedelta

import dagster as dg
import polars as pl

from usage_assets.daily.history import carried_customer_series, carried_forward, installs_seen_before, scan_history
from usage_assets.daily.internal import customer_ids, customers
from usage_assets.defs.daily.assets import HISTORY_UP_TO_D
from usage_assets.defs.materialize import daily_asset, daily_multi_asset, frame_result, json_result
from usage_assets.defs.metadata import engagement_numbers, forecast_numbers
from usage_assets.defs.partitions import partition_day
from usage_assets.defs.resources.storage import DataLake, ReportConfig
from usage_assets.metrics.engagement import WINDOW_DAYS, engagement_extended, engagement_series
from usage_assets.metrics.forecast import cumulative_installs, cumulative_installs_extended
from usage_assets.metrics.forecast import install_forecast as forecast_installs
from usage_assets.metrics.retention import retention_extended, retention_series
from usage_assets.storage.datasets import (
    CUMULATIVE_INSTALLS,
    ENGAGEMENT,
    INSTALL_FORECAST,
    INSTANCE_DAYS,
    INSTANCES,
    LIFETIME_BUCKETS,
)


@daily_asset(name=ENGAGEMENT, deps=[INSTANCES, HISTORY_UP_TO_D], group_name="metrics", kinds={"polars", "parquet"})
def engagement(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Customer engagement for every day up to D: daily active installs (DAI), its 7-day
    mean (MA7), the 7-day streak, cumulative installs, Likely Alive (7 days) and DAI as a
    share of both. The ``active-instances-D.csv`` sidecar. D-1's series plus day D when
    D-1's is current and has the same customers, else computed over all history."""
    day = partition_day(context)
    lake = data_lake.lake()
    table = lake.read_frame(INSTANCES, day)
    previous = carried_customer_series(lake, ENGAGEMENT, day, table)
    if previous is not None and not previous.is_empty():
        # D-1's series with the same customers: only day D's row is new (its 7-day window read).
        window = lake.scan_days(INSTANCE_DAYS, max(previous["date"][0], day - timedelta(days=WINDOW_DAYS - 1)), day)
        new = int(customers(table).filter(pl.col("first_seen") == day).height)
        frame = engagement_extended(previous, window, customer_ids(table), new, day)
    else:
        first, history = scan_history(lake, day)
        frame = engagement_series(history, customer_ids(table), first, day)
    latest = frame.row(-1, named=True) if frame.height else {}
    return frame_result(lake, ENGAGEMENT, day, frame, **engagement_numbers(frame, day), streak7=latest.get("streak7"))


@daily_asset(name=LIFETIME_BUCKETS, deps=[INSTANCES, HISTORY_UP_TO_D], group_name="metrics", kinds={"polars", "parquet"})
def lifetime_buckets(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Customer lifetime buckets for every UTC day up to D, each day's ages as of that day:
    customers seen so far, one-day wonders and customers reporting over 3+/7+/14+/30+ days,
    as counts and as shares (retention over time). The ``lifetime-buckets-D.csv`` sidecar.
    D-1's series plus day D when D-1's is current and has the same customers, else
    computed over all history."""
    day = partition_day(context)
    lake = data_lake.lake()
    table = lake.read_frame(INSTANCES, day)
    previous = carried_customer_series(lake, LIFETIME_BUCKETS, day, table)
    if previous is not None:
        # D-1's series with the same customers: day D's row is the customers' ages as of D.
        frame = retention_extended(previous, customers(table), day)
    else:
        first, history = scan_history(lake, day)
        frame = retention_series(history, customer_ids(table), first, day)
    return frame_result(lake, LIFETIME_BUCKETS, day, frame)


@daily_multi_asset(
    specs=[
        dg.AssetSpec(
            CUMULATIVE_INSTALLS,
            description="Cumulative identified installs (internal included) for every UTC day up to D: "
            "the series the forecast fits.",
            deps=[HISTORY_UP_TO_D],
            group_name="metrics",
            kinds={"polars", "parquet"},
        ),
        dg.AssetSpec(
            INSTALL_FORECAST,
            description="When cumulative installs reach the target: least squares over the last 14 "
            "days with a 95% band, and the last 7 days' pace. The ``install-forecast-D.json`` sidecar.",
            deps=[HISTORY_UP_TO_D],
            group_name="metrics",
            kinds={"json"},
        ),
    ],
)
def install_forecast(context: dg.AssetExecutionContext, data_lake: DataLake, report_config: ReportConfig):
    """Cumulative installs up to D and the forecast of when they reach the target. The
    series is D-1's plus day D when D-1's and its install table are current, else
    computed over all history."""
    day = partition_day(context)
    lake = data_lake.lake()
    previous = carried_forward(lake, CUMULATIVE_INSTALLS, day)
    seen_before = installs_seen_before(lake, day) if previous is not None and not previous.is_empty() else None
    series = None
    if seen_before is not None:
        # D-1's series and install table are current: only day D's new installs are added
        # (unless an older release wrote D-1's series in another shape).
        with suppress(ValueError):
            series = cumulative_installs_extended(previous, lake.read_frame(INSTANCE_DAYS, day), seen_before, day)
    if series is None:
        first, history = scan_history(lake, day)
        series = cumulative_installs(history, first, day)
    forecast = forecast_installs(series, target=report_config.forecast_target)
    yield frame_result(lake, CUMULATIVE_INSTALLS, day, series)
    yield json_result(
        lake, INSTALL_FORECAST, day, forecast,
        available=forecast["available"],
        target=forecast["target"],
        linear_eta=forecast["linear"]["eta"],
        recent_pace_eta=forecast["recent_pace"]["eta"],
        **forecast_numbers(forecast, day),
    )
