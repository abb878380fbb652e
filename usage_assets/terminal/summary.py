"""The report's headline numbers for one day, gathered from the data lake for the terminal.

Read-only: the summary of day D comes from the JSON the pipeline materialized for D
(``fleet_metrics``, ``liveness``, ``prometheus_trends``, ``usage_insights``) and, for the
telemetry comparison, for ``D - R``. Nothing is computed from raw events. What happens
with Prometheus is chosen by the caller (see :func:`load_summary`):

- ``stored``: the trends materialized with D, unless another range is asked for, in
  which case Prometheus is queried afresh for that range (the result is shown, not stored);
- ``fresh``: query Prometheus now for D's windows (e.g. another endpoint);
- ``off``: leave Prometheus out; the insights are re-evaluated from telemetry alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from usage_assets.enrichment.prometheus_trends import DEFAULT_SERIES, not_used
from usage_assets.enrichment.trend_arithmetic import DEFAULT_RANGE, parse_range
from usage_assets.insights.usage_insights import insights_of_day
from usage_assets.storage.datasets import FLEET_METRICS, LIVENESS, PROMETHEUS_TRENDS, USAGE_INSIGHTS
from usage_assets.storage.lake import Lake

PROMETHEUS_MODES = ("stored", "fresh", "off")


class SummaryUnavailable(RuntimeError):
    """Day D (or any day) was never materialized; the message names the command that builds it."""


def materialized_days(lake: Lake) -> list[date]:
    """Days whose report inputs (``fleet_metrics`` and ``liveness``) are in the lake, ascending."""
    return [day for day in lake.days(FLEET_METRICS, "data.json") if lake.has_day(LIVENESS, day, "data.json")]


def default_day(lake: Lake) -> date:
    """The newest materialized day; raises :class:`SummaryUnavailable` when there is none."""
    days = materialized_days(lake)
    if not days:
        raise SummaryUnavailable(
            f"no report day has been materialized in {lake.root} yet; build one with "
            "`usage-report run` (or `usage-report run --date YYYY-MM-DD`)"
        )
    return days[-1]


def load_summary(
    lake: Lake,
    day: date,
    range_days: int | None = None,
    prometheus: str = "stored",
    fresh_trends: Callable[[int], dict] | None = None,
    off_reason: str = "left out with --no-prometheus",
) -> dict:
    """The structured summary of ``day``.

    ``range_days``: 7, 14 or 30 (None: the range stored with D, else the default 7).
    ``prometheus``: one of :data:`PROMETHEUS_MODES`; ``fresh_trends(range_days)`` returns
    a trends document (it must not raise; :func:`usage_assets.enrichment.prometheus_trends.
    trends_or_reason` qualifies) and is needed for ``fresh`` and for a range other than
    the stored one. Returns ``{"report_date", "range", "range_days", "comparison_date",
    "prometheus_mode": "stored"|"fresh"|"off", "telemetry": {...}, "prometheus": trends
    document, "insights": insights document}``. Raises :class:`SummaryUnavailable` when D's
    fleet_metrics or liveness was never materialized, ``ValueError`` for a bad mode.
    """
    if prometheus not in PROMETHEUS_MODES:
        raise ValueError(f"prometheus must be one of {PROMETHEUS_MODES}, got {prometheus!r}")
    fleet, liveness = lake.read_json_if_present(FLEET_METRICS, day), lake.read_json_if_present(LIVENESS, day)
    if fleet is None or liveness is None:
        raise SummaryUnavailable(
            f"{day} was never materialized (no fleet_metrics/liveness for it in {lake.root}); "
            f"build it with `usage-report run --date {day}`"
        )
    stored_trends = lake.read_json_if_present(PROMETHEUS_TRENDS, day)
    if range_days is None:
        range_days = stored_trends["range_days"] if stored_trends else parse_range(DEFAULT_RANGE)
    series = stored_trends["series_configured"] if stored_trends else list(DEFAULT_SERIES)
    mode = prometheus
    if prometheus == "off":
        trends = not_used(day, range_days, series, off_reason)
    elif prometheus == "stored" and stored_trends is not None and stored_trends["range_days"] == range_days:
        trends = stored_trends
    elif fresh_trends is not None:
        trends, mode = fresh_trends(range_days), "fresh"
    else:
        trends = not_used(day, range_days, series, f"prometheus_trends of {day} for {range_days}d was not "
                                                  "materialized and no fresh query was possible")
    stored_insights = lake.read_json_if_present(USAGE_INSIGHTS, day)
    if trends is stored_trends and stored_insights is not None:
        insights = stored_insights
    else:
        insights = insights_of_day(lake, day, trends, fleet, liveness)
    return {
        "report_date": day.isoformat(),
        "range": f"{range_days}d",
        "range_days": range_days,
        "comparison_date": insights["comparison_date"],
        "prometheus_mode": mode,
        "telemetry": telemetry_headline(fleet, liveness, insights),
        "prometheus": trends,
        "insights": insights,
    }


def telemetry_headline(fleet: dict, liveness: dict, insights: dict) -> dict[str, Any]:
    """Telemetry numbers for the terminal: ``{"source": "telemetry", "figures": [{key,
    label, current, previous, change_pct, arrow}], "comparison": {...}, "events_total",
    "active_on_report_date": {...}, "liveness": {tier: count}}``."""
    return {
        "source": "telemetry",
        "figures": [
            {"key": figure["key"], "label": figure["label"], **insights["telemetry"][figure["key"]]}
            for figure in insights["telemetry_figures"]
        ],
        "comparison": insights["comparison"],
        "events_total": fleet["key_metrics"]["total_events"],
        "active_on_report_date": fleet["active_on_report_date"],
        "liveness": liveness["counts"],
    }
