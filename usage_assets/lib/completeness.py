"""Completeness guards on ingested days: lost collections must fail loudly."""

from __future__ import annotations


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
