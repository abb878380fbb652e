"""Recommendations for report day D: the reference's rules, firing on crossings since D-1."""

import dagster as dg

from usage_assets.defs.materialize import daily_asset, json_result
from usage_assets.defs.partitions import DAY_BEFORE, partition_day
from usage_assets.defs.resources.storage import DataLake, ReportConfig
from usage_assets.insights.recommendations import recommendations_of_day
from usage_assets.storage.datasets import (
    CUMULATIVE_INSTALLS,
    FLEET_METRICS,
    GITHUB_STATS,
    INSTALL_FORECAST,
    LIVENESS,
    LTV_SPEND_BY_DAY,
    RECOMMENDATIONS,
)


@daily_asset(
    name=RECOMMENDATIONS,
    # D-1's metrics are read when they exist (the first day of data has none).
    deps=[
        dg.AssetDep(FLEET_METRICS, partition_mapping=DAY_BEFORE),
        dg.AssetDep(LIVENESS, partition_mapping=DAY_BEFORE),
        dg.AssetDep(GITHUB_STATS, partition_mapping=DAY_BEFORE),
        LTV_SPEND_BY_DAY,
        CUMULATIVE_INSTALLS,
        INSTALL_FORECAST,
    ],
    group_name="insights",
    kinds={"json"},
)
def recommendations(context: dg.AssetExecutionContext, data_lake: DataLake, report_config: ReportConfig) -> dg.MaterializeResult:
    """Rule-based recommendations (install milestones, Confirmed/Stronger Alive crossings,
    install pace, forecast ETAs, longest customer, 30-day cohort, spend, one-day wonders,
    GitHub growth, auth-path collection), each naming the numbers and assets it rests on.
    A rule fires when its condition starts to hold between D-1 and D, not on every day it
    holds; without D-1's metrics no crossing rule fires."""
    day = partition_day(context)
    lake = data_lake.lake()
    payload = recommendations_of_day(lake, day, report_config.forecast_target)
    return json_result(lake, RECOMMENDATIONS, day, payload, fired=len(payload["recommendations"]))
