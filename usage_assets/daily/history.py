"""History-wide reads of the daily layer: where history starts, and a lazy scan of it.

Every history-wide metric of day D (installs over time, engagement, lifetime buckets,
spend, forecast, ...) reads ``instance_days`` from the first ingested day up to D. The
first day comes from the lake itself, not from the telemetry source, so computing a
metric never opens a connection to the source; the ingest is what decides which days
exist (``usage-report run`` ingests from the source's first day on).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl

from usage_assets.common.days import day_range
from usage_assets.storage.datasets import INSTANCE_DAYS, INSTANCES
from usage_assets.storage.lake import Lake

#: The file of a day of a Parquet dataset, and of a JSON one.
PARQUET = "part-0.parquet"
JSON = "data.json"
_DAY_FOLDER = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def history_first_day(lake: Lake, day: date) -> date:
    """The first day a history-wide asset of ``day`` must see: the first ingested day of
    the daily layer, or ``day`` itself when nothing earlier was ingested."""
    # The day folders in order, each looked into until one holds its file: the first
    # folder almost always does, so this costs a listing of folders, not of every file.
    for name in lake.store.folders(INSTANCE_DAYS):
        found = _DAY_FOLDER.fullmatch(name)
        if found is None:
            continue
        each = date.fromisoformat(found.group(1))
        if each > day:
            break
        if lake.has_day(INSTANCE_DAYS, each):
            return each
    return day


def scan_history(lake: Lake, day: date) -> tuple[date, pl.LazyFrame]:
    """``(first, history)``: :func:`history_first_day` and a lazy scan of
    ``instance_days`` from it to ``day``.

    Raises :class:`usage_assets.storage.lake.MissingPartitionsError` naming every day
    between the two that was never ingested (a hole is never skipped silently).
    """
    # One listing of the layer gives both the first day and the holes.
    written = lake.days(INSTANCE_DAYS)
    earlier = [each for each in written if each <= day]
    first = earlier[0] if earlier else day
    days = day_range(first, day)
    missing = sorted(set(days) - set(written))
    if missing:
        raise lake.missing(INSTANCE_DAYS, missing)
    return first, lake.scan(INSTANCE_DAYS, days)


def is_current(lake: Lake, dataset: str, day: date, filename: str = PARQUET) -> bool:
    """Whether day ``day`` of ``dataset`` (a history-wide table or document as of that day)
    still describes the daily layer: it exists, and every ``instance_days`` day from the
    first ingested one to ``day`` exists and was written before it (none was ingested again
    since, which would change the history it was built from). Always False in a store that
    cannot order writes (S3)."""
    built = lake.written_ns(dataset, day, filename)
    if built is None:
        return False
    for each in day_range(history_first_day(lake, day), day):
        layer = lake.written_ns(INSTANCE_DAYS, each)
        if layer is None or layer > built:
            return False
    return True


def carried_forward(lake: Lake, dataset: str, day: date) -> pl.DataFrame | None:
    """Day ``day - 1`` of the Parquet ``dataset`` (a history-wide table as of that day), when it
    can be carried forward to ``day``: it is current (:func:`is_current`). None otherwise:
    then the caller computes ``day`` from the whole history (which names any missing day).
    Always None in a store that cannot order writes (S3).
    """
    previous = day - timedelta(days=1)
    return lake.read_frame(dataset, previous) if is_current(lake, dataset, previous) else None


def carried_document(lake: Lake, dataset: str, day: date) -> dict | None:
    """Day ``day - 1`` of the JSON ``dataset`` when it is current (:func:`is_current`), as
    :func:`carried_forward` does for Parquet tables; None otherwise."""
    previous = day - timedelta(days=1)
    return lake.read_json(dataset, previous) if is_current(lake, dataset, previous, JSON) else None


def installs_seen_before(lake: Lake, day: date) -> pl.Series | None:
    """The registry ids of every install seen before ``day`` (``registry_id`` of the install
    table of ``day - 1``), when that table is current (:func:`is_current`); None otherwise.

    For series over all installs (internal included) that extend D-1's by day D and must
    tell which of day D's installs are new. They read the table of D-1, written by an
    earlier run, so no asset of day D need run first; the currency check makes a table left
    from before a re-ingest, or not written yet, count as absent.
    """
    table = carried_forward(lake, INSTANCES, day)
    return None if table is None else table["registry_id"]


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
