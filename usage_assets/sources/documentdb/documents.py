"""Telemetry database documents to export-format rows, and the per-day query filters.

The collector stores one document per event in ``telemetry.startup_events`` and
``telemetry.heartbeat_events`` (reference 2.3): every declared field, ``None`` for absent
optional ones, ``ts`` as a BSON UTC datetime (or, when an old collector could not parse
it, the original string), plus ``received_at`` and ``_id``. This module turns such
documents into the rows the reference exporter writes (reference 2.4 and 3.4, tests T1
and T3) so that everything after the fetch is shared with the CSV path.

No I/O and no Dagster here: plain functions, unit-tested directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import polars as pl

from usage_assets.ingest.validation import parse_ts
from usage_assets.sources import export_format as fmt

#: Event type -> collection, in the reference's export order (startup rows first).
COLLECTIONS: dict[str, str] = {"startup": "startup_events", "heartbeat": "heartbeat_events"}

#: Fields asked of the server: the export columns the documents carry. ``event`` comes
#: from the collection, ``_id`` and ``received_at`` are never exported (reference 3.4, T3).
PROJECTION: dict[str, int] = {"_id": 0, **{name: 1 for name in fmt.EXPORT_COLUMNS if name != "event"}}


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``(day 00:00Z, day+1 00:00Z)`` as aware UTC datetimes."""
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def date_ts_filter(day: date) -> dict[str, Any]:
    """Documents whose BSON-date ``ts`` falls in UTC ``day`` (``start <= ts < end``)."""
    start, end = day_bounds(day)
    return {"ts": {"$gte": start, "$lt": end}}


def string_ts_filter(day: date) -> dict[str, Any]:
    """Documents whose ``ts`` is a *string* that may belong to UTC ``day``.

    A range on a BSON date never matches a string (MongoDB compares values of different
    types by type, not by content), so documents an old collector stored with a string
    ``ts`` need their own condition. ISO-8601 strings sort by their date prefix, so this
    asks for strings from ``day-1`` up to (not including) ``day+2``: wide enough for any
    UTC offset (an offset moves the instant by less than a day). The rows are then kept
    or dropped by :func:`keep_string_ts_rows`. A string without a date prefix
    (``"garbage"``) belongs to no day and is never fetched, as in the CSV archive.
    """
    return {"ts": {"$type": "string", "$gte": (day - timedelta(days=1)).isoformat(),
                   "$lt": (day + timedelta(days=2)).isoformat()}}


def day_filter(day: date) -> dict[str, Any]:
    """One query for a day: BSON-date ``ts`` in the day, or a string ``ts`` near it."""
    return {"$or": [date_ts_filter(day), string_ts_filter(day)]}


def _from_extended_date(value: Mapping[str, Any]) -> str | datetime | None:
    """Flatten extended JSON ``{"$date": ...}`` (reference 3.4) to a string or a datetime."""
    inner = value["$date"]
    if isinstance(inner, Mapping) and "$numberLong" in inner:
        inner = int(inner["$numberLong"])
    if isinstance(inner, bool):
        return None
    if isinstance(inner, (int, float)):
        return datetime.fromtimestamp(inner / 1000, tz=timezone.utc)
    if isinstance(inner, datetime):
        return inner
    return None if inner is None else str(inner)


def export_value(value: Any) -> str | None:
    """One document value as the exporter writes it into a CSV cell (reference 2.4).

    ``None`` -> None; booleans -> ``True``/``False``; integers -> decimal; integral
    floats -> decimal without ``.0`` (JSON numbers); datetimes -> :func:`format_ts`
    (UTC, milliseconds, ``Z``; naive ones are UTC); ``{"$date": ...}`` -> flattened;
    other objects and lists -> compact JSON in stored key order; anything else -> ``str``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return fmt.format_bool(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return fmt.format_ts(value)
    if isinstance(value, Mapping):
        if set(value) == {"$date"}:
            flat = _from_extended_date(value)
            return fmt.format_ts(flat) if isinstance(flat, datetime) else flat
        return json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False, default=str)
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


def document_to_row(document: Mapping[str, Any], event: str) -> dict[str, str | None]:
    """One stored document as an export row (every :data:`EXPORT_COLUMNS` key).

    ``event`` is the collection's event type (``startup``/``heartbeat``). Fields the
    export does not have (``_id``, ``received_at``, anything new) are ignored; absent
    fields are None, exactly as the CSV path reads a missing column.
    """
    row = {name: export_value(document.get(name)) for name in fmt.EXPORT_COLUMNS}
    row["event"] = event
    return row


def rows_to_frame(rows: Iterable[Mapping[str, str | None]]) -> pl.DataFrame:
    """Export rows -> an export-format frame (:func:`export_format.conform_to_export`)."""
    rows = list(rows)
    if not rows:
        return fmt.empty_export_frame()
    return fmt.conform_to_export(pl.DataFrame(rows, schema=fmt.EXPORT_SCHEMA))


def keep_string_ts_rows(frame: pl.DataFrame, day: date) -> pl.DataFrame:
    """The rows fetched by :func:`string_ts_filter` that belong to UTC ``day``.

    A parseable string belongs to the day of its instant (any offset converted to UTC,
    no offset read as UTC, as :func:`validation.parse_ts` does). An unparseable string
    belongs to the day its text starts with (``YYYY-MM-DD``), so validation rejects it
    there with the reason ``ts: not an ISO-8601 time`` instead of it vanishing. The
    original string is kept, as the reference exporter keeps it (reference 3.4).
    """
    if not frame.height:
        return frame
    start, end = day_bounds(day)
    instant = parse_ts(pl.col("ts"))
    belongs = pl.when(instant.is_null()).then(pl.col("ts").str.starts_with(day.isoformat())).otherwise(
        (instant >= start) & (instant < end)
    )
    return frame.filter(belongs.fill_null(False))


def split_day_documents(
    documents: Iterable[Mapping[str, Any]], event: str, day: date
) -> pl.DataFrame:
    """Documents returned by :func:`day_filter` -> the export rows of UTC ``day``.

    Documents with a BSON-date ``ts`` were selected by the server and are all kept;
    string-``ts`` documents go through :func:`keep_string_ts_rows`.
    """
    dated, stringly = [], []
    for document in documents:
        (stringly if isinstance(document.get("ts"), str) else dated).append(document_to_row(document, event))
    return pl.concat([rows_to_frame(dated), keep_string_ts_rows(rows_to_frame(stringly), day)])
