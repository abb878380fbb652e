"""Late-arriving events: compare what the source holds now with what each day ingested.

Events can reach the database after their day was ingested (a collector retry, a
delayed delivery, a CSV snapshot that fills in a day). The reconciliation asset check
recounts the source for the most recent days and compares with the ingest's own record
of what it fetched (``ingest_stats``: ``fetched_by_event``, or ``fetched`` for days
ingested before per-type counts were kept). A day whose source count is now higher is
*behind*: re-materializing it picks the late events up.

Counts are of source rows before validation and de-duplication on both sides, so a
duplicate delivery that arrives late also shows (it changes nothing after
de-duplication, but re-materializing is harmless).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class DayGap:
    """A day whose stored partition has fewer source rows than the source has now.

    ``stored``/``source``: rows per event type (``{"startup": n, "heartbeat": m}``;
    ``{"all": n}`` when the stored record predates per-type counts).
    """

    day: date
    stored: dict[str, int]
    source: dict[str, int]

    def describe(self) -> str:
        parts = [
            f"{kind} {self.stored.get(kind, 0)} -> {self.source.get(kind, 0)}"
            for kind in sorted(set(self.stored) | set(self.source))
            if self.source.get(kind, 0) != self.stored.get(kind, 0)
        ]
        return f"{self.day} ({', '.join(parts)})"


def stored_counts(ingest_stats: Mapping) -> dict[str, int]:
    """Rows fetched per event type from one day's ``ingest_stats`` record."""
    by_event = ingest_stats.get("fetched_by_event")
    if by_event:
        return {kind: int(number) for kind, number in by_event.items()}
    return {"all": int(ingest_stats.get("fetched", 0))}


def find_gap(day: date, stored: Mapping[str, int], source: Mapping[str, int]) -> DayGap | None:
    """A :class:`DayGap` when the source has more rows of some event type than stored, else None.

    With an old record (``{"all": n}``) the totals are compared. Fewer rows in the
    source (expired by the database's 365-day TTL, or purged) is not a gap: the stored
    partition keeps what was fetched.
    """
    stored, source = dict(stored), dict(source)
    if set(stored) == {"all"}:
        source = {"all": sum(source.values())}
    if any(source.get(kind, 0) > stored.get(kind, 0) for kind in source):
        return DayGap(day, stored, source)
    return None


def gaps_message(gaps: list[DayGap], last_day: date) -> str:
    """One paragraph naming the days that are behind and how to re-fetch them."""
    first = min(gap.day for gap in gaps)
    return (
        f"The source now holds more events than were ingested for {len(gaps)} day(s): "
        f"{'; '.join(gap.describe() for gap in gaps)}. Late-arriving events; re-materialize those days "
        f"to pick them up: `usage-report backfill --start {first} --end {last_day} --force`, or launch "
        "raw_events for those partitions (and the report days after them) in the Dagster UI."
    )


@dataclass
class Reconciliation:
    """The outcome of :func:`reconcile`: ``compared`` (ISO day -> ``{"stored", "source"}``
    counts), the ``gaps`` found, and the days that were never ingested (not recounted)."""

    compared: dict[str, dict] = field(default_factory=dict)
    gaps: list[DayGap] = field(default_factory=list)
    not_ingested: list[str] = field(default_factory=list)


def days_to_reconcile(day: date, count: int, first_partition: date) -> list[date]:
    """The ``count`` days ending at ``day``, ascending, none before ``first_partition``."""
    days = [day - timedelta(days=n) for n in range(count - 1, -1, -1)]
    return [each for each in days if each >= first_partition]


def reconcile(
    days: list[date],
    stored_record: Callable[[date], Mapping | None],
    source_counts: Callable[[date], dict[str, int]],
) -> Reconciliation:
    """Compare each of ``days``' ``ingest_stats`` record (``stored_record``: None for a day
    never ingested) with the source's current counts (``source_counts``, only asked for
    ingested days). Errors of ``source_counts`` propagate."""
    result = Reconciliation()
    for each in days:
        record = stored_record(each)
        if record is None:
            result.not_ingested.append(each.isoformat())
            continue
        stored, source = stored_counts(record), source_counts(each)
        result.compared[each.isoformat()] = {"stored": stored, "source": source}
        gap = find_gap(each, stored, source)
        if gap:
            result.gaps.append(gap)
    return result
