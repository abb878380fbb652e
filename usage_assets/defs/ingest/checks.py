"""Late-arriving events: a reconciliation asset check on raw_events.

Why a check and not a schedule that re-runs D-1 as well: a re-run of yesterday costs a
full second fetch every day although late events are rare, and still misses anything
later than one day. The check costs one count query per collection and day, looks back
several days, and names exactly the days to re-materialize (see the README).
"""

import warnings

import dagster as dg

from usage_assets.defs.partitions import PARTITIONS_START, checked_day, daily_partitions
from usage_assets.defs.resources.storage import DataLake
from usage_assets.defs.resources.telemetry import TelemetrySource
from usage_assets.ingest.reconciliation import days_to_reconcile, gaps_message, reconcile
from usage_assets.sources.errors import SourceError
from usage_assets.storage.datasets import INGEST_STATS, RAW_EVENTS

#: Days recounted by the check for partition D: D-2, D-1 and D.
RECONCILE_DAYS = 3

CHECK_NAME = "raw_events_match_source"
RECONCILIATION_CHECK_KEY = dg.AssetCheckKey(dg.AssetKey(RAW_EVENTS), CHECK_NAME)


def _raw_events_match_source(
    context: dg.AssetCheckExecutionContext, telemetry: TelemetrySource, data_lake: DataLake
) -> dg.AssetCheckResult:
    day = checked_day(context)
    lake = data_lake.lake()
    days = days_to_reconcile(day, RECONCILE_DAYS, PARTITIONS_START)
    try:
        outcome = reconcile(days, lambda each: lake.read_json_if_present(INGEST_STATS, each), telemetry.count_day)
    except SourceError as error:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"Could not recount the source: {error}",
            metadata={"days_checked": dg.MetadataValue.json([d.isoformat() for d in days])},
        )
    if outcome.gaps:
        context.log.warning(gaps_message(outcome.gaps, day))
    return dg.AssetCheckResult(
        passed=not outcome.gaps,
        severity=dg.AssetCheckSeverity.WARN,
        description=gaps_message(outcome.gaps, day) if outcome.gaps else f"raw_events of "
        f"{', '.join(outcome.compared) or 'no day'} match the source's current counts.",
        metadata={
            "counts": dg.MetadataValue.json(outcome.compared),
            "days_behind": dg.MetadataValue.json([gap.day.isoformat() for gap in outcome.gaps]),
            "days_not_ingested": dg.MetadataValue.json(outcome.not_ingested),
        },
    )


# Partitioned checks are a preview feature in dagster 1.13; without partitions_def a check
# reads the wrong partition, so the preview warning is silenced here on purpose.
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
