"""Typing and validation of one day's telemetry events.

Input is a frame in the export format (:mod:`usage_assets.sources.export_format`: every
column a string), optionally with the source's :data:`RECORD_PROBLEM` and
:data:`RECORD_ORIGIN` columns. Output (:class:`ValidatedDay`) is the typed ``raw_events``
frame (:data:`RAW_EVENTS_SCHEMA`), the ``rejected_events`` frame (:data:`REJECTS_SCHEMA`)
and the ``field_quarantine`` frame (:data:`QUARANTINE_SCHEMA`).

Telemetry is untrusted, and a newer registry or collector may send values this project
has never seen. Two levels of rules:

* **Row rules** (:func:`row_rules`): a row is rejected only when it cannot be an event:
  ``event`` missing or not ``startup``/``heartbeat``, ``registry_id`` present but not a
  UUID, ``ts`` missing, unparsable or outside the partition's day, or a record the source
  could not read whole (``record_problem``: more fields than the header, a cut row, an
  unbalanced quote). The row goes to ``rejected_events`` with its original strings and
  every reason. An empty ``registry_id`` stays an event ("unidentified", reference 2.1).
* **Field rules** (:func:`field_rules`): any other value that breaks a rule keeps the
  event. A value outside a known list (a new compute platform, a new os) is *kept* as it
  is, so breakdowns show it as its own category; a value that breaks a type, length or
  range rule is *cleared* (set to null); a required ``v`` that is absent is recorded as
  *missing*; auth paths the collector does not know are *dropped* from the share, as the
  collector does. Each is counted per (column, rule, value) in ``field_quarantine``.

The value rules are the collector's (reference 2.3), widened where a newer registry is
expected to differ: storage ``mongodb``/``mongodb-atlas`` on heartbeats (quirk 1) and
decimal auth-path shares 0..100. Lengths and the plausible maxima of counters
(:data:`MAX_LENGTHS`, :data:`PLAUSIBLE_MAXIMA`) are this project's own limits.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import polars as pl

from usage_assets.sources import export_format as fmt

#: Optional input column: why the source could not read the row as a whole record
#: (e.g. ``"record: more fields than the header"``); a non-null value rejects the row.
RECORD_PROBLEM = "record_problem"
#: Optional input column: where the row was read (``"<file> line <n>"``); kept in the rejects.
RECORD_ORIGIN = "record_origin"

#: Typed columns of ``raw_events`` (one row per distinct event of one UTC day).
RAW_EVENTS_SCHEMA = pl.Schema(
    {
        **{
            name: pl.String
            for name in fmt.EXPORT_COLUMNS
            if name not in ("stored_at", "ts")
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

#: ``rejected_events``: the original strings, every broken row rule (``"; "``-joined) and
#: where the row was read (null when the source does not say).
REJECTS_SCHEMA = pl.Schema({**fmt.EXPORT_SCHEMA, "reason": pl.String, "origin": pl.String})

#: ``field_quarantine``: one row per (column, rule, action, value) of one day, with the
#: number of kept events it concerns. ``value`` is the offending value as received, cut
#: to :data:`QUARANTINED_VALUE_CHARS` characters (null for a missing value).
QUARANTINE_SCHEMA = pl.Schema(
    {"column": pl.String, "rule": pl.String, "action": pl.String, "value": pl.String, "events": pl.Int64}
)
#: Field rule outcomes: the value is kept as a new category, set to null, absent although
#: required, or (auth-path keys) dropped from the share.
KEPT, CLEARED, MISSING, DROPPED = "kept", "cleared", "missing", "dropped"
QUARANTINED_VALUE_CHARS = 120

#: Columns whose non-empty value is expected in a fixed list; another value is kept.
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

#: Longest accepted value of each string column (collector: v <= 200). Free text and
#: not-yet-known list values alike: one 50 MB ``arch`` must not reach a report.
MAX_LENGTHS: dict[str, int] = {
    "v": 200,
    "py": 16,
    "arch": 64,
    "auth": 64,
    "embeddings_provider": 64,
    **{name: 64 for name in ALLOWED_VALUES},
    "auth_path_share_24h": 1000,
    # A hash of the sender's IP (hex of a digest): kept for stitching recreated installs.
    "source_ip_hash": 128,
}

#: Largest plausible value of each integer column. A larger value (the int64 maximum a
#: broken counter sends) is cleared. With these bounds a sum over 10 million events
#: stays below 2**63, so no total can wrap around.
PLAUSIBLE_MAXIMA: dict[str, int] = {
    "servers_count": 1_000_000,
    "agents_count": 1_000_000,
    "skills_count": 1_000_000,
    "peers_count": 1_000_000,
    # About 23 years.
    "uptime_hours": 200_000,
    "search_queries_total": 100_000_000_000,
    "search_queries_24h": 10_000_000_000,
    "search_queries_1h": 1_000_000_000,
    "schema_version": 1_000,
    "auth_path_window_hours": 48,
}

_UUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"

# Duplicates are found on the parsed instant, so one event exported with two ts
# spellings (".123Z" by mongosh, ".123456+00:00" by the registry) is still one event; an
# unparsable ts keeps its own text, so two different garbled rows stay two rows.
_DEDUPE_KEY = ("event", "registry_id", "_instant")


def event_identity(parsed: pl.Expr | None = None) -> pl.Expr:
    """The ``_instant`` part of an event's identity: its ts instant, or its raw text.

    ``parsed``: the rows' ts already parsed (:func:`parse_ts`), to spare parsing it again.
    """
    instant = parse_ts(pl.col("ts")) if parsed is None else parsed
    return pl.coalesce(instant.cast(pl.String), pl.col("ts")).alias("_instant")


@dataclass(frozen=True)
class ValidatedDay:
    """Result of :func:`validate_events` for one UTC day.

    ``events``: typed, de-duplicated rows (:data:`RAW_EVENTS_SCHEMA`), sorted by
    ``(ts, event, registry_id)``, with quarantined fields cleared. ``rejects``: rows that
    are not events (:data:`REJECTS_SCHEMA`). ``duplicates``: number of rows dropped
    because an identical ``(event, registry_id, ts)`` was already kept (duplicate
    deliveries, or the same event in several CSV snapshots). ``quarantine``: field rule
    outcomes of the kept events (:data:`QUARANTINE_SCHEMA`), sorted by column, rule,
    action, value. Rows read = ``events.height + duplicates + rejects.height``.
    """

    events: pl.DataFrame
    rejects: pl.DataFrame
    duplicates: int
    quarantine: pl.DataFrame


@dataclass(frozen=True)
class FieldRule:
    """One field rule: where ``violated`` (an expression over export strings) holds, the
    value of ``column`` gets ``action`` (:data:`KEPT`, :data:`CLEARED`, :data:`MISSING`)."""

    column: str
    rule: str
    action: str
    violated: pl.Expr


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


@dataclass(frozen=True)
class AuthShareCheck:
    """One ``auth_path_share_24h`` cell checked: the compact JSON kept (None when nothing
    is left or the cell is cleared), the rule it broke (None if none) and the unknown
    path names dropped from it."""

    share: str | None
    problem: str | None
    dropped: tuple[str, ...]


def _is_share(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and 0 <= value <= 100
    )


def check_auth_share(cell: str) -> AuthShareCheck:
    """Check one ``auth_path_share_24h`` cell (reference 2.4: a JSON object path -> percent).

    Shares may be integers or decimals from 0 to 100 (a newer registry sends decimals).
    Keys outside the 13 known auth paths are dropped, as the collector does, and named in
    ``dropped``. A cell that is not a JSON object, or holds a share that is not a number
    0..100, breaks a rule: ``share`` is None and ``problem`` names the rule.
    """
    try:
        share = json.loads(cell)
    except (json.JSONDecodeError, RecursionError):
        return AuthShareCheck(None, "not a JSON object", ())
    if not isinstance(share, dict):
        return AuthShareCheck(None, "not a JSON object", ())
    known = {path: pct for path, pct in share.items() if path in fmt.AUTH_PATHS}
    dropped = tuple(path for path in share if path not in fmt.AUTH_PATHS)
    if not all(_is_share(pct) for pct in known.values()):
        return AuthShareCheck(None, "share is not a number 0..100", dropped)
    return AuthShareCheck(json.dumps(known, separators=(",", ":")) if known else None, None, dropped)


# A share cell in the collector's own form: known paths, each once (checked apart), integer
# shares 0..100, no spaces. check_auth_share returns such a cell unchanged.
_SHARE_ITEM = '"(?:' + "|".join(fmt.AUTH_PATHS) + ')":(?:100|[1-9]?[0-9])'
_COMPACT_SHARE = "^\\{" + _SHARE_ITEM + "(?:," + _SHARE_ITEM + ")*\\}$"


def compact_auth_share(cell: pl.Expr) -> pl.Expr:
    """Whether an ``auth_path_share_24h`` cell is already what :func:`check_auth_share`
    makes of it (compact JSON of known paths, each once, with integer shares 0..100): such
    a cell is valid and kept as it is, without a parse in Python. Null for a null cell."""
    keys = cell.str.extract_all(r'"[^"]*":')
    return cell.str.contains(_COMPACT_SHARE) & (keys.list.n_unique() == keys.list.len())


def normalize_auth_share(cell: str) -> str | None:
    """Validate one ``auth_path_share_24h`` cell and return it as compact JSON.

    Keys outside the 13 known auth paths are dropped (the collector does the same).
    Raises ``ValueError`` when the cell is not a JSON object of shares 0..100.
    Returns None when no known path is left.
    """
    checked = check_auth_share(cell)
    if checked.problem:
        raise ValueError(f"auth_path_share_24h: {checked.problem}")
    return checked.share


def row_rules(day: date, parsed: pl.Expr | None = None) -> list[tuple[pl.Expr, str]]:
    """The rules whose breach means a row is not an event: (violated, reason) pairs over
    export strings (plus :data:`RECORD_PROBLEM`, which names its own reason).

    ``parsed``: the rows' ts already parsed (:func:`parse_ts`), to spare parsing it again.
    """
    ts = pl.col("ts")
    parsed = parse_ts(ts) if parsed is None else parsed
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    return [
        (~pl.col("event").is_in(fmt.EVENT_TYPES) | pl.col("event").is_null(), "event: not startup or heartbeat"),
        (~pl.col("registry_id").str.contains(_UUID), "registry_id: not a UUID"),
        (ts.is_null(), "ts: missing"),
        (ts.is_not_null() & parsed.is_null(), "ts: not an ISO-8601 time"),
        (parsed.is_not_null() & ((parsed < start) | (parsed >= start + timedelta(days=1))),
         "ts: outside the partition's UTC day"),
    ]


@functools.cache
def field_rules() -> tuple[FieldRule, ...]:
    """Every field rule except the auth-path share's (checked by :func:`check_auth_share`).

    The rules of one column exclude each other, so a value is counted under one rule.
    Built once per process (expressions are immutable).
    """
    rules: list[FieldRule] = []

    def too_long(name: str) -> pl.Expr:
        return pl.col(name).str.len_chars() > MAX_LENGTHS[name]

    def within_length(name: str) -> pl.Expr:
        return pl.col(name).is_not_null() & ~too_long(name) if name in MAX_LENGTHS else pl.col(name).is_not_null()

    for name, longest in MAX_LENGTHS.items():
        rules.append(FieldRule(name, f"longer than {longest} characters", CLEARED, too_long(name)))
    # (auth_path_share_24h's other rules are checked in Python, by check_auth_share.)
    rules.append(FieldRule("v", "missing (required)", MISSING, pl.col("v").is_null()))
    rules.append(FieldRule("py", "not MAJOR.MINOR", CLEARED, within_length("py") & ~pl.col("py").str.contains(r"^\d+\.\d+$")))
    for name, allowed in ALLOWED_VALUES.items():
        rules.append(FieldRule(name, "not a known value", KEPT, within_length(name) & ~pl.col(name).is_in(allowed)))
    for name in fmt.INT_COLUMNS:
        number = pl.col(name).str.to_integer(strict=False)
        rules.append(FieldRule(name, "not a non-negative integer", CLEARED,
                               pl.col(name).is_not_null() & (number.is_null() | (number < 0))))
        rules.append(FieldRule(name, f"more than {PLAUSIBLE_MAXIMA[name]:,}", CLEARED, number > PLAUSIBLE_MAXIMA[name]))
    for name in fmt.BOOL_COLUMNS:
        rules.append(FieldRule(name, "not True or False", CLEARED,
                               pl.col(name).is_not_null() & ~pl.col(name).str.to_lowercase().is_in(["true", "false"])))

    # The collector's cloud / detection-method consistency validator (reference 2.3),
    # between known values only: the method is cleared, the cloud kept.
    cloud, method = pl.col("cloud"), pl.col("cloud_detection_method")
    inconsistent = (
        ((method == "ecs_meta") & (cloud != "aws"))
        | ((method == "unknown") & (cloud != "unknown"))
        | ((cloud == "unknown") & ~method.is_in(["unknown", "operator_declined"]))
        | ((method == "operator_declared") & ~cloud.is_in(["on_premises", "other"]))
        | ((method == "operator_declined") & (cloud != "unknown"))
        | (cloud.is_in(["on_premises", "other"]) & ~method.is_in(["operator_declared", "explicit"]))
    )
    known_pair = cloud.is_in(fmt.CLOUDS) & method.is_in(fmt.CLOUD_DETECTION_METHODS)
    rules.append(FieldRule("cloud_detection_method", "inconsistent with cloud", CLEARED, known_pair & inconsistent))
    return tuple(FieldRule(r.column, r.rule, r.action, r.violated.fill_null(False)) for r in rules)


def _shown(value: pl.Expr) -> pl.Expr:
    """A quarantined value as stored: cut to :data:`QUARANTINED_VALUE_CHARS` characters."""
    cut = value.str.slice(0, QUARANTINED_VALUE_CHARS - 1) + "…"
    return pl.when(value.str.len_chars() > QUARANTINED_VALUE_CHARS).then(cut).otherwise(value)


def _auth_share_outcomes(cells: pl.Series) -> tuple[dict[str, AuthShareCheck], list[dict]]:
    """Each distinct share cell checked once, and its quarantine rows (counted per event)."""
    checks: dict[str, AuthShareCheck] = {}
    found: dict[tuple[str, str, str], int] = {}
    for cell, count in cells.drop_nulls().value_counts().iter_rows():
        checked = checks[cell] = check_auth_share(cell)
        if checked.problem:
            key = (checked.problem, CLEARED, cell)
            found[key] = found.get(key, 0) + count
        for path in checked.dropped:
            key = ("not a known auth path", DROPPED, path)
            found[key] = found.get(key, 0) + count
    rows = [{"column": "auth_path_share_24h", "rule": rule, "action": action, "value": value, "events": n}
            for (rule, action, value), n in found.items()]
    return checks, rows


def _rule_outcomes(flagged: pl.DataFrame, rules: tuple[FieldRule, ...], flags: list[str]) -> pl.DataFrame:
    """Events per (rule, shown value) of every rule in ``rules``, in one query.

    ``flagged``: the rows with one boolean column per rule (``flags[i]``: whether the row
    breaks ``rules[i]``). Only the rows and rules with a breach are looked at again: each
    such row becomes one (rule, value) row per rule it breaks, and those are counted.
    Returns :data:`QUARANTINE_SCHEMA` rows, unsorted.
    """
    offending = flagged.filter(pl.any_horizontal(flags))
    broken = [index for index, hit in enumerate(offending.select(pl.col(flags).any()).row(0)) if hit] \
        if offending.height else []
    if not broken:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    outcomes = (
        offending.lazy()
        .select(
            pl.struct(pl.col(flags[index]).alias("hit"), _shown(pl.col(rules[index].column)).alias("value"))
            .alias(str(index))
            for index in broken
        )
        .unpivot(variable_name="_rule", value_name="_outcome")
        .unnest("_outcome")
        .filter(pl.col("hit"))
        .group_by("_rule", "value")
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .collect()
    )
    catalog = pl.DataFrame(
        {
            "_rule": [str(index) for index in broken],
            "column": [rules[index].column for index in broken],
            "rule": [rules[index].rule for index in broken],
            "action": [rules[index].action for index in broken],
        }
    )
    return outcomes.join(catalog, on="_rule").select(list(QUARANTINE_SCHEMA))


def quarantine_fields(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply the field rules to export-format ``rows`` (one row per kept event).

    Returns ``(cleaned, quarantine)``: ``rows`` with every value of a :data:`CLEARED`
    outcome set to null and ``auth_path_share_24h`` normalized (unknown paths dropped),
    and the :data:`QUARANTINE_SCHEMA` frame counting each outcome.

    Every rule is evaluated in one pass over the rows; only the rows that break a rule are
    looked at again, to count them (:func:`_rule_outcomes`).
    """
    rules = field_rules()
    flags = [f"_rule{index}" for index in range(len(rules))]
    share = pl.col("auth_path_share_24h")
    checkable = share.str.len_chars() <= MAX_LENGTHS["auth_path_share_24h"]
    flagged = rows.with_columns(
        *[rule.violated.alias(flag) for rule, flag in zip(rules, flags, strict=True)],
        # Cells already in the collector's compact form need no parse; the others are
        # checked in Python, each distinct cell once.
        (checkable & compact_auth_share(share)).alias("_compact_share"),
    )
    share_checks, share_rows = _auth_share_outcomes(
        flagged.filter(checkable & ~pl.col("_compact_share"))["auth_path_share_24h"]
    )
    found = pl.concat(
        [_rule_outcomes(flagged, rules, flags),
         pl.DataFrame(share_rows, schema=QUARANTINE_SCHEMA).with_columns(_shown(pl.col("value")))]
    )
    quarantine = (
        found.group_by("column", "rule", "action", "value").agg(pl.col("events").sum())
        .select(list(QUARANTINE_SCHEMA))
        .sort("column", "rule", "action", "value", nulls_last=False)
    ) if found.height else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    cleared: dict[str, list[str]] = {}
    for rule, flag in zip(rules, flags, strict=True):
        if rule.action == CLEARED and rule.column != "auth_path_share_24h":
            cleared.setdefault(rule.column, []).append(flag)
    # A share too long to check, or one that breaks a rule, maps to None.
    normalized = (
        pl.when(pl.col("_compact_share")).then(share)
        .otherwise(share.replace_strict({cell: checked.share for cell, checked in share_checks.items()},
                                        default=None, return_dtype=pl.String))
    )
    cleaned = flagged.with_columns(
        *[pl.when(pl.any_horizontal(names)).then(None).otherwise(pl.col(name)).alias(name)
          for name, names in cleared.items()],
        normalized.alias("auth_path_share_24h"),
    ).drop(*flags, "_compact_share")
    return cleaned, quarantine


def _typed(frame: pl.DataFrame, parsed_ts: pl.Expr) -> pl.DataFrame:
    """Cast cleaned export strings to :data:`RAW_EVENTS_SCHEMA`; ``ts`` is ``parsed_ts``."""
    casts = []
    for name, dtype in RAW_EVENTS_SCHEMA.items():
        column = pl.col(name)
        if name == "ts":
            casts.append(parsed_ts.alias(name))
        elif dtype == pl.Int64:
            casts.append(column.str.to_integer(strict=False).alias(name))
        elif dtype == pl.Boolean:
            casts.append((column.str.to_lowercase() == "true").alias(name))
        else:
            casts.append(column)
    return frame.select(casts)


def deduplicate(export_rows: pl.DataFrame) -> pl.DataFrame:
    """Drop repeated events from export-format rows, keeping input order otherwise.

    Rows with equal ``event``, ``registry_id`` and ts instant are one event; the row
    with the most non-empty cells is kept, then the first one. Used for duplicate
    deliveries within a day and for the same event in several CSV snapshots.

    Rows that already have the ``_instant`` column (:func:`event_identity`) are matched on
    it, and keep it; otherwise it is computed and dropped.
    """
    completeness = pl.sum_horizontal(pl.col(name).is_not_null() for name in fmt.EXPORT_COLUMNS)
    identified = "_instant" in export_rows.columns
    ranked = export_rows.with_row_index("_order").with_columns(_filled=completeness)
    return (
        (ranked if identified else ranked.with_columns(event_identity()))
        .sort(["_filled", "_order"], descending=[True, False])
        .unique(subset=list(_DEDUPE_KEY), keep="first")
        .sort("_order")
        .drop("_order", "_filled", *([] if identified else ["_instant"]))
    )


def _optional(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String) if name in frame.columns else pl.lit(None, dtype=pl.String)


def validate_events(export_rows: pl.DataFrame, day: date) -> ValidatedDay:
    """Split one day's export rows into typed events and rejects, de-duplicate the events
    and quarantine their broken fields.

    ``export_rows``: any frame with export columns (missing ones count as empty), plus
    optionally :data:`RECORD_PROBLEM` and :data:`RECORD_ORIGIN`; ``day``: the UTC day the
    rows were fetched for (a ts outside it rejects the row). Duplicates (same event,
    registry_id and ts) keep the row with the most non-empty cells, then the first in
    input order. Never raises on bad values: every row ends up in exactly one of
    ``events`` (after de-duplication), the duplicates or ``rejects``.
    """
    extra = export_rows.with_columns(
        _optional(export_rows, RECORD_PROBLEM).alias("_problem"), _optional(export_rows, RECORD_ORIGIN).alias("origin")
    ).select("_problem", "origin")
    # ts is parsed once: the row rules, the event identity and the typed events use it.
    rows = pl.concat([fmt.conform_to_export(export_rows), extra], how="horizontal").with_row_index("_row")
    rows = rows.with_columns(parse_ts(pl.col("ts")).alias("_ts"))
    reasons = [pl.when(bad.fill_null(False)).then(pl.lit(reason)) for bad, reason in row_rules(day, pl.col("_ts"))]
    checked = rows.with_columns(reason=pl.concat_str([pl.col("_problem"), *reasons], separator="; ", ignore_nulls=True))
    bad = checked.filter(pl.col("reason") != "")
    good = checked.filter(pl.col("reason") == "").select(*fmt.EXPORT_COLUMNS, "_ts")

    kept = deduplicate(good.with_columns(event_identity(pl.col("_ts")))).drop("_instant")
    cleaned, quarantine = quarantine_fields(kept)
    events = _typed(cleaned, pl.col("_ts")).sort(["ts", "event", "registry_id"], nulls_last=False)
    rejects = bad.sort("_row").select(list(REJECTS_SCHEMA))
    return ValidatedDay(events=events, rejects=rejects, duplicates=good.height - kept.height, quarantine=quarantine)


def _count_by(keys: Iterable[str], counts: Iterable[int]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key, count in zip(keys, counts, strict=True):
        totals[key] = totals.get(key, 0) + int(count)
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def rejects_by_reason(rejects: pl.DataFrame) -> dict[str, int]:
    """How many rejected rows broke each rule (a row breaking two rules counts for both)."""
    if not rejects.height:
        return {}
    counts = rejects["reason"].str.split("; ").explode().value_counts()
    return _count_by(counts["reason"], counts["count"])


def field_issue_counts(quarantine: pl.DataFrame) -> dict[str, int]:
    """Events per field rule outcome (``kept``, ``cleared``, ``missing``, ``dropped``) of a
    :data:`QUARANTINE_SCHEMA` frame; an event with two outcomes counts for both."""
    if not quarantine.height:
        return {}
    return _count_by(quarantine["action"], quarantine["events"])


def ingest_stats(fetched: pl.DataFrame, validated: ValidatedDay) -> dict:
    """The ``ingest_stats`` record of one day: what the source handed over and what became
    of it. ``fetched`` (rows) and ``fetched_by_event`` (rows per ``event`` value, before
    validation: what the reconciliation check recounts), ``valid`` (rows kept),
    ``duplicates``, ``rejected``, ``rejects_by_reason`` and ``field_issues`` (events per
    field rule outcome, :func:`field_issue_counts`). ``fetched`` always equals
    ``valid + duplicates + rejected``; ``ValueError`` if it does not (a bug, never data).
    """
    stats = {
        "fetched": fetched.height,
        "fetched_by_event": fmt.count_events(fetched),
        "valid": validated.events.height,
        "duplicates": validated.duplicates,
        "rejected": validated.rejects.height,
        "rejects_by_reason": rejects_by_reason(validated.rejects),
        "field_issues": field_issue_counts(validated.quarantine),
    }
    if stats["fetched"] != stats["valid"] + stats["duplicates"] + stats["rejected"]:
        raise ValueError(f"rows do not add up: {stats}")
    return stats
