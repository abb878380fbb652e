"""What the report of day D reads from the lake, and the sidecar files written beside it.

:func:`read_report_inputs` gathers every dataset the report shows (D's metrics, and the
metrics of D-1 and D-7 for the comparisons when they exist); :data:`REPORT_INPUTS` names
the datasets of D it reads, so the report asset declares exactly those. Sidecars keep the
reference's file names (reference 7.2) so existing users' tools keep working.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from usage_assets.metrics.retention import RETENTION_COLUMNS
from usage_assets.report.commentary import COMMENTARY_FILE
from usage_assets.report.render import Chart
from usage_assets.report.sections import DayMetrics, ReportInputs
from usage_assets.storage.datasets import (
    ANOMALIES,
    BUILD_KINDS,
    CLOUD_DETECTION,
    COMPUTE_TIMESERIES,
    DAILY_REPORTERS,
    DEPLOYMENTS,
    ENGAGEMENT,
    FIELD_QUARANTINE,
    FLEET_METRICS,
    GITHUB_STATS,
    INGEST_STATS,
    INSTALL_FORECAST,
    INSTALL_LINEAGE,
    INSTANCES,
    LIFETIME_BUCKETS,
    LIVENESS,
    LTV_SPEND,
    LTV_SPEND_BY_DAY,
    PROMETHEUS_TRENDS,
    RECOMMENDATIONS,
    USAGE_INSIGHTS,
)
from usage_assets.storage.lake import Lake, MissingPartitionsError, canonical_json

#: Datasets of D and of the days it compares with (D-1, D-7), read when present.
COMPARED_DATASETS = (FLEET_METRICS, LIVENESS, GITHUB_STATS)
#: Every other dataset of D the report reads (ingest_stats and field_quarantine: of every
#: day up to D, see the usage_report asset).
REPORT_INPUTS = (
    INSTANCES, ENGAGEMENT, LIFETIME_BUCKETS, COMPUTE_TIMESERIES, INSTALL_FORECAST, LTV_SPEND,
    LTV_SPEND_BY_DAY, DAILY_REPORTERS, BUILD_KINDS, CLOUD_DETECTION, RECOMMENDATIONS, PROMETHEUS_TRENDS,
    USAGE_INSIGHTS, ANOMALIES, DEPLOYMENTS, INSTALL_LINEAGE,
)


#: The key of a field_quarantine row: the same key on two days is the same finding.
_FINDING = ("column", "rule", "action", "value")


def read_field_quarantine(lake: Lake, day: date) -> pl.DataFrame:
    """``field_quarantine`` of ``day`` plus ``first_seen`` (Date): the first day up to
    ``day`` whose field_quarantine holds the same (column, rule, action, value).

    Days without the dataset (ingested before it existed) are not looked at. Raises
    :class:`MissingPartitionsError` when ``day`` itself has none.
    """
    days = [each for each in lake.days(FIELD_QUARANTINE) if each <= day]
    if day not in days:
        raise MissingPartitionsError(FIELD_QUARANTINE, [day])
    history = pl.concat(
        [lake.scan(FIELD_QUARANTINE, [each]).select(*_FINDING, first_seen=pl.lit(each)) for each in days]
    )
    first_seen = history.group_by(_FINDING).agg(pl.col("first_seen").min())
    return (
        lake.read_frame(FIELD_QUARANTINE, day).lazy()
        .join(first_seen, on=list(_FINDING), how="left", nulls_equal=True)
        .collect()
    )


def read_report_inputs(
    lake: Lake, day: date, source: str, charts: list[Chart], commentary: dict[str, str], *, day_before: date, week_before: date
) -> ReportInputs:
    """Everything the report of ``day`` shows, read from the lake.

    ``source``: the telemetry source's description; ``charts``: the drawn charts;
    ``commentary``: section id -> paragraph; ``day_before`` / ``week_before``: the days
    compared with (their metrics are None where never materialized). Raises
    :class:`usage_assets.storage.lake.MissingPartitionsError` when a dataset of ``day`` is missing.
    """
    def day_metrics(when: date) -> DayMetrics:
        return DayMetrics(when, *(lake.read_json_if_present(name, when) for name in COMPARED_DATASETS))

    return ReportInputs(
        day=day,
        source=source,
        today=day_metrics(day),
        day_before=day_metrics(day_before),
        week_before=day_metrics(week_before),
        ingest_stats=lake.read_json(INGEST_STATS, day),
        field_quarantine=read_field_quarantine(lake, day),
        instances=lake.read_frame(INSTANCES, day),
        engagement=lake.read_frame(ENGAGEMENT, day),
        retention=lake.read_frame(LIFETIME_BUCKETS, day),
        compute_timeseries=lake.read_frame(COMPUTE_TIMESERIES, day),
        forecast=lake.read_json(INSTALL_FORECAST, day),
        spend=lake.read_json(LTV_SPEND, day),
        spend_by_day=lake.read_frame(LTV_SPEND_BY_DAY, day),
        daily_reporters=lake.read_frame(DAILY_REPORTERS, day),
        builds=lake.read_json(BUILD_KINDS, day),
        detection=lake.read_frame(CLOUD_DETECTION, day),
        recommendations=lake.read_json(RECOMMENDATIONS, day),
        trends=lake.read_json(PROMETHEUS_TRENDS, day),
        insights=lake.read_json(USAGE_INSIGHTS, day),
        commentary=commentary,
        charts=charts,
        anomalies=lake.read_json(ANOMALIES, day),
        deployments=lake.read_frame(DEPLOYMENTS, day),
        lineage=lake.read_frame(INSTALL_LINEAGE, day),
    )


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d")).write_csv().encode("utf-8")


def report_sidecars(inputs: ReportInputs, commentary: bytes | None) -> dict[str, bytes]:
    """File name -> bytes of every sidecar of the report of ``inputs.day``: ``metrics``,
    ``liveness``, ``ltv-spend`` (JSON and CSV), ``install-forecast``, ``prod-internal``,
    ``active-instances``, ``lifetime-buckets`` (the reference's seven columns),
    ``daily-reporters``, ``detection-by-version`` and ``github_stats.json``, plus the
    ``commentary.json`` file ``commentary`` when there is one (it is kept)."""
    day = inputs.day
    sidecars = {
        f"metrics-{day}.json": canonical_json(inputs.today.fleet),
        f"liveness-{day}.json": canonical_json(inputs.today.liveness),
        f"ltv-spend-{day}.json": canonical_json(inputs.spend),
        f"ltv-spend-{day}.csv": _csv(inputs.spend_by_day),
        f"install-forecast-{day}.json": canonical_json(inputs.forecast),
        f"prod-internal-{day}.json": canonical_json(inputs.builds),
        f"active-instances-{day}.csv": _csv(inputs.engagement),
        f"lifetime-buckets-{day}.csv": _csv(inputs.retention.select(RETENTION_COLUMNS)),
        f"daily-reporters-{day}.csv": _csv(inputs.daily_reporters),
        f"detection-by-version-{day}.csv": _csv(inputs.detection),
        "github_stats.json": canonical_json(inputs.today.github or {}),
    }
    if commentary is not None:
        sidecars[COMMENTARY_FILE] = commentary
    return sidecars
