"""Import reference CSV exports into a day-partitioned cache, once, incrementally and in
bounded memory, accounting for every row read.

An archive is either one ``registry_metrics.csv`` or a folder of dated snapshot folders
(``YYYY-MM-DD/registry_metrics.csv``), each a cumulative export of the whole database.
Any ``.csv`` or ``.csv.gz`` directly in the folder or one level down is considered (gzip is
recognised by content, whatever the name); a file whose header lacks the export's key
columns (a reference sidecar, or not a CSV at all) is skipped and named on every refresh.
Header variants from 24 to 34 columns are accepted: a missing column reads as empty; a
column the export does not have is ignored and named.

Each new or changed file is read once, line by line (:mod:`usage_assets.sources.csv_reader`:
a broken line spoils only itself), in batches spooled per day, then merged into
``<cache>/days/date=YYYY-MM-DD/part-0.parquet`` (export-format strings plus the record's
problem and origin), de-duplicated across snapshots on (event, registry_id, instant of
ts) keeping the most complete row. A day's ingest then reads one small file.

Where every row read goes (rows read = rows cached on a day + rows set aside):

* a row whose ts parses, or whose garbled ts starts with ``YYYY-MM-DD``, is cached on
  that UTC day, where validation keeps or rejects it with a reason;
* a row that belongs to no day (no ts, no date in it, a line that is not CSV), the cut
  last row of a truncated export, or a row dated after the day it was read (a clock far
  off) is **set aside** in
  ``<cache>/set-aside.parquet`` with its reason and origin. The store is merged across
  snapshots like the days, so its count is the number of distinct rows, whatever the
  number of snapshots repeating them. The report of any day names it.

A duplicate delivery inside one export is kept (validation counts and drops it, as for
the DocumentDB source); the same row in two snapshots is one.

**Truncated exports.** An export whose last row is cut, or that holds fewer distinct events
of a day than an older snapshot held (within the database's 365-day retention), or whose
re-import holds fewer events of a day than its previous import, is *incomplete*: its rows
are still merged (merging never loses a row), but its date does not make any day
complete (:meth:`CsvArchive.coverage`).

**The first day.** The archive's first day is the earliest day of any export's rows that
the collector could still hold when that export was taken (:func:`first_plausible_day`):
a row dated 1999 in a 2026 export comes from a wrong clock. Such rows stay cached on their
day, before the archive's first day, so they are never ingested; each refresh counts them.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from usage_assets.common.locks import exclusive_lock
from usage_assets.ingest.validation import RECORD_ORIGIN, RECORD_PROBLEM, deduplicate, event_identity, parse_ts
from usage_assets.sources import export_format as fmt
from usage_assets.sources.csv_reader import CUT_SHORT, RAW_RECORD, FileReading, read_batches, read_header
from usage_assets.storage.disk import naming_disk_errors
from usage_assets.storage.lake import canonical_json
from usage_assets.storage.store import atomic_write_bytes, write_parquet_atomic

_DATED_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Bumped when the cache's layout changes; an older cache is rebuilt from the exports
#: (3: each file records its first plausible day).
CACHE_FORMAT = 3
#: Columns of a cached day: the export's strings, why the record was broken, where it was read.
CACHE_SCHEMA = pl.Schema({**fmt.EXPORT_SCHEMA, RECORD_PROBLEM: pl.String, RECORD_ORIGIN: pl.String})
#: Columns of the set-aside store.
SET_ASIDE_SCHEMA = pl.Schema({**fmt.EXPORT_SCHEMA, "reason": pl.String, "origin": pl.String, RAW_RECORD: pl.String})

NO_DAY = "ts: no date in it"
NO_TS = "ts: missing"
FUTURE = "ts: after the day the export was read"


class CsvArchiveError(RuntimeError):
    """The archive path is missing, holds no readable export, or no complete one."""


@dataclass
class ImportSummary:
    """What one :meth:`CsvArchive.refresh` did and found (for logs and the CLI).

    ``imported_files``: files read by this refresh; ``rows_read``: their records;
    ``days_written``: cached days that changed. The others describe the whole archive
    after the refresh: ``skipped_files`` (name -> why it is not an export),
    ``incomplete_files`` (name -> why its days are not treated as complete),
    ``ignored_columns`` (column -> first file that had it), ``set_aside_rows`` (rows that
    belong to no day, in ``set_aside_path``), ``rows_too_old`` (rows cached on a day before
    the archive's first day, :func:`first_plausible_day`: a wrong clock, never ingested).
    """

    imported_files: list[str] = field(default_factory=list)
    rows_read: int = 0
    days_written: int = 0
    skipped_files: dict[str, str] = field(default_factory=dict)
    incomplete_files: dict[str, str] = field(default_factory=dict)
    ignored_columns: dict[str, str] = field(default_factory=dict)
    set_aside_rows: int = 0
    set_aside_path: str = ""
    rows_too_old: int = 0


def discover_csv_files(source: Path) -> list[Path]:
    """The candidate export files of an archive (``.csv``, ``.csv.gz``), sorted by path."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise CsvArchiveError(f"CSV archive not found: {source} (give a registry_metrics.csv or a folder of dated exports)")
    patterns = ("*.csv", "*.csv.gz", "*/*.csv", "*/*.csv.gz")
    return sorted({path for pattern in patterns for path in source.glob(pattern) if path.is_file()})


def first_plausible_day(day_rows: dict[date, int], export_day: date | None, today: date) -> tuple[date | None, int]:
    """The first of one export's row days that the collector could still hold when the
    export was taken, and how many rows are dated earlier.

    ``day_rows``: the export's rows cached per UTC day. ``export_day``: the day the export
    was taken (its snapshot folder's date), or None for its newest row day; never later
    than ``today``. Rows more than :data:`export_format.COLLECTOR_RETENTION_DAYS` before it
    count as too old. Returns ``(None, 0)`` for an export without a dated row.
    """
    if not day_rows:
        return None, 0
    taken = min(export_day or max(day_rows), today)
    floor = taken - timedelta(days=fmt.COLLECTOR_RETENTION_DAYS)
    plausible = [day for day in day_rows if day >= floor]
    return min(plausible, default=None), sum(rows for day, rows in day_rows.items() if day < floor)


def merge_snapshot_rows(cached: pl.DataFrame, incoming: pl.DataFrame) -> pl.DataFrame:
    """One day's cached rows united with a new export's rows of that day.

    Snapshots are cumulative, so the same delivery appears in each: an event keeps as
    many copies as the file that held the most (a duplicate delivery inside one export
    stays visible, and validation counts it, as with the DocumentDB source), each copy
    its most complete version (the older one, and its origin, on a tie). Sorted by
    (ts, event, registry_id).
    """
    key = ["event", "registry_id", "_instant"]
    tagged = pl.concat(
        [cached.with_columns(_new=pl.lit(False)), incoming.with_columns(_new=pl.lit(True))]
    ).with_columns(event_identity())
    copies = tagged.group_by(key).agg(
        pl.max_horizontal((~pl.col("_new")).sum(), pl.col("_new").sum()).alias("_copies")
    )
    best = deduplicate(tagged.drop("_new"))
    return _with_copies(best, copies, key).drop("_instant").sort(
        "ts", "event", "registry_id", nulls_last=False, maintain_order=True
    )


def merge_set_aside(cached: pl.DataFrame, incoming: pl.DataFrame) -> pl.DataFrame:
    """The set-aside store united with a new export's set-aside rows: a row (all its export
    cells, reason and raw text) keeps as many copies as the file that held the most, and
    its first origin."""
    key = [*fmt.EXPORT_COLUMNS, "reason", RAW_RECORD]
    tagged = pl.concat([cached.with_columns(_new=pl.lit(False)), incoming.with_columns(_new=pl.lit(True))])
    copies = tagged.group_by(key).agg(
        pl.max_horizontal((~pl.col("_new")).sum(), pl.col("_new").sum()).alias("_copies")
    )
    best = tagged.unique(subset=key, keep="first", maintain_order=True).drop("_new")
    return _with_copies(best, copies, key)


def _with_copies(best: pl.DataFrame, copies: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    return (
        best.join(copies, on=key, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(pl.int_ranges(0, pl.col("_copies")).alias("_copy"))
        .explode("_copy")
        .drop("_copies", "_copy")
    )


def _row_day() -> pl.Expr:
    """A row's UTC day: from its ts, or the date its garbled ts starts with; null if neither."""
    text_day = pl.col("ts").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return pl.coalesce(parse_ts(pl.col("ts")).dt.date(), text_day)


def _set_aside_reason(limit: date) -> pl.Expr:
    """Why a row of a batch with ``_any_day`` (:func:`_row_day`) belongs to no day."""
    return (
        pl.when(pl.col(RECORD_PROBLEM).is_not_null()).then(pl.col(RECORD_PROBLEM))
        .when(pl.col("ts").is_null()).then(pl.lit(NO_TS))
        .when(pl.col("_any_day") > limit).then(pl.lit(FUTURE))
        .otherwise(pl.lit(NO_DAY))
    )


def _fewer_events(newer: dict[str, int], older: dict[str, int], days: Callable[[str], bool]) -> str | None:
    """The first day (of those ``days`` accepts) on which ``newer`` holds fewer distinct
    events than ``older``, described; None if there is none."""
    for day in sorted(older):
        if days(day) and newer.get(day, 0) < older[day]:
            return f"{day}: {newer.get(day, 0):,} events where {older[day]:,} were"
    return None


class CsvArchive:
    """A CSV archive and its day cache; see the module docstring.

    ``today``: the UTC day the exports are read on (default: now); rows dated after it
    are set aside.
    """

    def __init__(self, source: Path | str, cache_dir: Path | str, today: date | None = None):
        self.source = Path(source).expanduser().resolve()
        self.cache_dir = Path(cache_dir)
        self.manifest_path = self.cache_dir / "manifest.json"
        self.set_aside_path = self.cache_dir / "set-aside.parquet"
        self.today = today

    def day_path(self, day: date) -> Path:
        """Where the cache keeps the export rows of UTC ``day``."""
        return self.cache_dir / "days" / f"date={day.isoformat()}" / "part-0.parquet"

    def _manifest(self) -> dict:
        if self.manifest_path.is_file():
            manifest = json.loads(self.manifest_path.read_text())
            if manifest.get("format") == CACHE_FORMAT:
                return manifest
        return {"format": CACHE_FORMAT, "source": str(self.source), "files": {}, "days": [], "set_aside_rows": 0}

    def refresh(self, on_file: Callable[[str], None] | None = None) -> ImportSummary:
        """Import files that are new or changed since the last refresh.

        ``on_file`` is called with each file's relative name before it is read (for
        progress output). Raises :class:`CsvArchiveError` when the archive is missing or
        contains no export at all (naming each file found and why it is not one). Safe
        against concurrent refreshes (file lock).
        """
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.cache_dir / ".lock"):
            return self._refresh_locked(on_file)

    def _refresh_locked(self, on_file: Callable[[str], None] | None) -> ImportSummary:
        manifest = self._manifest()
        if not manifest["files"]:
            # A new cache, or one of an older layout: rebuilt from the exports.
            for stale in (self.cache_dir / "days", self.cache_dir / ".spool"):
                shutil.rmtree(stale, ignore_errors=True)
            for stale in (self.set_aside_path, self.cache_dir / "unparsable-ts.parquet"):
                stale.unlink(missing_ok=True)
        summary = ImportSummary(set_aside_path=str(self.set_aside_path))
        base = self.source if self.source.is_dir() else self.source.parent
        for path in discover_csv_files(self.source):
            name = str(path.relative_to(base))
            stat = path.stat()
            fingerprint = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            known = manifest["files"].get(name)
            if known and {k: known.get(k) for k in fingerprint} == fingerprint:
                continue
            try:
                header = read_header(path)
            except OSError as error:
                manifest["files"][name] = {**fingerprint, "skipped": f"cannot be read: {error.strerror or error}"}
                continue
            missing = [c for c in fmt.REQUIRED_COLUMNS if c not in header]
            if missing:
                manifest["files"][name] = {**fingerprint, "skipped": f"not an export: its header lacks {', '.join(missing)}"}
                continue
            if on_file:
                on_file(name)
            snapshot = path.parent.name if path.parent != base and _DATED_FOLDER.match(path.parent.name) else None
            try:
                entry = self._import(path, name, snapshot, summary)
            except (OSError, pl.exceptions.PolarsError) as error:
                # Whatever fails while reading a file says which file.
                raise CsvArchiveError(f"{name} in {base} could not be imported: {error}") from error
            entry["incomplete"] = entry["incomplete"] or self._shrunk(entry, known, manifest["files"])
            manifest["files"][name] = {**fingerprint, **entry}
            summary.imported_files.append(name)
        manifest["days"] = sorted(p.parent.name.removeprefix("date=") for p in (self.cache_dir / "days").glob("date=*/part-0.parquet"))
        self._describe(manifest, summary)
        if not any("records" in entry for entry in manifest["files"].values()):
            found = "; ".join(f"{name} exists but is {reason}" for name, reason in summary.skipped_files.items())
            raise CsvArchiveError(f"no registry_metrics export found in {self.source}" + (f": {found}" if found else ""))
        manifest["set_aside_rows"] = summary.set_aside_rows
        data = canonical_json(manifest)
        # Every day's fetch refreshes; a manifest that did not change is not rewritten.
        if not self.manifest_path.is_file() or self.manifest_path.read_bytes() != data:
            atomic_write_bytes(self.manifest_path, data)
        return summary

    def _describe(self, manifest: dict, summary: ImportSummary) -> None:
        """Fill the archive-wide fields of ``summary`` from ``manifest``."""
        for name, entry in sorted(manifest["files"].items()):
            if "skipped" in entry:
                summary.skipped_files[name] = entry["skipped"]
            elif entry.get("incomplete"):
                summary.incomplete_files[name] = entry["incomplete"]
            for column in entry.get("ignored_columns", []):
                summary.ignored_columns.setdefault(column, name)
        summary.set_aside_rows = pl.scan_parquet(self.set_aside_path).select(pl.len()).collect().item() \
            if self.set_aside_path.is_file() else 0
        first = _first_day(manifest)
        early = [self.day_path(date.fromisoformat(day)) for day in manifest["days"] if first and day < first.isoformat()]
        summary.rows_too_old = pl.scan_parquet(early).select(pl.len()).collect().item() if early else 0

    def _import(self, path: Path, name: str, snapshot: str | None, summary: ImportSummary) -> dict:
        """Read one export file into the cache; returns its manifest entry (without fingerprint)."""
        reading = FileReading()
        limit = self.today or datetime.now(timezone.utc).date()
        spool = self.cache_dir / ".spool"
        shutil.rmtree(spool, ignore_errors=True)
        day_events: dict[str, int] = {}
        day_rows: dict[date, int] = {}
        set_aside = 0
        for part, batch in enumerate(read_batches(path, name, reading)):
            # The fragment a truncated export ends with is set aside: the whole row, if
            # it exists, comes with a complete export.
            dated = batch.with_columns(_row_day().alias("_any_day")).with_columns(
                pl.when((pl.col("_any_day") <= limit) & (pl.col(RECORD_PROBLEM).fill_null("") != CUT_SHORT))
                .then(pl.col("_any_day")).alias("_day")
            )
            aside = dated.filter(pl.col("_day").is_null())
            if aside.height:
                set_aside += aside.height
                _spool(
                    spool / "set-aside" / f"part-{part}.arrow",
                    aside.with_columns(_set_aside_reason(limit).alias("reason"), pl.col(RECORD_ORIGIN).alias("origin"))
                    .select(list(SET_ASIDE_SCHEMA)),
                )
            for (day,), rows in dated.filter(pl.col("_day").is_not_null()).group_by("_day"):
                _spool(spool / "days" / f"date={day}" / f"part-{part}.arrow", rows.select(list(CACHE_SCHEMA)))
        summary.rows_read += reading.records
        # Days are merged independently, and polars works without the GIL: two at a time
        # (memory holds two days). On an error or an interrupt, the days not begun are dropped.
        pool = ThreadPoolExecutor(max_workers=2)
        try:
            for day, rows, events, written in pool.map(self._merge_day, sorted((spool / "days").glob("date=*"))):
                day_rows[day] = rows
                day_events[day.isoformat()] = events
                summary.days_written += written
        finally:
            pool.shutdown(cancel_futures=True)
        parts = list((spool / "set-aside").glob("part-*.arrow"))
        if parts:
            existing = pl.read_parquet(self.set_aside_path) if self.set_aside_path.is_file() \
                else pl.DataFrame(schema=SET_ASIDE_SCHEMA)
            write_parquet_atomic(self.set_aside_path, merge_set_aside(existing, _unspool(parts)))
        shutil.rmtree(spool, ignore_errors=True)
        first_day, _ = first_plausible_day(day_rows, date.fromisoformat(snapshot) if snapshot else None, limit)
        complete_through = None
        if reading.ends_mid_row and reading.last_whole and reading.last_whole[0] == "heartbeat":
            # Heartbeats come last, in ts order (reference 2.4): those before the cut are all there.
            last = pl.select(parse_ts(pl.lit(reading.last_whole[1], dtype=pl.String)).dt.date()).item()
            complete_through = (last - timedelta(days=1)).isoformat() if last else None
        return {
            "records": reading.records,
            "day_events": dict(sorted(day_events.items())),
            "set_aside": set_aside,
            "ignored_columns": reading.ignored_columns,
            "snapshot": snapshot,
            "incomplete": "its last row is cut short (a truncated export)" if reading.ends_mid_row else None,
            "complete_through": complete_through,
            "first_day": first_day.isoformat() if first_day else None,
        }

    def _merge_day(self, folder: Path) -> tuple[date, int, int, bool]:
        """Merge one day's spooled rows (``folder``) into its cached file. Returns the day,
        its rows and distinct events in this export, and whether the cached file changed."""
        day = date.fromisoformat(folder.name.removeprefix("date="))
        incoming = _unspool(folder.glob("part-*.arrow"))
        # Distinct events, so a duplicate delivery one snapshot holds and the next does
        # not (the collector's database keeps both) is not a lost row.
        events = incoming.select("event", "registry_id", event_identity()).n_unique()
        target = self.day_path(day)
        existing = pl.read_parquet(target) if target.is_file() else pl.DataFrame(schema=CACHE_SCHEMA)
        merged = merge_snapshot_rows(existing, incoming)
        changed = merged.height != existing.height or not merged.equals(existing)
        if changed:
            write_parquet_atomic(target, merged)
        return day, incoming.height, events, changed

    def _shrunk(self, entry: dict, previous: dict | None, files: dict) -> str | None:
        """Why ``entry`` looks truncated next to its own previous import or the nearest older
        snapshot (fewer distinct events of a day than those held), or None."""
        if previous and "day_events" in previous:
            fewer = _fewer_events(entry["day_events"], previous["day_events"], lambda _day: True)
            if fewer:
                return f"re-imported with fewer events than before ({fewer})"
        if not entry["snapshot"]:
            return None
        taken = date.fromisoformat(entry["snapshot"])
        older = [e for e in files.values() if e.get("snapshot") and e["snapshot"] < entry["snapshot"] and "day_events" in e]
        if not older:
            return None
        nearest = max(older, key=lambda e: e["snapshot"])
        kept_from = (taken - timedelta(days=fmt.COLLECTOR_RETENTION_DAYS - 1)).isoformat()
        fewer = _fewer_events(entry["day_events"], nearest["day_events"],
                            lambda day: kept_from <= day < nearest["snapshot"])
        return f"fewer events than the {nearest['snapshot']} export ({fewer})" if fewer else None

    def day(self, day: date) -> pl.DataFrame:
        """The cached rows of UTC ``day`` (:data:`CACHE_SCHEMA`; empty when the archive has none)."""
        path = self.day_path(day)
        return pl.read_parquet(path) if path.is_file() else pl.DataFrame(schema=CACHE_SCHEMA)

    def day_version(self, day: date) -> str | None:
        """A digest of the cached rows of ``day`` (None when it has none): it changes exactly
        when an import changes the day."""
        path = self.day_path(day)
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None

    def coverage(self) -> tuple[date, date] | None:
        """(first day, last complete day), or None for an empty cache.

        The first day is the earliest first plausible day of the imported exports
        (:func:`first_plausible_day`: rows dated before it come from a wrong clock). A
        dated snapshot is complete through the day before its date, an undated export
        through the day before its newest day (it was exported during that day). With
        dated snapshots only they count. An incomplete export counts only through the day
        before its last heartbeat when it was cut inside its (ts-ordered) heartbeats.
        Raises :class:`CsvArchiveError` when no export makes any day complete.
        """
        manifest = self._manifest()
        first = _first_day(manifest)
        if not manifest["days"] or first is None:
            return None
        exports = {name: e for name, e in manifest["files"].items() if "records" in e}
        if any(e["snapshot"] for e in exports.values()):
            exports = {name: e for name, e in exports.items() if e["snapshot"]}
        limits = [limit for e in exports.values() if (limit := _complete_through(e)) is not None]
        if not limits:
            reasons = "; ".join(f"{name}: {e['incomplete']}" for name, e in exports.items() if e.get("incomplete"))
            raise CsvArchiveError(
                f"no export in {self.source} can be treated as complete ({reasons}); add a complete export and run again"
            )
        last = min(max(limits), date.fromisoformat(manifest["days"][-1]))
        return first, max(first, last)

    def quality_notes(self) -> dict:
        """Archive-wide facts for the report's data-quality section (JSON-ready):
        ``set_aside`` {``rows``, ``by_reason``, ``kept_in``} (rows that belong to no day),
        ``ignored_columns`` {column: first file}, ``skipped_files`` and
        ``incomplete_exports`` {file: reason}."""
        summary = ImportSummary()
        self._describe(self._manifest(), summary)
        by_reason: dict[str, int] = {}
        if summary.set_aside_rows:
            counts = pl.scan_parquet(self.set_aside_path).group_by("reason").len().collect()
            by_reason = dict(sorted(counts.rows(), key=lambda row: (-row[1], row[0])))
        return {
            "set_aside": {"rows": summary.set_aside_rows, "by_reason": by_reason, "kept_in": str(self.set_aside_path)},
            "ignored_columns": summary.ignored_columns,
            "skipped_files": summary.skipped_files,
            "incomplete_exports": summary.incomplete_files,
        }


def _first_day(manifest: dict) -> date | None:
    """The archive's first day: the earliest first plausible day of its exports."""
    firsts = [entry["first_day"] for entry in manifest["files"].values() if entry.get("first_day")]
    return date.fromisoformat(min(firsts)) if firsts else None


def _part_number(path: Path) -> int:
    return int(path.stem.removeprefix("part-"))


def _spool(path: Path, frame: pl.DataFrame) -> None:
    """Write one batch's rows of a day (or set aside) to the import's spool. The spool lives
    for one import only, so it is uncompressed Arrow IPC, the cheapest to write and read
    back; a full or read-only disk is named as for the cache."""
    with naming_disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_ipc(path, compression="uncompressed")


def _unspool(parts: Iterable[Path]) -> pl.DataFrame:
    """The spooled batches ``parts`` of one day (or set aside), in batch order."""
    return pl.concat([pl.read_ipc(path) for path in sorted(parts, key=_part_number)])


def _complete_through(entry: dict) -> date | None:
    """The last day one export vouches for (see :meth:`CsvArchive.coverage`)."""
    if entry.get("incomplete"):
        through = entry.get("complete_through")
        limit = date.fromisoformat(through) if through else None
    elif entry["snapshot"]:
        limit = date.fromisoformat(entry["snapshot"]) - timedelta(days=1)
    else:
        limit = date.fromisoformat(max(entry["day_events"])) - timedelta(days=1) if entry["day_events"] else None
    if limit and entry["snapshot"]:
        limit = min(limit, date.fromisoformat(entry["snapshot"]) - timedelta(days=1))
    return limit
