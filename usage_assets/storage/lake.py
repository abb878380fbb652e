"""The on-disk data lake: one file per dataset and UTC day, written atomically.

Layout (hive style, so any engine can read it): ``<root>/<dataset>/date=YYYY-MM-DD/part-0.parquet``
(or ``data.json`` for dict-shaped datasets). Every write goes to a temporary file in the
same folder and is renamed over the target, so a failed run leaves the previous good
partition in place and never a half-written file. A write the local disk refuses (full,
read-only, ...) raises :class:`usage_assets.storage.disk.LocalDiskError` naming the file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from usage_assets.common.days import day_range
from usage_assets.storage.disk import naming_disk_errors

_DAY_FOLDER = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling and an atomic rename.

    Raises :class:`usage_assets.storage.disk.LocalDiskError` when the disk refuses it."""
    with naming_disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def canonical_json(payload: Any) -> bytes:
    """JSON with sorted keys, 2-space indent and a final newline: equal input, equal bytes."""
    return (json.dumps(payload, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def write_parquet_atomic(path: Path, frame: pl.DataFrame) -> None:
    """Write ``frame`` as Parquet to ``path`` atomically (temporary file + rename).

    Raises :class:`usage_assets.storage.disk.LocalDiskError` when the disk refuses it."""
    with naming_disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(handle)
        try:
            frame.write_parquet(temporary, statistics=True)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class Lake:
    """Day-partitioned datasets under ``root`` (see the module docstring for the layout)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def missing(self, dataset: str, days: list[date]) -> MissingPartitionsError:
        """The error to raise for ``days`` of ``dataset`` that were never written: a
        :class:`MissingPartitionsError` (the Dagster resource's lake makes it a run failure)."""
        return MissingPartitionsError(dataset, days)

    def path(self, dataset: str, day: date, filename: str = "part-0.parquet") -> Path:
        """``<root>/<dataset>/date=YYYY-MM-DD/<filename>`` (the file need not exist)."""
        return self.root / dataset / f"date={day.isoformat()}" / filename

    def has_day(self, dataset: str, day: date, filename: str = "part-0.parquet") -> bool:
        """Whether ``day`` of ``dataset`` was written (a zero-row day counts as written)."""
        return self.path(dataset, day, filename).is_file()

    def write_frame(self, dataset: str, day: date, frame: pl.DataFrame) -> Path:
        """Replace ``day`` of a Parquet dataset with ``frame``, atomically; returns the path."""
        path = self.path(dataset, day)
        write_parquet_atomic(path, frame)
        return path

    def read_frame(self, dataset: str, day: date) -> pl.DataFrame:
        """Read one day; raises :class:`MissingPartitionsError` if it was never written."""
        path = self.path(dataset, day)
        if not path.is_file():
            raise self.missing(dataset, [day])
        return pl.read_parquet(path)

    def write_json(self, dataset: str, day: date, payload: Any) -> Path:
        """Replace ``day`` of a JSON dataset with :func:`canonical_json` of ``payload``, atomically."""
        path = self.path(dataset, day, "data.json")
        atomic_write_bytes(path, canonical_json(payload))
        return path

    def read_json(self, dataset: str, day: date) -> Any:
        """The JSON of ``day``; raises :class:`MissingPartitionsError` if it was never written."""
        path = self.path(dataset, day, "data.json")
        if not path.is_file():
            raise self.missing(dataset, [day])
        return json.loads(path.read_text())

    def read_json_if_present(self, dataset: str, day: date) -> Any | None:
        """Like :meth:`read_json`, but None when the day was never written."""
        return self.read_json(dataset, day) if self.has_day(dataset, day, "data.json") else None

    def days(self, dataset: str, filename: str = "part-0.parquet") -> list[date]:
        """The UTC days ``dataset`` has a ``filename`` for, ascending (empty when it has none)."""
        folder = self.root / dataset
        if not folder.is_dir():
            return []
        found = (_DAY_FOLDER.match(child.name) for child in folder.iterdir())
        days = (date.fromisoformat(match.group(1)) for match in found if match)
        return sorted(day for day in days if self.has_day(dataset, day, filename))

    def missing_days(self, dataset: str, days: Iterable[date]) -> list[date]:
        """The days of ``days`` (in their order) that ``dataset`` has no Parquet file for."""
        return [day for day in days if not self.has_day(dataset, day)]

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
        paths = [self.path(dataset, day) for day in days]
        # Days written before a column was added lack it: every day is read with the newest
        # day's columns, null where a day has none (source_ip_hash, added for issue 14).
        return pl.scan_parquet(
            paths, schema=pl.read_parquet_schema(paths[-1]), missing_columns="insert", extra_columns="ignore"
        )
