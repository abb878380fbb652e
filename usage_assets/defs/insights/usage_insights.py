"""Insights for report day D: deterministic rules joining telemetry and Prometheus numbers."""

import dagster as dg

from usage_assets.defs.materialize import daily_asset, json_result
from usage_assets.defs.partitions import UP_TO_LONGEST_RANGE_BEFORE, partition_day
from usage_assets.defs.resources.storage import DataLake
from usage_assets.insights.usage_insights import insights_of_day
from usage_assets.storage.datasets import FLEET_METRICS, LIVENESS, PROMETHEUS_TRENDS, USAGE_INSIGHTS


@daily_asset(
    name=USAGE_INSIGHTS,
    # Day D compares with D-R (R up to 30 days). Declaring the window orders asset
    # backfills: D's insights wait for the earlier days' metrics when the backfill builds those too.
    deps=[
        dg.AssetDep(FLEET_METRICS, partition_mapping=UP_TO_LONGEST_RANGE_BEFORE),
        dg.AssetDep(LIVENESS, partition_mapping=UP_TO_LONGEST_RANGE_BEFORE),
        PROMETHEUS_TRENDS,
    ],
    group_name="insights",
    kinds={"json"},
)
def usage_insights(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Rules over day D's fleet metrics, liveness and Prometheus trends (usage falling while
    installs grow, authentication failures, telemetry send failures rising, ...), each
    insight naming its sources. Telemetry is compared with day D - R when that day's
    fleet_metrics and liveness exist; otherwise the comparison says so and those rules are
    not evaluated (D - R is read if present, not required: the first R days have none)."""
    day = partition_day(context)
    lake = data_lake.lake()
    insights = insights_of_day(
        lake, day, lake.read_json(PROMETHEUS_TRENDS, day), lake.read_json(FLEET_METRICS, day), lake.read_json(LIVENESS, day)
    )
    return json_result(
        lake, USAGE_INSIGHTS, day, insights,
        insights=len(insights["insights"]),
        rules_fired=sum(rule["status"] == "fired" for rule in insights["rules"]),
        rules_not_evaluated=sum(rule["status"] == "not_evaluated" for rule in insights["rules"]),
        comparison_date=insights["comparison_date"],
    )
