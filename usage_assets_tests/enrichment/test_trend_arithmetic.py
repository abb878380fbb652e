"""Trend arithmetic: percentages, the ±10 % arrow rule, success labels, UTC windows."""

from datetime import date

import pytest

from usage_assets.enrichment.trend_arithmetic import (
    DOWN,
    FLAT,
    UP,
    change_label,
    change_pct,
    is_success_status,
    parse_range,
    success_rate,
    trend,
    trend_arrow,
    windows,
)


@pytest.mark.parametrize(
    ("current", "previous", "pct", "arrow"),
    [
        (110, 100, 10.0, UP),  # exactly +10 % is an arrow
        (1848, 1680, 10.0, UP),  # 168/1680: +10 % through floating point
        (109.9, 100, 9.9, FLAT),
        (90, 100, -10.0, DOWN),  # exactly -10 %
        (90.1, 100, -9.9, FLAT),
        (840, 1008, -16.7, DOWN),
        (100, 100, 0.0, FLAT),
        (5, 0, None, UP),  # from nothing: no percentage, but up
        (0, 0, None, FLAT),
    ],
)
def test_change_and_arrow(current, previous, pct, arrow):
    assert change_pct(current, previous) == pct
    assert trend_arrow(current, previous) == arrow


def test_no_previous_value_means_no_comparison_not_zero():
    item = trend(7, None)
    assert item == {"current": 7, "previous": None, "change_pct": None, "arrow": None}
    assert change_label(item) == "no comparison"
    assert change_label(trend(3, 0)) == "new"
    assert change_label(trend(0, 0)) == "no change"
    assert change_label(trend(84, 168)) == "-50.0%"
    assert change_label(trend(168, 168)) == "0.0%"


def test_success_rate_counts_both_spellings_and_ignores_other_values():
    rate = success_rate({"true": 30.0, "True": 10.0, "false": 5.0, "False": 5.0, "": 7.0})
    assert rate == {"succeeded": 40.0, "failed": 10.0, "other": 7.0, "total": 50.0,
                    "success_pct": 80.0, "failure_pct": 20.0}
    assert success_rate({})["success_pct"] is None


@pytest.mark.parametrize("status", ["success", "OK", "200", "204", "2xx"])
def test_success_statuses(status):
    assert is_success_status(status)


@pytest.mark.parametrize("status", ["timeout", "error", "4xx", "500", "", "successful-ish"])
def test_failure_statuses(status):
    assert not is_success_status(status)


def test_ranges():
    assert [parse_range(value) for value in ("7d", "14d", "30d", 7, "30")] == [7, 14, 30, 7, 30]
    with pytest.raises(ValueError, match="7d, 14d, 30d"):
        parse_range("5d")


def test_windows_are_calendar_days_ending_at_the_report_day():
    assert windows(date(2026, 3, 10), 7) == {
        "evaluated_at": "2026-03-11T00:00:00Z",
        "current": {"start": "2026-03-04T00:00:00Z", "end": "2026-03-11T00:00:00Z",
                    "days": ["2026-03-04", "2026-03-10"]},
        "previous": {"start": "2026-02-25T00:00:00Z", "end": "2026-03-04T00:00:00Z",
                     "days": ["2026-02-25", "2026-03-03"]},
    }
