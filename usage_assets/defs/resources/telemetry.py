"""The telemetry source resource: one interface, one implementation per kind of source.

Every asset reads events through :class:`TelemetrySource`, so a new source (the
DocumentDB one) slots in without touching any asset. A source returns one UTC day of
events in the export format (:mod:`usage_assets.sources.export_format`); typing and
validation happen afterwards, identically for every source.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import PrivateAttr

from usage_assets.common.days import last_complete_utc_day
from usage_assets.ingest.validation import validate_events
from usage_assets.sources.csv_archive import CsvArchive, CsvArchiveError
from usage_assets.sources.demo_fleet import DemoFleetParams, demo_events_for_day
from usage_assets.sources.errors import SourceCheckStep
from usage_assets.sources.export_format import COLLECTOR_RETENTION_DAYS, count_events


def with_secrets_resolved(source: "TelemetrySource") -> "TelemetrySource":
    """A copy of ``source`` whose ``dg.EnvVar`` fields, nested config included, hold their
    values, as in a run.

    For code that calls a source outside a Dagster run (the CLI, the runner's coverage
    look-ups). Raises Dagster's error from ``EnvVar.get_value`` when a variable is
    unset. (``process_config_and_initialize`` would do the same, but it also clears
    Dagster's current-instance context, which breaks later runs in the same process.)
    """
    return _resolved(source)


def _resolved(value):
    if isinstance(value, dg.EnvVar):
        return value.get_value()
    if isinstance(value, dg.Config):
        return type(value)(**{name: _resolved(getattr(value, name)) for name in type(value).model_fields})
    return value


class TelemetrySource(dg.ConfigurableResource, ABC):
    """Abstract source of telemetry events, one UTC day at a time."""

    # coverage() can cost a connection (the documentdb source opens an SSH tunnel and asks
    # both collections); one answer per resource instance, i.e. per Dagster run.
    _coverage: tuple[date, date] | None = PrivateAttr(default=None)
    _coverage_read: bool = PrivateAttr(default=False)

    @abstractmethod
    def fetch_day(self, day: date) -> pl.DataFrame:
        """Every event with ``day 00:00Z <= ts < day+1 00:00Z``, as export-format strings.

        Columns: ``export_format.EXPORT_COLUMNS`` (all ``pl.String``; missing ones are
        added by validation). Raises a source-specific error when the source cannot be read.
        """

    @abstractmethod
    def coverage(self) -> tuple[date, date] | None:
        """(first UTC day with events, last complete UTC day), or None when empty."""

    def cached_coverage(self) -> tuple[date, date] | None:
        """:meth:`coverage`, read once per resource instance (a Dagster run, a CLI command)."""
        if not self._coverage_read:
            self._coverage = self.coverage()
            self._coverage_read = True
        return self._coverage

    @abstractmethod
    def describe(self) -> str:
        """One line naming the source for logs and the report (no secrets)."""

    def prepare(self, progress: Callable[[str], None] | None = None) -> None:
        """One-off work before a batch of days (e.g. importing new exports); default none.

        ``progress`` receives short human-readable messages.
        """

    def day_version(self, day: date) -> str | None:
        """A short string that changes whenever the source's rows of UTC ``day`` change, or
        None when the source cannot tell (default). The ingest records it, so a day whose
        rows changed after it was ingested is found (:func:`usage_assets.ingest.freshness.stale_days`)."""
        return None

    def quality_notes(self) -> dict:
        """Source-wide facts for the report's data-quality section (JSON-ready; default
        none): rows that belong to no day, columns ignored, files skipped, exports not
        treated as complete (see :meth:`usage_assets.sources.csv_archive.CsvArchive.quality_notes`)."""
        return {}

    def count_day(self, day: date) -> dict[str, int]:
        """Events the source holds for UTC ``day``, per event type.

        ``{"startup": n, "heartbeat": m}`` (plus any other ``event`` value present),
        counted before validation and de-duplication, like the ingest's ``fetched``
        number. The default fetches the day; sources that can count cheaply override it.
        Used by the ``raw_events_match_source`` reconciliation check.
        """
        return count_events(self.fetch_day(day))

    def check(self, day: date | None = None) -> list[SourceCheckStep]:
        """``usage-report check-source``: can the source be read, and what does it hold?

        Default: the coverage, then the events of ``day`` (default: the last complete day
        of the source): stored, and distinct valid (:func:`day_step`). Returns the steps in order, stopping at the first failure; never
        raises for a source that cannot be read (the failed step explains it).
        """
        try:
            self.prepare()
            covered = self.coverage()
        except Exception as error:  # noqa: BLE001 - explained to the user, not hidden
            return [SourceCheckStep("coverage", False, f"{error}")]
        if covered is None:
            return [SourceCheckStep("coverage", False, f"{self.describe()} holds no events")]
        steps = [SourceCheckStep("coverage", True, f"events from {covered[0]} to {covered[1]} (last complete day)")]
        return [*steps, day_step(day or covered[1], self.count_day, self.fetch_day)]


def day_step(
    day: date, count_day: Callable[[date], dict[str, int]], fetch_day: Callable[[date], pl.DataFrame]
) -> SourceCheckStep:
    """The ``events on <day>`` step of ``check-source``: what the source stores for ``day``
    (``count_day``: every row or document, duplicates and rejects included, per event type)
    and what the report counts of it: the distinct valid events after validation and
    de-duplication (:func:`usage_assets.ingest.validation.validate_events` on
    ``fetch_day``), with the duplicates and rejects in between. Failed, with the error's
    text, when the source cannot be read.
    """
    name = f"events on {day}"
    try:
        stored = count_day(day)
        validated = validate_events(fetch_day(day), day)
    except Exception as error:  # noqa: BLE001 - explained to the user, not hidden
        return SourceCheckStep(name, False, f"{error}")
    valid = count_events(validated.events)

    def by_kind(counts: dict[str, int]) -> str:
        return ", ".join(f"{kind} {counts.get(kind, 0)}" for kind in {**stored, **counts})

    return SourceCheckStep(name, True, (
        f"stored: {by_kind(stored)} (duplicates and rejects included); distinct valid events, as the report "
        f"counts them: {by_kind(valid)} ({validated.duplicates} duplicate(s), {validated.rejects.height} "
        "rejected left out)"
    ))


class DemoTelemetrySource(TelemetrySource):
    """The built-in, deterministic simulated fleet (see :mod:`usage_assets.sources.demo_fleet`).

    Serves every day from ``start`` to yesterday (UTC); a day's events never depend on
    which other days were asked, so any backfill reproduces the same partition. The fields
    are the ``demo_*`` settings (:class:`usage_assets.settings.Settings`, where their
    defaults are).
    """

    seed: int
    start: str
    daily_new_installs: float

    def _params(self) -> DemoFleetParams:
        return DemoFleetParams(
            seed=self.seed, start=date.fromisoformat(self.start), daily_new_installs=self.daily_new_installs
        )

    def fetch_day(self, day: date) -> pl.DataFrame:
        if day > last_complete_utc_day():
            raise ValueError(f"{day} is not over yet (UTC); the demo fleet serves complete days only")
        return demo_events_for_day(self._params(), day)

    def coverage(self) -> tuple[date, date] | None:
        return date.fromisoformat(self.start), last_complete_utc_day()

    def describe(self) -> str:
        return (
            f"demo fleet (simulated; seed {self.seed}, from {self.start}, "
            f"{self.daily_new_installs:g} new installs/day at start)"
        )


class CsvTelemetrySource(TelemetrySource):
    """Reference CSV exports (one file or a folder of dated snapshots), via a day cache.

    New or changed export files are imported into ``cache_dir`` once
    (:class:`usage_assets.sources.csv_archive.CsvArchive`); each day then reads one small
    cached file. Raises :class:`usage_assets.sources.csv_archive.CsvArchiveError` when the
    path holds no export.
    """

    csv_path: str
    cache_dir: str

    def archive(self) -> CsvArchive:
        return CsvArchive(self.csv_path, self.cache_dir)

    def fetch_day(self, day: date) -> pl.DataFrame:
        archive = self.archive()
        archive.refresh()
        coverage = archive.coverage()
        # A day after the archive's last complete day is not "a day without events": the
        # export that would hold it has not been added yet (or is still partial).
        if coverage is None or day > coverage[1]:
            last = coverage[1] if coverage else "none"
            raise CsvArchiveError(
                f"{day} is after the last complete day of the CSV archive ({last}); "
                f"add a newer export to {self.csv_path} and run again"
            )
        return archive.day(day)

    def coverage(self) -> tuple[date, date] | None:
        archive = self.archive()
        archive.refresh()
        return archive.coverage()

    def day_version(self, day: date) -> str | None:
        return self.archive().day_version(day)

    def quality_notes(self) -> dict:
        return self.archive().quality_notes()

    def prepare(self, progress: Callable[[str], None] | None = None) -> None:
        summary = self.archive().refresh(on_file=lambda name: progress and progress(f"importing {name}"))
        if not progress:
            return
        if summary.imported_files:
            progress(
                f"imported {len(summary.imported_files)} export file(s): {summary.rows_read:,} rows, "
                f"{summary.days_written:,} cached day(s) updated"
            )
        # Named on every run, not only the one that first met them.
        for name, reason in summary.skipped_files.items():
            progress(f"skipped {name}: {reason}")
        for name, reason in summary.incomplete_files.items():
            progress(f"WARNING: {name} is incomplete, {reason}; its days are not treated as complete")
        if summary.ignored_columns:
            progress(f"ignored column(s) the export format does not have: {', '.join(summary.ignored_columns)}")
        if summary.rows_too_old:
            progress(
                f"{summary.rows_too_old:,} row(s) are dated more than {COLLECTOR_RETENTION_DAYS} days before the "
                "export holding them (a wrong clock): they are before the archive's first day, never ingested"
            )
        if summary.set_aside_rows:
            progress(
                f"{summary.set_aside_rows:,} row(s) belong to no day (no usable ts, a broken line, or dated "
                f"after the import); set aside in {summary.set_aside_path} and counted in the report"
            )

    def describe(self) -> str:
        return f"CSV exports at {Path(self.csv_path).name}"

