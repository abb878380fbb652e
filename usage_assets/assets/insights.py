"""Insights for report day D: deterministic rules joining telemetry and Prometheus numbers."""

import dagster as dg

from usage_assets.lib.insights import evaluate_insights
from usage_assets.lib.trends import RANGES, comparison_day
from usage_assets.partitions import daily_partitions, partition_day
from usage_assets.resources.storage import DataLake


# Day D compares with D-R (R up to 30 days). Declaring the window orders asset backfills:
# D's insights wait for the earlier days' metrics when the backfill builds those too.
UP_TO_30_DAYS_BEFORE = dg.TimeWindowPartitionMapping(start_offset=-max(RANGES.values()))


@dg.asset(
    partitions_def=daily_partitions,
    deps=[
        dg.AssetDep("fleet_summary", partition_mapping=UP_TO_30_DAYS_BEFORE),
        dg.AssetDep("liveness", partition_mapping=UP_TO_30_DAYS_BEFORE),
        "prometheus_trends",
    ],
    group_name="insights",
    kinds={"json"},
)
def usage_insights(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Rules over day D's fleet summary, liveness and Prometheus trends (usage falling while
    installs grow, authentication failures, telemetry send failures rising, ...), each
    insight naming its sources. Telemetry is compared with day D - R when that day's
    fleet_summary and liveness exist; otherwise the comparison says so and those rules are
    not evaluated (D - R is read if present, not required: the first R days have none)."""
    day = partition_day(context)
    lake = data_lake.lake()
    trends = lake.read_json("prometheus_trends", day)
    before = comparison_day(day, trends["range_days"])
    insights = evaluate_insights(
        day,
        trends["range_days"],
        lake.read_json("fleet_summary", day),
        lake.read_json("liveness", day),
        lake.read_json_if_present("fleet_summary", before),
        lake.read_json_if_present("liveness", before),
        trends,
    )
    path = lake.write_json("usage_insights", day, insights)
    return dg.MaterializeResult(
        metadata={
            "insights": len(insights["insights"]),
            "rules_fired": sum(rule["status"] == "fired" for rule in insights["rules"]),
            "rules_not_evaluated": sum(rule["status"] == "not_evaluated" for rule in insights["rules"]),
            "comparison_date": insights["comparison_date"],
            "path": dg.MetadataValue.path(str(path)),
        }
    )
