"""The demo fleet's installs and the stitching's precision and recall against its truth.

Shared by the lineage tests (default size) and ``benchmarks/bench_lineage.py`` (20k
installs). The install table is built with the pipeline's own pure functions (validation,
the daily layer, the instance fold), without Dagster, to keep a large fleet fast.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from usage_assets.daily.activity import instance_days_from_events, instances_as_of
from usage_assets.daily.internal import InternalAllowlist
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.lineage import LINKED
from usage_assets.sources.demo_fleet import DEMO_INTERNAL_ALLOWLIST, DemoFleetParams, demo_events_for_day


def demo_instances(params: DemoFleetParams, days: int) -> tuple[date, pl.DataFrame]:
    """``(last day, instances as of it)`` for the first ``days`` days of the demo fleet."""
    last = params.start + timedelta(days=days - 1)
    daily = []
    for offset in range(days):
        day = params.start + timedelta(days=offset)
        daily.append(instance_days_from_events(validate_events(demo_events_for_day(params, day), day).events, day))
    return last, instances_as_of(pl.concat(daily).lazy(), InternalAllowlist.from_file(DEMO_INTERNAL_ALLOWLIST))


@dataclass(frozen=True)
class StitchingScore:
    """Link-level scores: ``precision`` = linked pairs whose two installs are one true
    deployment / linked pairs; ``recall`` = true consecutive pairs (an incarnation and the
    next one seen, by first event) that were linked / true consecutive pairs."""

    linked: int
    correct: int
    true_links: int
    found: int

    @property
    def precision(self) -> float:
        return self.correct / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.true_links if self.true_links else 1.0


def stitching_score(instances: pl.DataFrame, lineage: pl.DataFrame, truth: dict[str, str]) -> StitchingScore:
    """Score ``lineage`` (install_lineage of the installs in ``instances``) against
    ``truth`` (:func:`usage_assets.sources.demo_fleet.demo_deployments`)."""
    deployment = {registry_id: truth.get(registry_id, registry_id) for registry_id in instances["registry_id"]}
    linked = list(lineage.filter(pl.col("status") == LINKED).select("predecessor", "successor").iter_rows())
    correct = sum(deployment[a] == deployment[b] for a, b in linked)
    members: dict[str, list[tuple]] = {}
    for registry_id, first_ts in instances.select("registry_id", "first_ts").iter_rows():
        members.setdefault(deployment[registry_id], []).append((first_ts, registry_id))
    true_pairs = set()
    for chain in members.values():
        ordered = [registry_id for _ts, registry_id in sorted(chain)]
        true_pairs.update(itertools.pairwise(ordered))
    return StitchingScore(len(linked), correct, len(true_pairs), len(true_pairs & set(linked)))
