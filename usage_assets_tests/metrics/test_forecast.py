"""Cumulative installs and the install forecast, against hand-computed expectations."""

from datetime import date, timedelta

import polars as pl
import pytest

from usage_assets.metrics.forecast import cumulative_installs, install_forecast

D0 = date(2026, 5, 1)


def d(n: int) -> str:
    """ISO date of day ``n`` counted from D0."""
    return (D0 + timedelta(days=n)).isoformat()


def series(values: list[int], offsets: list[int] | None = None) -> pl.DataFrame:
    """``date, installs`` with one row per value, on days 0, 1, 2, ... unless offsets are given."""
    offsets = list(range(len(values))) if offsets is None else offsets
    return pl.DataFrame(
        {"date": [D0 + timedelta(days=n) for n in offsets], "installs": values},
        schema={"date": pl.Date, "installs": pl.Int64},
    )


def test_cumulative_installs_counts_each_identified_install_once_from_its_first_day():
    # Day 0: only unidentified events. Day 1: a, b. Day 2: a again. Day 3: c and an
    # internal install (counted, like identified_instances). Day 4 is after the report day.
    history = pl.DataFrame(
        {
            "date": [D0, D0 + timedelta(1), D0 + timedelta(1), D0 + timedelta(2), D0 + timedelta(3), D0 + timedelta(3), D0 + timedelta(4)],
            "registry_id": [None, "a", "b", "a", "c", "internal", "e"],
        },
        schema={"date": pl.Date, "registry_id": pl.String},
    ).lazy()
    result = cumulative_installs(history, D0, D0 + timedelta(3))
    assert result.schema == pl.Schema({"date": pl.Date, "installs": pl.Int64})
    assert result["date"].to_list() == [D0 + timedelta(n) for n in range(4)]
    assert result["installs"].to_list() == [0, 2, 2, 4]


def test_t17_straight_line_reaches_the_target_on_day_9():
    # Days 0..4 = 10, 20, 30, 40, 50 (reference T17). x = 0..4 from base day 0:
    # mean x 2, mean y 30, Sxy = 2*20 + 1*10 + 0 + 1*10 + 2*20 = 100, Sxx = 10 -> slope 10,
    # intercept 30 - 10*2 = 10, every residual 0 -> sigma 0.
    # ETA = day 0 + (100 - 10)/10 = day 9; the band has zero width.
    # Pace: day 4 - 7 is before the series, so the anchor is day 0: (50 - 10)/4 = 10/day,
    # ETA = day 4 + (100 - 50)/10 = day 9.
    assert install_forecast(series([10, 20, 30, 40, 50]), target=100) == {
        "available": True,
        "reason": None,
        "configured_target": 100,
        "target": 100,
        "today": {"date": d(4), "installs": 50},
        "linear": {
            "fit_window_days": 5, "fit_points": 5, "slope_per_day": 10.0, "intercept": 10.0,
            "residual_std": 0.0, "base_date": d(0), "eta": d(9), "eta_lower_95": d(9), "eta_upper_95": d(9),
        },
        "recent_pace": {"window_days": 7, "anchor_date": d(0), "daily_add_rate": 10.0, "eta": d(9)},
        "remaining": 50,
    }


def test_noisy_series_residual_std_and_band():
    # y = 10, 12, 15, 15, 18 on x = 0..4, target 30.
    # mean y 14; deviations -4, -2, 1, 1, 4; Sxy = 8 + 2 + 0 + 1 + 8 = 19, Sxx = 10 -> slope 1.9;
    # intercept 14 - 1.9*2 = 10.2. Fitted 10.2, 12.1, 14.0, 15.9, 17.8; residuals
    # -0.2, -0.1, 1.0, -0.9, 0.2; RSS = 0.04 + 0.01 + 1 + 0.81 + 0.04 = 1.9;
    # sigma = sqrt(1.9/3) = 0.79582 -> 1.96 sigma = 1.55981.
    # ETA (30 - 10.2)/1.9 = 10.42 -> day 10; lower (30 - 11.75981)/1.9 = 9.60 -> day 9;
    # upper (30 - 8.64019)/1.9 = 11.24 -> day 11.
    # Pace: anchor day 0, (18 - 10)/4 = 2/day, ETA day 4 + (30 - 18)/2 = day 10.
    result = install_forecast(series([10, 12, 15, 15, 18]), target=30)
    linear = result["linear"]
    assert (linear["slope_per_day"], linear["intercept"], linear["residual_std"]) == (1.9, 10.2, 0.7958)
    assert (linear["eta"], linear["eta_lower_95"], linear["eta_upper_95"]) == (d(10), d(9), d(11))
    assert result["recent_pace"] == {"window_days": 7, "anchor_date": d(0), "daily_add_rate": 2.0, "eta": d(10)}
    assert result["remaining"] == 12


def test_fit_uses_only_the_last_fourteen_days_and_pace_the_last_seven():
    # Days 0..5 flat at 0 (outside the window), days 6..19 = 100 + 5*(day - 6).
    # Window D-13..D = days 6..19: 14 points on an exact line, base day 6, slope 5,
    # intercept 100; ETA for 1000 = day 6 + 900/5 = day 186.
    # Pace anchor D-7 = day 12 (130): (165 - 130)/7 = 5/day; ETA day 19 + 835/5 = day 186.
    values = [0] * 6 + [100 + 5 * n for n in range(14)]
    result = install_forecast(series(values))
    assert result["linear"] == {
        "fit_window_days": 14, "fit_points": 14, "slope_per_day": 5.0, "intercept": 100.0,
        "residual_std": 0.0, "base_date": d(6), "eta": d(186), "eta_lower_95": d(186), "eta_upper_95": d(186),
    }
    assert result["recent_pace"] == {"window_days": 7, "anchor_date": d(12), "daily_add_rate": 5.0, "eta": d(186)}
    assert (result["today"], result["target"], result["remaining"]) == ({"date": d(19), "installs": 165}, 1000, 835)


@pytest.mark.parametrize(
    ("today", "target", "remaining"),
    [(999, 1000, 1), (1000, 2000, 1000), (2350, 3000, 650)],
)
def test_a_reached_target_moves_to_the_next_multiple(today, target, remaining):
    result = install_forecast(series([today - 40, today - 30, today - 20, today - 10, today]), target=1000)
    assert (result["configured_target"], result["target"], result["remaining"]) == (1000, target, remaining)
    # Slope 10/day: the ETA is remaining/10 days after day 4, e.g. 1000 -> 2000 on day 104.
    assert result["linear"]["eta"] == d(4 + remaining // 10)


@pytest.mark.parametrize("values", [[5, 5, 5, 5, 5], [50, 40, 30, 20, 10]])
def test_a_flat_or_falling_series_has_no_eta(values):
    result = install_forecast(series(values), target=100)
    assert result["available"] is True
    assert result["linear"]["slope_per_day"] <= 0
    assert (result["linear"]["eta"], result["linear"]["eta_lower_95"], result["linear"]["eta_upper_95"]) == (None, None, None)
    assert result["recent_pace"]["daily_add_rate"] <= 0 and result["recent_pace"]["eta"] is None


def test_fewer_than_five_days_is_unavailable_not_an_error():
    result = install_forecast(series([10, 20, 30]), target=100)
    assert result["available"] is False
    assert result["reason"] == "needs at least 5 days of data, has 3"
    assert result["today"] == {"date": d(2), "installs": 30} and result["remaining"] == 70
    assert set(result["linear"].values()) == {None}
    assert result["recent_pace"] == {"window_days": 7, "anchor_date": None, "daily_add_rate": None, "eta": None}


def test_an_empty_series_is_unavailable():
    empty = series([])
    result = install_forecast(empty)
    assert (result["available"], result["reason"]) == (False, "needs at least 5 days of data, has 0")
    assert result["today"] == {"date": None, "installs": None}
    assert (result["target"], result["remaining"]) == (1000, None)


def test_a_series_with_a_gap_before_today_needs_two_points_in_the_window():
    # Days 0..3 and 30: only day 30 lies in days 17..30.
    result = install_forecast(series([1, 2, 3, 4, 5], offsets=[0, 1, 2, 3, 30]))
    assert (result["available"], result["reason"]) == (False, "needs at least 2 days in the 14-day fit window, has 1")


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="target >= 1"):
        install_forecast(series([1, 2, 3, 4, 5]), target=0)
