"""Ingest: one UTC day of events from the telemetry source, typed, validated, de-duplicated."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import dagster as dg

from usage_assets.defs.ingest.retries import INGEST_RETRY_POLICY
from usage_assets.defs.materialize import DayByDay, write_frame, write_json
from usage_assets.defs.metadata import ingest_numbers
from usage_assets.defs.partitions import ONE_RUN_PER_RANGE, daily_partitions, partition_days
from usage_assets.defs.resources.storage import DataLake
from usage_assets.defs.resources.telemetry import TelemetrySource
from usage_assets.ingest.completeness import HeartbeatCheck, check_heartbeats
from usage_assets.ingest.validation import ingest_stats, validate_events
from usage_assets.sources.errors import SourceError
from usage_assets.storage.datasets import FIELD_QUARANTINE, INGEST_STATS, RAW_EVENTS, REJECTED_EVENTS
from usage_assets.storage.disk import LocalDiskError
from usage_assets.storage.lake import MissingPartitionsError

HEARTBEATS_PRESENT = "heartbeats_present"
#: Logged once per day written (``"<DAY_INGESTED> YYYY-MM-DD"``): the CLI's progress over a range.
DAY_INGESTED = "Ingested day"


@contextmanager
def only_transient_errors_retried() -> Iterator[None]:
    """Sort the errors raised inside the block for :data:`INGEST_RETRY_POLICY`.

    A transient :class:`SourceError` (the network) propagates, and Dagster retries it
    with backoff; nothing is written before the whole day is fetched, so a failed attempt
    leaves the previous good partition and a later success writes the whole day. Every other error becomes a ``dg.Failure`` that skips the retries, with
    a one-line description: the SourceError's own text (already scrubbed of secrets, so
    the library error is not chained), the :class:`LocalDiskError`'s (what is wrong with
    the disk, and the path), or ``"<ExceptionType>: <message>"``.
    """
    try:
        yield
    except dg.Failure:
        raise
    except SourceError as error:
        if error.transient:
            raise
        raise dg.Failure(description=str(error), allow_retries=False) from None
    except Exception as error:
        description = str(error) if isinstance(error, LocalDiskError) else f"{type(error).__name__}: {error}"
        raise dg.Failure(description=description, allow_retries=False) from error


def ingest_spec(key: str, description: str, kinds: set[str]) -> dg.AssetSpec:
    """An output of the ingest step: group ``ingest``, skipped when the blocking check fails."""
    return dg.AssetSpec(key, description=description, group_name="ingest", kinds=kinds, skippable=True)


@dg.multi_asset(
    specs=[
        ingest_spec(
            RAW_EVENTS,
            "Day D's telemetry events (startup and heartbeat), typed, validated "
            "against the collector's rules and de-duplicated. Parquet, one file per UTC day.",
            {"polars", "parquet"},
        ),
        ingest_spec(
            REJECTED_EVENTS,
            "Rows of day D that broke a validation rule, unchanged, with the reason. "
            "Kept so that nothing the source sent is dropped silently.",
            {"polars", "parquet"},
        ),
        ingest_spec(
            FIELD_QUARANTINE,
            "Fields of day D's events that broke a rule while the event was kept: a value "
            "outside the known list kept as a new category (a new compute platform, say), a value of the "
            "wrong type, length or range set to null. One row per column, rule, action and value, with "
            "the number of events. The report's data-quality section lists them.",
            {"polars", "parquet"},
        ),
        ingest_spec(
            INGEST_STATS,
            "What day D's ingest fetched from the source (rows, per event type) and what "
            "became of them: kept, duplicates, rejected by reason. Read by the report's data-quality "
            "section and recounted against the source by the reconciliation check. JSON.",
            {"json"},
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
    backfill_policy=ONE_RUN_PER_RANGE,
    pool="telemetry_source",
    retry_policy=INGEST_RETRY_POLICY,
)
def daily_events(context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake):
    """Fetch each day of the run's range from the source, oldest first, check it, validate
    it and write its raw_events, rejected_events, field_quarantine and ingest_stats."""
    with only_transient_errors_retried():
        yield from _ingest_days(context, telemetry, data_lake)


def _ingest_days(context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake):
    days = partition_days(context)
    lake = data_lake.lake()
    with DayByDay(context) as recorder:
        yield from _ingest_range(context, telemetry, lake, recorder, days)


def _ingest_range(context, telemetry: TelemetrySource, lake, recorder: DayByDay, days: list[date]):
    try:
        previous = lake.read_frame(RAW_EVENTS, days[0] - timedelta(days=1)).select("event")
    except MissingPartitionsError:
        previous = None
    for day in days:
        # The source is asked for one day at a time, so a day's ingest costs the same with
        # a week or a year of history, and memory holds one day.
        fetched = telemetry.fetch_day(day)
        validated = validate_events(fetched, day)
        check = check_heartbeats(validated.events, previous)
        if check.problem or day == days[-1]:
            # One evaluation per run: the day that failed, or the last day once all passed.
            yield _heartbeat_check_result(check, day, len(days))
        if check.problem:
            # Nothing of this day is written: its previous good partition stays, the days
            # before it count as materialized, and the failed blocking check stops
            # everything downstream.
            recorder.record_written()
            return
        _write_day(context, recorder, lake, telemetry, day, fetched, validated, check)
        previous = validated.events.select("event")
        context.log.info(f"{DAY_INGESTED} {day}")
    yield from recorder.results(RAW_EVENTS, REJECTED_EVENTS, FIELD_QUARANTINE, INGEST_STATS)


def _heartbeat_check_result(check: HeartbeatCheck, day: date, days: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=HEARTBEATS_PRESENT,
        asset_key=RAW_EVENTS,
        passed=check.problem is None,
        description=check.problem,
        metadata={
            "day": day.isoformat(),
            "days_checked": days,
            "startup_events": check.today["startup"],
            "heartbeat_events": check.today["heartbeat"],
            "previous_day_heartbeats": check.yesterday["heartbeat"] if check.yesterday else "not ingested",
        },
    )


def _write_day(context, recorder: DayByDay, lake, telemetry: TelemetrySource, day: date, fetched, validated, check):
    stats = {
        **ingest_stats(fetched, validated),
        # Which version of the source's day this is, and what the source set aside or ignored
        # as a whole (rows of no day, extra columns): the report's data-quality section shows both.
        "source_version": telemetry.day_version(day),
        "source_notes": telemetry.quality_notes(),
    }
    recorder.written(RAW_EVENTS, day, write_frame(
        lake, RAW_EVENTS, day, validated.events,
        rows_fetched=fetched.height,
        startup_events=check.today["startup"],
        heartbeat_events=check.today["heartbeat"],
        distinct_installs=validated.events["registry_id"].drop_nulls().n_unique(),
        duplicates_dropped=validated.duplicates,
        **ingest_numbers(stats),
        source=telemetry.describe(),
    ))
    rejected = write_frame(
        lake, REJECTED_EVENTS, day, validated.rejects, reasons=dg.MetadataValue.json(stats["rejects_by_reason"])
    )
    if validated.rejects.height:
        context.log.warning(f"{validated.rejects.height} row(s) of {day} rejected; see {rejected['path'].path}")
    recorder.written(REJECTED_EVENTS, day, rejected)
    recorder.written(FIELD_QUARANTINE, day, write_frame(
        lake, FIELD_QUARANTINE, day, validated.quarantine, events_by_action=dg.MetadataValue.json(stats["field_issues"])
    ))
    recorder.written(INGEST_STATS, day, write_json(
        lake, INGEST_STATS, day, stats, rows_fetched=stats["fetched"], rows_kept=stats["valid"]
    ))
