"""Trend arithmetic shared by the Prometheus trends, the insights and the terminal summary.

A *trend* compares a value for the current window with the same-length window just
before it: ``{"current", "previous", "change_pct", "arrow"}``. The arrow rule (from
issue #5): ↑ when the change is +10 % or more, ↓ when it is -10 % or less, ↔ otherwise,
judged on the change rounded to one decimal (the number a reader sees). With no previous
value at all (nothing to compare with) the trend says so instead of inventing a number.

Windows are UTC: the report for day D evaluates at ``D+1 00:00Z``; a range of R days
covers the calendar days ``D-R+1 .. D`` and the previous period ``D-2R+1 .. D-R``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone

#: Change (in %) from which a trend gets an up or down arrow (issue #5).
TREND_THRESHOLD_PCT = 10.0
UP, DOWN, FLAT = "↑", "↓", "↔"
#: How a trend reads when the previous window is not fully held (:func:`trend_without_history`).
NOT_ENOUGH_HISTORY = "not enough history"
#: The ranges a report can compare over, by their label.
RANGES = {"7d": 7, "14d": 14, "30d": 30}
DEFAULT_RANGE = "7d"
#: ``success`` label spellings (compared case-insensitively: "true"/"True" both occur).
SUCCESS_TRUE, SUCCESS_FALSE = "true", "false"
#: Values of a ``status`` label that mean success ("success", "ok", an HTTP 2xx code or
#: "2xx"); every other value counts as a failure.
_SUCCESS_STATUS = re.compile(r"^(success|succeeded|ok|2\d\d|2xx)$", re.IGNORECASE)


def parse_range(value: str | int) -> int:
    """Days of a range label (``"7d"``, ``"14d"``, ``"30d"``; ``7``/``"7"`` also accepted).

    Raises ``ValueError`` naming the allowed values otherwise.
    """
    text = str(value).strip().lower()
    if text.isdigit():
        text += "d"
    if text not in RANGES:
        raise ValueError(f"range must be one of {', '.join(RANGES)}, got {value!r}")
    return RANGES[text]


def range_label(days: int) -> str:
    """The label of a range of ``days`` days, e.g. ``"7d"``."""
    return f"{days}d"


def round_count(value: float) -> float:
    """A count from Prometheus rounded to 3 decimals (increase() returns floats)."""
    rounded = round(float(value), 3)
    return 0.0 if rounded == 0 else rounded


def change_pct(current: float, previous: float | None) -> float | None:
    """Relative change from ``previous`` to ``current`` in %, one decimal.

    None when there is no previous value or it is 0 (a change from nothing has no percentage).
    """
    if previous is None or previous == 0:
        return None
    return round(100.0 * (current - previous) / previous, 1)


def trend_arrow(current: float, previous: float | None) -> str | None:
    """↑ / ↓ / ↔ by :data:`TREND_THRESHOLD_PCT`; None when there is nothing to compare.

    From 0 to a positive value is ↑; 0 to 0 is ↔.
    """
    if previous is None:
        return None
    if previous == 0:
        return UP if current > 0 else FLAT
    pct = change_pct(current, previous)
    if pct >= TREND_THRESHOLD_PCT:
        return UP
    if pct <= -TREND_THRESHOLD_PCT:
        return DOWN
    return FLAT


def trend(current: float, previous: float | None) -> dict:
    """``{"current", "previous", "change_pct", "arrow"}`` for two values of one quantity."""
    return {
        "current": current,
        "previous": previous,
        "change_pct": change_pct(current, previous),
        "arrow": trend_arrow(current, previous),
    }


def trend_without_history(current: float) -> dict:
    """A trend whose previous window Prometheus does not fully hold: the current count,
    no previous one, no change and no arrow, and ``not_enough_history`` True."""
    return {**trend(current, None), "not_enough_history": True}


def success_value(label_value: str | None) -> bool | None:
    """True / False for a ``success`` label value in either spelling; None for anything else."""
    text = (label_value or "").strip().lower()
    if text == SUCCESS_TRUE:
        return True
    if text == SUCCESS_FALSE:
        return False
    return None


def is_success_status(label_value: str | None) -> bool:
    """Whether a ``status`` label value means success (see :data:`_SUCCESS_STATUS`)."""
    return bool(_SUCCESS_STATUS.match((label_value or "").strip()))


def success_rate(counts_by_label: Mapping[str, float]) -> dict:
    """Success share from counts keyed by ``success`` label value.

    Returns ``{"succeeded", "failed", "other", "total", "success_pct", "failure_pct"}``:
    counts per window; ``total`` = succeeded + failed; the percentages (one decimal) are
    None when ``total`` is 0. Values that are neither true nor false go to ``other`` and
    are left out of the rate.
    """
    succeeded = failed = other = 0.0
    for value, count in counts_by_label.items():
        verdict = success_value(value)
        if verdict is True:
            succeeded += count
        elif verdict is False:
            failed += count
        else:
            other += count
    total = succeeded + failed
    return {
        "succeeded": round_count(succeeded),
        "failed": round_count(failed),
        "other": round_count(other),
        "total": round_count(total),
        "success_pct": round(100.0 * succeeded / total, 1) if total else None,
        "failure_pct": round(100.0 * failed / total, 1) if total else None,
    }


def evaluation_instant(day: date) -> datetime:
    """The end of UTC day ``day`` (``day+1 00:00Z``), where every window of its report ends."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc)


def comparison_day(day: date, range_days: int) -> date:
    """The report day whose R-day window is the previous period of ``day``'s: ``day - R``."""
    return day - timedelta(days=range_days)


def windows(day: date, range_days: int) -> dict:
    """The current and previous windows of report day ``day``, as ISO UTC instants.

    ``{"evaluated_at", "current": {"start", "end", "days": [first, last]}, "previous": {...}}``;
    ``start`` is inclusive and ``end`` exclusive, ``days`` are the UTC calendar days covered.
    """
    end = evaluation_instant(day)
    middle = end - timedelta(days=range_days)
    start = middle - timedelta(days=range_days)

    def window(first: datetime, last: datetime) -> dict:
        return {
            "start": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": last.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "days": [first.date().isoformat(), (last - timedelta(days=1)).date().isoformat()],
        }

    return {
        "evaluated_at": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "current": window(middle, end),
        "previous": window(start, middle),
    }


def change_label(item: Mapping) -> str:
    """How a trend's change reads: ``+12.5%``, ``new`` (from zero), ``no change`` (zero to
    zero), ``not enough history`` (the previous window is not held) or ``no comparison``
    (no previous value)."""
    if item.get("not_enough_history"):
        return NOT_ENOUGH_HISTORY
    if item["previous"] is None:
        return "no comparison"
    if item["change_pct"] is None:
        return "new" if item["current"] else "no change"
    if item["change_pct"] == 0:
        return "0.0%"
    return f"{item['change_pct']:+.1f}%"
