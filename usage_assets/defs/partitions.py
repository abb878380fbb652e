"""The one partitions definition (a UTC calendar day of event ``ts``) and the partition
mappings between days: the windows of earlier days an asset of day D reads.

Partition ``D`` holds events with ``D 00:00Z <= ts < D+1 00:00Z``. With the default
``end_offset=0`` a day becomes a partition only once it is over, so no report ever
shows a partial day. The first partition is ``USAGE_PARTITIONS_START`` (default
2025-01-01); days before a source's first event are simply never materialized.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from usage_assets.enrichment.trend_arithmetic import RANGES, comparison_day
from usage_assets.settings import Settings

# Read while the definitions are imported: the partitions are part of them. A bad value of
# any setting raises SettingsError naming its variable.
PARTITIONS_START: date = Settings.from_env(need_source=False).partitions_start

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START.isoformat(), timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    """The UTC day of the partition being materialized or checked."""
    return date.fromisoformat(context.partition_key)


def days_up_to_d(days_before: int) -> dg.TimeWindowPartitionMapping:
    """The mapping "day D and the ``days_before`` days before it" (clipped at the first partition)."""
    return dg.TimeWindowPartitionMapping(start_offset=-days_before)


# "Every partition up to D": a large negative offset is the documented way to express an
# all-history window (dagster issue #17797); it clips at the first partition.
ALL_DAYS_UP_TO_D = days_up_to_d(100_000)

#: The earlier report days whose metrics a report of D compares with: D-1 (day over day)
#: and D-7 (week over week). The report's partition mappings and the CLI's runner, which
#: builds those days' metrics first when they are missing, both read them from here.
DAY_OVER_DAY, WEEK_OVER_WEEK = 1, 7
DAY_BEFORE = days_up_to_d(DAY_OVER_DAY)
WEEK_BEFORE = days_up_to_d(WEEK_OVER_WEEK)
#: Insights compare day D with D-R, R the Prometheus range (at most 30 days).
UP_TO_LONGEST_RANGE_BEFORE = days_up_to_d(max(RANGES.values()))


def comparison_days(day: date, trends_range_days: int) -> list[date]:
    """The earlier days a report of ``day`` compares with, ascending: D-1, D-7 and D-R
    (R = ``trends_range_days``, the Prometheus range of the insights)."""
    return sorted(
        {day - timedelta(days=DAY_OVER_DAY), day - timedelta(days=WEEK_OVER_WEEK), comparison_day(day, trends_range_days)}
    )
