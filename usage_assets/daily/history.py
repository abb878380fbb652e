"""History-wide reads of the daily layer: where history starts, and a lazy scan of it.

Every history-wide metric of day D (installs over time, engagement, lifetime buckets,
spend, forecast, ...) reads ``instance_days`` from the first ingested day up to D. The
first day comes from the lake itself, not from the telemetry source, so computing a
metric never opens a connection to the source; the ingest is what decides which days
exist (``usage-report run`` ingests from the source's first day on).
"""

from __future__ import annotations

from datetime import date

import polars as pl

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
