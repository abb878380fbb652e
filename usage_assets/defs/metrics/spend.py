"""Hypothetical AWS infra spend of customer installs (LTV spend) and the daily reporters behind it."""

import dagster as dg

from usage_assets.daily.history import scan_history
from usage_assets.defs.daily.assets import HISTORY_UP_TO_D
from usage_assets.defs.materialize import daily_asset, daily_multi_asset, frame_result, json_result
from usage_assets.defs.metadata import spend_numbers
from usage_assets.defs.partitions import partition_day
from usage_assets.defs.resources.storage import DataLake, ReportConfig
from usage_assets.metrics.spend import daily_reporters as count_daily_reporters
from usage_assets.metrics.spend import priced_install_days, spend_by_day, spend_summary
from usage_assets.storage.datasets import DAILY_REPORTERS, INSTANCES, LTV_SPEND, LTV_SPEND_BY_DAY


@daily_multi_asset(
    specs=[
        dg.AssetSpec(
            LTV_SPEND_BY_DAY,
            description="Hypothetical AWS spend of customer installs (USD) for every UTC day up to D, "
            "per platform and cumulative, under the three counting rules (all days, persisted, proven). "
            "The ``ltv-spend-D.csv`` sidecar.",
            deps=[INSTANCES, HISTORY_UP_TO_D],
            group_name="metrics",
            kinds={"polars", "parquet"},
        ),
        dg.AssetSpec(
            LTV_SPEND,
            description="LTV spend summary of day D: what AWS customer installs would cost at list price "
            "(USD/day rates of the cost model per compute platform, plus Bedrock embeddings from "
            "search-counter increases): yesterday, last 7 days, cumulative and the ARR projection, "
            "for each counting rule. The ``ltv-spend-D.json`` sidecar.",
            deps=[INSTANCES, HISTORY_UP_TO_D],
            group_name="metrics",
            kinds={"json"},
        ),
    ],
)
def ltv_spend(context: dg.AssetExecutionContext, data_lake: DataLake, report_config: ReportConfig):
    """Price the AWS customer install-days up to D once, for the per-day table and the summary."""
    day = partition_day(context)
    lake = data_lake.lake()
    model = report_config.spend_model()
    _first, history = scan_history(lake, day)
    days = priced_install_days(history, lake.read_frame(INSTANCES, day), model, day)
    by_day = spend_by_day(days, model, day)
    summary = spend_summary(by_day, days, model, day)
    yield frame_result(lake, LTV_SPEND_BY_DAY, day, by_day)
    yield json_result(
        lake, LTV_SPEND, day, summary,
        ltv_all_days_usd=summary["ltv"]["all_days"]["total_usd"],
        last_7_days_all_days_usd=summary["last_7_days"]["all_days_total_usd"],
        **spend_numbers(summary),
    )


@daily_asset(name=DAILY_REPORTERS, deps=[INSTANCES, HISTORY_UP_TO_D], group_name="metrics", kinds={"polars", "parquet"})
def daily_reporters(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """AWS customer installs reporting each day up to D: all of them, those with at least
    2 events and those with at least 2 days. The ``daily-reporters-D.csv`` sidecar."""
    day = partition_day(context)
    lake = data_lake.lake()
    _first, history = scan_history(lake, day)
    return frame_result(lake, DAILY_REPORTERS, day, count_daily_reporters(history, lake.read_frame(INSTANCES, day), day))
