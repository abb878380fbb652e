"""GitHub repository statistics next to the usage numbers of day D."""

import dagster as dg

from usage_assets.partitions import daily_partitions, partition_day
from usage_assets.resources.github import GitHubRepository
from usage_assets.resources.storage import DataLake


@dg.asset(partitions_def=daily_partitions, group_name="github", kinds={"github", "json"})
def github_stats(context: dg.AssetExecutionContext, github: GitHubRepository, data_lake: DataLake) -> dg.MaterializeResult:
    """Stars, forks, watchers, open issues (pull requests included, as GitHub counts them)
    and contributors of the configured repository, fetched from the GitHub REST API when
    D's partition is materialized (GitHub keeps no history, so a backfilled day shows the
    figures of the day it ran). Unconfigured or unreachable: the reason, never zeros."""
    day = partition_day(context)
    stats = github.stats()
    path = data_lake.lake().write_json("github_stats", day, stats)
    if not stats["available"]:
        # Not configuring a repository is a choice; a configured one failing is news.
        log = context.log.warning if github.repo else context.log.info
        log(f"GitHub statistics not available: {stats['reason']}")
    return dg.MaterializeResult(
        metadata={"available": stats["available"], "path": dg.MetadataValue.path(str(path))}
    )
