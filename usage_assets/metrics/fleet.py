"""Fleet summary: key metrics, stickiness, install distributions and version adoption.

Inputs are the cumulative ``instances`` table for report day D and a lazy scan of the
``instance_days`` layer up to D. Output is a JSON-ready dict whose keys follow the
reference's ``metrics-D.json`` where the two share a meaning (reference 6.1):
``key_metrics``, ``stickiness``, ``per_cloud_unique_installs``, ``version_adoption``,
``internal_instance_ids``. Differences (customer definition, per-cloud counting once per
install, percentages with one decimal) are listed in ``docs/differences.md``.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from usage_assets.common.formatting import UNKNOWN, pct, short_id
from usage_assets.common.versions import normalized_version, version_spellings
from usage_assets.metrics.versions import build_kind
from usage_assets.sources.export_format import format_ts

#: Lifetime thresholds of the stickiness buckets, in days (reference 6.1).
LIFETIME_BUCKETS = (3, 7, 14, 30)
#: Facets of the unique-install distribution chart, in panel order (reference 6.3).
DISTRIBUTION_FACETS = ("cloud", "compute", "storage", "auth", "arch", "mode")




def key_metrics(history: pl.LazyFrame, identified_instances: int) -> dict:
    """Event totals over every day of ``history`` (reference ``key_metrics``).

    ``total_events`` counts de-duplicated valid events of every install, unidentified
    ones included; ``earliest_ts``/``latest_ts`` are export-format strings or ``"N/A"``.
    """
    totals = history.select(
        pl.col("events").sum().alias("total_events"),
        pl.col("startup_events").sum().alias("startup_events"),
        pl.col("heartbeat_events").sum().alias("heartbeat_events"),
        pl.col("events").filter(pl.col("registry_id").is_null()).sum().alias("null_registry_id_count"),
        pl.col("first_ts").min().alias("earliest"),
        pl.col("last_ts").max().alias("latest"),
    ).collect().row(0, named=True)
    return {
        "total_events": int(totals["total_events"] or 0),
        "startup_events": int(totals["startup_events"] or 0),
        "heartbeat_events": int(totals["heartbeat_events"] or 0),
        "identified_instances": identified_instances,
        "null_registry_id_count": int(totals["null_registry_id_count"] or 0),
        "earliest_ts": format_ts(totals["earliest"]) if totals["earliest"] else "N/A",
        "latest_ts": format_ts(totals["latest"]) if totals["latest"] else "N/A",
    }


def longest_lived(installs: pl.DataFrame) -> dict | None:
    """The install with the largest ``age_days`` as a row dict (ties: more ``events``, then
    the smaller ``registry_id``), or None when ``installs`` is empty."""
    if installs.is_empty():
        return None
    return installs.sort(["age_days", "events", "registry_id"], descending=[True, True, False]).row(0, named=True)


def stickiness(customers: pl.DataFrame) -> dict:
    """Lifetime stickiness over customer installs (reference 6.1 ``stickiness``).

    ``customers`` needs ``registry_id``, ``age_days``, ``events``. One-day wonders have
    age 0; ``lifetime_bucket_counts[t]`` counts ages >= t (cumulative) for t in 3/7/14/30.
    The longest-lived customer breaks ties by more events, then smaller registry_id.
    """
    total = customers.height
    ages = customers["age_days"]
    counts = {str(t): int((ages >= t).sum()) for t in LIFETIME_BUCKETS}
    one_day = int((ages == 0).sum())
    longest = longest_lived(customers)
    return {
        "total_non_internal": total,
        "sticky_3plus_days": counts["3"],
        "one_day_wonders": one_day,
        "one_day_wonder_pct": pct(one_day, total),
        "lifetime_bucket_counts": counts,
        "lifetime_bucket_pct": {t: pct(n, total) for t, n in counts.items()},
        "longest_non_internal_id": short_id(longest["registry_id"]) if longest else None,
        "longest_non_internal_days": int(longest["age_days"]) if longest else None,
    }


def value_counts(instances: pl.DataFrame, facet: str) -> dict[str, int]:
    """Installs per value of ``facet`` (null -> ``"unknown"``), as a plain dict."""
    counted = (
        instances.select(pl.col(facet).cast(pl.String).fill_null(UNKNOWN))
        .group_by(facet)
        .len()
        .sort(["len", facet], descending=[True, False])
    )
    return dict(zip(counted[facet].to_list(), counted["len"].to_list()))


def install_distributions(instances: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Unique installs per value of every facet in :data:`DISTRIBUTION_FACETS`."""
    return {facet: value_counts(instances, facet) for facet in DISTRIBUTION_FACETS}


def version_adoption(history: pl.LazyFrame, total_events: int, identified: int) -> list[dict]:
    """Rows ``{version, spellings, build, events, percentage, instances, instance_percentage}``.

    A version is counted once whatever its spelling (``v1.35.0`` is ``1.35.0``:
    :func:`usage_assets.common.versions.normalized_version`); ``spellings`` lists the
    original strings reported, sorted. ``events`` counts every event that reported the
    version (unidentified included); ``instances`` the distinct installs that ever
    reported it. Sorted by events descending, then version. ``build`` is community /
    internal / unknown.
    """
    per_version = (
        history.select("registry_id", "versions")
        .explode("versions")
        .unnest("versions")
        .filter(pl.col("version").is_not_null())
        .group_by(normalized_version("version"))
        .agg(
            pl.col("events").sum(),
            pl.col("registry_id").drop_nulls().n_unique().cast(pl.Int64).alias("instances"),
            version_spellings("version"),
        )
        .sort(["events", "version"], descending=[True, False])
        .collect()
    )
    return _adoption_rows(per_version, total_events, identified)


def _adoption_rows(per_version: pl.DataFrame, total_events: int, identified: int) -> list[dict]:
    """The rows of :func:`version_adoption` from a frame ``version, events, instances,
    spellings`` in their order."""
    return [
        {
            "version": row["version"],
            "spellings": row["spellings"],
            "build": build_kind(row["version"]),
            "events": int(row["events"]),
            "percentage": pct(row["events"], total_events),
            "instances": int(row["instances"]),
            "instance_percentage": pct(row["instances"], identified),
        }
        for row in per_version.iter_rows(named=True)
    ]


def key_metrics_extended(previous: dict, day_layer: pl.DataFrame, identified_instances: int) -> dict:
    """:func:`key_metrics` of day D from those of D-1 (``previous``, over every day up to
    D-1) and ``day_layer`` (``instance_days`` of D): the totals add up, the earliest event
    stays D-1's (D's own when there was none), and the latest is D's newest when D has
    events, since every event of day D is later than any of an earlier day."""
    today = key_metrics(day_layer.lazy(), identified_instances)
    summed = ("total_events", "startup_events", "heartbeat_events", "null_registry_id_count")
    return {
        **{name: previous[name] + today[name] for name in summed},
        "identified_instances": identified_instances,
        "earliest_ts": previous["earliest_ts"] if previous["earliest_ts"] != "N/A" else today["earliest_ts"],
        "latest_ts": today["latest_ts"] if today["latest_ts"] != "N/A" else previous["latest_ts"],
    }


def version_adoption_extended(
    previous: list[dict], day_layer: pl.DataFrame, instances: pl.DataFrame, total_events: int
) -> list[dict]:
    """:func:`version_adoption` of day D from its rows of D-1 (``previous``) and
    ``day_layer`` (``instance_days`` of D): events add up and spellings unite; the installs
    that ever reported a version are counted from the install table of D (``instances``:
    each install's ``version_trajectory`` lists every version it reported, once whatever
    its spelling), so no earlier day is read."""
    schema = {"version": pl.String, "events": pl.Int64, "spellings": pl.List(pl.String)}
    before = pl.DataFrame(
        [(row["version"], row["events"], row["spellings"]) for row in previous], schema=schema, orient="row"
    )
    today = (
        day_layer.select("versions")
        .explode("versions")
        .unnest("versions")
        .filter(pl.col("version").is_not_null())
        .group_by(normalized_version("version"))
        .agg(pl.col("events").sum().cast(pl.Int64), pl.col("version").unique().alias("spellings"))
    )
    reported = (
        instances.select("version_trajectory")
        .explode("version_trajectory")
        .drop_nulls()
        .group_by(pl.col("version_trajectory").alias("version"))
        .agg(pl.len().cast(pl.Int64).alias("instances"))
    )
    per_version = (
        pl.concat([before, today.select(list(schema)).cast(schema)])
        .group_by("version")
        .agg(pl.col("events").sum(), pl.col("spellings").list.explode(keep_nulls=False, empty_as_null=False).unique().sort())
        .join(reported, on="version", how="left")
        .with_columns(pl.col("instances").fill_null(0))
        .sort(["events", "version"], descending=[True, False])
    )
    return _adoption_rows(per_version, total_events, instances.height)


def fleet_metrics(instances: pl.DataFrame, history: pl.LazyFrame, day: date) -> dict:
    """Everything the report's fleet sections need, as of the end of UTC ``day``.

    ``instances``: the cumulative install table (``activity.instances_as_of``);
    ``history``: lazy ``instance_days`` for every day up to ``day``.
    """
    metrics = key_metrics(history, instances.height)
    return fleet_summary(instances, day, metrics, version_adoption(history, metrics["total_events"], instances.height))


def fleet_metrics_extended(previous: dict, instances: pl.DataFrame, day_layer: pl.DataFrame, day: date) -> dict:
    """:func:`fleet_metrics` of ``day`` from the ``metrics`` document of ``day - 1``
    (``previous``) and ``day_layer`` (``instance_days`` of D) instead of every day's
    layer: equal to it when ``previous`` is the document of D-1 computed over the same
    history (:func:`key_metrics_extended`, :func:`version_adoption_extended`); the rest
    reads only the install table of D.

    Raises ``ValueError`` when ``previous`` is not the document of D-1 or lacks the
    totals or the versions' events and spellings (a document of another shape).
    """
    if previous.get("report_date") != (day - timedelta(days=1)).isoformat():
        raise ValueError(f"fleet metrics of {day} extend those of the day before, not {previous.get('report_date')}")
    totals = previous.get("key_metrics", {})
    carried = ("total_events", "startup_events", "heartbeat_events", "null_registry_id_count", "earliest_ts", "latest_ts")
    rows = previous.get("version_adoption", [])
    if any(name not in totals for name in carried) or any({"version", "events", "spellings"} - row.keys() for row in rows):
        raise ValueError(f"fleet metrics of {day} extend a document with the event totals and version spellings")
    metrics = key_metrics_extended(previous["key_metrics"], day_layer, instances.height)
    adoption = version_adoption_extended(previous["version_adoption"], day_layer, instances, metrics["total_events"])
    return fleet_summary(instances, day, metrics, adoption)


def fleet_summary(instances: pl.DataFrame, day: date, metrics: dict, adoption: list[dict]) -> dict:
    """The document of :func:`fleet_metrics` from the install table of ``day`` and the two
    parts that read history: ``metrics`` (:func:`key_metrics`) and ``adoption``
    (:func:`version_adoption`)."""
    customers = instances.filter(~pl.col("is_internal"))
    internal = instances.filter(pl.col("is_internal")).sort("registry_id")
    active = instances.filter(pl.col("last_seen") == day)
    lifetimes = customers["age_days"]
    return {
        "report_date": day.isoformat(),
        "key_metrics": metrics,
        "stickiness": stickiness(customers),
        "customer_lifetime": {
            "customers": customers.height,
            "mean_days": round(float(lifetimes.mean()), 1) if customers.height else None,
            "median_days": float(lifetimes.median()) if customers.height else None,
            "max_days": int(lifetimes.max()) if customers.height else None,
            "multi_day": int((lifetimes > 0).sum()),
        },
        "per_cloud_unique_installs": value_counts(instances, "cloud"),
        "install_distributions": {
            "all_installs": install_distributions(instances),
            "active_on_report_date": install_distributions(active),
        },
        "active_on_report_date": {
            "installs": active.height,
            "customers": int((~active["is_internal"]).sum()),
            "new_installs": int((instances["first_seen"] == day).sum()),
        },
        "version_adoption": adoption,
        "internal_instance_ids": internal["registry_id"].to_list(),
        "internal_instances": [
            {"registry_id": row["registry_id"], "reason": row["internal_reason"], "version": row["v"]}
            for row in internal.iter_rows(named=True)
        ],
    }
