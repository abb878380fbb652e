"""Cumulative identified installs per day and when they will reach the next milestone.

Follows reference 6.9 (``install-forecast-D.json``): a least-squares line over the
recent days with a 95% band, and a "recent pace" over the last week, each giving an ETA
for the install target. Where we differ, and why:

- The series is built from the ``instance_days`` layer in the same run, one point per
  UTC day up to and including D. The reference reads earlier snapshots' metrics files
  and runs before the day's own analysis, so its "today" can be the previous snapshot
  (quirk 12).
- The fit window is the last 14 calendar days, D-13..D (the reference keeps dates >=
  D - 14, which is 15 days), and x counts days from the window's first day, so the
  intercept is the fitted count on ``base_date`` (the reference counts from the first
  snapshot ever and does not say so in its output).
- Once today's count has reached the target, the target moves to the next multiple of
  it; the reference keeps a passed target and reports an ETA in the past.
- Too short a series gives ``available: False`` and a reason instead of exiting with an
  error (reference T18), so the rest of the report still renders.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import polars as pl

from usage_assets.common.days import day_range

#: Two-sided 95% quantile of the normal distribution, for the band around the line.
Z_95 = 1.96


def cumulative_installs(history: pl.LazyFrame, first: date, day: date) -> pl.DataFrame:
    """Identified installs first seen on or before each UTC day ``first..day``.

    ``history``: ``instance_days`` rows (reads ``date``, ``registry_id``); internal
    installs count, unidentified rows do not (the reference's
    ``key_metrics.identified_instances``). Out: ``date`` (Date), ``installs`` (Int64),
    one row per day, sorted; days before the first install are 0.
    """
    running = (
        history.filter(pl.col("registry_id").is_not_null(), pl.col("date") <= day)
        .group_by("registry_id")
        .agg(pl.col("date").min())
        .group_by("date")
        .len()
        .sort("date")
        .select("date", pl.col("len").cum_sum().cast(pl.Int64).alias("installs"))
        .collect()
    )
    grid = pl.DataFrame({"date": day_range(first, day)}, schema={"date": pl.Date})
    return grid.join_asof(running, on="date", strategy="backward").with_columns(pl.col("installs").fill_null(0))


def cumulative_installs_extended(
    previous: pl.DataFrame, day_layer: pl.DataFrame, seen_before: pl.Series, day: date
) -> pl.DataFrame:
    """:func:`cumulative_installs` of ``day`` from the series of ``day - 1`` and day D
    alone (equal to the series over all history when ``previous`` is that series):
    ``previous`` plus D's row, D-1's count plus the identified installs of ``day_layer``
    (``instance_days`` of D) not in ``seen_before`` (the ids of every install seen before D).

    Raises ``ValueError`` when ``previous`` is empty, does not end on D-1 or has other
    columns (the caller computes the whole series).
    """
    if previous.columns != ["date", "installs"] or previous.is_empty() or previous["date"][-1] != day - timedelta(days=1):
        raise ValueError(f"cumulative installs of {day} extend a series ending the day before")
    ids = day_layer["registry_id"].drop_nulls()
    new = int((~ids.is_in(seen_before.implode())).sum())
    row = pl.DataFrame({"date": [day], "installs": [int(previous["installs"][-1]) + new]}, schema=previous.schema)
    return pl.concat([previous, row])


def install_forecast(
    series: pl.DataFrame,
    target: int = 1000,
    window_days: int = 14,
    pace_days: int = 7,
    min_points: int = 5,
) -> dict:
    """ETAs for the install target from a ``date, installs`` series (one row per UTC day).

    The last row is "today" (day D). Returns the ``install-forecast-D.json`` payload:

    - ``available`` (bool), ``reason`` (str, why not available; else None);
    - ``configured_target``; ``target``: ``target``, or the next multiple of it above
      today's installs once that count has reached it; ``remaining`` = target - today;
    - ``today`` {``date`` ISO, ``installs``};
    - ``linear`` {``fit_window_days`` (calendar days base_date..D), ``fit_points``,
      ``slope_per_day``, ``intercept`` (fitted installs on base_date), ``residual_std``
      (sqrt(RSS/(n-2)), 0 for two points), ``base_date``, ``eta``, ``eta_lower_95``,
      ``eta_upper_95``}: ordinary least squares over the rows in D-(window_days-1)..D;
      eta = base_date + (target - intercept)/slope days truncated to a date; the band
      moves the line by +-1.96 residual_std, so the lower (earlier) ETA uses the raised
      line; all three None when slope <= 0;
    - ``recent_pace`` {``window_days``, ``anchor_date`` (latest day <= D - pace_days,
      else the first day), ``daily_add_rate`` (installs/day since the anchor), ``eta`` =
      D + (target - today)/rate days, None when rate <= 0}.

    Floats are rounded to 4 dp, dates are ISO strings; an ETA past year 9999 is None.
    Fewer than ``min_points`` rows (or fewer than 2 in the fit window) give ``available``
    False, the reason and None for every computed number; this never raises on the data.
    Raises ``ValueError`` for a target below 1, ``window_days`` or ``min_points`` below
    2, or ``pace_days`` below 1.
    """
    if target < 1 or window_days < 2 or pace_days < 1 or min_points < 2:
        raise ValueError(
            f"install_forecast needs target >= 1, window_days >= 2, pace_days >= 1 and min_points >= 2; "
            f"got {target}, {window_days}, {pace_days}, {min_points}"
        )
    points = series.select("date", "installs").sort("date")
    dates: list[date] = points["date"].to_list()
    counts: list[int] = [int(n) for n in points["installs"]]
    today = dates[-1] if dates else None
    installs = counts[-1] if counts else None
    goal = target if installs is None or installs < target else (installs // target + 1) * target
    result = {
        "available": False,
        "reason": None,
        "configured_target": target,
        "target": goal,
        "today": {"date": today.isoformat() if today else None, "installs": installs},
        "linear": dict.fromkeys(
            ("fit_window_days", "fit_points", "slope_per_day", "intercept", "residual_std",
             "base_date", "eta", "eta_lower_95", "eta_upper_95")
        ),
        "recent_pace": {"window_days": pace_days, "anchor_date": None, "daily_add_rate": None, "eta": None},
        "remaining": None if installs is None else goal - installs,
    }
    if len(dates) < min_points:
        result["reason"] = f"needs at least {min_points} days of data, has {len(dates)}"
        return result
    window_start = today - timedelta(days=window_days - 1)
    fit = [(d, n) for d, n in zip(dates, counts) if d >= window_start]
    if len(fit) < 2:
        # Only reachable when the series skips days.
        result["reason"] = f"needs at least 2 days in the {window_days}-day fit window, has {len(fit)}"
        return result

    base = fit[0][0]
    xs = [(d - base).days for d, _ in fit]
    ys = [n for _, n in fit]
    slope, intercept, sigma = _least_squares(xs, ys)
    result["available"] = True
    result["linear"] = {
        "fit_window_days": (today - base).days + 1,
        "fit_points": len(fit),
        "slope_per_day": round(slope, 4),
        "intercept": round(intercept, 4),
        "residual_std": round(sigma, 4),
        "base_date": base.isoformat(),
        "eta": _eta(base, goal, intercept, slope),
        "eta_lower_95": _eta(base, goal, intercept + Z_95 * sigma, slope),
        "eta_upper_95": _eta(base, goal, intercept - Z_95 * sigma, slope),
    }

    before = [i for i, d in enumerate(dates) if d <= today - timedelta(days=pace_days)]
    anchor = before[-1] if before else 0
    rate = (installs - counts[anchor]) / (today - dates[anchor]).days
    result["recent_pace"] = {
        "window_days": pace_days,
        "anchor_date": dates[anchor].isoformat(),
        "daily_add_rate": round(rate, 4),
        "eta": _date_after(today, (goal - installs) / rate) if rate > 0 else None,
    }
    return result


def _least_squares(xs: list[int], ys: list[int]) -> tuple[float, float, float]:
    """Slope, intercept and residual standard deviation of y = intercept + slope * x."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    rss = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys))
    return slope, intercept, math.sqrt(rss / (n - 2)) if n > 2 else 0.0


def _eta(base: date, goal: int, intercept: float, slope: float) -> str | None:
    """Day the line ``intercept + slope * x`` reaches ``goal``; None if it never rises."""
    return _date_after(base, (goal - intercept) / slope) if slope > 0 else None


def _date_after(start: date, days: float) -> str | None:
    """ISO date ``days`` (fractional) after the start of ``start``, truncated to the day.

    None when it falls outside the calendar (a nearly flat line), rather than raising.
    """
    try:
        return (datetime.combine(start, time()) + timedelta(days=days)).date().isoformat()
    except OverflowError:
        return None
