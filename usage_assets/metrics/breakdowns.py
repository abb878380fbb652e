"""The breakdowns ``metrics-D.json`` carries besides the fleet summary (reference 6.1).

Keys and where each is computed: ``upgrade_trajectories`` (:mod:`~usage_assets.metrics.versions`),
``search_stats``, ``feature_adoption``, ``embeddings_backend_breakdown``,
``sticky_profiles``, ``sticky_cloud_compute``, ``rankings`` (:mod:`~usage_assets.metrics.features`),
``cloud_detection_breakdown`` (:mod:`~usage_assets.metrics.detection`) and ``auth_path``
(:mod:`~usage_assets.metrics.auth_path`).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from usage_assets.metrics.auth_path import auth_path_summary
from usage_assets.metrics.detection import detection_breakdown
from usage_assets.metrics.features import (
    embeddings_backend_breakdown,
    feature_adoption,
    rankings,
    search_stats,
    sticky_breakdown,
)
from usage_assets.metrics.versions import upgrade_trajectories


def fleet_breakdowns(instances: pl.DataFrame, history: pl.LazyFrame, day: date) -> dict:
    """Every breakdown of the installs as of the end of UTC ``day`` (customers only, except
    ``auth_path`` which covers every identified install).

    ``instances``: the cumulative install table; ``history``: lazy ``instance_days`` up to ``day``.
    """
    return {
        "upgrade_trajectories": upgrade_trajectories(instances),
        "search_stats": search_stats(instances),
        "feature_adoption": feature_adoption(instances),
        "embeddings_backend_breakdown": embeddings_backend_breakdown(instances),
        "cloud_detection_breakdown": detection_breakdown(instances),
        "auth_path": auth_path_summary(instances, history, day),
        **sticky_breakdown(instances),
        "rankings": rankings(instances),
    }
