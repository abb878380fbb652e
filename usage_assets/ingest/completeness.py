"""Completeness guards on ingested days: lost collections must fail loudly."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from usage_assets.sources.export_format import count_events


def heartbeat_drop(today: dict[str, int], yesterday: dict[str, int] | None) -> str | None:
    """The reference's "silent heartbeat drop" guard (reference 3.5, quirk 3).

    Returns a description when day D has startup events but no heartbeats while the
    day before had heartbeats (an export that lost the heartbeat collection); else None.
    """
    if yesterday is None or not yesterday["heartbeat"]:
        return None
    if today["startup"] and not today["heartbeat"]:
        return (
            f"{today['startup']} startup event(s) but no heartbeats, while the day before had "
            f"{yesterday['heartbeat']} heartbeats: the heartbeat collection was probably lost in "
            "transit. Re-fetch the day (re-materialize raw_events for it) once the source is complete."
        )
    return None


@dataclass(frozen=True)
class HeartbeatCheck:
    """The ``heartbeats_present`` check of one day: events per type of the day and of the
    day before (None when that day was never ingested), and the problem found, if any."""

    today: dict[str, int]
    yesterday: dict[str, int] | None
    problem: str | None


def check_heartbeats(events: pl.DataFrame, previous_day_events: pl.DataFrame | None) -> HeartbeatCheck:
    """:func:`heartbeat_drop` on a day's validated ``events`` against the day before's
    ``raw_events`` (either frame needs only an ``event`` column)."""
    today = count_events(events)
    yesterday = None if previous_day_events is None else count_events(previous_day_events)
    return HeartbeatCheck(today, yesterday, heartbeat_drop(today, yesterday))
