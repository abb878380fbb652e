"""Typing and validation of one day's telemetry events.

Input is a frame in the export format (:mod:`usage_assets.sources.export_format`: every
column a string). Output is the typed ``raw_events`` frame (see :data:`RAW_EVENTS_SCHEMA`)
and a ``rejected_events`` frame holding every row that broke a rule, its original
strings untouched plus a ``reason`` column naming each broken rule (``"; "``-joined).

The rules are the collector's value constraints (reference section 2.3): telemetry is
untrusted, and a row that could not have passed the collector (or was garbled on the
way) must not count silently. Two deliberate differences from the collector: storage
values ``mongodb``/``mongodb-atlas`` are accepted on heartbeats too (the collector's
heartbeat regex rejects them by mistake, reference quirk 1), and unknown keys inside
``auth_path_share_24h`` are dropped rather than rejected, as the collector does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import polars as pl

from usage_assets.sources import export_format as fmt

#: Typed columns of ``raw_events`` (one row per distinct event of one UTC day).
RAW_EVENTS_SCHEMA = pl.Schema(
    {
        **{
            name: pl.String
            for name in fmt.EXPORT_COLUMNS
            if name not in ("stored_at", "source_ip_hash", "ts")
        },
        **{name: pl.Int64 for name in fmt.INT_COLUMNS},
        **{name: pl.Boolean for name in fmt.BOOL_COLUMNS},
        "ts": pl.Datetime("ms", "UTC"),
    }
)
# Keep the export's column order for readability of the Parquet files.
RAW_EVENTS_SCHEMA = pl.Schema(
    {name: RAW_EVENTS_SCHEMA[name] for name in fmt.EXPORT_COLUMNS if name in RAW_EVENTS_SCHEMA}
)

REJECTS_SCHEMA = pl.Schema({**fmt.EXPORT_SCHEMA, "reason": pl.String})

#: Columns whose non-empty value must be one of a fixed list.
ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "os": fmt.OPERATING_SYSTEMS,
    "cloud": fmt.CLOUDS,
    "compute": fmt.COMPUTES,
    "mode": fmt.MODES,
    "registry_mode": fmt.REGISTRY_MODES,
    "storage": fmt.STORAGES,
    "search_backend": fmt.SEARCH_BACKENDS,
    "embeddings_backend_kind": fmt.EMBEDDINGS_BACKEND_KINDS,
    "cloud_detection_method": fmt.CLOUD_DETECTION_METHODS,
    "internal_deployment_type": fmt.INTERNAL_DEPLOYMENT_TYPES,
    "auth_path_volume_bucket_24h": fmt.AUTH_VOLUME_BUCKETS,
}

#: Longest accepted values of free-text columns (collector: registry_id <= 36, v <= 200).
MAX_LENGTHS = {"registry_id": 36, "v": 200}

# Duplicates are found on the parsed instant, so one event exported with two ts
# spellings (".123Z" by mongosh, ".123456+00:00" by the registry) is still one event; an
# unparsable ts keeps its own text, so two different garbled rows stay two rows.
_DEDUPE_KEY = ("event", "registry_id", "_instant")


def event_identity() -> pl.Expr:
    """The ``_instant`` part of an event's identity: its ts instant, or its raw text."""
    return pl.coalesce(parse_ts(pl.col("ts")).cast(pl.String), pl.col("ts")).alias("_instant")


@dataclass(frozen=True)
class ValidatedDay:
    """Result of :func:`validate_events` for one UTC day.

    ``events``: typed, de-duplicated rows (:data:`RAW_EVENTS_SCHEMA`), sorted by
    ``(ts, event, registry_id)``. ``rejects``: rows that broke a rule
    (:data:`REJECTS_SCHEMA`). ``duplicates``: number of valid rows dropped because an
    identical ``(event, registry_id, ts)`` was already kept (duplicate deliveries, or
    the same event in several CSV snapshots).
    """

    events: pl.DataFrame
    rejects: pl.DataFrame
    duplicates: int


def parse_ts(column: pl.Expr) -> pl.Expr:
    """ISO-8601 strings -> ``Datetime("ms", "UTC")``; null where unparsable.

    Accepts a ``Z`` suffix or any numeric offset (converted to UTC), an optional
    fraction (truncated to milliseconds, like mongosh), a space instead of ``T``, and
    no offset at all (taken as UTC, since every exporter writes UTC).
    """
    text = column.str.replace(r"Z$", "+00:00").str.replace(" ", "T", literal=True)
    text = pl.when(text.str.contains(r"[+-]\d\d:\d\d$")).then(text).otherwise(text + "+00:00")
    return text.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="ms"
    ).dt.convert_time_zone("UTC")


def normalize_auth_share(cell: str) -> str | None:
    """Validate one ``auth_path_share_24h`` cell and return it as compact JSON.

    Keys outside the 13 known auth paths are dropped (the collector does the same).
    Raises ``ValueError`` when the cell is not a JSON object of integer shares 0..100.
    Returns None when no known path is left.
    """
    try:
        share = json.loads(cell)
    except json.JSONDecodeError as error:
        raise ValueError("auth_path_share_24h: not a JSON object") from error
    if not isinstance(share, dict):
        raise ValueError("auth_path_share_24h: not a JSON object")
    kept = {}
    for path, pct in share.items():
        if path not in fmt.AUTH_PATHS:
            continue
        if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
            raise ValueError("auth_path_share_24h: share is not an integer 0..100")
        kept[path] = pct
    return json.dumps(kept, separators=(",", ":")) if kept else None


def _share_problem(cell: str | None) -> str | None:
    if cell is None:
        return None
    try:
        normalize_auth_share(cell)
    except ValueError as error:
        return str(error)
    return None


def _rule_violations(day: date) -> list[pl.Expr]:
    """One expression per rule: the reason string where the row breaks it, else null."""
    rules: list[tuple[pl.Expr, str]] = []

    def present(name: str) -> pl.Expr:
        return pl.col(name).is_not_null()

    rules.append((~pl.col("event").is_in(fmt.EVENT_TYPES) | ~present("event"),
                  "event: not startup or heartbeat"))
    rules.append((~present("ts"), "ts: missing"))
    parsed = parse_ts(pl.col("ts"))
    rules.append((present("ts") & parsed.is_null(), "ts: not an ISO-8601 time"))
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    rules.append(
        (parsed.is_not_null() & ((parsed < start) | (parsed >= start + timedelta(days=1))),
         "ts: outside the partition's UTC day")
    )
    rules.append((~present("v"), "v: missing"))
    for name, longest in MAX_LENGTHS.items():
        rules.append((pl.col(name).str.len_chars() > longest,
                      f"{name}: longer than {longest} characters"))
    rules.append((present("py") & ~pl.col("py").str.contains(r"^\d+\.\d+$"),
                  "py: not MAJOR.MINOR"))
    for name, allowed in ALLOWED_VALUES.items():
        rules.append((present(name) & ~pl.col(name).is_in(allowed),
                      f"{name}: not one of the allowed values"))
    for name in fmt.INT_COLUMNS:
        number = pl.col(name).str.to_integer(strict=False)
        rules.append((present(name) & (number.is_null() | (number < 0)),
                      f"{name}: not a non-negative integer"))
    rules.append((pl.col("auth_path_window_hours").str.to_integer(strict=False) > 48,
                  "auth_path_window_hours: more than 48"))
    for name in fmt.BOOL_COLUMNS:
        rules.append((present(name) & ~pl.col(name).str.to_lowercase().is_in(["true", "false"]),
                      f"{name}: not True or False"))

    # The collector's cloud / detection-method consistency validator (reference 2.3).
    cloud, method = pl.col("cloud"), pl.col("cloud_detection_method")
    inconsistent = (
        ((method == "ecs_meta") & (cloud != "aws"))
        | ((method == "unknown") & (cloud != "unknown"))
        | ((cloud == "unknown") & ~method.is_in(["unknown", "operator_declined"]))
        | ((method == "operator_declared") & ~cloud.is_in(["on_premises", "other"]))
        | ((method == "operator_declined") & (cloud != "unknown"))
        | (cloud.is_in(["on_premises", "other"]) & ~method.is_in(["operator_declared", "explicit"]))
    )
    rules.append((inconsistent.fill_null(False), "cloud_detection_method: inconsistent with cloud"))

    expressions = [pl.when(bad.fill_null(False)).then(pl.lit(reason)) for bad, reason in rules]
    expressions.append(
        pl.col("auth_path_share_24h").map_elements(_share_problem, return_dtype=pl.String)
    )
    return expressions


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast validated export strings to :data:`RAW_EVENTS_SCHEMA`."""
    casts = []
    for name, dtype in RAW_EVENTS_SCHEMA.items():
        column = pl.col(name)
        if name == "ts":
            casts.append(parse_ts(column).alias(name))
        elif dtype == pl.Int64:
            casts.append(column.str.to_integer(strict=False).alias(name))
        elif dtype == pl.Boolean:
            casts.append((column.str.to_lowercase() == "true").alias(name))
        elif name == "auth_path_share_24h":
            casts.append(column.map_elements(normalize_auth_share, return_dtype=pl.String).alias(name))
        else:
            casts.append(column)
    return frame.select(casts)


def deduplicate(export_rows: pl.DataFrame) -> pl.DataFrame:
    """Drop repeated events from export-format rows, keeping input order otherwise.

    Rows with equal ``event``, ``registry_id`` and ts instant are one event; the row
    with the most non-empty cells is kept, then the first one. Used for duplicate
    deliveries within a day and for the same event in several CSV snapshots.
    """
    completeness = pl.sum_horizontal(pl.col(name).is_not_null() for name in fmt.EXPORT_COLUMNS)
    return (
        export_rows.with_row_index("_order")
        .with_columns(event_identity(), _filled=completeness)
        .sort(["_filled", "_order"], descending=[True, False])
        .unique(subset=list(_DEDUPE_KEY), keep="first")
        .sort("_order")
        .drop("_order", "_filled", "_instant")
    )


def validate_events(export_rows: pl.DataFrame, day: date) -> ValidatedDay:
    """Split one day's export rows into typed events and rejects, and de-duplicate.

    ``export_rows``: any frame with export columns (missing ones count as empty);
    ``day``: the UTC day the rows were fetched for; a ts outside it is a reject.
    Duplicates (same event, registry_id and ts) keep the row with the most non-empty
    cells, then the first in input order. Never raises on bad values; every row ends
    up in exactly one of ``events`` (after de-duplication) or ``rejects``.
    """
    rows = fmt.conform_to_export(export_rows).with_row_index("_row")
    reasons = pl.concat_str(_rule_violations(day), separator="; ", ignore_nulls=True)
    checked = rows.with_columns(reason=reasons)
    bad = checked.filter(pl.col("reason") != "")
    good = checked.filter(pl.col("reason") == "")

    kept = deduplicate(good.drop("_row", "reason"))
    events = _typed(kept).sort(["ts", "event", "registry_id"], nulls_last=False)
    rejects = bad.sort("_row").select(list(REJECTS_SCHEMA))
    return ValidatedDay(events=events, rejects=rejects, duplicates=good.height - kept.height)


def rejects_by_reason(rejects: pl.DataFrame) -> dict[str, int]:
    """How many rejected rows broke each rule (a row breaking two rules counts for both)."""
    if not rejects.height:
        return {}
    counts = rejects["reason"].str.split("; ").explode().value_counts()
    return dict(sorted(counts.rows(), key=lambda row: (-row[1], row[0])))


def ingest_stats(fetched: pl.DataFrame, validated: ValidatedDay) -> dict:
    """The ``ingest_stats`` record of one day: what the source handed over and what became
    of it. ``fetched`` (rows) and ``fetched_by_event`` (rows per ``event`` value, before
    validation: what the reconciliation check recounts), ``valid`` (rows kept),
    ``duplicates``, ``rejected`` and ``rejects_by_reason``."""
    return {
        "fetched": fetched.height,
        "fetched_by_event": fmt.count_events(fetched),
        "valid": validated.events.height,
        "duplicates": validated.duplicates,
        "rejected": validated.rejects.height,
        "rejects_by_reason": rejects_by_reason(validated.rejects),
    }
