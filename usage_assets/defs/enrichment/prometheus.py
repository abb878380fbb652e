"""Prometheus trends for report day D: counter increases over R days against the R days before.

Optional by design: with no endpoint configured, Prometheus switched off, unreachable or
failing, the asset still materializes - with ``status: not_used`` and the reason - and logs
one warning, so the rest of the report is never held up by monitoring.
"""

import dagster as dg

from usage_assets.defs.materialize import json_result
from usage_assets.defs.partitions import daily_partitions, partition_day
from usage_assets.defs.resources.prometheus import PrometheusSource
from usage_assets.defs.resources.storage import DataLake
from usage_assets.storage.datasets import PROMETHEUS_TRENDS


@dg.asset(name=PROMETHEUS_TRENDS, partitions_def=daily_partitions, group_name="enrichment", kinds={"prometheus", "json"})
def prometheus_trends(
    context: dg.AssetExecutionContext, prometheus: PrometheusSource, data_lake: DataLake
) -> dg.MaterializeResult:
    """The registry's counters in Prometheus (tool calls, auth requests, tool discovery,
    telemetry sends by default): increase over the R days ending D against the R days
    before, success rates, top tools and servers, "no such series" for names that do not
    exist. When Prometheus is not used, the reason instead (one warning in the run log)."""
    day = partition_day(context)
    trends = prometheus.trends(day)
    if trends["status"] != "used":
        context.log.warning(f"Prometheus not used for {day}: {trends['reason']}")
    found = [entry for entry in trends["series"] if entry["status"] == "found"]
    return json_result(
        data_lake.lake(), PROMETHEUS_TRENDS, day, trends,
        status=trends["status"],
        reason=trends["reason"] or "",
        range=trends["range"],
        series_found=len(found),
        series_missing=len(trends["series"]) - len(found),
    )
