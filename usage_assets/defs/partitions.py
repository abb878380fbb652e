"""The one partitions definition (a UTC calendar day of event ``ts``) and the partition
mappings between days: the windows of earlier days an asset of day D reads.

Partition ``D`` holds events with ``D 00:00Z <= ts < D+1 00:00Z``. With the default
``end_offset=0`` a day becomes a partition only once it is over, so no report ever
shows a partial day. The first partition is the source's first day (the demo fleet's
start, or the first day a CSV archive or the database held when it was first read, kept
in the source's workspace), or ``USAGE_PARTITIONS_START`` when set; events dated before
it are never ingested, and the UI shows no partition the source cannot fill.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from usage_assets.enrichment.trend_arithmetic import RANGES, comparison_day
from usage_assets.settings import Settings


def _first_partition() -> date:
    """``USAGE_PARTITIONS_START``, else the first day of the source the environment names
    (:func:`usage_assets.definitions.source_first_day`). The CLI, whose options may name
    another source, sets the variable to its source's first day before importing this."""
    settings = Settings.from_env(need_source=False, lenient=True)
    if settings.partitions_start is not None:
        return settings.partitions_start
    from usage_assets.definitions import source_first_day  # definitions.py loads this module's folder

    return source_first_day(settings)


# Read while the definitions are imported: the partitions are part of them. A bad value of
# any setting raises SettingsError naming its variable.
PARTITIONS_START: date = _first_partition()

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START.isoformat(), timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    """The UTC day of the partition being materialized or checked."""
    return date.fromisoformat(context.partition_key)


def checked_day(context: dg.AssetCheckExecutionContext) -> date:
    """The UTC day a partitioned check evaluates: its partition, or the newest day of a run
    over a partition range (ingest takes ranges), so a catch-up run is not failed by its
    checks; the report run of each day evaluates them for that day."""
    return date.fromisoformat(context.partition_keys[-1])


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The UTC days of the partitions being materialized, ascending: one day, or every day of
    the run's partition range (an asset with ``BackfillPolicy.single_run()``)."""
    return [date.fromisoformat(key) for key in context.partition_keys]


#: Ingest and the daily layer take a range of days in one run (catch-up, backfills from
#: the CLI and the UI): the cost of a run (process, instance writes) is paid once, not per
#: day. Each day is still written as its own partition, atomically.
ONE_RUN_PER_RANGE = dg.BackfillPolicy.single_run()


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
