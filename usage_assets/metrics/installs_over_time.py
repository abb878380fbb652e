"""Installs over time per facet value: cumulative, daily active and daily new.

Computed from the ``instance_days`` layer for every day from the first day of data to
the report day, over all installs (internal included, as the charts' titles say). The
cloud series follows reference 6.4 and the compute series 6.5 (the reference draws it
"as 6.4 but by compute"). Each install is counted once in ``daily_new`` /
``cumulative_installs``, under the facet value it reported on its first day (the
reference counts an install under every value it ever reported, quirk 15);
``daily_active`` uses the value reported on that day.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from usage_assets.common.days import day_range

UNKNOWN = "unknown"
#: Columns of the layer that identify a row rather than describe the install.
_KEYS = ("date", "registry_id")


def installs_by(history: pl.LazyFrame, facet: str, first: date, last: date) -> pl.DataFrame:
    """Long frame ``date`` (Date), ``<facet>`` (String), ``daily_active, daily_new,
    cumulative_installs`` (Int64).

    ``facet`` is an attribute column of ``history`` (``cloud``, ``compute``, ...); its
    value is cast to text and a null becomes ``"unknown"``. One row per UTC day in
    ``first..last`` and per value ever seen, zero-filled, sorted by (date, value); no
    rows when no identified install has a row. Unidentified rows are left out.

    Raises ValueError when ``facet`` is not an attribute column of ``history``.
    """
    if facet in _KEYS or facet not in history.collect_schema().names():
        raise ValueError(f"installs_by: {facet!r} is not an attribute column of instance_days")
    days = (
        history.filter(pl.col("registry_id").is_not_null())
        .select("date", "registry_id", pl.col(facet).cast(pl.String).fill_null(UNKNOWN))
        .collect()
    )
    active = days.group_by("date", facet).agg(pl.col("registry_id").n_unique().alias("daily_active"))
    # One row per install and day already, so the first row by date is the first day's value.
    first_days = days.sort("date").group_by("registry_id").first()
    new = first_days.group_by("date", facet).agg(pl.len().alias("daily_new"))
    values = sorted(set(days[facet].to_list()))
    grid = pl.DataFrame({"date": day_range(first, last)}).join(
        pl.DataFrame({facet: values}, schema={facet: pl.String}), how="cross"
    )
    return (
        grid.join(active, on=["date", facet], how="left")
        .join(new, on=["date", facet], how="left")
        .with_columns(pl.col("daily_active", "daily_new").fill_null(0).cast(pl.Int64))
        .sort("date", facet)
        .with_columns(pl.col("daily_new").cum_sum().over(facet).alias("cumulative_installs"))
    )


def installs_by_cloud(history: pl.LazyFrame, first: date, last: date) -> pl.DataFrame:
    """:func:`installs_by` with facet ``cloud``: columns ``date, cloud, daily_active,
    daily_new, cumulative_installs`` (reference 6.4)."""
    return installs_by(history, "cloud", first, last)


def installs_by_extended(
    previous: pl.DataFrame, day_layer: pl.DataFrame, seen_before: pl.Series, facet: str, day: date
) -> pl.DataFrame:
    """:func:`installs_by` of ``day`` from its frame of ``day - 1`` and day D alone: equal
    to the frame computed over all history when ``previous`` is that frame (each day's row
    depends only on that day and on each install's first day), at a day's cost.

    ``previous``: the frame of D-1, non-empty, ending on D-1 and with the columns of
    :func:`installs_by` (else ``ValueError``: the caller computes the whole frame); ``day_layer``: ``instance_days`` of D;
    ``seen_before``: the registry ids of every install seen before D. A value first
    reported on D gets zero rows on every earlier day, as the full grid gives it.
    """
    if previous.columns != ["date", facet, "daily_active", "daily_new", "cumulative_installs"]:
        raise ValueError(f"installs by {facet} of {day} extend a frame of the same columns, not {previous.columns}")
    if previous.is_empty() or previous["date"][-1] != day - timedelta(days=1):
        raise ValueError(f"installs by {facet} of {day} extend a frame ending the day before")
    today = day_layer.filter(pl.col("registry_id").is_not_null()).select(
        "registry_id", pl.col(facet).cast(pl.String).fill_null(UNKNOWN)
    )
    counts = today.group_by(facet).agg(
        pl.len().alias("daily_active"),
        (~pl.col("registry_id").is_in(seen_before.implode())).sum().alias("daily_new"),
    )
    added = sorted(set(today[facet].to_list()) - set(previous[facet].to_list()))
    earlier = previous
    if added:
        # A value first reported on D: the full grid has its zero rows on every earlier day.
        zeros = pl.DataFrame({"date": previous["date"].unique()}).join(
            pl.DataFrame({facet: added}, schema={facet: pl.String}), how="cross"
        ).with_columns(pl.lit(0, dtype=pl.Int64).alias(name) for name in ("daily_active", "daily_new", "cumulative_installs"))
        earlier = pl.concat([previous, zeros.select(previous.columns)]).sort("date", facet)
    last = earlier.filter(pl.col("date") == day - timedelta(days=1)).select(facet, "cumulative_installs")
    row = (
        last.join(counts, on=facet, how="left")
        .select(
            pl.lit(day).alias("date"),
            facet,
            pl.col("daily_active").fill_null(0).cast(pl.Int64),
            pl.col("daily_new").fill_null(0).cast(pl.Int64),
            (pl.col("cumulative_installs") + pl.col("daily_new").fill_null(0)).cast(pl.Int64).alias("cumulative_installs"),
        )
        .sort(facet)
    )
    return pl.concat([earlier, row])
