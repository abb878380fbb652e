"""History-wide reads of the daily layer: where history starts, and a lazy scan of it.

Every history-wide metric of day D (installs over time, engagement, lifetime buckets,
spend, forecast, ...) reads ``instance_days`` from the first ingested day up to D. The
first day comes from the lake itself, not from the telemetry source, so computing a
metric never opens a connection to the source; the ingest is what decides which days
exist (``usage-report run`` ingests from the source's first day on).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from usage_assets.common.days import day_range
from usage_assets.storage.datasets import INSTANCE_DAYS
from usage_assets.storage.lake import Lake


def history_first_day(lake: Lake, day: date) -> date:
    """The first day a history-wide asset of ``day`` must see: the first ingested day of
    the daily layer, or ``day`` itself when nothing earlier was ingested."""
    earlier = [each for each in lake.days(INSTANCE_DAYS) if each <= day]
    return earlier[0] if earlier else day


def scan_history(lake: Lake, day: date) -> tuple[date, pl.LazyFrame]:
    """``(first, history)``: :func:`history_first_day` and a lazy scan of
    ``instance_days`` from it to ``day``.

    Raises :class:`usage_assets.storage.lake.MissingPartitionsError` naming every day
    between the two that was never ingested (a hole is never skipped silently).
    """
    first = history_first_day(lake, day)
    return first, lake.scan_days(INSTANCE_DAYS, first, day)


def carried_forward(lake: Lake, dataset: str, day: date) -> pl.DataFrame | None:
    """Day ``day - 1`` of the Parquet ``dataset`` (a history-wide table as of that day), when it
    can be carried forward to ``day``: it exists, and every ``instance_days`` day from the
    first ingested one to ``day - 1`` exists and was written before it (none was ingested
    again since, which would change the history it was built from). None otherwise: then the
    caller computes ``day`` from the whole history (which names any missing day).
    """
    previous = day - timedelta(days=1)
    path = lake.path(dataset, previous)
    if not path.is_file():
        return None
    built = path.stat().st_mtime_ns
    first = history_first_day(lake, previous)
    for each in day_range(first, previous):
        layer = lake.path(INSTANCE_DAYS, each)
        if not layer.is_file() or layer.stat().st_mtime_ns > built:
            return None
    return pl.read_parquet(path)
