"""Trends against a real Prometheus loaded with the hand-computable history of prometheus_server.py.

How every expected number is computed: the history has hourly samples and a constant
increment per hourly step inside each 7-day week before T = 2026-03-11T00:00Z (the end of
the report day 2026-03-10). A 7-day window holds 168 steps, and with samples exactly on
both window edges ``increase()`` does not extrapolate, so:

    increase over a 7-day window  = 168 x (step of that week)
    increase over a 14-day window = 168 x (sum of the steps of its two weeks)

Steps per series (weeks 1, 2, 3, 4; week 4 is the current 7-day window, week 3 the
previous one):

    tool_execution search/alpha true    3 3 3 2   (counter reset inside week 4)
    tool_execution search/alpha false   1 1 1 1
    tool_execution fetch/beta   True    1 1 1 1
    tool_execution fetch/beta   False   0 0 0 1
    tool_execution <hostile>/gamma true 1 1 1 0
    auth_request   true                 10 10 10 10
    auth_request   false                0 0 0 1
    tool_discovery (mcpgw_registry_)    2 2 0 0
    telemetry_sends success             4 4 4 4
    telemetry_sends timeout             1 1 1 2
    retired_widget  steady              1 1 1 1   (not a default series)
    retired_widget  old                 1 1 1 -   (last sample at T - 7d)
"""

from datetime import date, timedelta

import pytest

from usage_assets.enrichment.prometheus_client import PrometheusClient
from usage_assets.enrichment.prometheus_trends import (
    DEFAULT_SERIES,
    alternative_names,
    name_core,
    prometheus_trends,
    series_trend,
    trends_or_reason,
)
from usage_assets.settings import Settings, SettingsError
from usage_assets_tests.prometheus_server import EVALUATED_AT, HOSTILE_TOOL, REPORT_DAY

W = 168  # hourly steps in 7 days


def by_name(trends: dict) -> dict:
    return {entry["name"]: entry for entry in trends["series"]}


def test_seven_day_trends_are_exact(prometheus_server):
    trends = prometheus_trends(PrometheusClient(prometheus_server.url, 5), REPORT_DAY, 7, DEFAULT_SERIES)
    assert trends["status"] == "used" and trends["reason"] is None
    assert trends["windows"]["evaluated_at"] == "2026-03-11T00:00:00Z"
    series = by_name(trends)

    tools = series["mcpgw_registry_tool_execution_total"]
    # current (week 4): 2 + 1 + 1 + 1 + 0 = 5 per step; previous (week 3): 3 + 1 + 1 + 0 + 1 = 6 per step
    assert tools["increase"] == {"current": 5 * W, "previous": 6 * W, "change_pct": -16.7, "arrow": "↓"}
    # success: "true" and "True" both count; week 4: (2 + 1 + 0) vs (1 + 1), week 3: (3 + 1 + 1) vs (1 + 0)
    assert tools["success"]["current"] == {"succeeded": 3 * W, "failed": 2 * W, "other": 0.0, "total": 5 * W,
                                           "success_pct": 60.0, "failure_pct": 40.0}
    assert tools["success"]["previous"]["success_pct"] == round(100 * 5 / 6, 1) == 83.3
    top_tools = tools["breakdowns"]["tool_name"]["top"]
    assert [(row["value"], row["current"], row["previous"], row["arrow"]) for row in top_tools] == [
        ("search", 3 * W, 4 * W, "↓"),  # 2 + 1 vs 3 + 1; includes the series with the reset
        ("fetch", 2 * W, 1 * W, "↑"),
        (HOSTILE_TOOL, 0.0, 1 * W, "↓"),
    ]
    assert [row["value"] for row in tools["breakdowns"]["server_name"]["top"]] == ["alpha", "beta", "gamma"]
    assert tools["labels"] == ["method", "server_name", "success", "tool_name"] and tools["series_count"] == 5

    auth = series["mcpgw_registry_auth_request_total"]
    # 11 vs 10 per step: exactly +10 %, which is an arrow
    assert auth["increase"] == {"current": 11 * W, "previous": 10 * W, "change_pct": 10.0, "arrow": "↑"}
    assert auth["success"]["current"]["failure_pct"] == round(100 / 11, 1) == 9.1
    assert auth["success"]["previous"]["failure_pct"] == 0.0

    # Flat in both windows: an existing series with a true zero, not "missing".
    discovery = series["mcpgw_registry_tool_discovery_total"]
    assert discovery["status"] == "found"
    assert discovery["increase"] == {"current": 0.0, "previous": 0.0, "change_pct": None, "arrow": "↔"}

    sends = series["telemetry_sends_total"]
    assert sends["increase"] == {"current": 6 * W, "previous": 5 * W, "change_pct": 20.0, "arrow": "↑"}
    assert sends["failures"] == {"current": 2 * W, "previous": 1 * W, "change_pct": 100.0, "arrow": "↑"}
    assert {row["value"]: row["current"] for row in sends["breakdowns"]["status"]["top"]} == \
        {"success": 4 * W, "timeout": 2 * W}


def test_a_counter_reset_inside_the_window_is_counted_once(prometheus_server):
    client = PrometheusClient(prometheus_server.url, 5)
    selector = 'mcpgw_registry_tool_execution_total{tool_name="search",success="true"}'
    # The counter did reset: its value at the end of the window is below the one at the start
    # (3 weeks x 168 steps x 3 = 1512 at the start; the reset step 3 x 168 + 80 restarts at 2,
    # then 88 more steps of 2 = 178 at the end).
    start, end = (client.query(selector, at)[0].value for at in (EVALUATED_AT - timedelta(days=7), EVALUATED_AT))
    assert (start, end) == (3 * 3 * W, 2 + 2 * (W - 80))
    # increase() still counts every step of the window exactly once: 168 steps of 2.
    assert [sample.value for sample in client.query(f"sum(increase({selector}[7d]))", EVALUATED_AT)] == [2 * W]


def test_fourteen_day_range_compares_two_weeks_with_the_two_before(prometheus_server):
    client = PrometheusClient(prometheus_server.url, 5)
    tools = series_trend(client, "mcpgw_registry_tool_execution_total", REPORT_DAY, 14)
    # weeks 3 + 4 = 6 + 5 = 11 per step; weeks 1 + 2 = 6 + 6 = 12 per step: -8.3 %, no arrow
    assert tools["increase"] == {"current": 11 * W, "previous": 12 * W, "change_pct": -8.3, "arrow": "↔"}
    discovery = series_trend(client, "mcpgw_registry_tool_discovery_total", REPORT_DAY, 14)
    assert discovery["increase"] == {"current": 0.0, "previous": 4 * W, "change_pct": -100.0, "arrow": "↓"}


def test_a_label_value_seen_only_in_the_previous_window_is_listed_with_zero(prometheus_server):
    client = PrometheusClient(prometheus_server.url, 5)
    widgets = series_trend(client, "retired_widget_total", REPORT_DAY, 7)
    # "old" has one sample left in [T-7d, T] (at T-7d itself): no increase there, 168 before.
    assert widgets["increase"] == {"current": 1 * W, "previous": 2 * W, "change_pct": -50.0, "arrow": "↓"}
    assert [(row["value"], row["current"], row["previous"]) for row in widgets["breakdowns"]["tool_name"]["top"]] \
        == [("steady", 1 * W, 1 * W), ("old", 0.0, 1 * W)]
    assert widgets["breakdowns"]["tool_name"]["distinct_values"] == 2


def test_missing_series_are_reported_as_such_with_a_hint(prometheus_server):
    client = PrometheusClient(prometheus_server.url, 5)
    without_suffix = series_trend(client, "mcpgw_registry_tool_execution", REPORT_DAY, 7)
    assert without_suffix["status"] == "missing" and without_suffix["increase"] is None
    assert without_suffix["hint"] == ("no series mcpgw_registry_tool_execution; Prometheus has "
                                      "mcpgw_registry_tool_execution_total: set USAGE_PROMETHEUS_SERIES to the name "
                                      "the registry exports")
    unknown = series_trend(client, "nonexistent_total", REPORT_DAY, 7)
    assert unknown["status"] == "missing" and unknown["hint"] is None
    # The queries only ever ask for the configured names (no silent rewriting to _total).
    assert without_suffix["promql"] == "sum (increase(mcpgw_registry_tool_execution[7d]))"


def test_a_day_outside_the_history_has_no_series(prometheus_server):
    trends = prometheus_trends(PrometheusClient(prometheus_server.url, 5), date(2025, 6, 1), 7, DEFAULT_SERIES)
    assert trends["status"] == "used"
    assert {entry["status"] for entry in trends["series"]} == {"missing"}


def test_a_label_selector_scopes_every_query(prometheus_server):
    """scoped_requests_total: env="prod" 3 per step, env="staging" 5 per step (issue #12, item 8)."""
    client = PrometheusClient(prometheus_server.url, 5)
    everything = series_trend(client, "scoped_requests_total", REPORT_DAY, 7)
    assert everything["increase"]["current"] == 8 * W and everything["series_count"] == 2
    trends = prometheus_trends(client, REPORT_DAY, 7, ["scoped_requests_total", "mcpgw_registry_tool_execution_total"],
                               selector="{job='registry', env=\"prod\"}")
    assert trends["selector"] == '{job="registry",env="prod"}'
    prod, tools = trends["series"]
    assert prod["increase"] == {"current": 3 * W, "previous": 3 * W, "change_pct": 0.0, "arrow": "↔"}
    assert prod["series_count"] == 1 and prod["history"]["enough"] is True
    assert prod["promql"] == 'sum (increase(scoped_requests_total{job="registry",env="prod"}[7d]))'
    # A counter without those labels is not silently summed across environments: it has no series.
    assert tools["status"] == "missing"


def test_a_malformed_selector_is_refused_once_with_the_variable_named(monkeypatch):
    for selector in ('{job=registry}', '{job="registry"', 'job="a" env="b"', '{__name__="x"}', '{job="a"} or vector(1)'):
        with monkeypatch.context() as environment:
            environment.setenv("USAGE_PROMETHEUS_SELECTOR", selector)
            with pytest.raises(SettingsError, match="USAGE_PROMETHEUS_SELECTOR"):
                Settings.from_env()
        assert trends_or_reason("http://127.0.0.1:9", REPORT_DAY, 7, selector=selector)["status"] == "not_used"
    monkeypatch.setenv("USAGE_PROMETHEUS_SELECTOR", ' job = "registry" , env=~"prod|eu-.*", ')
    assert Settings.from_env().prometheus.selector == '{job="registry",env=~"prod|eu-.*"}'


def test_the_default_series_are_the_names_the_registry_exports(prometheus_server):
    """Issue #12, item 9: tool discovery is mcpgw_registry_tool_discovery_total today."""
    assert DEFAULT_SERIES == ("mcpgw_registry_tool_execution_total", "mcpgw_registry_auth_request_total",
                              "mcpgw_registry_tool_discovery_total", "telemetry_sends_total")
    trends = prometheus_trends(PrometheusClient(prometheus_server.url, 5), REPORT_DAY, 7, DEFAULT_SERIES)
    assert all(entry["status"] == "found" for entry in trends["series"])


def test_an_absent_series_names_the_spelling_prometheus_has(prometheus_server):
    client = PrometheusClient(prometheus_server.url, 5)
    old_default = series_trend(client, "tool_discovery_total", REPORT_DAY, 7)
    assert old_default["status"] == "missing"
    assert old_default["hint"] == ("no series tool_discovery_total; Prometheus has mcpgw_registry_tool_discovery_total: "
                                   "set USAGE_PROMETHEUS_SERIES to the name the registry exports")
    legacy = series_trend(client, "mcp_tool_executions_total", REPORT_DAY, 7)
    assert "Prometheus has mcpgw_registry_tool_execution_total" in legacy["hint"]
    # Only names that spell the same counter: no hint for an unrelated one.
    assert series_trend(client, "registry_tool_total", REPORT_DAY, 7)["hint"] is None


def test_spellings_of_one_counter_share_a_core():
    assert name_core("mcpgw_registry_tool_discovery_total") == name_core("tool_discovery_total") == "tool_discovery"
    assert name_core("mcp_auth_requests_total") == name_core("mcpgw_registry_auth_request_total") == "auth_request"
    assert alternative_names("tool_discovery_total", ["mcpgw_registry_tool_discovery", "up",
                                                      "mcpgw_registry_tool_discovery_total"]) == \
        ["mcpgw_registry_tool_discovery_total", "mcpgw_registry_tool_discovery"]
