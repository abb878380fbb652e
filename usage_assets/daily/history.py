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
from usage_assets.storage.datasets import INSTANCE_DAYS, INSTANCES
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
    caller computes ``day`` from the whole history (which names any missing day). Always
    None in a store that cannot order writes (S3).
    """
    previous = day - timedelta(days=1)
    built = lake.written_ns(dataset, previous)
    if built is None:
        return None
    first = history_first_day(lake, previous)
    for each in day_range(first, previous):
        layer = lake.written_ns(INSTANCE_DAYS, each)
        if layer is None or layer > built:
            return None
    return lake.read_frame(dataset, previous)


def carried_customer_series(lake: Lake, dataset: str, day: date, instances: pl.DataFrame) -> pl.DataFrame | None:
    """Day ``day - 1`` of a customer series ``dataset`` (one row per day up to D-1, each row
    depending only on the days up to it and on who is a customer), when it can be carried
    forward to ``day``: as :func:`carried_forward`, and its customers are today's.

    ``instances``: the install table of ``day``. The series of D-1 was drawn with the
    customers of the install table of D-1, so it is carried forward only when that table is
    not newer than the series, and its customers are exactly the customers of ``instances``
    first seen before ``day`` (no install became internal or customer since, e.g. by an
    allowlist change or a late ``internal_only_deployment`` flag: that rewrites every day).
    """
    previous = carried_forward(lake, dataset, day)
    yesterday = day - timedelta(days=1)
    table_written = lake.written_ns(INSTANCES, yesterday)
    if previous is None or table_written is None or table_written > lake.written_ns(dataset, yesterday):
        return None
    before = lake.read_frame(INSTANCES, yesterday).select("registry_id", "is_internal")
    then = set(before.filter(~pl.col("is_internal"))["registry_id"].to_list())
    now = set(instances.filter(~pl.col("is_internal"), pl.col("first_seen") < day)["registry_id"].to_list())
    return previous if then == now else None
