"""Insights: deterministic rules that join telemetry and Prometheus numbers for day D.

Inputs are the ``fleet_metrics`` and ``liveness`` JSON of D and, when they were
materialized, of ``D - R`` (R = the trends range), plus the Prometheus trends document
(:mod:`usage_assets.enrichment.prometheus_trends`). Nothing is estimated: a rule whose inputs
are missing is reported as ``not_evaluated`` with the reason, never evaluated on guesses.

Every rule and every insight names its sources (``telemetry``, ``prometheus``; ``github``
is reserved for a future source). The rules, their thresholds and where these come from:

``usage_down_installs_up`` (prometheus + telemetry)
    Tool calls (the ``*tool_execution_total`` counter) fell by 10 % or more against the
    previous R days while customer installs active in the last 7 days (liveness "Likely
    Alive") grew by 10 % or more since ``D - R``. 10 % is the trend-arrow threshold of
    issue #5 (:data:`usage_assets.enrichment.trend_arithmetic.TREND_THRESHOLD_PCT`), used on both sides.
``auth_failures_high`` (prometheus)
    More than :data:`AUTH_FAILURE_PCT` % of authentication requests (``*auth_request_total``,
    ``success`` label) failed in the last R days, counted only with at least
    :data:`MIN_AUTH_REQUESTS` requests. 5 % is this project's choice: an operator's own
    mistakes (expired tokens, missing scopes) rarely pass a few percent.
``tool_success_rate_low`` (prometheus)
    Fewer than :data:`TOOL_SUCCESS_PCT` % of tool calls succeeded, with at least
    :data:`MIN_TOOL_CALLS` calls. 90 % is this project's choice.
``telemetry_send_failures_rising`` (prometheus, + telemetry when it corroborates)
    Failed telemetry sends (``*telemetry_sends_total`` with a non-success ``status``) reached
    :data:`MIN_FAILED_SENDS` or more and rose by 10 % or more (or from zero). When the
    "silent but recent" installs (liveness) also rose by 10 % or more since ``D - R`` the
    insight names telemetry as a second source: installs that run but whose heartbeats do
    not arrive would show up there.
``active_installs_falling`` (telemetry)
    Customer installs active in the last 7 days fell by 10 % or more since ``D - R``.
``series_missing`` (prometheus)
    A configured counter has no series in either window (a wrong name, a missing
    ``_total``, a registry that does not export it, or a day older than Prometheus'
    retention) - reported so a silent zero cannot hide a misconfiguration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from usage_assets.common.formatting import format_count
from usage_assets.enrichment.prometheus_trends import find_series
from usage_assets.enrichment.trend_arithmetic import (
    DOWN,
    TREND_THRESHOLD_PCT,
    UP,
    change_label,
    comparison_day,
    range_label,
    trend,
)
from usage_assets.storage.datasets import FLEET_METRICS, LIVENESS
from usage_assets.storage.lake import Lake

SOURCE_TELEMETRY = "telemetry"
SOURCE_PROMETHEUS = "prometheus"

#: Failure share (%) of authentication requests above which ``auth_failures_high`` fires.
AUTH_FAILURE_PCT = 5.0
#: Requests needed before an auth failure share is judged (fewer is noise).
MIN_AUTH_REQUESTS = 20
#: Success share (%) of tool calls below which ``tool_success_rate_low`` fires.
TOOL_SUCCESS_PCT = 90.0
#: Tool calls needed before a success share is judged.
MIN_TOOL_CALLS = 20
#: Failed telemetry sends in the window needed before ``telemetry_send_failures_rising`` fires.
MIN_FAILED_SENDS = 5

USAGE_SERIES_SUFFIX = "tool_execution_total"
AUTH_SERIES_SUFFIX = "auth_request_total"
SENDS_SERIES_SUFFIX = "telemetry_sends_total"

#: Telemetry figures compared between D and D - R: key, label, where the number comes from.
TELEMETRY_FIGURES = (
    ("installs_seen", "Installs seen (all time)", "fleet_metrics key_metrics.identified_instances"),
    ("customer_installs", "Customer installs (all time)", "fleet_metrics stickiness.total_non_internal"),
    ("active_customers_7d", "Customers active in the last 7 days", "liveness counts.likely"),
    ("confirmed_alive", "Confirmed alive customers", "liveness counts.confirmed"),
    ("silent_but_recent", "Silent-but-recent customers", "liveness counts.silent_but_recent"),
    ("dormant", "Dormant customers", "liveness counts.dormant"),
)


def _figures(fleet: Mapping[str, Any], liveness: Mapping[str, Any]) -> dict[str, int]:
    counts = liveness["counts"]
    return {
        "installs_seen": fleet["key_metrics"]["identified_instances"],
        "customer_installs": fleet["stickiness"]["total_non_internal"],
        "active_customers_7d": counts["likely"],
        "confirmed_alive": counts["confirmed"],
        "silent_but_recent": counts["silent_but_recent"],
        "dormant": counts["dormant"],
    }


def telemetry_trends(
    fleet: Mapping[str, Any],
    liveness: Mapping[str, Any],
    fleet_before: Mapping[str, Any] | None,
    liveness_before: Mapping[str, Any] | None,
) -> dict[str, dict]:
    """Each figure of :data:`TELEMETRY_FIGURES` as a trend (install counts at D vs D - R).

    Without both earlier documents every trend has ``previous`` None and no arrow.
    """
    now = _figures(fleet, liveness)
    before = _figures(fleet_before, liveness_before) if fleet_before and liveness_before else None
    return {key: trend(now[key], before[key] if before else None) for key, _label, _origin in TELEMETRY_FIGURES}


def number(value: float | None) -> str:
    """A count for prose, as a whole number (Prometheus' extrapolated ``16.98`` reads
    ``17``, so "4 → 17" never shows as "4 → 17.0"); None as "—"."""
    return format_count(value)


def change_text(item: Mapping[str, Any]) -> str:
    """"a → b (+x.y%)" for a trend ("new" from zero, "no change" from zero to zero), or
    "a (no comparison)" without a previous value."""
    if item["previous"] is None:
        return f"{number(item['current'])} (no comparison)"
    return f"{number(item['previous'])} → {number(item['current'])} ({change_label(item)})"


class _Rules:
    """Evaluates every rule once; collects rule outcomes and insights in rule order."""

    def __init__(self, trends: Mapping[str, Any], telemetry: Mapping[str, dict], has_comparison: bool,
                 comparison_reason: str | None, range_days: int):
        self.trends = trends
        self.telemetry = telemetry
        self.has_comparison = has_comparison
        self.comparison_reason = comparison_reason
        self.window = f"the last {range_days} days"
        self.rules: list[dict] = []
        self.insights: list[dict] = []

    def outcome(self, rule_id: str, title: str, sources: list[str], thresholds: dict, status: str,
                reason: str, insight: dict | None = None) -> None:
        self.rules.append({"id": rule_id, "title": title, "sources": sorted(sources), "thresholds": thresholds,
                           "status": status, "reason": reason})
        if insight is not None:
            self.insights.append({"id": rule_id, **insight, "sources": sorted(insight["sources"])})

    def prometheus_gap(self, suffix: str, label: str | None = None) -> tuple[dict | None, str | None]:
        """(series entry, None) when the rule can use it, else (None, why not)."""
        if self.trends.get("status") != "used":
            return None, f"Prometheus not used: {self.trends.get('reason')}"
        entry = find_series(self.trends, suffix)
        if entry is None:
            return None, f"no configured series ends in {suffix}"
        if entry["status"] != "found":
            return None, f"no such series: {entry['name']}"
        if label and label not in entry["labels"]:
            return None, f"{entry['name']} has no {label} label"
        return entry, None

    def usage_down_installs_up(self) -> None:
        rule = ("usage_down_installs_up", "Tool usage falling while active installs grow",
                [SOURCE_PROMETHEUS, SOURCE_TELEMETRY],
                {"usage_drop_pct": TREND_THRESHOLD_PCT, "install_growth_pct": TREND_THRESHOLD_PCT})
        entry, gap = self.prometheus_gap(USAGE_SERIES_SUFFIX)
        if gap or not self.has_comparison:
            self.outcome(*rule, "not_evaluated", gap or self.comparison_reason)
            return
        usage, installs = entry["increase"], self.telemetry["active_customers_7d"]
        reason = (f"tool calls {change_text(usage)} in {self.window}; customers active in the last 7 days "
                  f"{change_text(installs)}")
        if usage["arrow"] == DOWN and installs["arrow"] == UP:
            self.outcome(*rule, "fired", reason, {
                "severity": "warning",
                "sources": rule[2],
                "title": "Tool usage fell while active installs grew",
                "detail": f"Tool calls ({entry['name']}) went {change_text(usage)} in {self.window}, while "
                          f"customer installs active in the last 7 days went {change_text(installs)}.",
                "recommendation": "Check whether new installs reach their first tool call (onboarding, "
                                  "server registration) and whether existing users stopped calling tools.",
                "evidence": {"tool_calls": usage, "active_customers_7d": installs},
            })
        else:
            self.outcome(*rule, "quiet", reason)

    def auth_failures_high(self) -> None:
        rule = ("auth_failures_high", "Authentication failures above threshold", [SOURCE_PROMETHEUS],
                {"failure_pct_above": AUTH_FAILURE_PCT, "min_requests": MIN_AUTH_REQUESTS})
        entry, gap = self.prometheus_gap(AUTH_SERIES_SUFFIX, "success")
        if gap:
            self.outcome(*rule, "not_evaluated", gap)
            return
        rate = entry["success"]["current"]
        if rate["total"] < MIN_AUTH_REQUESTS:
            self.outcome(*rule, "quiet", f"only {number(rate['total'])} authentication requests in {self.window} "
                                         f"(fewer than {MIN_AUTH_REQUESTS})")
            return
        reason = f"{rate['failure_pct']:.1f}% of {number(rate['total'])} authentication requests failed"
        if rate["failure_pct"] > AUTH_FAILURE_PCT:
            self.outcome(*rule, "fired", reason, {
                "severity": "warning",
                "sources": rule[2],
                "title": "Authentication failures above threshold",
                "detail": f"{number(rate['failed'])} of {number(rate['total'])} authentication requests "
                          f"({rate['failure_pct']:.1f}%) failed in {self.window} ({entry['name']}); "
                          f"threshold {AUTH_FAILURE_PCT:g}%.",
                "recommendation": "Look at the failing methods and target kinds in Prometheus "
                                  "(success=\"false\"): expired or mis-scoped tokens and access rules that "
                                  "name the wrong server are the usual causes.",
                "evidence": {"success": entry["success"]},
            })
        else:
            self.outcome(*rule, "quiet", reason)

    def tool_success_rate_low(self) -> None:
        rule = ("tool_success_rate_low", "Tool call success rate below threshold", [SOURCE_PROMETHEUS],
                {"success_pct_below": TOOL_SUCCESS_PCT, "min_calls": MIN_TOOL_CALLS})
        entry, gap = self.prometheus_gap(USAGE_SERIES_SUFFIX, "success")
        if gap:
            self.outcome(*rule, "not_evaluated", gap)
            return
        rate = entry["success"]["current"]
        if rate["total"] < MIN_TOOL_CALLS:
            self.outcome(*rule, "quiet", f"only {number(rate['total'])} tool calls in {self.window} "
                                         f"(fewer than {MIN_TOOL_CALLS})")
            return
        reason = f"{rate['success_pct']:.1f}% of {number(rate['total'])} tool calls succeeded"
        if rate["success_pct"] < TOOL_SUCCESS_PCT:
            self.outcome(*rule, "fired", reason, {
                "severity": "warning",
                "sources": rule[2],
                "title": "Tool call success rate below threshold",
                "detail": f"Only {rate['success_pct']:.1f}% of {number(rate['total'])} tool calls succeeded in "
                          f"{self.window} ({entry['name']}); threshold {TOOL_SUCCESS_PCT:g}%.",
                "recommendation": "Break the failures down by tool and server in Prometheus; one failing "
                                  "server usually explains most of them.",
                "evidence": {"success": entry["success"]},
            })
        else:
            self.outcome(*rule, "quiet", reason)

    def telemetry_send_failures_rising(self) -> None:
        rule = ("telemetry_send_failures_rising", "Telemetry send failures rising",
                [SOURCE_PROMETHEUS, SOURCE_TELEMETRY], {"min_failed_sends": MIN_FAILED_SENDS, "rise_pct": TREND_THRESHOLD_PCT,
                                      "silent_but_recent_rise_pct": TREND_THRESHOLD_PCT})
        entry, gap = self.prometheus_gap(SENDS_SERIES_SUFFIX, "status")
        if gap:
            self.outcome(*rule, "not_evaluated", gap)
            return
        failures = entry["failures"]
        reason = f"failed sends {change_text(failures)} in {self.window}"
        if failures["current"] < MIN_FAILED_SENDS or failures["arrow"] != UP:
            self.outcome(*rule, "quiet", reason)
            return
        sources = [SOURCE_PROMETHEUS]
        detail = f"Failed telemetry sends ({entry['name']}, non-success status) went {change_text(failures)} in " \
                 f"{self.window}."
        silent = self.telemetry["silent_but_recent"]
        if self.has_comparison and silent["arrow"] == UP:
            sources.append(SOURCE_TELEMETRY)
            detail += f" Silent-but-recent customer installs also rose, {change_text(silent)} since the " \
                      f"comparison day."
        self.outcome(*rule, "fired", reason, {
            "severity": "warning",
            "sources": sources,
            "title": "Telemetry send failures rising",
            "detail": detail,
            "recommendation": "Check that installs can reach the telemetry collector (egress rules, proxy, "
                              "collector health); until fixed, telemetry figures in this report undercount.",
            "evidence": {"failed_sends": failures, "silent_but_recent": silent},
        })

    def active_installs_falling(self) -> None:
        rule = ("active_installs_falling", "Active customer installs falling", [SOURCE_TELEMETRY],
                {"drop_pct": TREND_THRESHOLD_PCT})
        if not self.has_comparison:
            self.outcome(*rule, "not_evaluated", self.comparison_reason)
            return
        active = self.telemetry["active_customers_7d"]
        reason = f"customers active in the last 7 days {change_text(active)}"
        if active["arrow"] == DOWN:
            self.outcome(*rule, "fired", reason, {
                "severity": "warning",
                "sources": rule[2],
                "title": "Active customer installs falling",
                "detail": f"Customer installs with an event in the last 7 days went {change_text(active)} "
                          f"since the comparison day.",
                "recommendation": "Compare the dormant installs' versions and deployment profiles with the "
                                  "active ones; an upgrade or a platform may be losing users.",
                "evidence": {"active_customers_7d": active},
            })
        else:
            self.outcome(*rule, "quiet", reason)

    def series_missing(self) -> None:
        rule = ("series_missing", "Configured Prometheus series missing", [SOURCE_PROMETHEUS], {})
        if self.trends.get("status") != "used":
            self.outcome(*rule, "not_evaluated", f"Prometheus not used: {self.trends.get('reason')}")
            return
        missing = [entry for entry in self.trends["series"] if entry["status"] == "missing"]
        if not missing:
            self.outcome(*rule, "quiet", "every configured series exists")
            return
        names = ", ".join(entry["name"] for entry in missing)
        hints = [entry["hint"] for entry in missing if entry["hint"]]
        self.outcome(*rule, "fired", f"no such series: {names}", {
            "severity": "info",
            "sources": rule[2],
            "title": "Configured Prometheus series missing",
            "detail": f"No such series in either window: {names}." + (" " + " ".join(hints) if hints else ""),
            "recommendation": "Fix the names in USAGE_PROMETHEUS_SERIES (counters end in _total), or check "
                              "that the registry exports them and Prometheus scrapes it. A report day older "
                              "than Prometheus' retention (15 days by default) has no series at all.",
            "evidence": {"missing": [entry["name"] for entry in missing]},
        })


def evaluate_insights(
    day: date,
    range_days: int,
    fleet: Mapping[str, Any],
    liveness: Mapping[str, Any],
    fleet_before: Mapping[str, Any] | None,
    liveness_before: Mapping[str, Any] | None,
    trends: Mapping[str, Any],
) -> dict:
    """The insights document of report day ``day``.

    ``fleet``/``liveness``: JSON of D; ``*_before``: JSON of ``D - range_days`` or None
    when not materialized; ``trends``: the Prometheus trends document (used or not).
    Returns ``{"report_date", "range", "range_days", "comparison_date", "comparison":
    {"available", "reason"}, "telemetry": {figure: trend}, "telemetry_figures":
    [{key, label, origin}], "prometheus": {"status", "reason"}, "rules": [{id, title,
    sources, thresholds, status: fired|quiet|not_evaluated, reason}], "insights": [{id,
    severity, sources, title, detail, recommendation, evidence}]}`` - insights in rule
    order, warnings before infos.
    """
    before = comparison_day(day, range_days)
    has_comparison = bool(fleet_before and liveness_before)
    reason = None if has_comparison else (
        f"no comparison: fleet_metrics and liveness of {before} were never materialized "
        f"(build them with `usage-report run --date {before}`)"
    )
    telemetry = telemetry_trends(fleet, liveness, fleet_before, liveness_before)
    rules = _Rules(trends, telemetry, has_comparison, reason, range_days)
    for evaluate in (rules.usage_down_installs_up, rules.auth_failures_high, rules.tool_success_rate_low,
                     rules.telemetry_send_failures_rising, rules.active_installs_falling, rules.series_missing):
        evaluate()
    order = {"warning": 0, "info": 1}
    insights = sorted(rules.insights, key=lambda item: order[item["severity"]])  # stable: rule order kept
    return {
        "report_date": day.isoformat(),
        "range": range_label(range_days),
        "range_days": range_days,
        "comparison_date": before.isoformat(),
        "comparison": {"available": has_comparison, "reason": reason},
        "telemetry": telemetry,
        "telemetry_figures": [{"key": k, "label": label, "origin": origin} for k, label, origin in TELEMETRY_FIGURES],
        "prometheus": {"status": trends.get("status"), "reason": trends.get("reason")},
        "rules": rules.rules,
        "insights": insights,
    }


def insights_of_day(lake: Lake, day: date, trends: Mapping[str, Any], fleet: Mapping[str, Any], liveness: Mapping[str, Any]) -> dict:
    """:func:`evaluate_insights` of ``day`` over its ``trends`` (a ``prometheus_trends``
    document, whose ``range_days`` R sets the comparison day D - R), ``fleet`` metrics and
    ``liveness``; D - R's ``fleet_metrics`` and ``liveness`` are read from the lake when
    they exist (the first R days have none)."""
    before = comparison_day(day, trends["range_days"])
    return evaluate_insights(
        day, trends["range_days"], fleet, liveness,
        lake.read_json_if_present(FLEET_METRICS, before), lake.read_json_if_present(LIVENESS, before), trends,
    )
