"""Prometheus trends for report day D: counter increases over R days against the R days before.

Optional by design: with no endpoint configured, Prometheus switched off, a Prometheus
setting invalid, unreachable or failing, the asset still materializes - with ``status:
not_used`` and the reason - so the rest of the report is never held up by monitoring. The
reason is logged once: at info when it is a choice (not configured, switched off), as a
warning when something needs fixing.
"""

import dagster as dg

from usage_assets.defs.materialize import daily_asset, json_result
from usage_assets.defs.partitions import partition_day
from usage_assets.defs.resources.prometheus import PrometheusSource
from usage_assets.defs.resources.storage import DataLake
from usage_assets.enrichment.prometheus_trends import DELIBERATE, history_note
from usage_assets.storage.datasets import PROMETHEUS_TRENDS


@daily_asset(name=PROMETHEUS_TRENDS, group_name="enrichment", kinds={"prometheus", "json"})
def prometheus_trends(
    context: dg.AssetExecutionContext, prometheus: PrometheusSource, data_lake: DataLake
) -> dg.MaterializeResult:
    """The registry's counters in Prometheus (tool calls, auth requests, tool discovery,
    telemetry sends by default): increase over the R days ending D against the R days
    before, success rates, top tools and servers, "no such series" for names that do not
    exist, "not enough history" where Prometheus does not hold both windows. When
    Prometheus is not used, the reason instead (one line in the run log)."""
    day = partition_day(context)
    trends = prometheus.trends(day)
    if trends["status"] != "used":
        log = context.log.info if trends["reason"] in DELIBERATE else context.log.warning
        log(f"Prometheus not used for {day}: {trends['reason']}")
    notes = [note for note in map(history_note, trends["series"]) if note]
    if notes:
        context.log.warning(f"Prometheus trends of {day} are not compared: {'; '.join(notes)}")
    found = [entry for entry in trends["series"] if entry["status"] == "found"]
    return json_result(
        data_lake.lake(), PROMETHEUS_TRENDS, day, trends,
        status=trends["status"],
        reason=trends["reason"] or "",
        range=trends["range"],
        series_found=len(found),
        series_missing=len(trends["series"]) - len(found),
    )
