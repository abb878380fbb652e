"""The one partitions definition: a UTC calendar day of event ``ts``.

Partition ``D`` holds events with ``D 00:00Z <= ts < D+1 00:00Z``. With the default
``end_offset=0`` a day becomes a partition only once it is over, so no report ever
shows a partial day. The first partition is ``USAGE_PARTITIONS_START`` (default
2025-01-01); days before a source's first event are simply never materialized.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from usage_assets.settings import definition_setting

DEFAULT_PARTITIONS_START = "2025-01-01"

PARTITIONS_START = definition_setting(
    "USAGE_PARTITIONS_START", DEFAULT_PARTITIONS_START, date.fromisoformat, "a day YYYY-MM-DD"
)

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START.isoformat(), timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    """The UTC day of the partition being materialized or checked."""
    return date.fromisoformat(context.partition_key)
