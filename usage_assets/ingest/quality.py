"""Data-quality numbers of one ingested day, for the warning checks on ``raw_events``.

Everything is read from what the ingest already wrote: the day's ``ingest_stats`` record
(:func:`usage_assets.ingest.validation.ingest_stats`) and its ``field_quarantine`` rows.
Shares are percentages rounded to two decimals; a share of nothing (no row fetched, no
event kept) is 0.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from usage_assets.common.formatting import printable
from usage_assets.ingest.validation import CLEARED, KEPT

#: New values listed in a check's metadata; the report's data-quality section lists all.
LISTED_NEW_VALUES = 20
#: Characters of a new value shown (telemetry may send 120 characters of junk).
NEW_VALUE_CHARS = 60


def share_pct(part: int, whole: int) -> float:
    """``100 * part / whole`` rounded to 2 decimals; 0.0 when ``whole`` is 0."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def rejected_rows(stats: Mapping[str, Any]) -> dict[str, int | float]:
    """``rows_fetched``, ``rows_rejected`` and ``rejected_rows_pct`` (of the rows fetched)."""
    return {
        "rows_fetched": stats["fetched"],
        "rows_rejected": stats["rejected"],
        "rejected_rows_pct": share_pct(stats["rejected"], stats["fetched"]),
    }


def cleared_fields(stats: Mapping[str, Any]) -> dict[str, int | float]:
    """``events_kept``, ``fields_cleared`` (values set to null: broken type, length or range)
    and ``cleared_fields_pct``: cleared values per 100 kept events (an event with two
    cleared fields counts twice)."""
    cleared = stats["field_issues"].get(CLEARED, 0)
    return {
        "events_kept": stats["valid"],
        "fields_cleared": cleared,
        "cleared_fields_pct": share_pct(cleared, stats["valid"]),
    }


def new_values(day_findings: pl.DataFrame, earlier_findings: Iterable[pl.DataFrame]) -> list[dict[str, Any]]:
    """Values of ``day_findings`` kept as a new category (outside the column's known list)
    that none of ``earlier_findings`` holds for the same column: ``{column, value,
    events}``, most events first, then by column and value.

    Both are ``field_quarantine`` frames (:data:`usage_assets.ingest.validation.QUARANTINE_SCHEMA`).
    """
    kept = day_findings.filter(pl.col("action") == KEPT).select("column", "value", "events")
    seen = [frame.filter(pl.col("action") == KEPT).select("column", "value") for frame in earlier_findings]
    if seen:
        kept = kept.join(pl.concat(seen).unique(), on=["column", "value"], how="anti", nulls_equal=True)
    return kept.sort(["events", "column", "value"], descending=[True, False, False]).to_dicts()


def listed(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first :data:`LISTED_NEW_VALUES` of ``values`` with each value made printable and
    cut to :data:`NEW_VALUE_CHARS` characters, for metadata shown in the UI."""
    return [{**value, "value": printable(value["value"], NEW_VALUE_CHARS)} for value in values[:LISTED_NEW_VALUES]]
