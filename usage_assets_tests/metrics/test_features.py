"""Feature adoption, embeddings, search, sticky profiles and rankings of customer installs."""

import polars as pl
import pytest

from usage_assets.metrics.features import (
    embeddings_backend_breakdown,
    feature_adoption,
    rankings,
    search_stats,
    sticky_breakdown,
)

SCHEMA = {
    "registry_id": pl.String, "is_internal": pl.Boolean, "events": pl.Int64,
    "heartbeat_events": pl.Int64, "federation": pl.Boolean, "mode": pl.String,
    "embeddings_backend_kind": pl.String, "embeddings_provider": pl.String,
    "max_servers": pl.Int64, "max_agents": pl.Int64, "max_skills": pl.Int64,
    "max_search_queries_total": pl.Int64, "max_search_queries_24h": pl.Int64,
    "max_search_queries_1h": pl.Int64, "age_days": pl.Int64,
    "cloud": pl.String, "compute": pl.String, "storage": pl.String, "auth": pl.String,
    "v": pl.String, "version_changes": pl.Int64, "version_trajectory": pl.List(pl.String),
}


def install(n: int, **columns) -> dict:
    """Install number ``n``: a customer with nothing reported unless given."""
    defaults = {"registry_id": f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-4000-8000-00000000000{n}",
                "is_internal": False, "events": 1, "heartbeat_events": 0, "age_days": 0, "version_changes": 0}
    return {**dict.fromkeys(SCHEMA), **defaults, **columns}


AWS_ECS = {"cloud": "aws", "compute": "ecs", "storage": "documentdb", "auth": "keycloak"}
C1 = install(
    1, events=50, heartbeat_events=10, federation=True, mode="with-gateway",
    embeddings_backend_kind="bedrock", max_servers=5, max_agents=2, max_skills=1,
    max_search_queries_total=100, max_search_queries_24h=10, max_search_queries_1h=2,
    age_days=10, v="1.31.0", version_changes=2, version_trajectory=["1.29.0", "1.30.0", "1.31.0"], **AWS_ECS,
)
C2 = install(
    2, events=20, federation=False, mode="registry-only",
    embeddings_backend_kind="unknown", embeddings_provider="litellm",
    max_servers=0, max_agents=0, max_skills=0, max_search_queries_total=108, max_search_queries_24h=7,
    age_days=5, v="1.30.0", version_changes=1, version_trajectory=["1.29.0", "1.30.0"], **AWS_ECS,
)
C3 = install(3, events=5, heartbeat_events=3, max_servers=3, age_days=3, compute="docker", storage="file")
C4 = install(
    4, heartbeat_events=1, federation=False, mode="with-gateway", embeddings_backend_kind="sentence-transformers",
    cloud="gcp", compute="kubernetes", storage="mongodb-ce", auth="entra", v="1.31.0", version_trajectory=["1.31.0"],
)
C5 = install(
    5, events=30, heartbeat_events=5, federation=True, mode="with-gateway", embeddings_backend_kind="bedrock",
    max_servers=5, max_agents=2, max_skills=1, max_search_queries_total=0,
    age_days=10, v="1.31.0", version_changes=1, version_trajectory=["1.30.0", "1.31.0"], **AWS_ECS,
)
# Internal: large everywhere, and must not appear in any customer output.
I6 = install(
    6, is_internal=True, events=1000, heartbeat_events=100, federation=True, mode="registry-only",
    embeddings_backend_kind="openai", max_servers=100, max_search_queries_total=1000, max_search_queries_24h=50,
    age_days=30, v="1.32.0-1-gabc-main", version_changes=5, version_trajectory=list("abcdef"), **AWS_ECS,
)
FLEET = pl.DataFrame([C1, C2, C3, C4, C5, I6], schema=SCHEMA)
NOBODY = FLEET.clear()


def test_feature_adoption_counts_customer_installs_in_every_row():
    # 5 customers. Federation: C1, C5. With-gateway: C1, C4, C5. Registry-only: C2.
    # Heartbeat: C1, C3, C4, C5 (C2 only sent startups).
    assert feature_adoption(FLEET) == [
        {"feature": "Federation", "enabled": 2, "disabled": 3, "rate_pct": 40.0, "unit": "installs"},
        {"feature": "With-gateway mode", "enabled": 3, "disabled": 2, "rate_pct": 60.0, "unit": "installs"},
        {"feature": "Registry-only mode", "enabled": 1, "disabled": 4, "rate_pct": 20.0, "unit": "installs"},
        {"feature": "Heartbeat (opt-out, on by default)", "enabled": 4, "disabled": 1, "rate_pct": 80.0,
         "unit": "installs"},
    ]
    assert {row["rate_pct"] for row in feature_adoption(NOBODY)} == {0.0}


def test_embeddings_breakdown_counts_never_reported_as_unknown():
    # bedrock C1, C5; unknown C2 (reported) and C3 (never); sentence-transformers C4.
    assert embeddings_backend_breakdown(FLEET) == [
        {"kind": "bedrock", "instances": 2, "percentage": 40.0},
        {"kind": "unknown", "instances": 2, "percentage": 40.0},
        {"kind": "sentence-transformers", "instances": 1, "percentage": 20.0},
    ]
    assert embeddings_backend_breakdown(NOBODY) == []


def test_search_stats_over_customers_only():
    # Lifetime: 100 + 108 + 0 + 0 + 0 = 208, average 208 / 5 = 41.6; 24 h: 10 + 7; 1 h: 2.
    assert search_stats(FLEET) == {
        "lifetime_sum": 208,
        "lifetime_avg": 41.6,
        "lifetime_max": 108,
        "instances_with_search": 2,
        "active_instance_names": ["11111111-000...", "22222222-000..."],
        "sum_24h": 17,
        "sum_1h": 2,
        "customers": 5,
    }
    assert search_stats(NOBODY) == {
        "lifetime_sum": 0, "lifetime_avg": 0.0, "lifetime_max": 0, "instances_with_search": 0,
        "active_instance_names": [], "sum_24h": 0, "sum_1h": 0, "customers": 0,
    }


def test_sticky_breakdown_counts_customers_of_three_days_or_more():
    # Sticky: C1, C2, C5 (aws/ecs/documentdb/keycloak) and C3 (cloud and auth never reported);
    # C4 is a one-day wonder.
    assert sticky_breakdown(FLEET) == {
        "sticky_profiles": {"aws/ecs/documentdb/keycloak": 3, "unknown/docker/file/unknown": 1},
        "sticky_cloud_compute": {"aws/ecs": 3, "unknown/docker": 1},
    }


def test_most_active_ranks_by_score_then_events():
    # Scores: C1 5+2+1+100 = 108 (50 events), C2 0+0+0+108 = 108 (20 events), C5 8, C3 3;
    # C4 scores 0 and is left out.
    most_active = rankings(FLEET)["most_active"]
    assert [(row["rank"], row["registry_id"], row["score"]) for row in most_active] == [
        (1, "11111111-000...", 108), (2, "22222222-000...", 108), (3, "55555555-000...", 8), (4, "33333333-000...", 3),
    ]
    assert most_active[0] == {
        "rank": 1, "registry_id": "11111111-000...", "cloud": "aws", "compute": "ecs", "auth": "keycloak",
        "version": "1.31.0", "embeddings": "bedrock", "servers": 5, "agents": 2, "skills": 1, "search": 100,
        "score": 108,
    }
    # Kind "unknown" falls back to the provider; with neither, "unknown".
    assert most_active[1]["embeddings"] == "litellm"
    assert most_active[3] == {
        "rank": 4, "registry_id": "33333333-000...", "cloud": "unknown", "compute": "docker", "auth": "unknown",
        "version": "unknown", "embeddings": "unknown", "servers": 3, "agents": 0, "skills": 0, "search": 0,
        "score": 3,
    }


def test_largest_catalogs_and_most_engaged():
    ranked = rankings(FLEET)
    # Catalogs: C1 8 (50 events) before C5 8 (30 events), C3 3; C2 and C4 have none.
    assert [(row["registry_id"], row["catalog"]) for row in ranked["largest_catalogs"]] == [
        ("11111111-000...", 8), ("55555555-000...", 8), ("33333333-000...", 3),
    ]
    assert set(ranked["largest_catalogs"][0]) == {
        "rank", "registry_id", "cloud", "compute", "version", "servers", "agents", "skills", "catalog",
    }
    # Changes: C1 2; C5 and C2 1 each, C5 older (10 days vs 5).
    assert ranked["most_engaged"] == [
        {"rank": 1, "registry_id": "11111111-000...", "cloud": "aws", "compute": "ecs", "version_changes": 2,
         "age_days": 10, "trajectory": ["1.29.0", "1.30.0", "1.31.0"]},
        {"rank": 2, "registry_id": "55555555-000...", "cloud": "aws", "compute": "ecs", "version_changes": 1,
         "age_days": 10, "trajectory": ["1.30.0", "1.31.0"]},
        {"rank": 3, "registry_id": "22222222-000...", "cloud": "aws", "compute": "ecs", "version_changes": 1,
         "age_days": 5, "trajectory": ["1.29.0", "1.30.0"]},
    ]


def test_rankings_keep_the_top_rows_and_exclude_internal_installs():
    ranked = rankings(FLEET, top=2)
    assert [len(rows) for rows in ranked.values()] == [2, 2, 2]
    internal_id = "66666666-000..."
    assert all(row["registry_id"] != internal_id for rows in rankings(FLEET).values() for row in rows)
    assert rankings(NOBODY) == {"most_active": [], "largest_catalogs": [], "most_engaged": []}
    with pytest.raises(ValueError, match="top must be at least 1"):
        rankings(FLEET, top=0)
