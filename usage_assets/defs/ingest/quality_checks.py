"""Data quality of day D as warning asset checks on raw_events, one per signal.

The numbers the report's data-quality section prints, where a maintainer looks first:
the UI's Checks tab of ``raw_events``, per partition, with the numbers in each check's
metadata. None of them blocks: a bad day is still a day, and the report says what was
wrong with it. Each check reads what the ingest wrote (``ingest_stats``,
``field_quarantine``), never the source.
"""

import warnings
from collections.abc import Callable
from datetime import date, timedelta

import dagster as dg

from usage_assets.defs.partitions import checked_day, daily_partitions, days_up_to_d
from usage_assets.defs.resources.quality import DataQualityThresholds
from usage_assets.defs.resources.storage import DataLake
from usage_assets.ingest.quality import cleared_fields, listed, new_values, rejected_rows
from usage_assets.settings import QualitySettings, variable
from usage_assets.storage.datasets import FIELD_QUARANTINE, INGEST_STATS, RAW_EVENTS
from usage_assets.storage.lake import Lake

REJECTED_ROWS_CHECK = "rejected_rows_share"
CLEARED_FIELDS_CHECK = "cleared_fields_share"
NEW_VALUES_CHECK = "new_enum_values"
EVENTS_PRESENT_CHECK = "events_present"
#: A value is "new" when none of the field quarantines of this many days before D holds
#: it: a bounded look-back keeps a day's check as cheap in year two as on day two (the
#: report's data-quality section gives every value's first day over all history).
NEW_VALUE_LOOKBACK_DAYS = 28
DEFAULTS = QualitySettings()


#: Each check's spec and how it is evaluated for a day, by check name (in declaration order).
QUALITY_CHECKS: dict[str, tuple[dg.AssetCheckSpec, Callable[[date, Lake, DataQualityThresholds], dg.AssetCheckResult]]] = {}


def _warning_check(name: str, description: str, *deps: dg.AssetDep | str) -> Callable:
    """Decorator: declares ``name``, a partitioned, non-blocking check on raw_events that
    reads ``deps``, evaluated by the decorated ``(day, lake, thresholds) -> result``."""

    def decorate(evaluate: Callable) -> Callable:
        # Partitioned checks are a preview feature in dagster 1.13; without partitions_def a check
        # reads the wrong partition (see checks.py), so the preview warning is silenced on purpose.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")
            spec = dg.AssetCheckSpec(
                name,
                asset=RAW_EVENTS,
                partitions_def=daily_partitions,
                blocking=False,
                additional_deps=[INGEST_STATS, *deps],
                description=description,
            )
        QUALITY_CHECKS[name] = (spec, evaluate)
        return evaluate

    return decorate


def _result(name: str, passed: bool, description: str, metadata: dict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=RAW_EVENTS, check_name=name, passed=passed, severity=dg.AssetCheckSeverity.WARN,
        description=description, metadata=metadata,
    )


@_warning_check(
    REJECTED_ROWS_CHECK,
    "Warns when the rows of day D rejected as no event (missing or invalid event, registry_id "
    f"or ts) exceed {variable('quality', 'max_rejected_rows_pct')} (default {DEFAULTS.max_rejected_rows_pct}) "
    "% of the rows fetched.",
)
def rejected_rows_share(day: date, lake: Lake, quality: DataQualityThresholds) -> dg.AssetCheckResult:
    numbers = rejected_rows(lake.read_json(INGEST_STATS, day))
    limit = quality.max_rejected_rows_pct
    return _result(
        REJECTED_ROWS_CHECK,
        numbers["rejected_rows_pct"] <= limit,
        f"{numbers['rows_rejected']:,} of {numbers['rows_fetched']:,} rows rejected "
        f"({numbers['rejected_rows_pct']} %, warning above {limit} %); see rejected_events.",
        {**numbers, "threshold_pct": float(limit)},
    )


@_warning_check(
    CLEARED_FIELDS_CHECK,
    "Warns when the field values of day D's kept events set to null (wrong type, length or range) "
    f"exceed {variable('quality', 'max_cleared_fields_pct')} (default {DEFAULTS.max_cleared_fields_pct}) "
    "per 100 kept events.",
)
def cleared_fields_share(day: date, lake: Lake, quality: DataQualityThresholds) -> dg.AssetCheckResult:
    numbers = cleared_fields(lake.read_json(INGEST_STATS, day))
    limit = quality.max_cleared_fields_pct
    return _result(
        CLEARED_FIELDS_CHECK,
        numbers["cleared_fields_pct"] <= limit,
        f"{numbers['fields_cleared']:,} field values cleared in {numbers['events_kept']:,} kept events "
        f"({numbers['cleared_fields_pct']} per 100, warning above {limit}); see field_quarantine.",
        {**numbers, "threshold_pct": float(limit)},
    )


@_warning_check(
    NEW_VALUES_CHECK,
    "Warns when day D's events carry a value outside a column's known list (kept as a new category, "
    f"as a newer registry may send one) that no field quarantine of the {NEW_VALUE_LOOKBACK_DAYS} days "
    "before held. Earlier days are read when ingested.",
    dg.AssetDep(FIELD_QUARANTINE, partition_mapping=days_up_to_d(NEW_VALUE_LOOKBACK_DAYS)),
)
def new_enum_values(day: date, lake: Lake, _quality: DataQualityThresholds) -> dg.AssetCheckResult:
    earlier = [day - timedelta(days=back) for back in range(1, NEW_VALUE_LOOKBACK_DAYS + 1)]
    found = new_values(
        lake.read_frame(FIELD_QUARANTINE, day),
        (lake.read_frame(FIELD_QUARANTINE, each) for each in earlier if lake.has_day(FIELD_QUARANTINE, each)),
    )
    columns = sorted({value["column"] for value in found})
    return _result(
        NEW_VALUES_CHECK,
        not found,
        f"{len(found)} new value(s) in {', '.join(columns)}; the report's data-quality section lists them."
        if found
        else f"No value outside the known lists that the {NEW_VALUE_LOOKBACK_DAYS} days before lacked.",
        {
            "new_values": len(found),
            "events_with_new_values": sum(value["events"] for value in found),
            "values": dg.MetadataValue.json(listed(found)),
        },
    )


@_warning_check(
    EVENTS_PRESENT_CHECK,
    "Warns when day D kept no event at all (the source sent nothing for the day, or every row was "
    "rejected): a collector or export that stopped, or a day the source does not hold yet.",
)
def events_present(day: date, lake: Lake, _quality: DataQualityThresholds) -> dg.AssetCheckResult:
    stats = lake.read_json(INGEST_STATS, day)
    return _result(
        EVENTS_PRESENT_CHECK,
        stats["valid"] > 0,
        f"{stats['valid']:,} events kept on {day}."
        if stats["valid"]
        else f"No event kept on {day} ({stats['fetched']:,} rows fetched, {stats['rejected']:,} rejected).",
        {
            "events_kept": stats["valid"],
            "rows_fetched": stats["fetched"],
            "startup_rows": stats["fetched_by_event"].get("startup", 0),
            "heartbeat_rows": stats["fetched_by_event"].get("heartbeat", 0),
        },
    )


# One step evaluates the four checks: each reads a small document of the day, and a step
# per check would cost more in run bookkeeping than the reading.
@dg.multi_asset_check(specs=[spec for spec, _evaluate in QUALITY_CHECKS.values()], can_subset=True)
def raw_events_quality_checks(
    context: dg.AssetCheckExecutionContext, data_lake: DataLake, quality: DataQualityThresholds
):
    """The data-quality checks of the day checked (the newest of a range)."""
    day, lake = checked_day(context), data_lake.lake()
    for name, (_spec, evaluate) in QUALITY_CHECKS.items():
        if dg.AssetCheckKey(dg.AssetKey(RAW_EVENTS), name) in context.selected_asset_check_keys:
            yield evaluate(day, lake, quality)
