"""GitHub repository statistics next to the usage numbers of day D."""

from datetime import datetime, timezone

import dagster as dg

from usage_assets.defs.materialize import daily_asset, json_result
from usage_assets.defs.partitions import partition_day
from usage_assets.defs.resources.github import GitHubRepository
from usage_assets.defs.resources.storage import DataLake
from usage_assets.storage.datasets import GITHUB_STATS


def utc_today():
    """Today's UTC date (a function, so a test can stand in for the day after)."""
    return datetime.now(timezone.utc).date()


@daily_asset(name=GITHUB_STATS, group_name="enrichment", kinds={"github", "json"})
def github_stats(context: dg.AssetExecutionContext, github: GitHubRepository, data_lake: DataLake) -> dg.MaterializeResult:
    """Stars, forks, watchers, open issues (pull requests included, as GitHub counts them)
    and contributors of the configured repository, fetched from the GitHub REST API when
    D's partition is materialized (GitHub keeps no history, so a backfilled day shows the
    figures of the day it ran, with that date in ``fetched_on``). Unconfigured or
    unreachable: the reason, never zeros."""
    day = partition_day(context)
    # When the figures were read, so that a report compares only figures fetched a day apart.
    stats = {**github.stats(), "fetched_on": utc_today().isoformat()}
    if not stats["available"]:
        # Not configuring a repository is a choice; a configured one failing is news.
        log = context.log.warning if github.repo else context.log.info
        log(f"GitHub statistics not available: {stats['reason']}")
    return json_result(data_lake.lake(), GITHUB_STATS, day, stats, available=stats["available"])
