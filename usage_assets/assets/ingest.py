"""Ingest: one UTC day of events from the telemetry source, typed, validated, de-duplicated."""


from datetime import timedelta

import dagster as dg

from usage_assets.lib.completeness import heartbeat_drop
from usage_assets.lib.lake import MissingPartitionsError
from usage_assets.lib.source_errors import SourceError
from usage_assets.lib.telemetry_documents import count_events
from usage_assets.lib.validation import rejects_by_reason, validate_events
from usage_assets.partitions import daily_partitions, partition_day
from usage_assets.resources.storage import DataLake
from usage_assets.resources.telemetry import TelemetrySource
from usage_assets.settings import definition_setting

RAW_EVENTS = dg.AssetKey("raw_events")
REJECTED_EVENTS = dg.AssetKey("rejected_events")
HEARTBEATS_PRESENT = "heartbeats_present"

# A flaky network (timeouts, a connection or SSH tunnel dropped mid-stream) is retried:
# 3 more attempts after USAGE_INGEST_RETRY_DELAY_S (default 30 s), then twice and four
# times that, with jitter. Nothing is written before the whole day is fetched, so a
# failed attempt leaves the previous good partition, and a later success writes the
# whole day. Errors a retry cannot fix fail at once (see fetch_for_ingest).
INGEST_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3,
    delay=definition_setting("USAGE_INGEST_RETRY_DELAY_S", "30", float, "a number of seconds"),
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)


def fetch_for_ingest(telemetry: TelemetrySource, day):
    """``telemetry.fetch_day(day)``, with errors sorted for the retry policy.

    A transient :class:`SourceError` propagates (Dagster retries it with backoff);
    any other error becomes a ``dg.Failure`` that skips the retries, since a rejected
    host key, wrong credentials or a missing export fail the same way every time.
    """
    try:
        return telemetry.fetch_day(day)
    except SourceError as error:
        if error.transient:
            raise
        # SourceError text is already scrubbed of secrets; do not chain library errors.
        raise dg.Failure(description=str(error), allow_retries=False) from None
    except Exception as error:
        raise dg.Failure(description=f"{type(error).__name__}: {error}", allow_retries=False) from error


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_EVENTS,
            description="Day D's telemetry events (startup and heartbeat), typed, validated "
            "against the collector's rules and de-duplicated. Parquet, one file per UTC day.",
            group_name="ingest",
            kinds={"polars", "parquet"},
            skippable=True,
        ),
        dg.AssetSpec(
            REJECTED_EVENTS,
            description="Rows of day D that broke a validation rule, unchanged, with the reason. "
            "Kept so that nothing the source sent is dropped silently.",
            group_name="ingest",
            kinds={"polars", "parquet"},
            skippable=True,
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            HEARTBEATS_PRESENT,
            asset=RAW_EVENTS,
            blocking=True,
            description="Fails when day D has startups but zero heartbeats although day D-1 had "
            "heartbeats (the reference's silent heartbeat drop). Evaluated before anything is "
            "written: a failing day keeps its previous partition and no report is built on it.",
        )
    ],
    partitions_def=daily_partitions,
    pool="telemetry_source",
    retry_policy=INGEST_RETRY_POLICY,
)
def daily_events(context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake):
    """Fetch day D from the source, check it, validate it and write raw_events and rejected_events."""
    # The source is asked for this day only, so a day's ingest costs the same with a
    # week or a year of history.
    day = partition_day(context)
    fetched = fetch_for_ingest(telemetry, day)
    validated = validate_events(fetched, day)
    lake = data_lake.lake()
    today = count_events(validated.events)
    try:
        yesterday = count_events(lake.read_frame("raw_events", day - timedelta(days=1)).select("event"))
    except MissingPartitionsError:
        yesterday = None
    problem = heartbeat_drop(today, yesterday)
    yield dg.AssetCheckResult(
        check_name=HEARTBEATS_PRESENT,
        asset_key=RAW_EVENTS,
        passed=problem is None,
        description=problem,
        metadata={
            "startup_events": today["startup"],
            "heartbeat_events": today["heartbeat"],
            "previous_day_heartbeats": yesterday["heartbeat"] if yesterday else "not ingested",
        },
    )
    if problem:
        # Nothing is written: the previous good partition stays, and the failed blocking
        # check stops everything downstream.
        return
    events_path = lake.write_frame("raw_events", day, validated.events)
    rejects_path = lake.write_frame("rejected_events", day, validated.rejects)
    if validated.rejects.height:
        context.log.warning(f"{validated.rejects.height} row(s) of {day} rejected; see {rejects_path}")
    by_reason = rejects_by_reason(validated.rejects)
    lake.write_json(
        "ingest_stats",
        day,
        {
            "fetched": fetched.height,
            "fetched_by_event": count_events(fetched),
            "valid": validated.events.height,
            "duplicates": validated.duplicates,
            "rejected": validated.rejects.height,
            "rejects_by_reason": by_reason,
        },
    )
    yield dg.MaterializeResult(
        asset_key=RAW_EVENTS,
        metadata={
            "dagster/row_count": validated.events.height,
            "rows_fetched": fetched.height,
            "startup_events": today["startup"],
            "heartbeat_events": today["heartbeat"],
            "distinct_installs": validated.events["registry_id"].drop_nulls().n_unique(),
            "duplicates_dropped": validated.duplicates,
            "rejected_rows": validated.rejects.height,
            "source": telemetry.describe(),
            "path": dg.MetadataValue.path(str(events_path)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=REJECTED_EVENTS,
        metadata={
            "dagster/row_count": validated.rejects.height,
            "reasons": dg.MetadataValue.json(by_reason),
            "path": dg.MetadataValue.path(str(rejects_path)),
        },
    )
