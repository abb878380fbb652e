"""Counter trends from Prometheus for report day D, or the reason Prometheus was not used.

For each configured counter (default: :data:`DEFAULT_SERIES`, the registry's own counters)
and a range of R days, evaluated at the end of D (``D+1 00:00Z``):

1. existence: ``/api/v1/series`` over both windows (``D+1 - 2R`` .. ``D+1``). No series
   means status ``"missing"`` - reported as "no such series", never as a zero. When the
   name with or without ``_total`` exists instead, the entry carries a hint (an earlier
   analyzer queried counter names without ``_total`` and silently matched nothing);
2. ``sum(increase(name[Rd]))`` for the current window and the same with ``offset Rd``
   for the previous one, then the trend (:func:`usage_assets.enrichment.trend_arithmetic.trend`);
3. when the series has a ``success`` label: the success rate in both windows (both
   ``true``/``false`` and ``True``/``False`` spellings count);
4. when it has a ``status`` label: failed sends (every status that is not success-like);
5. for each label of :data:`BREAKDOWN_LABELS` it has: the top values (tools, servers, ...)
   by increase, with their own trend.

``increase()`` is what Prometheus computes: it handles counter resets and extrapolates
to the window edges, so counts are floats (rounded here to 3 decimals).

Any failure to reach or read Prometheus turns the whole result into
``{"status": "not_used", "reason": ...}``; partial numbers are never mixed with a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from usage_assets.enrichment.prometheus_client import (
    DEFAULT_TIMEOUT_SECONDS,
    PrometheusClient,
    PrometheusUnavailable,
    Sample,
    increase_query,
)
from usage_assets.enrichment.trend_arithmetic import (
    TREND_THRESHOLD_PCT,
    evaluation_instant,
    is_success_status,
    range_label,
    round_count,
    success_rate,
    trend,
    windows,
)

#: Counters queried unless configured otherwise (issue #5): tool calls (labels tool_name,
#: server_name, success, method), auth requests (success, method, target_kind), semantic
#: tool discovery, and the registry's own telemetry sends (event, status).
DEFAULT_SERIES = (
    "mcpgw_registry_tool_execution_total",
    "mcpgw_registry_auth_request_total",
    "tool_discovery_total",
    "telemetry_sends_total",
)
#: Labels whose values get a top-N breakdown when a series has them, in this order.
BREAKDOWN_LABELS = ("tool_name", "server_name", "method", "target_kind", "event", "status", "results_count_bucket")
#: How the report and the terminal title each breakdown's table.
BREAKDOWN_TITLES = {"tool_name": "Top tools", "server_name": "Top servers", "status": "Outcomes by status"}
#: Rows kept per breakdown.
TOP_N = 10
#: The reason given when no endpoint is configured (the default).
NOT_CONFIGURED = "not configured: set USAGE_PROMETHEUS_ENDPOINT or pass --prometheus-endpoint"
#: The reason given when Prometheus is switched off on purpose.
SWITCHED_OFF = "switched off with --no-prometheus or USAGE_NO_PROMETHEUS"


def _total(samples: list[Sample]) -> float:
    return round_count(sum(sample.value for sample in samples))


def _by_label(samples: list[Sample], label: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for sample in samples:
        key = sample.labels.get(label, "")
        counts[key] = counts.get(key, 0.0) + sample.value
    return counts


def _name_hint(client: PrometheusClient, name: str, span: tuple) -> str | None:
    alternative = name[: -len("_total")] if name.endswith("_total") else name + "_total"
    if alternative and client.series(alternative, *span):
        return f"no series named {name}, but {alternative} exists: is the configured name right?"
    if not name.endswith("_total"):
        return f"counter names usually end in _total; {name} has no data"
    return None


def _breakdown(current: dict[str, float], previous: dict[str, float], top_n: int) -> dict:
    """Top ``top_n`` label values by current count; values seen only before count 0 now."""
    rows = [
        {"value": value, **trend(round_count(current.get(value, 0.0)), round_count(previous.get(value, 0.0)))}
        for value in set(current) | set(previous)
    ]
    rows.sort(key=lambda row: (-row["current"], -row["previous"], row["value"]))
    return {"distinct_values": len(rows), "top": rows[:top_n]}


def series_trend(client: PrometheusClient, name: str, day: date, range_days: int, top_n: int = TOP_N) -> dict:
    """Everything known about one counter for report day ``day`` (see the module docstring).

    Shape: ``{"name", "status": "found"|"missing", "hint", "labels", "series_count",
    "promql", "increase": trend|None, "success": {"current", "previous", "change_points"}|None,
    "failures": trend|None, "breakdowns": {label: {"distinct_values", "top": [row]}}}``;
    counts are per window. Raises :class:`PrometheusUnavailable` when a request fails.
    """
    at = evaluation_instant(day)
    span = (at - timedelta(days=2 * range_days), at)
    current_query = increase_query(name, range_days)
    entry = {
        "name": name,
        "status": "missing",
        "hint": None,
        "labels": [],
        "series_count": 0,
        "promql": current_query,
        "increase": None,
        "success": None,
        "failures": None,
        "breakdowns": {},
    }
    found = client.series(name, *span)
    if not found:
        entry["hint"] = _name_hint(client, name, span)
        return entry
    labels = sorted({label for item in found for label in item} - {"__name__"})
    entry.update(status="found", labels=labels, series_count=len(found))
    current = _total(client.query(current_query, at))
    previous = _total(client.query(increase_query(name, range_days, offset_days=range_days), at))
    entry["increase"] = trend(current, previous)

    def grouped(label: str) -> tuple[dict[str, float], dict[str, float]]:
        now = _by_label(client.query(increase_query(name, range_days, by=(label,)), at), label)
        before = _by_label(client.query(increase_query(name, range_days, range_days, by=(label,)), at), label)
        return now, before

    if "success" in labels:
        now, before = grouped("success")
        rate_now, rate_before = success_rate(now), success_rate(before)
        change = (
            round(rate_now["success_pct"] - rate_before["success_pct"], 1)
            if rate_now["success_pct"] is not None and rate_before["success_pct"] is not None
            else None
        )
        entry["success"] = {"current": rate_now, "previous": rate_before, "change_points": change}
    statuses = None
    for label in BREAKDOWN_LABELS:
        if label in labels:
            now, before = grouped(label)
            entry["breakdowns"][label] = _breakdown(now, before, top_n)
            if label == "status":
                statuses = (now, before)
    if statuses is not None:
        now, before = statuses
        failed_now = round_count(sum(v for k, v in now.items() if not is_success_status(k)))
        failed_before = round_count(sum(v for k, v in before.items() if not is_success_status(k)))
        entry["failures"] = trend(failed_now, failed_before)
    return entry


def _skeleton(day: date, range_days: int, series: Sequence[str], endpoint: str | None) -> dict:
    return {
        "source": "prometheus",
        "report_date": day.isoformat(),
        "endpoint": endpoint,
        "range": range_label(range_days),
        "range_days": range_days,
        "windows": windows(day, range_days),
        "trend_threshold_pct": TREND_THRESHOLD_PCT,
        "series_configured": list(series),
        "series": [],
    }


def not_used(day: date, range_days: int, series: Sequence[str], reason: str, endpoint: str | None = None) -> dict:
    """The trends document when Prometheus was not used: same keys, ``status`` ``"not_used"``."""
    return {**_skeleton(day, range_days, series, endpoint), "status": "not_used", "reason": reason}


def prometheus_trends(
    client: PrometheusClient, day: date, range_days: int, series: Sequence[str], top_n: int = TOP_N
) -> dict:
    """The trends document of report day ``day`` over ``range_days`` days.

    ``{"source": "prometheus", "status": "used"|"not_used", "reason", "endpoint",
    "range", "range_days", "windows", "trend_threshold_pct", "series_configured",
    "series": [series_trend(...)]}``. Never raises for an unreachable or failing
    Prometheus: the first failure makes the whole document ``not_used`` with its reason.
    """
    try:
        entries = [series_trend(client, name, day, range_days, top_n) for name in series]
    except PrometheusUnavailable as failure:
        return not_used(day, range_days, series, f"{failure.reason}, at {client.describe()}", client.describe())
    return {**_skeleton(day, range_days, series, client.describe()), "status": "used", "reason": None,
            "series": entries}


def trends_or_reason(
    endpoint: str | None,
    day: date,
    range_days: int,
    series: Sequence[str] = DEFAULT_SERIES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    disabled_reason: str | None = None,
) -> dict:
    """The trends document, or a ``not_used`` one when ``disabled_reason`` is set, no
    ``endpoint`` is configured, the endpoint is no http(s) URL, or Prometheus fails.
    Never raises for any of these."""
    if disabled_reason:
        return not_used(day, range_days, series, disabled_reason)
    if not endpoint:
        return not_used(day, range_days, series, NOT_CONFIGURED)
    try:
        client = PrometheusClient(endpoint, timeout_seconds)
    except ValueError as error:
        return not_used(day, range_days, series, str(error))
    return prometheus_trends(client, day, range_days, series)


def find_series(trends: dict, suffix: str) -> dict | None:
    """The first queried series whose name ends with ``suffix`` (a deployment may prefix
    names), found or missing, or None when no such series was configured or queried."""
    for entry in trends.get("series", []):
        if entry["name"].endswith(suffix):
            return entry
    return None
