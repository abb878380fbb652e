"""Liveness tiers of customer installs as of the end of a report day.

Windows are calendar UTC days ending at the report day D: "last 7 days" is D-6..D and
"last 14 days" D-13..D (the reference uses rolling 24-hour multiples back from the
newest event instead; reference 6.2 and quirk 19, see ``docs/differences.md``).

Tiers (they overlap; reference 6.2):

- Confirmed Alive: at least 5 heartbeats in the last 7 days;
- Stronger Alive: at least 10 heartbeats in the last 14 days;
- Likely Alive: at least one event of any type in the last 7 days;
- Silent-but-recent: Likely but not Confirmed;
- Dormant: no event in the last 14 days.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

CONFIRMED_MIN_HEARTBEATS = 5
CONFIRMED_WINDOW_DAYS = 7
STRONGER_MIN_HEARTBEATS = 10
STRONGER_WINDOW_DAYS = 14
# Likely Alive and Dormant use the same two windows (reference 6.2).
LIKELY_WINDOW_DAYS = CONFIRMED_WINDOW_DAYS
DORMANT_AFTER_DAYS = STRONGER_WINDOW_DAYS


def window_start(day: date, days: int) -> date:
    """First day of the ``days``-long calendar window ending at ``day``."""
    return day - timedelta(days=days - 1)


def liveness_table(customers: pl.DataFrame, recent: pl.LazyFrame, day: date) -> pl.DataFrame:
    """One row per customer with its window counts and tier flags.

    ``customers``: ``registry_id``, ``last_seen`` (Date) of every customer ever seen;
    ``recent``: ``instance_days`` rows covering at least D-13..D. Out columns:
    ``registry_id``, ``heartbeats_7d``, ``heartbeats_14d``, ``events_7d`` (Int64),
    ``days_since_last_event``, and Booleans ``confirmed``, ``stronger``, ``likely``,
    ``silent_but_recent``, ``dormant``; sorted by registry_id.
    """
    start_7 = window_start(day, CONFIRMED_WINDOW_DAYS)
    start_14 = window_start(day, STRONGER_WINDOW_DAYS)
    in_7 = pl.col("date") >= start_7
    counts = (
        recent.filter(pl.col("registry_id").is_not_null(), pl.col("date").is_between(start_14, day))
        .group_by("registry_id")
        .agg(
            pl.col("heartbeat_events").filter(in_7).sum().alias("heartbeats_7d"),
            pl.col("heartbeat_events").sum().alias("heartbeats_14d"),
            pl.col("events").filter(in_7).sum().alias("events_7d"),
        )
        .collect()
    )
    table = customers.select("registry_id", "last_seen").join(counts, on="registry_id", how="left")
    table = table.with_columns(pl.col("heartbeats_7d", "heartbeats_14d", "events_7d").fill_null(0))
    confirmed = pl.col("heartbeats_7d") >= CONFIRMED_MIN_HEARTBEATS
    likely = pl.col("events_7d") >= 1
    return table.with_columns(
        (pl.lit(day) - pl.col("last_seen")).dt.total_days().cast(pl.Int64).alias("days_since_last_event"),
        confirmed.alias("confirmed"),
        (pl.col("heartbeats_14d") >= STRONGER_MIN_HEARTBEATS).alias("stronger"),
        likely.alias("likely"),
        (likely & ~confirmed).alias("silent_but_recent"),
        (pl.col("last_seen") < start_14).alias("dormant"),
    ).drop("last_seen").sort("registry_id")


def liveness_summary(table: pl.DataFrame, day: date) -> dict:
    """The reference's ``liveness-D.json`` content from :func:`liveness_table` output."""
    def ids(flag: str) -> list[str]:
        return table.filter(pl.col(flag))["registry_id"].sort().to_list()

    return {
        "report_date": day.isoformat(),
        "windows": {
            "last_7_days": [window_start(day, CONFIRMED_WINDOW_DAYS).isoformat(), day.isoformat()],
            "last_14_days": [window_start(day, STRONGER_WINDOW_DAYS).isoformat(), day.isoformat()],
        },
        "thresholds": {
            "confirmed_min_heartbeats": CONFIRMED_MIN_HEARTBEATS,
            "confirmed_window_days": CONFIRMED_WINDOW_DAYS,
            "stronger_min_heartbeats": STRONGER_MIN_HEARTBEATS,
            "stronger_window_days": STRONGER_WINDOW_DAYS,
            "likely_window_days": LIKELY_WINDOW_DAYS,
            "dormant_after_days": DORMANT_AFTER_DAYS,
        },
        "counts": {
            "customer_total": table.height,
            **{tier: int(table[tier].sum()) for tier in
               ("confirmed", "stronger", "likely", "silent_but_recent", "dormant")},
        },
        "confirmed_instance_ids": ids("confirmed"),
        "stronger_instance_ids": ids("stronger"),
    }
