"""What customer installs use: features, embeddings, search, sticky profiles and rankings.

Reference 6.1 (``feature_adoption``, ``embeddings_backend_breakdown``, ``search_stats``,
``sticky_profiles``/``sticky_cloud_compute`` and the three ranking tables). Every function
reads the install table as of report day D and counts customer installs only
(``~is_internal``), one row per install with its latest non-empty attributes and its
counter maxima over all days.

Differences from the reference: every feature row counts installs (the reference's
Heartbeat row mixes distinct installs with event rows, quirk 13) and percentages have one
decimal; search statistics leave unidentified events out (the reference groups them by
cloud/compute into pseudo-installs that enter the average, quirk 27); embeddings and
sticky profiles count customers only; ranking ties break by events, then registry_id,
instead of the order installs appeared in the export.
"""

from __future__ import annotations

import polars as pl

from usage_assets.common.formatting import UNKNOWN, pct, short_id

#: An install is sticky once its first and last events are this many UTC days apart (reference 6.1).
STICKY_MIN_AGE_DAYS = 3


def _customers(instances: pl.DataFrame) -> pl.DataFrame:
    return instances.filter(~pl.col("is_internal"))


def feature_adoption(instances: pl.DataFrame) -> list[dict]:
    """Customer installs with each feature on, as of the install's latest report.

    ``instances``: ``is_internal``, ``federation`` (Boolean), ``mode`` (String),
    ``heartbeat_events`` (Int64). Rows ``{feature, enabled, disabled, rate_pct, unit}`` in
    this order: Federation (latest federation true), With-gateway mode and Registry-only
    mode (latest ``mode``), Heartbeat (at least one heartbeat ever); ``disabled`` = customers
    - enabled (an install that never reported the field is disabled), ``rate_pct`` =
    enabled / customers (1 dp), ``unit`` always ``"installs"``.
    """
    customers = _customers(instances)
    enabled = customers.select(
        pl.col("federation").fill_null(False).sum().alias("Federation"),
        (pl.col("mode") == "with-gateway").fill_null(False).sum().alias("With-gateway mode"),
        (pl.col("mode") == "registry-only").fill_null(False).sum().alias("Registry-only mode"),
        (pl.col("heartbeat_events") >= 1).fill_null(False).sum().alias("Heartbeat (opt-out, on by default)"),
    ).row(0, named=True)
    return [
        {
            "feature": feature,
            "enabled": int(n),
            "disabled": customers.height - int(n),
            "rate_pct": pct(n, customers.height),
            "unit": "installs",
        }
        for feature, n in enabled.items()
    ]


def embeddings_backend_breakdown(instances: pl.DataFrame) -> list[dict]:
    """Customer installs per latest ``embeddings_backend_kind`` (never reported -> ``"unknown"``).

    Rows ``{kind, instances, percentage}`` (percentage of customers, 1 dp), sorted
    (-instances, kind). No customers gives ``[]``.
    """
    customers = _customers(instances)
    counted = (
        customers.group_by(pl.col("embeddings_backend_kind").fill_null(UNKNOWN).alias("kind"))
        .len("instances")
        .sort(["instances", "kind"], descending=[True, False])
    )
    return [
        {"kind": kind, "instances": int(n), "percentage": pct(n, customers.height)}
        for kind, n in counted.iter_rows()
    ]


def search_stats(instances: pl.DataFrame) -> dict:
    """Semantic-search use of customer installs, from each install's counter maxima.

    ``instances``: ``is_internal``, ``registry_id``, ``max_search_queries_total``,
    ``max_search_queries_24h``, ``max_search_queries_1h`` (Int64, null = never reported,
    counted as 0). Keys: ``lifetime_sum`` (sum of the lifetime counters), ``lifetime_avg``
    (per customer, 1 dp; 0.0 without customers), ``lifetime_max``, ``instances_with_search``
    (lifetime counter > 0), ``active_instance_names`` (their short ids, sorted),
    ``sum_24h`` and ``sum_1h`` (sums of each install's largest 24 h / 1 h counter), and
    ``customers`` (the average's denominator). Counters are queries, not USD or days.
    """
    customers = _customers(instances).with_columns(
        pl.col("max_search_queries_total", "max_search_queries_24h", "max_search_queries_1h").fill_null(0)
    )
    lifetime = customers["max_search_queries_total"]
    searching = customers.filter(pl.col("max_search_queries_total") > 0)
    return {
        "lifetime_sum": int(lifetime.sum()),
        "lifetime_avg": round(lifetime.sum() / customers.height, 1) if customers.height else 0.0,
        "lifetime_max": int(lifetime.max() or 0),
        "instances_with_search": searching.height,
        "active_instance_names": sorted(short_id(registry_id) for registry_id in searching["registry_id"]),
        "sum_24h": int(customers["max_search_queries_24h"].sum()),
        "sum_1h": int(customers["max_search_queries_1h"].sum()),
        "customers": customers.height,
    }


def _profile_counts(frame: pl.DataFrame, facets: tuple[str, ...]) -> dict[str, int]:
    key = pl.concat_str([pl.col(facet).fill_null(UNKNOWN) for facet in facets], separator="/")
    counted = frame.group_by(key.alias("key")).len().sort(["len", "key"], descending=[True, False])
    return dict(counted.iter_rows())


def sticky_breakdown(instances: pl.DataFrame) -> dict:
    """Deployment profiles of sticky customers (``age_days`` >= 3).

    ``instances``: ``is_internal``, ``age_days``, ``cloud``, ``compute``, ``storage``,
    ``auth``. Keys ``sticky_profiles`` {"cloud/compute/storage/auth": installs} and
    ``sticky_cloud_compute`` {"cloud/compute": installs}; a null value reads
    ``"unknown"``; each sorted (-installs, key).
    """
    sticky = _customers(instances).filter(pl.col("age_days") >= STICKY_MIN_AGE_DAYS)
    return {
        "sticky_profiles": _profile_counts(sticky, ("cloud", "compute", "storage", "auth")),
        "sticky_cloud_compute": _profile_counts(sticky, ("cloud", "compute")),
    }


def _ranked(rows: pl.DataFrame, score: str, tie: str, columns: tuple[str, ...], top: int) -> list[dict]:
    """The first ``top`` rows with ``score`` > 0, sorted (-score, -tie, registry_id), numbered from 1."""
    ranked = rows.filter(pl.col(score) > 0).sort([score, tie, "registry_id"], descending=[True, True, False])
    return [
        {"rank": rank, "registry_id": short_id(row["registry_id"]), **{name: row[name] for name in columns}}
        for rank, row in enumerate(ranked.head(top).iter_rows(named=True), start=1)
    ]


def rankings(instances: pl.DataFrame, top: int = 10) -> dict:
    """The three ranking tables of customer installs, ``top`` rows each.

    ``instances``: the install table (``registry_id``, ``is_internal``, ``events``,
    ``cloud``, ``compute``, ``auth``, ``v``, ``embeddings_backend_kind``,
    ``embeddings_provider``, the ``max_*`` counters, ``version_changes``, ``age_days``,
    ``version_trajectory``). Null counters count as 0 and null attributes read ``"unknown"``;
    ``registry_id`` is the short id.

    - ``most_active``: {rank, registry_id, cloud, compute, auth, version, embeddings
      (backend kind, or the provider when the kind is unknown), servers, agents, skills,
      search, score}, score = servers + agents + skills + lifetime search queries; score 0
      left out; sorted (-score, -events, registry_id);
    - ``largest_catalogs``: {rank, registry_id, cloud, compute, version, servers, agents,
      skills, catalog}, catalog = servers + agents + skills > 0; sorted (-catalog, -events,
      registry_id);
    - ``most_engaged``: {rank, registry_id, cloud, compute, version_changes, age_days,
      trajectory} for customers that changed version at least once; sorted
      (-version_changes, -age_days, registry_id).

    Raises ``ValueError`` when ``top`` < 1.
    """
    if top < 1:
        raise ValueError(f"rankings: top must be at least 1, got {top}")
    kind = pl.col("embeddings_backend_kind")
    rows = _customers(instances).select(
        "registry_id",
        "events",
        "version_changes",
        "age_days",
        pl.col("version_trajectory").alias("trajectory"),
        pl.col("cloud", "compute", "auth").fill_null(UNKNOWN),
        pl.col("v").fill_null(UNKNOWN).alias("version"),
        pl.when(kind.is_not_null() & (kind != UNKNOWN))
        .then(kind)
        .otherwise(pl.col("embeddings_provider").fill_null(UNKNOWN))
        .alias("embeddings"),
        pl.col("max_servers").fill_null(0).alias("servers"),
        pl.col("max_agents").fill_null(0).alias("agents"),
        pl.col("max_skills").fill_null(0).alias("skills"),
        pl.col("max_search_queries_total").fill_null(0).alias("search"),
    ).with_columns(
        pl.sum_horizontal("servers", "agents", "skills", "search").alias("score"),
        pl.sum_horizontal("servers", "agents", "skills").alias("catalog"),
    )
    active = ("cloud", "compute", "auth", "version", "embeddings", "servers", "agents", "skills", "search", "score")
    catalog = ("cloud", "compute", "version", "servers", "agents", "skills", "catalog")
    engaged = ("cloud", "compute", "version_changes", "age_days", "trajectory")
    return {
        "most_active": _ranked(rows, "score", "events", active, top),
        "largest_catalogs": _ranked(rows, "catalog", "events", catalog, top),
        "most_engaged": _ranked(rows, "version_changes", "age_days", engaged, top),
    }
