"""Ingested days the source has changed since: never report on stale data silently.

The ingest records, in each day's ``ingest_stats``, the source's version of that day
(``TelemetrySource.day_version``: for the CSV archive a digest of the cached day, which
changes when a newer export adds late rows, completes a truncated one, or replaces it).
A day whose recorded version differs from the source's current one is *stale*: its
raw_events, and every history-wide metric and report from that day on, were built on
older data. The CLI re-ingests stale days before building a report; the report asset
refuses to build on them and names the command that fixes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date

from usage_assets.storage.datasets import INGEST_STATS
from usage_assets.storage.lake import Lake


def stale_days(
    days: Iterable[date],
    stored_record: Callable[[date], Mapping | None],
    current_version: Callable[[date], str | None],
) -> list[date]:
    """The days of ``days`` (ascending) whose ``ingest_stats`` (``stored_record``; None when
    the day was never ingested) recorded a ``source_version`` other than the source's
    ``current_version``. Days ingested without a version (by a source that has none, or
    before versions were recorded) are never stale."""
    stale = []
    for day in sorted(days):
        record = stored_record(day)
        recorded = record.get("source_version") if record else None
        if recorded is not None and recorded != current_version(day):
            stale.append(day)
    return stale


def stale_ingested_days(lake: Lake, current_version: Callable[[date], str | None], last: date) -> list[date]:
    """:func:`stale_days` over every day up to ``last`` whose ``ingest_stats`` the lake holds."""
    ingested = [day for day in lake.days(INGEST_STATS, "data.json") if day <= last]
    return stale_days(ingested, lambda day: lake.read_json_if_present(INGEST_STATS, day), current_version)


def stale_message(stale: list[date], last_day: date) -> str:
    """One paragraph naming the stale days and the command that rebuilds them and the reports after them."""
    shown = ", ".join(day.isoformat() for day in stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
    return (
        f"the source changed {len(stale)} day(s) after they were ingested: {shown}. Reports from "
        f"{stale[0]} on would be built on the older data. Re-ingest those days and rebuild the reports: "
        f"`usage-report backfill --start {stale[0]} --end {last_day} --force` (or re-materialize raw_events "
        "for those partitions and the report days after them in the Dagster UI)."
    )
