"""UTC calendar days: ranges of days and the newest day that is over."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


def day_range(first: date, last: date) -> list[date]:
    """Every UTC day from ``first`` to ``last`` inclusive (empty when first > last)."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def last_complete_utc_day() -> date:
    """Yesterday in UTC: the newest day that is over."""
    return datetime.now(timezone.utc).date() - timedelta(days=1)


def consecutive_stretches(days: list[date]) -> list[tuple[date, date]]:
    """``days`` (ascending, distinct) as (first, last) pairs of consecutive days."""
    stretches: list[tuple[date, date]] = []
    for day in days:
        if stretches and day.toordinal() == stretches[-1][1].toordinal() + 1:
            stretches[-1] = (stretches[-1][0], day)
        else:
            stretches.append((day, day))
    return stretches
