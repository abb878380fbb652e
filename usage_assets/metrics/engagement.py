"""Daily engagement of customer installs: DAI, its 7-day mean, 7-day streaks and reach.

Follows reference 6.6 (the active-instances chart and its CSV) over the ``instance_days``
layer: an install is active on a UTC day when it has a row that day (at least one event).
Differences from the reference:

- customers are the one customer rule of :mod:`usage_assets.daily.internal` (the reference
  applies its own exact-id allowlist parse here, quirk 20);
- the series ends at the report day D, which is complete, so there is no day to drop
  (the reference drops its partial "today");
- the 7-day windows of ``likely_alive_7d`` start no earlier than the series' first day,
  as in the reference, so the first six values only look back to that day.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import polars as pl

from usage_assets.common.days import day_range

#: Length of the MA7 / streak / likely-alive windows, in UTC days.
WINDOW_DAYS = 7

SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "daily_active": pl.Int64(),
    "ma7": pl.Float64(),
    "streak7": pl.Int64(),
    "cumulative_installs": pl.Int64(),
    "dai_pct_of_total": pl.Float64(),
    "likely_alive_7d": pl.Int64(),
    "dai_pct_of_likely_alive": pl.Float64(),
}


def _pct(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    """1-decimal percentage, null (not 0) when the denominator is 0, as in the reference CSV."""
    return pl.when(whole > 0).then((100.0 * part / whole).round(1)).otherwise(None)


def engagement_series(history: pl.LazyFrame, customer_ids: Collection[str], first: date, day: date) -> pl.DataFrame:
    """Engagement of the customers in ``customer_ids`` for every UTC day from the first
    day in ``first..day`` on which a customer was active, to ``day`` (as the reference's
    date range starts at its first customer row, reference 6.6).

    ``history``: lazy ``instance_days`` (reads ``date`` and ``registry_id``); rows outside
    ``first..day`` and unidentified rows are ignored. Out, one row per day, sorted by date,
    columns in this order (:data:`SCHEMA`):

    - ``date`` (Date);
    - ``daily_active`` (Int64): DAI, customers active that day;
    - ``ma7`` (Float64, 2 dp): mean DAI over d-6..d; null on the series' first 6 days;
    - ``streak7`` (Int64): customers active on every day d-6..d; null on the first 6 days;
    - ``cumulative_installs`` (Int64): customers active on any day first..d;
    - ``dai_pct_of_total`` (Float64, 1 dp): 100 * DAI / cumulative_installs, null if 0;
    - ``likely_alive_7d`` (Int64): customers active on any day max(first, d-6)..d;
    - ``dai_pct_of_likely_alive`` (Float64, 1 dp): 100 * DAI / likely_alive_7d, null if 0.

    An empty frame with these columns when no customer was active in ``first..day``;
    later days without any customer activity are zero rows, never missing.
    """
    active = (
        history.filter(
            pl.col("registry_id").is_in(list(customer_ids)),
            pl.col("date").is_between(first, day),
        )
        .select("date", "registry_id")
        .unique()
        .collect()
    )
    # Days before the first customer event (internal or unidentified events only) are
    # not part of the series: its 7-day measures start 6 days after the first customer day.
    first = active["date"].min() if active.height else day + timedelta(days=1)
    days = pl.DataFrame({"date": day_range(first, day)}, schema={"date": pl.Date})
    daily_active = active.group_by("date").agg(pl.len().alias("daily_active"))
    first_seen = active.group_by("registry_id").agg(pl.col("date").min()).group_by("date").agg(pl.len().alias("new"))
    # Spreading each active day over the 7 days whose window contains it: an install
    # counted k times on day d was active on k of d-6..d, so k >= 1 is "likely alive" and
    # k == 7 is a full streak. Since ``active`` starts at ``first``, so do the windows.
    windows = (
        active.with_columns(pl.lit(list(range(WINDOW_DAYS))).alias("offset"))
        .explode("offset")
        .with_columns(pl.col("date") + pl.duration(days=pl.col("offset")))
        .group_by("date", "registry_id")
        .agg(pl.len().alias("days_in_window"))
        .group_by("date")
        .agg(
            pl.len().alias("likely_alive_7d"),
            (pl.col("days_in_window") == WINDOW_DAYS).sum().alias("streak7"),
        )
    )
    full_window = pl.col("date") >= first + timedelta(days=WINDOW_DAYS - 1)
    return (
        days.join(daily_active, on="date", how="left")
        .join(first_seen, on="date", how="left")
        .join(windows, on="date", how="left")
        .with_columns(pl.col("daily_active", "new", "likely_alive_7d", "streak7").fill_null(0).cast(pl.Int64))
        .sort("date")
        .with_columns(
            pl.when(full_window)
            .then(pl.col("daily_active").rolling_mean(WINDOW_DAYS).round(2))
            .otherwise(None)
            .alias("ma7"),
            pl.when(full_window).then(pl.col("streak7")).otherwise(None).alias("streak7"),
            pl.col("new").cum_sum().alias("cumulative_installs"),
        )
        .with_columns(
            _pct(pl.col("daily_active"), pl.col("cumulative_installs")).alias("dai_pct_of_total"),
            _pct(pl.col("daily_active"), pl.col("likely_alive_7d")).alias("dai_pct_of_likely_alive"),
        )
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )


def engagement_extended(
    previous: pl.DataFrame, window: pl.LazyFrame, customer_ids: Collection[str], new_customers: int, day: date
) -> pl.DataFrame:
    """:func:`engagement_series` of ``day`` from the series of ``day - 1`` and the last 7
    days: equal to the full series when ``previous`` is the series of ``day - 1`` with the
    same customers (every row up to D-1 depends only on earlier days), at a week's cost.

    ``previous``: the series of D-1, non-empty and ending on D-1 (else ``ValueError``: the
    caller computes the whole series); ``window``: lazy ``instance_days`` covering
    D-6..D; ``customer_ids``: today's customers; ``new_customers``: customers whose first
    day is D. Returns ``previous`` plus the row of D.
    """
    if previous.is_empty() or previous["date"][-1] != day - timedelta(days=1):
        raise ValueError(f"engagement of {day} extends a series ending the day before, not {previous['date'].max()}")
    series_first = previous["date"][0]
    since = max(series_first, day - timedelta(days=WINDOW_DAYS - 1))
    active = (
        window.filter(pl.col("registry_id").is_in(list(customer_ids)), pl.col("date").is_between(since, day))
        .select("date", "registry_id")
        .unique()
        .collect()
    )
    days_active = active.group_by("registry_id").len()
    full_window = day >= series_first + timedelta(days=WINDOW_DAYS - 1)
    today = active.filter(pl.col("date") == day).select(pl.len().cast(pl.Int64).alias("daily_active"))
    daily_active = pl.concat([previous["daily_active"].tail(WINDOW_DAYS - 1), today["daily_active"]])
    row = pl.DataFrame(
        {
            "date": [day],
            "daily_active": [daily_active[-1]],
            # Counts are whole numbers, so the 7-day sum is exact and equals the full series' rolling mean.
            "ma7": [daily_active.rolling_mean(WINDOW_DAYS).round(2)[-1] if full_window else None],
            "streak7": [int((days_active["len"] == WINDOW_DAYS).sum()) if full_window else None],
            "cumulative_installs": [int(previous["cumulative_installs"][-1]) + new_customers],
            "likely_alive_7d": [days_active.height],
        },
        schema_overrides={"ma7": pl.Float64, "streak7": pl.Int64, "daily_active": pl.Int64},
    ).with_columns(
        _pct(pl.col("daily_active"), pl.col("cumulative_installs")).alias("dai_pct_of_total"),
        _pct(pl.col("daily_active"), pl.col("likely_alive_7d")).alias("dai_pct_of_likely_alive"),
    )
    return pl.concat([previous, row.select(list(SCHEMA)).cast(SCHEMA)])
