"""Installs over time by cloud: cumulative, daily active and daily new (reference 6.4).

Computed from the ``instance_days`` layer for every day from the first day of data to
the report day, over all installs (internal included, as the chart's title says). Each
install is counted once in ``daily_new``/``cumulative_installs``, under the cloud it
reported on its first day (the reference counts an install under every cloud it ever
reported, quirk 15); ``daily_active`` uses the cloud reported on that day.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from usage_assets.lib.lake import day_range

UNKNOWN = "unknown"


def installs_by_cloud(history: pl.LazyFrame, first: date, last: date) -> pl.DataFrame:
    """Long frame ``date, cloud, daily_active, daily_new, cumulative_installs`` (Int64).

    One row per day in ``first..last`` and per cloud ever seen, zero-filled, sorted by
    (date, cloud).
    """
    days = (
        history.filter(pl.col("registry_id").is_not_null())
        .select("date", "registry_id", pl.col("cloud").fill_null(UNKNOWN))
        .collect()
    )
    active = days.group_by("date", "cloud").agg(pl.col("registry_id").n_unique().alias("daily_active"))
    first_days = days.sort("date").group_by("registry_id").first()
    new = first_days.group_by("date", "cloud").agg(pl.len().alias("daily_new"))
    clouds = sorted(set(days["cloud"].to_list()))
    grid = pl.DataFrame({"date": day_range(first, last)}).join(
        pl.DataFrame({"cloud": clouds}, schema={"cloud": pl.String}), how="cross"
    )
    return (
        grid.join(active, on=["date", "cloud"], how="left")
        .join(new, on=["date", "cloud"], how="left")
        .with_columns(pl.col("daily_active", "daily_new").fill_null(0).cast(pl.Int64))
        .sort("date", "cloud")
        .with_columns(pl.col("daily_new").cum_sum().over("cloud").alias("cumulative_installs"))
    )
