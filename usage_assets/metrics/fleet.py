"""Fleet summary: key metrics, stickiness, install distributions and version adoption.

Inputs are the cumulative ``instances`` table for report day D and a lazy scan of the
``instance_days`` layer up to D. Output is a JSON-ready dict whose keys follow the
reference's ``metrics-D.json`` where the two share a meaning (reference 6.1):
``key_metrics``, ``stickiness``, ``per_cloud_unique_installs``, ``version_adoption``,
``internal_instance_ids``. Differences (customer definition, per-cloud counting once per
install, percentages with one decimal) are listed in ``docs/differences.md``.
"""

from __future__ import annotations

from datetime import date

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


def fleet_metrics(instances: pl.DataFrame, history: pl.LazyFrame, day: date) -> dict:
    """Everything the report's fleet sections need, as of the end of UTC ``day``.

    ``instances``: the cumulative install table (``activity.instances_as_of``);
    ``history``: lazy ``instance_days`` for every day up to ``day``.
    """
    customers = instances.filter(~pl.col("is_internal"))
    internal = instances.filter(pl.col("is_internal")).sort("registry_id")
    active = instances.filter(pl.col("last_seen") == day)
    metrics = key_metrics(history, instances.height)
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
        "version_adoption": version_adoption(history, metrics["total_events"], instances.height),
        "internal_instance_ids": internal["registry_id"].to_list(),
        "internal_instances": [
            {"registry_id": row["registry_id"], "reason": row["internal_reason"], "version": row["v"]}
            for row in internal.iter_rows(named=True)
        ],
    }
