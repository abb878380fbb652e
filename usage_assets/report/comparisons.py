"""Day-over-day (D-1) and week-over-week (D-7) comparisons of the report's headline numbers.

A comparison is made only with a report day whose metrics exist; otherwise it says so
("—") instead of comparing with zero. Changes carry their own sign: ``+12 (+3.4%)``,
``-5 (-1.2%)``, ``0``, and percentage-point changes ``+1.2 pp`` / ``-0.4 pp`` (the
reference always prefixed "+", printing "+-1.2pp" for a decline; quirk 10).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NO_COMPARISON = "—"


def count_change(current: int | float | None, previous: int | float | None) -> str:
    """``current - previous`` with its sign and, when ``previous`` is not 0, the relative
    change with one decimal: ``"+12 (+3.4%)"``, ``"-5 (-1.2%)"``, ``"0"``, ``"+3"`` (from 0).
    ``"—"`` when either side is missing."""
    if current is None or previous is None:
        return NO_COMPARISON
    delta = current - previous
    if delta == 0:
        return "0"
    text = f"{delta:+,}" if isinstance(delta, int) else f"{delta:+,.2f}"
    if previous:
        text += f" ({100.0 * delta / previous:+.1f}%)"
    return text


def point_change(current: float | None, previous: float | None) -> str:
    """Change of a percentage in percentage points: ``"+1.2 pp"``, ``"-0.4 pp"``, ``"0.0 pp"``."""
    if current is None or previous is None:
        return NO_COMPARISON
    delta = round(current - previous, 1)
    return "0.0 pp" if delta == 0 else f"{delta:+.1f} pp"


def headline_values(fleet: Mapping[str, Any] | None, liveness: Mapping[str, Any] | None,
                    daily_active: int | None = None, stars: int | None = None) -> dict[str, Any]:
    """The compared numbers of one report day (None when that day's metrics are missing).

    ``fleet``/``liveness``: that day's ``fleet_metrics`` and ``liveness`` JSON;
    ``daily_active``: customer DAI of the day (``engagement``); ``stars``: GitHub stars
    when they were fetched that day.
    """
    key = fleet["key_metrics"] if fleet else {}
    sticky = fleet["stickiness"] if fleet else {}
    counts = liveness["counts"] if liveness else {}
    return {
        "events": key.get("total_events"),
        "startups": key.get("startup_events"),
        "heartbeats": key.get("heartbeat_events"),
        "installs": key.get("identified_instances"),
        "customers": sticky.get("total_non_internal"),
        "sticky": sticky.get("sticky_3plus_days"),
        "one_day_wonder_pct": sticky.get("one_day_wonder_pct"),
        "confirmed": counts.get("confirmed"),
        "stronger": counts.get("stronger"),
        "likely": counts.get("likely"),
        "daily_active": daily_active,
        "stars": stars,
    }


#: Rows of the comparison table: (key in headline_values, label, kind, to_date). ``to_date``:
#: the value is a total from the first ingested day up to the end of the column's day
#: (not that day's own count), and the report labels it "to date".
HEADLINE_ROWS: tuple[tuple[str, str, str, bool], ...] = (
    ("events", "Events (startup + heartbeat)", "count", True),
    ("startups", "Startup events", "count", True),
    ("heartbeats", "Heartbeat events", "count", True),
    ("installs", "Identified installs", "count", True),
    ("customers", "Customer installs", "count", True),
    ("sticky", "Customer installs over 3+ days", "count", True),
    ("one_day_wonder_pct", "One-day-wonder share of customers", "pct", True),
    ("confirmed", "Confirmed Alive", "count", False),
    ("stronger", "Stronger Alive", "count", False),
    ("likely", "Likely Alive", "count", False),
    ("daily_active", "Daily active customer installs (DAI)", "count", False),
    ("stars", "GitHub stars", "count", False),
)


def comparison_rows(current: Mapping[str, Any], day_before: Mapping[str, Any], week_before: Mapping[str, Any]) -> list[dict]:
    """One row per :data:`HEADLINE_ROWS` entry that has a current value:
    ``{label, kind, to_date, current, day_before, day_change, week_before, week_change}``."""
    rows = []
    for key, label, kind, to_date in HEADLINE_ROWS:
        if current.get(key) is None:
            continue
        change = point_change if kind == "pct" else count_change
        rows.append({
            "label": label,
            "kind": kind,
            "to_date": to_date,
            "current": current[key],
            "day_before": day_before.get(key),
            "day_change": change(current[key], day_before.get(key)),
            "week_before": week_before.get(key),
            "week_change": change(current[key], week_before.get(key)),
        })
    return rows


def new_values(current: Mapping[str, int], previous: Mapping[str, int] | None) -> list[str]:
    """Keys of ``current`` absent from ``previous`` (e.g. clouds first seen since D-1), sorted;
    empty when there is nothing to compare with."""
    return [] if previous is None else sorted(set(current) - set(previous))
