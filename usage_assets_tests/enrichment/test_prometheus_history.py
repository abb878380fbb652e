"""Trends never compare with a window Prometheus does not hold (issue #12, item 6).

The real Prometheus of prometheus_server.py holds two families for less time than the
windows need, both at a constant rate (so any arrow would be false):

    young_requests_total           from T - 13d, 1 per hourly step (tool_name="search")
    short_tool_execution_total     from T - 22d, success="true" 2 and "false" 1 per step
    short_telemetry_sends_total    from T - 22d, status="success" 4 and "timeout" 1 per step

T = 2026-03-11T00:00Z is the end of the report day 2026-03-10. Before the fix, the 7-day
trend of young_requests_total was +16.7 % ↑ (7 days of counts against the 6 of the
previous window that Prometheus holds), and with a 30-day range every short_* counter was
"new ↑" with failed sends "0 → 528".
"""

from datetime import timedelta

from usage_assets.enrichment.prometheus_client import PrometheusClient
from usage_assets.enrichment.prometheus_trends import history_note, prometheus_trends, series_trend
from usage_assets.enrichment.trend_arithmetic import NOT_ENOUGH_HISTORY, change_label
from usage_assets.insights.usage_insights import evaluate_insights
from usage_assets_tests.prometheus_server import REPORT_DAY

W = 168  # hourly steps in 7 days
NO_HISTORY = {"previous": None, "change_pct": None, "arrow": None, "not_enough_history": True}


def test_a_previous_window_starting_a_day_before_the_data_has_no_trend(prometheus_server):
    client = PrometheusClient(prometheus_server.url, 5)
    young = series_trend(client, "young_requests_total", REPORT_DAY, 7)
    assert young["status"] == "found"
    assert young["increase"] == {"current": 1 * W, **NO_HISTORY}
    assert change_label(young["increase"]) == NOT_ENOUGH_HISTORY
    assert young["history"] == {"enough": False, "holds_from": "2026-02-26T00:00:00Z", "current_window_complete": True}
    assert history_note(young) == "not enough history (Prometheus holds young_requests_total from 2026-02-26 00:00 UTC)"
    # Breakdown rows are not compared either.
    assert young["breakdowns"]["tool_name"]["top"] == [{"value": "search", "current": 1 * W, **NO_HISTORY}]
    # A day later the previous window starts exactly where the data does: compared again.
    later = series_trend(client, "young_requests_total", REPORT_DAY + timedelta(days=1), 7)
    assert later["history"]["enough"] is True and later["increase"]["previous"] == 1 * W
    assert "not_enough_history" not in later["increase"] and history_note(later) is None


def test_a_thirty_day_range_over_22_days_of_data_says_so_and_fires_no_warning(prometheus_server):
    client = PrometheusClient(prometheus_server.url, 5)
    trends = prometheus_trends(client, REPORT_DAY, 30, ["short_tool_execution_total", "short_telemetry_sends_total"])
    tools, sends = trends["series"]
    # 22 days x 24 steps x (2 + 1): the current window itself is only partly held.
    assert tools["increase"] == {"current": 22 * 24 * 3, **NO_HISTORY}
    assert tools["history"] == {"enough": False, "holds_from": "2026-02-17T00:00:00Z", "current_window_complete": False}
    assert history_note(tools) == ("not enough history (Prometheus holds short_tool_execution_total from "
                                   "2026-02-17 00:00 UTC); the current window's counts are partial too")
    assert tools["success"]["previous"]["total"] == 0 and tools["success"]["previous"]["success_pct"] is None
    assert tools["success"]["change_points"] is None
    assert sends["failures"] == {"current": 22 * 24 * 1, **NO_HISTORY}
    assert all(row["arrow"] is None for row in sends["breakdowns"]["status"]["top"])
    # The insights see no rise: no "failed telemetry sends went 0 → 528" warning.
    fleet = {"key_metrics": {"identified_instances": 5}, "stickiness": {"total_non_internal": 4}}
    liveness = {"counts": {"likely": 3, "confirmed": 2, "silent_but_recent": 1, "dormant": 0}}
    insights = evaluate_insights(REPORT_DAY, 30, fleet, liveness, fleet, liveness, trends)
    rules = {rule["id"]: rule for rule in insights["rules"]}
    assert rules["telemetry_send_failures_rising"]["status"] == "quiet"
    assert "telemetry_send_failures_rising" not in {item["id"] for item in insights["insights"]}


def test_fourteen_days_over_22_days_of_data_keeps_the_current_window(prometheus_server):
    client = PrometheusClient(prometheus_server.url, 5)
    tools = series_trend(client, "short_tool_execution_total", REPORT_DAY, 14)
    assert tools["increase"] == {"current": 2 * W * 3, **NO_HISTORY}
    assert tools["history"]["current_window_complete"] is True
    # The fully held 28 days of the other counters are still compared.
    held = series_trend(client, "mcpgw_registry_tool_execution_total", REPORT_DAY, 14)
    assert held["history"] == {"enough": True, "holds_from": None, "current_window_complete": True}
    assert held["increase"]["arrow"] == "↔"
