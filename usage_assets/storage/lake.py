"""The data lake: one file per dataset and UTC day, written atomically, on local disk or in S3.

Layout (hive style, so any engine can read it): ``<root>/<dataset>/date=YYYY-MM-DD/part-0.parquet``
(or ``data.json`` for dict-shaped datasets). Every write goes to a temporary file in the
same folder and is renamed over the target, so a failed run leaves the previous good
partition in place and never a half-written file. A write the local disk refuses (full,
read-only, ...) raises :class:`usage_assets.storage.disk.LocalDiskError` naming the file.
With an ``s3://bucket/prefix`` root the same keys are objects, each written with one PUT
(:mod:`usage_assets.storage.s3`), and scans read them lazily from the bucket.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from usage_assets.common.days import day_range
from usage_assets.storage.store import S3Options, Store, open_store


class MissingPartitionsError(RuntimeError):
    """Raised when a read finds days of an upstream dataset that were never materialized.

    ``dataset``: the dataset name (also the asset that writes it), or a description of
    the missing assets (``"charts (adoption_funnel, ...)"``); ``days``: the missing UTC
    days, ascending. ``str(error)`` is one line naming both and how to build them: the
    ``usage-report backfill`` command for those days and the Dagster UI action.
    """

    def __init__(self, dataset: str, days: list[date]):
        self.dataset = dataset
        self.days = days
        shown = ", ".join(d.isoformat() for d in days[:10])
        more = f" and {len(days) - 10} more" if len(days) > 10 else ""
        span = "that partition" if len(days) == 1 else f"partitions {days[0]} to {days[-1]}"
        super().__init__(
            f"{dataset} is missing {len(days)} day(s): {shown}{more}. Build them with "
            f"`usage-report backfill --start {days[0]} --end {days[-1]} --force`, or in the Dagster UI "
            f"(`usage-report ui`) select the asset with its upstream assets and materialize {span}; then run again."
        )


def canonical_json(payload: Any) -> bytes:
    """JSON with sorted keys, 2-space indent and a final newline: equal input, equal bytes."""
    return (json.dumps(payload, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


class Lake:
    """Day-partitioned datasets under ``root``: a local folder, or an ``s3://bucket/prefix``
    URL reached with ``s3`` (see the module docstring for the layout, and
    :mod:`usage_assets.storage.store` for what a write guarantees on each)."""

    def __init__(self, root: Path | str, s3: S3Options | None = None):
        self.store: Store = open_store(root, s3)
        #: The folder (``Path``) or ``s3://`` URL (``str``), for messages.
        self.root = self.store.root

    def missing(self, dataset: str, days: list[date]) -> MissingPartitionsError:
        """The error to raise for ``days`` of ``dataset`` that were never written: a
        :class:`MissingPartitionsError` (the Dagster resource's lake makes it a run failure)."""
        return MissingPartitionsError(dataset, days)

    def key(self, dataset: str, day: date, filename: str = "part-0.parquet") -> str:
        """``<dataset>/date=YYYY-MM-DD/<filename>``: the file's key in the lake's store."""
        return f"{dataset}/date={day.isoformat()}/{filename}"

    def path(self, dataset: str, day: date, filename: str = "part-0.parquet") -> Path | str:
        """``<root>/<dataset>/date=YYYY-MM-DD/<filename>`` (the file need not exist): a path,
        or an ``s3://`` URL when the lake is in S3."""
        return self.store.location(self.key(dataset, day, filename))

    def has_day(self, dataset: str, day: date, filename: str = "part-0.parquet") -> bool:
        """Whether ``day`` of ``dataset`` was written (a zero-row day counts as written)."""
        return self.store.exists(self.key(dataset, day, filename))

    def written_ns(self, dataset: str, day: date, filename: str = "part-0.parquet") -> int | None:
        """When ``day`` of ``dataset`` was written (nanoseconds), None when it was not or the
        store cannot order writes (S3): see :meth:`usage_assets.storage.store.Store.written_ns`."""
        return self.store.written_ns(self.key(dataset, day, filename))

    def write_frame(self, dataset: str, day: date, frame: pl.DataFrame) -> Path | str:
        """Replace ``day`` of a Parquet dataset with ``frame``, atomically; returns the path."""
        self.store.write_parquet(self.key(dataset, day), frame)
        return self.path(dataset, day)

    def read_frame(self, dataset: str, day: date) -> pl.DataFrame:
        """Read one day; raises :class:`MissingPartitionsError` if it was never written."""
        # Read, not looked for first: in S3 one request instead of two.
        try:
            return self.store.read_parquet(self.key(dataset, day))
        except FileNotFoundError:
            raise self.missing(dataset, [day]) from None

    def write_json(self, dataset: str, day: date, payload: Any) -> Path | str:
        """Replace ``day`` of a JSON dataset with :func:`canonical_json` of ``payload``, atomically."""
        self.write_bytes(dataset, day, "data.json", canonical_json(payload))
        return self.path(dataset, day, "data.json")

    def read_json(self, dataset: str, day: date) -> Any:
        """The JSON of ``day``; raises :class:`MissingPartitionsError` if it was never written."""
        return json.loads(self.read_bytes(dataset, day, "data.json").decode())

    def read_json_if_present(self, dataset: str, day: date) -> Any | None:
        """Like :meth:`read_json`, but None when the day was never written."""
        return self.read_json(dataset, day) if self.has_day(dataset, day, "data.json") else None

    def write_bytes(self, dataset: str, day: date, filename: str, data: bytes) -> Path | str:
        """Replace the file ``filename`` of ``day`` of ``dataset`` (a chart's PNG) with
        ``data``, atomically; returns its path."""
        self.store.write_bytes(self.key(dataset, day, filename), data)
        return self.path(dataset, day, filename)

    def read_bytes(self, dataset: str, day: date, filename: str) -> bytes:
        """The file ``filename`` of ``day`` of ``dataset``; raises
        :class:`MissingPartitionsError` if it was never written."""
        try:
            return self.store.read_bytes(self.key(dataset, day, filename))
        except FileNotFoundError:
            raise self.missing(dataset, [day]) from None

    def days(self, dataset: str, filename: str = "part-0.parquet") -> list[date]:
        """The UTC days ``dataset`` has a ``filename`` for, ascending (empty when it has none)."""
        # One listing of the dataset (one request per 1,000 files in S3), not a look per day.
        written = re.compile(rf"^date=(\d{{4}}-\d{{2}}-\d{{2}})/{re.escape(filename)}$")
        found = (written.match(key) for key in self.store.list_keys(dataset))
        return sorted(date.fromisoformat(match.group(1)) for match in found if match)

    def missing_days(self, dataset: str, days: Iterable[date]) -> list[date]:
        """The days of ``days`` (in their order) that ``dataset`` has no Parquet file for."""
        # One listing of the dataset, not a look per day: a history of hundreds of days
        # would otherwise cost hundreds of requests per asset in S3.
        written = set(self.days(dataset))
        return [day for day in days if day not in written]

    def scan(self, dataset: str, days: list[date]) -> pl.LazyFrame:
        """Lazily scan ``days`` of a Parquet dataset, in order, without checking that they
        exist (:meth:`scan_days` does): projections and predicates reach the files, local
        or in S3."""
        return self.store.scan_parquet([self.key(dataset, day) for day in days])

    def scan_days(self, dataset: str, first: date, last: date) -> pl.LazyFrame:
        """Lazily scan every day from ``first`` to ``last`` (inclusive) of a Parquet dataset.

        Raises :class:`MissingPartitionsError` naming every absent day, so a history-wide
        metric never silently skips a hole, and ``ValueError`` when ``first > last``.
        """
        if first > last:
            raise ValueError(f"empty day range {first} .. {last}")
        days = day_range(first, last)
        missing = self.missing_days(dataset, days)
        if missing:
            raise self.missing(dataset, missing)
        return self.scan(dataset, days)
