"""Import reference CSV exports into a day-partitioned cache, once and incrementally.

An archive is either one ``registry_metrics.csv`` or a folder of dated snapshot folders
(``YYYY-MM-DD/registry_metrics.csv``), each a cumulative export of the whole database.
Any ``.csv`` directly in the folder or one level down is considered; files whose header
lacks the export's key columns (the reference's sidecar CSVs) are skipped and listed.
Header variants from 24 to 34 columns are accepted: a missing column reads as empty.

Each new or changed file is parsed once; its rows are merged into
``<cache>/days/date=YYYY-MM-DD/part-0.parquet`` (export-format strings), de-duplicated
across snapshots on (event, registry_id, instant of ts) keeping the most complete row.
A day's ingest then reads one small file instead of re-parsing every snapshot. A row
whose ``ts`` does not parse but starts with ``YYYY-MM-DD`` is cached on that day, where
validation rejects it with its reason; a row with no date at all belongs to no day and
is kept in ``<cache>/unparsable-ts.parquet`` and counted, never dropped silently.
A duplicate delivery inside one export is kept (validation counts and drops it, as for
the DocumentDB source); the same row in two snapshots is one.

The archive's first day is the earliest day of any export's rows that the collector could
still hold when that export was taken (:func:`first_plausible_day`): a row dated 1999 in
a 2026 export comes from a wrong clock. Such rows stay cached on their day, before the
archive's first day, so they are never ingested; each import counts them.
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from usage_assets.common.days import last_complete_utc_day
from usage_assets.ingest.validation import deduplicate, event_identity, parse_ts
from usage_assets.sources import export_format as fmt
from usage_assets.storage.lake import (
    atomic_write_bytes,
    canonical_json,
    write_parquet_atomic,
)

_DATED_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: The cache's manifest layout; a cache of another one is imported again, file by file
#: (2: each file records its first plausible day).
CACHE_FORMAT = 2


class CsvArchiveError(RuntimeError):
    """The archive path is missing or holds no readable export."""


@dataclass
class ImportSummary:
    """What one :meth:`CsvArchive.refresh` did (for logs and the CLI)."""

    imported_files: list[str] = field(default_factory=list)
    skipped_files: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    days_written: int = 0
    unparsable_ts_rows: int = 0
    #: Rows dated before their export's first plausible day (:func:`first_plausible_day`).
    rows_too_old: int = 0


def discover_csv_files(source: Path) -> list[Path]:
    """The candidate export files of an archive, sorted by path."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise CsvArchiveError(f"CSV archive not found: {source} (give a registry_metrics.csv or a folder of dated exports)")
    return sorted([*source.glob("*.csv"), *source.glob("*/*.csv")])


def read_header(path: Path) -> list[str]:
    """The column names of a CSV file's first line (BOM and surrounding spaces removed)."""
    with path.open("r", encoding="utf-8-sig", errors="replace") as stream:
        return [name.strip() for name in stream.readline().rstrip("\r\n").split(",")]


def read_export_csv(path: Path) -> pl.DataFrame:
    """Read one export file as export-format strings (:func:`export_format.conform_to_export`)."""
    frame = pl.read_csv(
        path,
        infer_schema=False,
        encoding="utf8-lossy",
        truncate_ragged_lines=True,
    )
    return fmt.conform_to_export(frame)


def first_plausible_day(days: pl.Series, export_day: date | None) -> tuple[date | None, int]:
    """The first of one export's row days that the collector could still hold when the
    export was taken, and how many rows are dated earlier.

    ``days``: the UTC day of each row (``pl.Date``; nulls, rows without a day, are
    ignored). ``export_day``: the day the export was taken (its snapshot folder's date),
    or None for its newest row day; never later than today. Rows more than
    :data:`export_format.COLLECTOR_RETENTION_DAYS` before it count as too old. Returns
    ``(None, 0)`` for an export without a dated row.
    """
    days = days.drop_nulls()
    if days.is_empty():
        return None, 0
    taken = min(export_day or days.max(), last_complete_utc_day() + timedelta(days=1))
    plausible = days.filter(days >= taken - timedelta(days=fmt.COLLECTOR_RETENTION_DAYS))
    return plausible.min(), days.len() - plausible.len()


def merge_snapshot_rows(cached: pl.DataFrame, incoming: pl.DataFrame) -> pl.DataFrame:
    """One day's cached rows united with a new export's rows of that day.

    Snapshots are cumulative, so the same delivery appears in each: an event keeps as
    many copies as the file that held the most (a duplicate delivery inside one export
    stays visible, and validation counts it, as with the DocumentDB source), each copy
    its most complete version. Sorted by (ts, event, registry_id).
    """
    key = ["event", "registry_id", "_instant"]
    tagged = pl.concat([cached.with_columns(_new=pl.lit(False)), incoming.with_columns(_new=pl.lit(True))])
    copies = (
        tagged.with_columns(event_identity())
        .group_by(key)
        .agg(pl.max_horizontal((~pl.col("_new")).sum(), pl.col("_new").sum()).alias("_copies"))
    )
    best = deduplicate(tagged.drop("_new")).with_columns(event_identity())
    return (
        best.join(copies, on=key, how="left", nulls_equal=True)
        .with_columns(pl.int_ranges(0, pl.col("_copies")).alias("_copy"))
        .explode("_copy")
        .drop("_instant", "_copies", "_copy")
        .sort("ts", "event", "registry_id", nulls_last=False, maintain_order=True)
    )


class CsvArchive:
    """A CSV archive and its day cache; see the module docstring."""

    def __init__(self, source: Path | str, cache_dir: Path | str):
        self.source = Path(source).expanduser().resolve()
        self.cache_dir = Path(cache_dir)
        self.manifest_path = self.cache_dir / "manifest.json"

    def day_path(self, day: date) -> Path:
        """Where the cache keeps the export rows of UTC ``day``."""
        return self.cache_dir / "days" / f"date={day.isoformat()}" / "part-0.parquet"

    def _manifest(self) -> dict:
        manifest = json.loads(self.manifest_path.read_text()) if self.manifest_path.is_file() else {}
        if manifest.get("format") == CACHE_FORMAT:
            return manifest
        return {"format": CACHE_FORMAT, "source": str(self.source), "files": {}, "days": [], "snapshot_dates": [],
                "unparsable_ts_rows": 0}

    def refresh(self, on_file: Callable[[str], None] | None = None) -> ImportSummary:
        """Import files that are new or changed since the last refresh.

        ``on_file`` is called with each file's relative name before it is parsed (for
        progress output). Raises :class:`CsvArchiveError` when the archive is missing
        or contains no export at all. Safe against concurrent refreshes (file lock).
        """
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with (self.cache_dir / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._refresh_locked(on_file)

    def _refresh_locked(self, on_file: Callable[[str], None] | None) -> ImportSummary:
        manifest = self._manifest()
        summary = ImportSummary()
        base = self.source if self.source.is_dir() else self.source.parent
        for path in discover_csv_files(self.source):
            name = str(path.relative_to(base))
            stat = path.stat()
            fingerprint = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            known = manifest["files"].get(name)
            if known and {k: known.get(k) for k in fingerprint} == fingerprint:
                continue
            missing = [c for c in fmt.REQUIRED_COLUMNS if c not in read_header(path)]
            if missing:
                summary.skipped_files[name] = f"not an export: header lacks {', '.join(missing)}"
                manifest["files"][name] = {**fingerprint, "skipped": summary.skipped_files[name]}
                continue
            if on_file:
                on_file(name)
            rows = read_export_csv(path)
            summary.rows_read += rows.height
            snapshot = path.parent.name if path.parent != base and _DATED_FOLDER.match(path.parent.name) else None
            changed, first_day = self._merge(rows, summary, date.fromisoformat(snapshot) if snapshot else None)
            summary.days_written += changed
            manifest["files"][name] = {**fingerprint, "rows": rows.height,
                                       "first_day": first_day.isoformat() if first_day else None}
            summary.imported_files.append(name)
            if snapshot:
                manifest["snapshot_dates"] = sorted({*manifest["snapshot_dates"], snapshot})
        if not any("rows" in entry for entry in manifest["files"].values()):
            raise CsvArchiveError(f"no registry_metrics export found in {self.source}")
        manifest["days"] = sorted(p.parent.name.removeprefix("date=") for p in (self.cache_dir / "days").glob("date=*/part-0.parquet"))
        manifest["unparsable_ts_rows"] += summary.unparsable_ts_rows
        atomic_write_bytes(self.manifest_path, canonical_json(manifest))
        return summary

    def _merge(self, rows: pl.DataFrame, summary: ImportSummary, export_day: date | None) -> tuple[int, date | None]:
        """Merge one file's rows into the day cache; returns how many day files changed and
        the file's first plausible day (:func:`first_plausible_day` of ``export_day``)."""
        # A ts that does not parse but starts with a date goes to that day, where validation
        # rejects it with a reason (as the DocumentDB source does with string ts values).
        text_day = pl.col("ts").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        dated = rows.with_columns(pl.coalesce(parse_ts(pl.col("ts")).dt.date(), text_day).alias("_day"))
        first_day, too_old = first_plausible_day(dated["_day"], export_day)
        summary.rows_too_old += too_old
        unparsable = dated.filter(pl.col("_day").is_null()).drop("_day")
        if unparsable.height:
            summary.unparsable_ts_rows += unparsable.height
            kept_path = self.cache_dir / "unparsable-ts.parquet"
            previous = [pl.read_parquet(kept_path)] if kept_path.is_file() else []
            write_parquet_atomic(kept_path, pl.concat([*previous, unparsable]).unique(maintain_order=True))
        changed = 0
        for (day,), day_rows in dated.filter(pl.col("_day").is_not_null()).group_by("_day", maintain_order=True):
            path = self.day_path(day)
            existing = pl.read_parquet(path) if path.is_file() else fmt.empty_export_frame()
            merged = merge_snapshot_rows(existing, day_rows.drop("_day"))
            if merged.height != existing.height or not merged.equals(existing):
                write_parquet_atomic(path, merged)
                changed += 1
        return changed, first_day

    def day(self, day: date) -> pl.DataFrame:
        """The cached rows of UTC ``day`` (export format; empty when the archive has none)."""
        path = self.day_path(day)
        return pl.read_parquet(path) if path.is_file() else fmt.empty_export_frame()

    def coverage(self) -> tuple[date, date] | None:
        """(first day, last complete day), or None for an empty cache.

        The first day is the earliest first plausible day of the imported exports (rows
        dated before it come from a wrong clock). The newest day of an export is taken as
        incomplete (it was exported during that day); with dated snapshot folders the last
        complete day is the day before the newest snapshot's date.
        """
        manifest = self._manifest()
        firsts = [entry["first_day"] for entry in manifest["files"].values() if entry.get("first_day")]
        if not manifest["days"] or not firsts:
            return None
        first = date.fromisoformat(min(firsts))
        last_data = date.fromisoformat(manifest["days"][-1])
        last = last_data - timedelta(days=1)
        if manifest["snapshot_dates"]:
            last = min(last_data, date.fromisoformat(manifest["snapshot_dates"][-1]) - timedelta(days=1))
        return first, max(first, last)
