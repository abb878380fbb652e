"""Customer retention over time and the adoption funnel.

``retention_series`` is the lifetime-buckets table (reference 6.12,
``lifetime-buckets.csv``): for every UTC day d, the share of customers seen by d that
are one-day wonders and that have lived at least 3/7/14/30 days. The reference
recomputes it from each archived ``metrics-<date>.json`` snapshot, so a day is missing
when no snapshot was taken that day and the customer set is whatever allowlist that
snapshot used; we derive every day from the ``instance_days`` layer with today's
customer set, so the series has no holes and its last row equals
:func:`usage_assets.metrics.fleet.stickiness` on the report day.

``adoption_funnel`` is the funnel of reference 6.13 as one list of rows. The reference
draws the chart from customers only but builds the report table partly over all
installs (quirk 9); both are drawn from these rows, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

import polars as pl

from usage_assets.common.days import day_range
from usage_assets.common.formatting import pct
from usage_assets.metrics.fleet import LIFETIME_BUCKETS

RETENTION_COLUMNS = (
    "date",
    "total",
    "one_day_wonder_pct",
    *(f"pct_ge_{t}d" for t in LIFETIME_BUCKETS),
)
#: The bucket counts behind the shares: one-day wonders and customers aged >= t days.
BUCKET_COUNT_COLUMNS = ("one_day_wonders", *(f"ge_{t}d" for t in LIFETIME_BUCKETS))
RETENTION_SCHEMA = {
    "date": pl.Date,
    "total": pl.Int64,
    **{name: pl.Float64 for name in RETENTION_COLUMNS[2:]},
    **{name: pl.Int64 for name in BUCKET_COUNT_COLUMNS},
}
#: Age thresholds whose entry day is tracked: 1 splits one-day wonders from the rest.
_THRESHOLDS = (1, *LIFETIME_BUCKETS)

FUNNEL_STAGES = (
    "Every customer install",
    "Came back at least once",
    *(f"Reported over {t}+ days" for t in LIFETIME_BUCKETS),
    "Confirmed Alive (>=5 heartbeats in the last 7 days)",
)


def retention_series(history: pl.LazyFrame, customer_ids: Collection[str], first: date, day: date) -> pl.DataFrame:
    """Lifetime buckets of customer installs as of the end of every UTC day ``first..day``.

    ``history``: ``instance_days`` rows (reads ``date``, ``registry_id``); rows after
    ``day`` are ignored, rows before ``first`` still count toward ages. An install's age
    as of d is (its last active day <= d) - first_seen, in days, so a later return
    raises its age from that day on and never rewrites earlier days.

    Out columns: ``date`` (Date), ``total`` (Int64, customers first seen <= d),
    ``one_day_wonder_pct`` (age 0) and ``pct_ge_3d``, ``pct_ge_7d``, ``pct_ge_14d``,
    ``pct_ge_30d`` (Float64, percent of ``total`` with age >= t, 1 dp; cumulative like
    ``fleet.stickiness``), then the counts behind them: ``one_day_wonders``, ``ge_3d``,
    ``ge_7d``, ``ge_14d``, ``ge_30d`` (Int64). The first seven columns are the reference's
    ``lifetime-buckets-D.csv`` (:data:`RETENTION_COLUMNS`). One row per day with ``total`` > 0, sorted by date; empty
    frame with these columns when no customer was seen by ``day``.
    """
    active = (
        history.filter(
            pl.col("registry_id").is_in(list(customer_ids)),
            pl.col("date") <= day,
        )
        .select("registry_id", "date")
        .unique()
        .collect()
    )
    # Ages only grow, so an install joins the age >= t group on its first active day
    # that is at least t days after its first day, and stays there.
    age = (pl.col("date") - pl.col("date").min()).dt.total_days()
    entries = active.group_by("registry_id").agg(
        pl.col("date").min().alias("seen"),
        *[pl.col("date").filter(age >= t).min().alias(f"ge_{t}") for t in _THRESHOLDS],
    )
    grid = pl.DataFrame({"date": day_range(first, day)}, schema={"date": pl.Date})
    for column in ("seen", *(f"ge_{t}" for t in _THRESHOLDS)):
        running = (
            entries.drop_nulls(column)
            .group_by(column)
            .len()
            .sort(column)
            .select(pl.col(column).alias("date"), pl.col("len").cum_sum().cast(pl.Int64).alias(column))
        )
        grid = grid.join_asof(running, on="date", strategy="backward").with_columns(pl.col(column).fill_null(0))
    rows = [
        {
            "date": row["date"],
            "total": row["seen"],
            "one_day_wonder_pct": pct(row["seen"] - row["ge_1"], row["seen"]),
            **{f"pct_ge_{t}d": pct(row[f"ge_{t}"], row["seen"]) for t in LIFETIME_BUCKETS},
            "one_day_wonders": row["seen"] - row["ge_1"],
            **{f"ge_{t}d": row[f"ge_{t}"] for t in LIFETIME_BUCKETS},
        }
        for row in grid.iter_rows(named=True)
        if row["seen"] > 0
    ]
    return pl.DataFrame(rows, schema=RETENTION_SCHEMA)


def adoption_funnel(stickiness: Mapping, confirmed_alive: int) -> list[dict]:
    """Funnel rows ``{"stage": str, "installs": int, "pct_of_customers": float, "in_funnel": bool}``.

    ``stickiness``: the dict of :func:`usage_assets.metrics.fleet.stickiness` (customers);
    ``confirmed_alive``: customers with >= 5 heartbeats in D-6..D (liveness
    ``counts.confirmed``). Stages in :data:`FUNNEL_STAGES` order: every customer, came
    back on a later day (total - one-day wonders), lifetime >= 3/7/14/30 days, Confirmed
    Alive. The first six stages nest (``in_funnel`` True): each counts a subset of the
    customers of the one before. Confirmed Alive counts customers alive now whatever
    their lifetime, so it may exceed the 30+ days stage; it comes last with ``in_funnel``
    False, to be shown apart from the funnel. ``pct_of_customers`` is percent of the
    first row, 1 dp (0.0 without customers). Raises ``KeyError`` if ``stickiness`` lacks
    one of its keys.
    """
    total = int(stickiness["total_non_internal"])
    counts = [
        total,
        total - int(stickiness["one_day_wonders"]),
        *(int(stickiness["lifetime_bucket_counts"][str(t)]) for t in LIFETIME_BUCKETS),
        int(confirmed_alive),
    ]
    return [
        {"stage": stage, "installs": n, "pct_of_customers": pct(n, total), "in_funnel": stage != FUNNEL_STAGES[-1]}
        for stage, n in zip(FUNNEL_STAGES, counts, strict=True)
    ]
    return [
        {"stage": stage, "installs": n, "pct_of_customers": pct(n, total)}
        for stage, n in zip(FUNNEL_STAGES, counts, strict=True)
    ]


def retention_extended(previous: pl.DataFrame, customers: pl.DataFrame, day: date) -> pl.DataFrame:
    """:func:`retention_series` of ``day`` from the series of ``day - 1``: equal to the full
    series when ``previous`` is the series of D-1 with the same customers (a row depends
    only on the days up to it), at the cost of one row.

    ``customers``: the customer rows of the install table of ``day`` (reads ``age_days``):
    D's row counts them all, by age as of D (an install enters the age >= t group on its
    first active day t days after its first day, so by D exactly those aged >= t are in).
    Returns ``previous`` plus the row of D (none while there is no customer).
    """
    total = customers.height
    if total == 0:
        return previous
    ages = customers["age_days"]
    at_least = {t: int((ages >= t).sum()) for t in _THRESHOLDS}
    row = {
        "date": day,
        "total": total,
        "one_day_wonder_pct": pct(total - at_least[1], total),
        **{f"pct_ge_{t}d": pct(at_least[t], total) for t in LIFETIME_BUCKETS},
        "one_day_wonders": total - at_least[1],
        **{f"ge_{t}d": at_least[t] for t in LIFETIME_BUCKETS},
    }
    return pl.concat([previous, pl.DataFrame([row], schema=RETENTION_SCHEMA)])
