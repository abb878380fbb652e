"""Correlation rules: each fires, stays quiet or is not evaluated for a stated reason."""

from datetime import date

from usage_assets.enrichment.prometheus_trends import not_used
from usage_assets.enrichment.trend_arithmetic import trend
from usage_assets.insights.usage_insights import evaluate_insights

DAY = date(2026, 3, 10)


def fleet(installs: int, customers: int) -> dict:
    return {"key_metrics": {"identified_instances": installs}, "stickiness": {"total_non_internal": customers}}


def liveness(likely: int, silent: int = 0, confirmed: int = 0, dormant: int = 0) -> dict:
    return {"counts": {"customer_total": likely + dormant, "confirmed": confirmed, "stronger": 0, "likely": likely,
                       "silent_but_recent": silent, "dormant": dormant}}


def series(name: str, current: float, previous: float, labels=(), success=None, failures=None) -> dict:
    return {"name": name, "status": "found", "hint": None, "labels": sorted(labels), "series_count": 1,
            "increase": trend(current, previous), "success": success, "failures": failures, "breakdowns": {}}


def rate(succeeded: float, failed: float) -> dict:
    total = succeeded + failed
    return {"succeeded": succeeded, "failed": failed, "other": 0.0, "total": total,
            "success_pct": round(100 * succeeded / total, 1) if total else None,
            "failure_pct": round(100 * failed / total, 1) if total else None}


def used(*entries: dict) -> dict:
    return {"status": "used", "reason": None, "series": list(entries)}


def outcome(document: dict, rule_id: str) -> dict:
    return next(rule for rule in document["rules"] if rule["id"] == rule_id)


def test_usage_falling_while_installs_grow_joins_both_sources():
    trends = used(series("mcpgw_registry_tool_execution_total", 90, 100))  # -10 %: falls
    document = evaluate_insights(DAY, 7, fleet(20, 15), liveness(11), fleet(18, 13), liveness(10), trends)  # +10 %
    assert outcome(document, "usage_down_installs_up")["status"] == "fired"
    insight = document["insights"][0]
    assert insight["id"] == "usage_down_installs_up" and insight["sources"] == ["prometheus", "telemetry"]
    assert "100 → 90 (-10.0%)" in insight["detail"] and "10 → 11 (+10.0%)" in insight["detail"]
    assert document["comparison_date"] == "2026-03-03"
    # Installs growing less than 10 %: quiet.
    calm = evaluate_insights(DAY, 7, fleet(20, 15), liveness(10), fleet(18, 13), liveness(10), trends)
    assert outcome(calm, "usage_down_installs_up")["status"] == "quiet"


def test_without_the_earlier_day_there_is_no_comparison_and_no_invented_numbers():
    trends = used(series("mcpgw_registry_tool_execution_total", 10, 100))
    document = evaluate_insights(DAY, 14, fleet(20, 15), liveness(11), None, None, trends)
    assert document["comparison"]["available"] is False
    assert "2026-02-24" in document["comparison"]["reason"] and "usage-report run --date 2026-02-24" in \
        document["comparison"]["reason"]
    assert all(item["previous"] is None and item["arrow"] is None for item in document["telemetry"].values())
    for rule_id in ("usage_down_installs_up", "active_installs_falling"):
        assert outcome(document, rule_id)["status"] == "not_evaluated"
        assert outcome(document, rule_id)["reason"].startswith("no comparison")


def test_auth_failures_above_five_percent_with_enough_requests():
    def auth(succeeded, failed):
        return used(series("mcpgw_registry_auth_request_total", succeeded + failed, succeeded + failed, ["success"],
                           {"current": rate(succeeded, failed), "previous": rate(1, 0), "change_points": None}))

    fired = evaluate_insights(DAY, 7, fleet(1, 1), liveness(1), None, None, auth(94, 6))  # 6 %
    assert outcome(fired, "auth_failures_high")["status"] == "fired"
    assert [item["sources"] for item in fired["insights"] if item["id"] == "auth_failures_high"] == [["prometheus"]]
    at_threshold = evaluate_insights(DAY, 7, fleet(1, 1), liveness(1), None, None, auth(95, 5))  # 5 %: not above
    assert outcome(at_threshold, "auth_failures_high")["status"] == "quiet"
    too_few = evaluate_insights(DAY, 7, fleet(1, 1), liveness(1), None, None, auth(10, 9))  # 19 requests
    assert "fewer than 20" in outcome(too_few, "auth_failures_high")["reason"]


def test_telemetry_send_failures_rising_adds_telemetry_when_silent_installs_rise():
    trends = used(series("telemetry_sends_total", 40, 40, ["status"], failures=trend(12, 10)))  # +20 %
    document = evaluate_insights(DAY, 7, fleet(5, 5), liveness(5, silent=4), fleet(5, 5), liveness(5, silent=2),
                                 trends)
    insight = next(item for item in document["insights"] if item["id"] == "telemetry_send_failures_rising")
    assert insight["sources"] == ["prometheus", "telemetry"] and "2 → 4" in insight["detail"]
    alone = evaluate_insights(DAY, 7, fleet(5, 5), liveness(5, silent=2), fleet(5, 5), liveness(5, silent=2), trends)
    insight = next(item for item in alone["insights"] if item["id"] == "telemetry_send_failures_rising")
    assert insight["sources"] == ["prometheus"]
    few = used(series("telemetry_sends_total", 4, 4, ["status"], failures=trend(4, 1)))  # fewer than 5 failures
    assert outcome(evaluate_insights(DAY, 7, fleet(5, 5), liveness(5), None, None, few),
                   "telemetry_send_failures_rising")["status"] == "quiet"


def test_active_installs_falling_is_telemetry_only():
    document = evaluate_insights(DAY, 7, fleet(5, 5), liveness(10), fleet(5, 5), liveness(11),
                                 not_used(DAY, 7, [], "not configured"))
    assert outcome(document, "active_installs_falling")["status"] == "quiet"  # 11 → 10 is -9.1 %
    falling = evaluate_insights(DAY, 7, fleet(5, 5), liveness(9), fleet(5, 5), liveness(10),  # exactly -10 %
                                not_used(DAY, 7, [], "not configured"))
    insight = falling["insights"][0]
    assert insight["id"] == "active_installs_falling" and insight["sources"] == ["telemetry"]


def test_prometheus_rules_say_why_prometheus_was_not_used():
    document = evaluate_insights(DAY, 7, fleet(5, 5), liveness(5), None, None,
                                 not_used(DAY, 7, [], "connection refused, at http://127.0.0.1:1"))
    prometheus_rules = [rule for rule in document["rules"] if "prometheus" in rule["sources"]]
    assert len(prometheus_rules) == 5
    assert {rule["status"] for rule in prometheus_rules} == {"not_evaluated"}
    assert all("connection refused" in rule["reason"] for rule in prometheus_rules)
    assert document["prometheus"] == {"status": "not_used", "reason": "connection refused, at http://127.0.0.1:1"}
    assert document["insights"] == []


def test_missing_series_are_an_insight_not_a_zero():
    missing = {"name": "mcpgw_registry_tool_execution", "status": "missing", "labels": [],
               "hint": "no series named mcpgw_registry_tool_execution, but mcpgw_registry_tool_execution_total exists"}
    document = evaluate_insights(DAY, 7, fleet(5, 5), liveness(5), None, None, used(missing))
    insight = next(item for item in document["insights"] if item["id"] == "series_missing")
    assert insight["severity"] == "info" and "_total exists" in insight["detail"]
    # A misspelt name is not mistaken for the usage counter...
    assert outcome(document, "usage_down_installs_up")["reason"] == "no configured series ends in tool_execution_total"
    # ... and a right name without data is "no such series", not a zero.
    absent = {**missing, "name": "mcpgw_registry_tool_execution_total", "hint": None}
    document = evaluate_insights(DAY, 7, fleet(5, 5), liveness(5), None, None, used(absent))
    assert outcome(document, "tool_success_rate_low")["reason"] == "no such series: mcpgw_registry_tool_execution_total"
    # Warnings come before infos.
    assert [item["severity"] for item in document["insights"]] == sorted(
        (item["severity"] for item in document["insights"]), key=["warning", "info"].index)
