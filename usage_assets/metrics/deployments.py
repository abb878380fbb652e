"""Estimated deployments: the chains of linked installs, and their lifetimes.

A deployment is a chain of installs joined by the ``linked`` rows of ``install_lineage``
(:mod:`usage_assets.metrics.lineage`); an install no link touches is a deployment of one.
Lifetime is measured over the chain: the UTC days between its first member's first event
and its last member's last event, the same definition as an install's ``age_days``. A
chain is internal when any member is (the customer rule applied to deployments).

These numbers sit beside the install counts and never replace them: nothing here changes
an install-based figure. No Dagster here.
"""

from __future__ import annotations

import polars as pl

from usage_assets.common.formatting import pct
from usage_assets.metrics.fleet import LIFETIME_BUCKETS
from usage_assets.metrics.lineage import LINKED, lineage_counts

#: Rows of the "longest chains" table.
LONGEST_CHAINS = 10

#: ``deployments``: one row per estimated deployment.
DEPLOYMENTS_SCHEMA = pl.Schema(
    {
        "deployment_id": pl.String,  # the registry_id of its first install
        "registry_ids": pl.List(pl.String),  # members in time order
        "installs": pl.Int64,
        "first_ts": pl.Datetime("ms", "UTC"),
        "last_ts": pl.Datetime("ms", "UTC"),
        "first_seen": pl.Date,
        "last_seen": pl.Date,
        "age_days": pl.Int64,
        "is_internal": pl.Boolean,
        "cloud": pl.String,  # of the latest member
        "compute": pl.String,
        "version": pl.String,
    }
)


def chain_ids(registry_ids: list[str], links: list[tuple[str, str]]) -> dict[str, str]:
    """registry_id -> the first registry_id of its chain. ``links``: (predecessor,
    successor) pairs where each install has at most one predecessor and one successor
    (the ``linked`` rows of a lineage), so chains are simple paths."""
    predecessor = {successor: before for before, successor in links}
    root: dict[str, str] = {}
    for registry_id in registry_ids:
        path = [registry_id]
        while path[-1] in predecessor and path[-1] not in root:
            path.append(predecessor[path[-1]])
        first = root.get(path[-1], path[-1])
        for member in path:
            root[member] = first
    return root


def deployments_from_lineage(instances: pl.DataFrame, lineage: pl.DataFrame) -> pl.DataFrame:
    """Group ``instances`` (the install table of day D) into deployments by the linked
    rows of ``lineage`` (``install_lineage`` of D). Out: :data:`DEPLOYMENTS_SCHEMA`,
    sorted by deployment_id; every install belongs to exactly one deployment."""
    linked = lineage.filter(pl.col("status") == LINKED).select("predecessor", "successor")
    ids = instances["registry_id"].to_list()
    roots = chain_ids(ids, list(linked.iter_rows()))
    members = instances.with_columns(pl.Series("deployment_id", [roots[each] for each in ids], dtype=pl.String)).sort(
        "first_ts", "registry_id"
    )
    return (
        members.group_by("deployment_id")
        .agg(
            pl.col("registry_id").alias("registry_ids"),
            pl.len().cast(pl.Int64).alias("installs"),
            pl.col("first_ts").min(),
            pl.col("last_ts").max(),
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
            pl.col("is_internal").any(),
            pl.col("cloud").last(),
            pl.col("compute").last(),
            pl.col("v").last().alias("version"),
        )
        .with_columns((pl.col("last_seen") - pl.col("first_seen")).dt.total_days().cast(pl.Int64).alias("age_days"))
        .select(list(DEPLOYMENTS_SCHEMA))
        .cast(DEPLOYMENTS_SCHEMA)
        .sort("deployment_id")
    )


def deployment_summary(deployments: pl.DataFrame, lineage: pl.DataFrame) -> dict:
    """What the report's "Estimated deployments" section shows, over customer
    deployments (no member internal):

    - ``deployments``, ``installs``, ``installs_per_deployment`` (2 decimals),
      ``chained`` (deployments of 2+ installs) and ``internal_deployments``;
    - ``one_day_wonders`` / ``one_day_wonder_pct`` (age 0 over the chain);
    - ``lifetime_bucket_counts`` / ``lifetime_bucket_pct``: ages >= 3/7/14/30 days;
    - ``links``, ``ambiguous_links``, ``ambiguous_installs`` (all installs, internal too);
    - ``longest``: the :data:`LONGEST_CHAINS` longest chains of 2+ installs (age, then
      installs, descending; then id), each with its ids, days and lifetime.
    """
    customers = deployments.filter(~pl.col("is_internal"))
    total, installs = customers.height, int(customers["installs"].sum()) if customers.height else 0
    ages = customers["age_days"]
    counts = {str(t): int((ages >= t).sum()) for t in LIFETIME_BUCKETS}
    one_day = int((ages == 0).sum())
    longest = (
        customers.filter(pl.col("installs") >= 2)
        .sort(["age_days", "installs", "deployment_id"], descending=[True, True, False])
        .head(LONGEST_CHAINS)
    )
    return {
        "deployments": total,
        "installs": installs,
        "installs_per_deployment": round(installs / total, 2) if total else 0.0,
        "chained": int((customers["installs"] >= 2).sum()),
        "internal_deployments": deployments.height - total,
        "one_day_wonders": one_day,
        "one_day_wonder_pct": pct(one_day, total),
        "lifetime_bucket_counts": counts,
        "lifetime_bucket_pct": {t: pct(n, total) for t, n in counts.items()},
        **lineage_counts(lineage),
        "longest": [
            {
                "deployment_id": row["deployment_id"],
                "registry_ids": row["registry_ids"],
                "installs": row["installs"],
                "first_seen": row["first_seen"].isoformat(),
                "last_seen": row["last_seen"].isoformat(),
                "age_days": row["age_days"],
                "cloud": row["cloud"],
                "compute": row["compute"],
            }
            for row in longest.iter_rows(named=True)
        ],
    }
