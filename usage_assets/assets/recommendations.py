"""Recommendations for report day D: the reference's rules, firing on crossings since D-1."""

from datetime import timedelta

import dagster as dg

from usage_assets.lib.forecast import install_forecast
from usage_assets.lib.recommendations import PACE_HISTORY_DAYS, recommendation_inputs, recommendations as evaluate
from usage_assets.partitions import daily_partitions, partition_day
from usage_assets.resources.storage import DataLake, ReportConfig

# D-1's metrics are read when they exist (the first day of data has none).
DAY_BEFORE = dg.TimeWindowPartitionMapping(start_offset=-1)


@dg.asset(
    partitions_def=daily_partitions,
    deps=[
        dg.AssetDep("fleet_summary", partition_mapping=DAY_BEFORE),
        dg.AssetDep("liveness", partition_mapping=DAY_BEFORE),
        dg.AssetDep("github_stats", partition_mapping=DAY_BEFORE),
        "infra_spend",
        "install_forecast",
    ],
    group_name="insights",
    kinds={"json"},
)
def recommendations(
    context: dg.AssetExecutionContext, data_lake: DataLake, report_config: ReportConfig
) -> dg.MaterializeResult:
    """Rule-based recommendations (install milestones, Confirmed/Stronger Alive crossings,
    install pace, forecast ETAs, longest customer, 30-day cohort, spend, one-day wonders,
    GitHub growth, auth-path collection), each naming the numbers and assets it rests on.
    A rule fires when its condition starts to hold between D-1 and D, not on every day it
    holds; without D-1's metrics no crossing rule fires."""
    day = partition_day(context)
    before = day - timedelta(days=1)
    lake = data_lake.lake()
    spend_by_day = lake.read_frame("infra_spend_by_day", day)
    series = lake.read_frame("cumulative_installs", day)
    target = report_config.forecast_target
    current = recommendation_inputs(
        lake.read_json("fleet_summary", day), lake.read_json("liveness", day), spend_by_day, day,
        lake.read_json("install_forecast", day), lake.read_json("github_stats", day),
    )
    # The forecasts of D-1, D-2, ... come from the same series cut short: no old files needed.
    pace_history = [
        install_forecast(series.filter(series["date"] <= day - timedelta(days=back)), target=target)
        for back in range(1, PACE_HISTORY_DAYS + 1)
    ]
    previous_fleet = lake.read_json_if_present("fleet_summary", before)
    previous_liveness = lake.read_json_if_present("liveness", before)
    previous = None
    if previous_fleet is not None and previous_liveness is not None:
        previous = recommendation_inputs(
            previous_fleet, previous_liveness, spend_by_day, before, pace_history[0],
            lake.read_json_if_present("github_stats", before),
        )
    bullets = evaluate(current, previous, pace_history)
    payload = {"report_date": day.isoformat(), "compared_with": before.isoformat() if previous else None,
               "recommendations": bullets}
    path = lake.write_json("recommendations", day, payload)
    return dg.MaterializeResult(metadata={"fired": len(bullets), "path": dg.MetadataValue.path(str(path))})
