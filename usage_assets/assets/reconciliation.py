"""Late-arriving events: a reconciliation asset check on raw_events.

Why a check and not a schedule that re-runs D-1 as well: a re-run of yesterday costs a
full second fetch every day although late events are rare, and still misses anything
later than one day. The check costs one count query per collection and day, looks back
several days, and names exactly the days to re-materialize (see the README).
"""

import warnings
from datetime import timedelta

import dagster as dg

from usage_assets.assets.ingest import RAW_EVENTS
from usage_assets.lib.lake import MissingPartitionsError
from usage_assets.lib.reconciliation import find_gap, gaps_message, stored_counts
from usage_assets.lib.source_errors import SourceError
from usage_assets.partitions import PARTITIONS_START, daily_partitions, partition_day
from usage_assets.resources.storage import DataLake
from usage_assets.resources.telemetry import TelemetrySource

#: Days recounted by the check for partition D: D-2, D-1 and D.
RECONCILE_DAYS = 3

CHECK_NAME = "raw_events_match_source"
RECONCILIATION_CHECK_KEY = dg.AssetCheckKey(RAW_EVENTS, CHECK_NAME)


def _raw_events_match_source(
    context: dg.AssetCheckExecutionContext, telemetry: TelemetrySource, data_lake: DataLake
) -> dg.AssetCheckResult:
    day = partition_day(context)
    lake = data_lake.lake()
    days = [day - timedelta(days=n) for n in range(RECONCILE_DAYS - 1, -1, -1)]
    gaps, compared, not_ingested = [], {}, []
    for each in days:
        if each < PARTITIONS_START:
            continue
        try:
            stored = stored_counts(lake.read_json("ingest_stats", each))
        except MissingPartitionsError:
            not_ingested.append(each.isoformat())
            continue
        try:
            source = telemetry.count_day(each)
        except SourceError as error:
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"Could not recount the source for {each}: {error}",
                metadata={"days_checked": dg.MetadataValue.json([d.isoformat() for d in days])},
            )
        compared[each.isoformat()] = {"stored": stored, "source": source}
        gap = find_gap(each, stored, source)
        if gap:
            gaps.append(gap)
    metadata = {
        "counts": dg.MetadataValue.json(compared),
        "days_behind": dg.MetadataValue.json([gap.day.isoformat() for gap in gaps]),
        "days_not_ingested": dg.MetadataValue.json(not_ingested),
    }
    if gaps:
        context.log.warning(gaps_message(gaps, day))
    return dg.AssetCheckResult(
        passed=not gaps,
        severity=dg.AssetCheckSeverity.WARN,
        description=gaps_message(gaps, day) if gaps else f"raw_events of {', '.join(compared) or 'no day'} "
        "match the source's current counts.",
        metadata=metadata,
    )


# Partitioned checks are a preview feature in dagster 1.13 (see ingest.py for why we use them).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")
    raw_events_match_source = dg.asset_check(
        asset=RAW_EVENTS,
        name=CHECK_NAME,
        partitions_def=daily_partitions,
        blocking=False,
        description=f"Recounts the source for D and the {RECONCILE_DAYS - 1} days before and warns, naming "
        "the days, when the source now holds events that arrived after a day was ingested. Re-materialize "
        "the named days to pick them up.",
    )(_raw_events_match_source)
