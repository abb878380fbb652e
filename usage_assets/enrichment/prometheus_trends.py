"""Counter trends from Prometheus for report day D, or the reason Prometheus was not used.

For each configured counter (default: :data:`DEFAULT_SERIES`, the names the registry
exports) and a range of R days, evaluated at the end of D (``D+1 00:00Z``), every query
restricted by the operator's label selector when one is set (``{job="registry"}``):

1. existence: ``/api/v1/series`` over both windows (``D+1 - 2R`` .. ``D+1``). No series
   means status ``"missing"`` - reported as "no such series", never as a zero. When
   Prometheus holds another spelling of the name (with or without ``_total``, the
   registry's ``mcpgw_registry_`` prefix or the older ``mcp_`` one, a plural), the entry's
   hint names it and the setting to change;
2. history: the earliest sample of the counter in the two windows (any label set; a
   series that starts later is a new tool or server, not missing history). A window that
   starts before it is not fully held by Prometheus (retention, a new Prometheus, a
   counter the registry started exporting later): its count is not compared, and the
   trend says "not enough history" with the date Prometheus holds the counter from -
   never an arrow or a percentage computed against a partial window;
3. ``sum(increase(name[Rd]))`` for the current window and the same with ``offset Rd``
   for the previous one, then the trend (:func:`usage_assets.enrichment.trend_arithmetic.trend`);
4. when the series has a ``success`` label: the success rate in both windows (both
   ``true``/``false`` and ``True``/``False`` spellings count);
5. when it has a ``status`` label: failed sends (every status that is not success-like);
6. for each label of :data:`BREAKDOWN_LABELS` it has: the top values (tools, servers, ...)
   by increase, with their own trend.

``increase()`` is what Prometheus computes: it handles counter resets and extrapolates
to the window edges, so counts are floats (rounded here to 3 decimals).

Any failure to reach or read Prometheus turns the whole result into
``{"status": "not_used", "reason": ...}``; partial numbers are never mixed with a failure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from requests.auth import AuthBase

from usage_assets.enrichment.prometheus_client import (
    DEFAULT_TIMEOUT_SECONDS,
    PrometheusClient,
    PrometheusUnavailable,
    Sample,
    earliest_sample_query,
    increase_query,
    parse_selector,
)
from usage_assets.enrichment.trend_arithmetic import (
    TREND_THRESHOLD_PCT,
    evaluation_instant,
    is_success_status,
    range_label,
    round_count,
    success_rate,
    trend,
    trend_without_history,
    windows,
)

#: Counters queried unless configured otherwise, as the registry exports them today
#: (``registry/observability/meters.py``, ``auth_server/observability/meters.py``): tool
#: calls (labels tool_name, server_name, success, method), auth requests (success, method,
#: target_kind), semantic tool discovery, and the registry's own telemetry sends (event,
#: status; that one kept its unprefixed name).
DEFAULT_SERIES = (
    "mcpgw_registry_tool_execution_total",
    "mcpgw_registry_auth_request_total",
    "mcpgw_registry_tool_discovery_total",
    "telemetry_sends_total",
)
#: Name prefixes a counter has had across registry releases (the OTel ``mcpgw_registry_``,
#: the older ``mcp_``); a hint suggests a name that differs from the configured one only in
#: these, in ``_total`` or in a plural.
KNOWN_PREFIXES = ("mcpgw_registry_", "mcpgw_", "mcp_registry_", "mcp_")
#: Slack allowed between a window's start and the earliest sample found: one step of the
#: hourly subquery that finds it (:func:`usage_assets.enrichment.prometheus_client.earliest_sample_query`).
HISTORY_TOLERANCE = timedelta(hours=1)
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
#: Reasons that are choices (nothing to fix): logged at info, not as a warning.
DELIBERATE = (NOT_CONFIGURED, SWITCHED_OFF)


def invalid_setting(errors: str) -> str:
    """The reason given when a Prometheus setting is invalid (``errors``: one line per
    variable, as :func:`usage_assets.settings.describe_errors` gives them)."""
    return f"left out because of an invalid setting: {'; '.join(errors.splitlines())}"


def _total(samples: list[Sample]) -> float:
    return round_count(sum(sample.value for sample in samples))


def _by_label(samples: list[Sample], label: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for sample in samples:
        key = sample.labels.get(label, "")
        counts[key] = counts.get(key, 0.0) + sample.value
    return counts


def name_core(name: str) -> str:
    """``name`` without a known prefix, ``_total`` and a plural ``s``: the part every
    spelling of one counter shares (``mcp_tool_executions_total`` -> ``tool_execution``)."""
    core = name.removesuffix("_total")
    for prefix in KNOWN_PREFIXES:
        if core.startswith(prefix):
            core = core[len(prefix):]
            break
    return re.sub(r"(?<=[a-z])s$", "", core)


def alternative_names(name: str, available: Sequence[str]) -> list[str]:
    """The names in ``available`` that spell the same counter as ``name`` differently
    (see :func:`name_core`), counters (``_total``) first, then by name."""
    core = name_core(name)
    found = [other for other in available if other != name and name_core(other) == core]
    return sorted(found, key=lambda other: (not other.endswith("_total"), other))


def _name_hint(client: PrometheusClient, name: str, span: tuple, selector: str) -> str | None:
    others = alternative_names(name, client.metric_names(*span, selector))
    if others:
        return (f"no series {name}; Prometheus has {', '.join(others)}: set USAGE_PROMETHEUS_SERIES "
                "to the name the registry exports")
    if not name.endswith("_total"):
        return f"counter names usually end in _total; {name} has no data"
    return None


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def history_held(client: PrometheusClient, name: str, at: datetime, range_days: int, selector: str) -> dict | None:
    """Whether Prometheus holds ``name`` for both windows ending at ``at``.

    ``{"enough": bool, "holds_from": ISO instant or None, "current_window_complete": bool}``:
    ``enough`` when the earliest sample of any of its series (in the two windows and an
    hour before) is at most :data:`HISTORY_TOLERANCE` after the previous window's start;
    ``holds_from`` that earliest sample otherwise. None when there is no sample at all.
    """
    samples = client.query(earliest_sample_query(name, 2 * range_days * 24 + 1, selector), at)
    if not samples:
        return None
    earliest = datetime.fromtimestamp(min(sample.value for sample in samples), tz=UTC)
    current_start = at - timedelta(days=range_days)
    previous_start = current_start - timedelta(days=range_days)
    enough = earliest <= previous_start + HISTORY_TOLERANCE
    return {
        "enough": enough,
        "holds_from": None if enough else _instant(earliest),
        "current_window_complete": earliest <= current_start + HISTORY_TOLERANCE,
    }


def history_note(entry: dict) -> str | None:
    """"not enough history (Prometheus holds NAME from DATE)" for an entry whose previous
    window Prometheus does not fully hold, None otherwise."""
    history = entry.get("history")
    if not history or history["enough"]:
        return None
    since = datetime.fromisoformat(history["holds_from"]).strftime("%Y-%m-%d %H:%M UTC")
    note = f"not enough history (Prometheus holds {entry['name']} from {since})"
    if not history["current_window_complete"]:
        note += "; the current window's counts are partial too"
    return note


def _compare(current: float, previous: float | None) -> dict:
    """The trend of two counts; without a previous count (window not held) no comparison."""
    return trend_without_history(current) if previous is None else trend(current, previous)


def _breakdown(current: dict[str, float], previous: dict[str, float] | None, top_n: int) -> dict:
    """Top ``top_n`` label values by current count; values seen only before count 0 now.
    ``previous`` None: the previous window is not held, no row is compared."""
    rows = [
        {"value": value, **_compare(round_count(current.get(value, 0.0)),
                                    None if previous is None else round_count(previous.get(value, 0.0)))}
        for value in set(current) | set(previous or {})
    ]
    rows.sort(key=lambda row: (-row["current"], -(row["previous"] or 0.0), row["value"]))
    return {"distinct_values": len(rows), "top": rows[:top_n]}


def series_trend(
    client: PrometheusClient, name: str, day: date, range_days: int, top_n: int = TOP_N, selector: str = ""
) -> dict:
    """Everything known about one counter for report day ``day`` (see the module docstring).

    Shape: ``{"name", "status": "found"|"missing", "hint", "labels", "series_count",
    "promql", "history": history_held(...)|None, "history_note": str|None,
    "increase": trend|None, "success": {"current", "previous", "change_points"}|None,
    "failures": trend|None, "breakdowns": {label: {"distinct_values", "top": [row]}}}``;
    counts are per window. Without enough history every trend has ``previous`` None and
    ``not_enough_history`` True, and the previous success rate is empty. Raises
    :class:`PrometheusUnavailable` when a request fails, ``ValueError`` for a bad name or
    selector.
    """
    selector = parse_selector(selector)
    at = evaluation_instant(day)
    span = (at - timedelta(days=2 * range_days), at)
    current_query = increase_query(name, range_days, selector=selector)
    entry = {
        "name": name,
        "status": "missing",
        "hint": None,
        "labels": [],
        "series_count": 0,
        "promql": current_query,
        "history": None,
        "history_note": None,
        "increase": None,
        "success": None,
        "failures": None,
        "breakdowns": {},
    }
    found = client.series(name, *span, selector)
    history = history_held(client, name, at, range_days, selector) if found else None
    if history is None:  # no series, or series without a sample in either window
        entry["hint"] = _name_hint(client, name, span, selector)
        return entry
    labels = sorted({label for item in found for label in item} - {"__name__"})
    entry.update(status="found", labels=labels, series_count=len(found), history=history)
    entry["history_note"] = history_note(entry)
    held = history["enough"]  # the previous window is queried only when Prometheus holds it
    current = _total(client.query(current_query, at))
    previous = _total(client.query(increase_query(name, range_days, range_days, selector=selector), at)) \
        if held else None
    entry["increase"] = _compare(current, previous)

    def grouped(label: str) -> tuple[dict[str, float], dict[str, float] | None]:
        now = _by_label(client.query(increase_query(name, range_days, by=(label,), selector=selector), at), label)
        if not held:
            return now, None
        before_query = increase_query(name, range_days, range_days, by=(label,), selector=selector)
        return now, _by_label(client.query(before_query, at), label)

    if "success" in labels:
        now, before = grouped("success")
        rate_now, rate_before = success_rate(now), success_rate(before or {})
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
        failed_before = None if before is None else \
            round_count(sum(v for k, v in before.items() if not is_success_status(k)))
        entry["failures"] = _compare(failed_now, failed_before)
    return entry


def _skeleton(day: date, range_days: int, series: Sequence[str], endpoint: str | None, selector: str = "") -> dict:
    return {
        "source": "prometheus",
        "report_date": day.isoformat(),
        "endpoint": endpoint,
        "selector": selector or None,
        "range": range_label(range_days),
        "range_days": range_days,
        "windows": windows(day, range_days),
        "trend_threshold_pct": TREND_THRESHOLD_PCT,
        "series_configured": list(series),
        "series": [],
    }


def not_used(
    day: date, range_days: int, series: Sequence[str], reason: str, endpoint: str | None = None, selector: str = ""
) -> dict:
    """The trends document when Prometheus was not used: same keys, ``status`` ``"not_used"``."""
    return {**_skeleton(day, range_days, series, endpoint, selector), "status": "not_used", "reason": reason}


def prometheus_trends(
    client: PrometheusClient, day: date, range_days: int, series: Sequence[str], top_n: int = TOP_N,
    selector: str = "",
) -> dict:
    """The trends document of report day ``day`` over ``range_days`` days.

    ``{"source": "prometheus", "status": "used"|"not_used", "reason", "endpoint",
    "selector", "range", "range_days", "windows", "trend_threshold_pct",
    "series_configured", "series": [series_trend(...)]}``. Never raises for an
    unreachable or failing Prometheus: the first failure makes the whole document
    ``not_used`` with its reason.
    """
    selector = parse_selector(selector)
    try:
        entries = [series_trend(client, name, day, range_days, top_n, selector) for name in series]
    except PrometheusUnavailable as failure:
        return not_used(day, range_days, series, f"{failure.reason}, at {client.describe()}", client.describe(),
                        selector)
    return {**_skeleton(day, range_days, series, client.describe(), selector), "status": "used", "reason": None,
            "series": entries}


def trends_or_reason(
    endpoint: str | None,
    day: date,
    range_days: int,
    series: Sequence[str] = DEFAULT_SERIES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    disabled_reason: str | None = None,
    selector: str = "",
    auth: AuthBase | None = None,
) -> dict:
    """The trends document, or a ``not_used`` one when ``disabled_reason`` is set, no
    ``endpoint`` is configured, the endpoint is no http(s) URL, the ``selector`` is
    malformed, or Prometheus fails. ``auth``: see
    :func:`usage_assets.enrichment.prometheus_client.build_auth`. Never raises for any of these."""
    if disabled_reason:
        return not_used(day, range_days, series, disabled_reason)
    if not endpoint:
        return not_used(day, range_days, series, NOT_CONFIGURED)
    try:
        selector = parse_selector(selector)
        client = PrometheusClient(endpoint, timeout_seconds, auth=auth)
    except ValueError as error:
        return not_used(day, range_days, series, str(error))
    return prometheus_trends(client, day, range_days, series, selector=selector)


def find_series(trends: dict, suffix: str) -> dict | None:
    """The first queried series whose name ends with ``suffix`` (a deployment may prefix
    names), found or missing, or None when no such series was configured or queried."""
    for entry in trends.get("series", []):
        if entry["name"].endswith(suffix):
            return entry
    return None
