"""Per-install activity: the compact daily layer and the cumulative install table.

``instance_days`` (one row per registry_id and UTC day) is the only thing history-wide
metrics read, so a day's run never re-reads raw events of earlier days. ``instances``
folds every ``instance_days`` row up to a report date into one row per install.

Attributes are the latest **non-empty** value (the reference takes several of them from
the latest row only, so a pre-v4 heartbeat wipes them; reference quirk 16).
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar

import polars as pl

from usage_assets.common.versions import normalized_version
from usage_assets.daily.internal import InternalAllowlist, classify_internal

#: Install attributes carried forward as "latest non-empty value".
ATTRIBUTES: tuple[str, ...] = (
    "v",
    "py",
    "os",
    "arch",
    "cloud",
    "compute",
    "mode",
    "registry_mode",
    "storage",
    "auth",
    "federation",
    "search_backend",
    "embeddings_provider",
    "embeddings_backend_kind",
    "cloud_detection_method",
    "internal_only_deployment",
    "internal_deployment_type",
    "schema_version",
    # The collector's hash of the sender's IP: evidence that two installs are one deployment
    # (metrics/lineage.py). No install-based number reads it.
    "source_ip_hash",
)
#: Schema-v6 auth-path fields; taken together from the latest row that has a share.
AUTH_PATH_FIELDS: tuple[str, ...] = (
    "auth_path_share_24h",
    "auth_path_volume_bucket_24h",
    "auth_path_window_hours",
)
#: Counters kept as their maximum (column in raw_events -> column in the daily layer).
COUNTER_MAXIMA: dict[str, str] = {
    "servers_count": "max_servers",
    "agents_count": "max_agents",
    "skills_count": "max_skills",
    "peers_count": "max_peers",
    "search_queries_total": "max_search_queries_total",
    "search_queries_24h": "max_search_queries_24h",
    "search_queries_1h": "max_search_queries_1h",
    "uptime_hours": "max_uptime_hours",
}

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

VERSION_STRUCT = pl.Struct({"version": pl.String, "events": pl.Int64, "first_ts": pl.Datetime("ms", "UTC")})


def with_source_ip_hash(frame: FrameT) -> FrameT:
    """``frame`` with a null ``source_ip_hash`` column when it has none: raw_events and
    instance_days written before the column was kept (the lineage then finds no link)."""
    names = frame.collect_schema().names()
    return frame if "source_ip_hash" in names else frame.with_columns(pl.lit(None, dtype=pl.String).alias("source_ip_hash"))


def instance_days_from_events(events: pl.DataFrame, day: date) -> pl.DataFrame:
    """Summarize one day of ``raw_events`` into one row per registry_id.

    In: typed events of UTC ``day`` (``validation.RAW_EVENTS_SCHEMA``). Out, sorted by
    registry_id with the null id first:

    - ``date`` (Date), ``registry_id`` (String; **null** is one row summing the day's
      unidentified events, so event totals stay exact without re-reading raw events),
    - ``events``, ``startup_events``, ``heartbeat_events`` (Int64 counts),
    - ``first_ts``, ``last_ts`` (Datetime ms UTC),
    - every name in :data:`ATTRIBUTES` and :data:`AUTH_PATH_FIELDS` (latest non-empty
      value of the day, typed as in raw_events),
    - the maxima in :data:`COUNTER_MAXIMA` (Int64),
    - ``versions``: list of {version, events, first_ts}, ordered by first_ts.
    """
    # Stable: events of the same millisecond keep raw_events' order, so "latest" is deterministic.
    ordered = with_source_ip_hash(events).sort("ts", maintain_order=True)
    has_share = pl.col("auth_path_share_24h").is_not_null()
    summary = ordered.group_by("registry_id").agg(
        pl.len().cast(pl.Int64).alias("events"),
        (pl.col("event") == "startup").sum().cast(pl.Int64).alias("startup_events"),
        (pl.col("event") == "heartbeat").sum().cast(pl.Int64).alias("heartbeat_events"),
        pl.col("ts").min().alias("first_ts"),
        pl.col("ts").max().alias("last_ts"),
        *[pl.col(name).drop_nulls().last().alias(name) for name in ATTRIBUTES],
        *[pl.col(name).filter(has_share).last().alias(name) for name in AUTH_PATH_FIELDS],
        *[pl.col(raw).max().alias(kept) for raw, kept in COUNTER_MAXIMA.items()],
    )
    versions = (
        ordered.filter(pl.col("v").is_not_null())
        .group_by("registry_id", "v")
        .agg(pl.len().cast(pl.Int64).alias("events"), pl.col("ts").min().alias("first_ts"))
        .sort("first_ts", "v")
        .group_by("registry_id", maintain_order=True)
        .agg(pl.struct(pl.col("v").alias("version"), "events", "first_ts").alias("versions"))
    )
    return (
        summary.join(versions, on="registry_id", how="left", nulls_equal=True)
        .with_columns(
            pl.lit(day, dtype=pl.Date).alias("date"),
            pl.col("versions").cast(pl.List(VERSION_STRUCT)),
        )
        .select("date", "registry_id", pl.exclude("date", "registry_id"))
        .sort("registry_id", nulls_last=False)
    )


def instances_as_of(history: pl.LazyFrame, allowlist: InternalAllowlist) -> pl.DataFrame:
    """Fold ``instance_days`` rows (all days up to the report date) into one row per install.

    ``history`` is a lazy scan of the daily layer; only the columns used are read. Out,
    sorted by registry_id:

    - ``registry_id``; ``first_ts``/``last_ts``; ``first_seen``/``last_seen`` (UTC Dates);
    - ``age_days`` = days between first_seen and last_seen (0 = every event on one UTC
      day; 23:59Z then 00:01Z is 1), the reference's lifetime definition;
    - ``active_days`` (days with any event), ``events``, ``startup_events``, ``heartbeat_events``;
    - latest non-empty :data:`ATTRIBUTES` and :data:`AUTH_PATH_FIELDS`; counter maxima;
    - ``version_trajectory``: distinct versions in the order first seen, each once whatever
      its spelling (:func:`usage_assets.common.versions.normalized_version`: ``v1.35.0``
      then ``1.35.0`` is no upgrade); ``version_changes`` = its length - 1;
    - ``is_internal`` (Boolean) and ``internal_reason`` (String or null), see
      :func:`usage_assets.daily.internal.classify_internal`.
    """
    return _fold(_as_fold_rows(with_source_ip_hash(history).filter(pl.col("registry_id").is_not_null())), allowlist)


def instances_extended(previous: pl.DataFrame, day_rows: pl.DataFrame, allowlist: InternalAllowlist) -> pl.DataFrame:
    """The install table as of day D from the table as of D-1 (``previous``, an
    :func:`instances_as_of` output) and D's ``instance_days`` rows (``day_rows``): equal to
    :func:`instances_as_of` over every day up to D, at the cost of one day.

    Each install's row of ``previous`` stands for all its earlier days (first/last seen,
    active days, sums, maxima, latest non-empty values, its trajectory in order) and is
    folded with its row of day D as a day before it. The classification is made again
    (the allowlist may have changed). ``previous`` must hold every day before D (the
    caller's to check: a day ingested again since would be missed).
    """
    # Earlier versions keep their order ahead of any of day D: their first_ts are stand-ins
    # at the epoch, in trajectory order (day D's versions are all later).
    epoch = pl.datetime(1970, 1, 1, time_zone="UTC").dt.cast_time_unit("ms")
    trajectory = pl.col("version_trajectory").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    earlier = with_source_ip_hash(previous.lazy()).with_columns(
        trajectory.list.eval(
            pl.struct(
                pl.element().alias("version"),
                pl.lit(None, dtype=pl.Int64).alias("events"),
                (epoch + pl.duration(milliseconds=pl.int_range(pl.len()))).alias("first_ts"),
            )
        )
        .cast(pl.List(VERSION_STRUCT))
        .alias("versions")
    )
    today = _as_fold_rows(with_source_ip_hash(day_rows.lazy()).filter(pl.col("registry_id").is_not_null()))
    rows = pl.concat([earlier.select(today.collect_schema().names()), today], how="vertical")
    return _fold(rows, allowlist)


def _as_fold_rows(days: pl.LazyFrame) -> pl.LazyFrame:
    """``instance_days`` rows as the rows :func:`_fold` folds: each day is one active day
    that is both the first and the last seen, in (date, registry_id) order."""
    return days.select(
        "date",
        "registry_id",
        "first_ts",
        "last_ts",
        pl.col("date").alias("first_seen"),
        pl.col("date").alias("last_seen"),
        pl.lit(1, dtype=pl.Int64).alias("active_days"),
        "events",
        "startup_events",
        "heartbeat_events",
        *ATTRIBUTES,
        *AUTH_PATH_FIELDS,
        *COUNTER_MAXIMA.values(),
        "versions",
    ).sort("date", "registry_id").drop("date")


def _fold(rows: pl.LazyFrame, allowlist: InternalAllowlist) -> pl.DataFrame:
    """One row per install from its rows in time order (see :func:`instances_as_of`)."""
    has_share = pl.col("auth_path_share_24h").is_not_null()
    folded = rows.group_by("registry_id").agg(
        pl.col("first_ts").min(),
        pl.col("last_ts").max(),
        pl.col("first_seen").min(),
        pl.col("last_seen").max(),
        pl.col("active_days").sum(),
        pl.col("events").sum(),
        pl.col("startup_events").sum(),
        pl.col("heartbeat_events").sum(),
        *[pl.col(name).drop_nulls().last() for name in ATTRIBUTES],
        *[pl.col(name).filter(has_share).last() for name in AUTH_PATH_FIELDS],
        *[pl.col(kept).max() for kept in COUNTER_MAXIMA.values()],
    )
    trajectories = (
        rows.select("registry_id", "versions")
        .explode("versions")
        .unnest("versions")
        .filter(pl.col("version").is_not_null())
        .group_by("registry_id", normalized_version("version"))
        .agg(pl.col("first_ts").min())
        .sort("registry_id", "first_ts", "version")
        .group_by("registry_id", maintain_order=True)
        .agg(pl.col("version").alias("version_trajectory"))
    )
    instances = (
        folded.join(trajectories, on="registry_id", how="left")
        .with_columns(
            (pl.col("last_seen") - pl.col("first_seen")).dt.total_days().cast(pl.Int64).alias("age_days"),
            (pl.col("version_trajectory").list.len().cast(pl.Int64) - 1).clip(lower_bound=0).alias("version_changes"),
        )
        .sort("registry_id")
        .collect()
    )
    return classify_internal(instances, allowlist)
