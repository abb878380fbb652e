"""Run the pipeline's jobs in-process against a Dagster instance, one partition at a time.

Used by the ``usage-report`` CLI (and the tests and benchmark): runs are recorded in the
instance at ``DAGSTER_HOME``, so the Dagster UI shows their materializations, and a
failed step becomes a :class:`PipelineRunError` whose message says what went wrong.

A run executes in a worker thread while the calling thread watches it: Dagster ignores
SIGINT and SIGTERM in the thread that executes a run while a step waits for a pool slot,
so the watching thread stays interruptible, says what a waiting run waits for, frees
the slots of runs whose process died meanwhile (:mod:`usage_assets.cli.run_recovery`),
and marks the run canceled when the command is stopped. It also tells each retry of a
step as one line ("retrying in 30 s: <reason>") and, when a run fails, describes each
failed step in plain words (:class:`usage_assets.cli.errors.StepFailure`: the assets,
the partition, the reason, what to check next); Dagster's own log lines, stack traces
included, stay in the run's event log and are printed with ``verbose``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from usage_assets.cli.errors import PipelineRunError, StepFailure
from usage_assets.cli.retries import retry_line, with_source_retries
from usage_assets.cli.run_recovery import describe_wait, process_tags, recover_dead_runs, slot_wait, summarize_recovery
from usage_assets.common.days import consecutive_stretches, day_range, last_complete_utc_day
from usage_assets.daily.history import history_first_day
from usage_assets.definitions import build_definitions, source_first_day
from usage_assets.defs.ingest.assets import DAY_INGESTED
from usage_assets.defs.jobs import INGEST_JOB, METRICS_JOB, REPORT_JOB
from usage_assets.defs.partitions import PARTITIONS_START, WEEK_OVER_WEEK, comparison_days
from usage_assets.defs.report.report import REPORT_BUILT
from usage_assets.defs.resources.telemetry import with_secrets_resolved
from usage_assets.enrichment.trend_arithmetic import parse_range
from usage_assets.ingest.freshness import stale_ingested_days
from usage_assets.settings import Settings
from usage_assets.sources.errors import split_message
from usage_assets.storage.datasets import FLEET_METRICS, INSTANCE_DAYS, LIVENESS
from usage_assets.storage.lake import Lake
from usage_assets.workspace import Workspace

# Dagster's console logger silent: the CLI shows its own progress, its retry lines and, for
# a failed step, a few plain lines; the event log keeps everything (stack traces included).
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# With --verbose: Dagster's warnings and errors too, each failure with its stack trace.
VERBOSE_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The run tags of a run over a partition range (Dagster's, as in its asset backfills).
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
#: Dagster's switch (read when a run is created) for one "materialization planned" event per
#: asset of a run over a partition range instead of one per asset and day: an ingest of 88
#: days wrote 440 such events, 3.6 s of its run. The cost, in Dagster's words: the days of a
#: failed range run are not marked failed in the UI (they show as missing); the CLI names the
#: failing day itself, and the days before it stay materialized.
PLANNED_EVENTS_PER_RANGE = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
#: Seconds between two looks at a running run (is it waiting for a pool slot?).
WATCH_INTERVAL_S = 2.0
#: Seconds between two looks at a run's event log for the days it ingested (progress).
PROGRESS_INTERVAL_S = 0.5
#: Seconds a stopped run's thread gets to unwind before the command exits without it.
STOP_GRACE_S = 3.0

logger = logging.getLogger(__name__)


class RunStopped(BaseException):
    """Raised inside a run's thread when its command is stopped (not an ``Exception``, so
    no step mistakes it for an error of its own)."""


def _raise_in_thread(thread: threading.Thread, error: type[BaseException]) -> None:
    # CPython raises ``error`` in ``thread`` at its next Python instruction, e.g. when
    # Dagster's wait for a pool slot wakes up, so it stops instead of claiming again.
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(error))


class PipelineRunner:
    """Materializes partitions of the ingest and report jobs for given settings.

    ``instance``: where runs are recorded (default: the instance at ``DAGSTER_HOME``);
    ``notify``: receives one-line messages while a run goes on (what a run waits for,
    runs recovered meanwhile, retries); default: this module's logger, at WARNING.
    ``verbose``: let Dagster's console logger print warnings and errors with their
    stack traces (otherwise it prints nothing).
    Raises :class:`usage_assets.workspace.WorkspaceError` when a folder of the source's
    workspace belongs to another source.
    """

    def __init__(
        self,
        settings: Settings,
        instance: dg.DagsterInstance | None = None,
        notify: Callable[[str], None] | None = None,
        verbose: bool = False,
    ):
        self.settings = settings
        os.environ.setdefault(PLANNED_EVENTS_PER_RANGE, "true")
        self.notify = notify or logger.warning
        self._cancel_lock = threading.Lock()
        self.run_config = VERBOSE_RUN_CONFIG if verbose else QUIET_RUN_CONFIG
        self.workspace = Workspace.of(settings).open()
        self.definitions = build_definitions(settings)
        self.instance = instance or dg.DagsterInstance.get()
        # Resolved: secrets given as dg.EnvVar are read now, as a run would read them.
        self.telemetry = with_secrets_resolved(self.definitions.resources["telemetry"])
        self.lake = Lake(self.workspace.data_dir, self.workspace.s3)
        self.reports = self.workspace.store(self.workspace.reports_dir)

    def recover_dead_runs(self) -> str | None:
        """Mark runs whose ``usage-report`` process is gone as failed and free the pool
        slots of runs that are over (:func:`usage_assets.cli.run_recovery.recover_dead_runs`);
        returns one line saying what was recovered, None when nothing was."""
        return summarize_recovery(recover_dead_runs(self.instance))

    def prepare_source(self, progress: Callable[[str], None] | None = None) -> None:
        """Let the source do one-off work up front (the CSV source imports new exports)."""
        self.telemetry.prepare(progress)

    def coverage(self) -> tuple[date, date] | None:
        """The source's (first day, last complete day), read once; a transient
        :class:`usage_assets.sources.errors.SourceError` (a bastion restarting) is retried
        with the ingest's policy, each retry told to ``notify``."""
        return with_source_retries(self.telemetry.cached_coverage, self.notify)

    def default_report_day(self) -> date:
        """The last complete UTC day the source has (for CSV: in the archive)."""
        coverage = self.coverage()
        if coverage is None:
            raise PipelineRunError(f"the source has no events: {self.telemetry.describe()}")
        return coverage[1]

    def first_day_to_ingest(self, report_day: date) -> date:
        """First day the report for ``report_day`` needs ingested: the source's first day
        (:func:`usage_assets.definitions.source_first_day`), or the first partition when
        ``USAGE_PARTITIONS_START`` is later; never after ``report_day``. Events dated before
        it are never ingested (a CSV row with a wrong clock does not ask for earlier days).
        """
        return min(max(source_first_day(self.settings), PARTITIONS_START), report_day)

    def check_report_day(self, day: date) -> None:
        """Raise :class:`PipelineRunError` for a day that has no partition (yet), or that is
        before the source's first day (its report would be empty)."""
        if day > last_complete_utc_day():
            raise PipelineRunError(f"{day} is not over yet (UTC); the newest complete day is {last_complete_utc_day()}")
        first = source_first_day(self.settings)
        if day < first:
            raise PipelineRunError(f"{day} is before the source's first day {first}: {self.telemetry.describe()}")
        if day < PARTITIONS_START:
            raise PipelineRunError(f"{day} is before the first partition {PARTITIONS_START} (USAGE_PARTITIONS_START)")
        coverage = self.coverage()
        if coverage is not None and day > coverage[1]:
            raise PipelineRunError(
                f"{day} is after the last complete day the source has ({coverage[1]}): {self.telemetry.describe()}"
            )

    def missing_ingest_days(self, first: date, last: date) -> list[date]:
        """Days in ``first..last`` whose daily activity layer was never materialized."""
        return self.lake.missing_days(INSTANCE_DAYS, day_range(first, last))

    def stale_ingested_days(self, last: date) -> list[date]:
        """Ingested days up to ``last`` that the source changed after their ingest (a newer
        export with late or more rows): :func:`usage_assets.ingest.freshness.stale_days`."""
        return stale_ingested_days(self.lake, self.telemetry.day_version, last)

    def existing_reports(self, first: date) -> list[date]:
        """Days from ``first`` on whose report exists, ascending."""
        days = [date.fromisoformat(name) for name in self.reports.folders() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", name)]
        return sorted(day for day in days if day >= first and self.has_report(day))

    def _report_key(self, day: date) -> str | None:
        folder = self.reports.folder_key(day.isoformat())
        return f"{folder}/usage-report-{day}.html" if folder else None

    def has_report(self, day: date) -> bool:
        """Whether the HTML report of ``day`` was built."""
        key = self._report_key(day)
        return key is not None and self.reports.exists(key)

    def report_path(self, day: date) -> Path | str:
        """The HTML report of ``day`` (it exists once the report was built): a path, or an
        ``s3://`` URL when the reports are in S3 (its current folder once it was built)."""
        key = self._report_key(day) or f"{day}/usage-report-{day}.html"
        return self.reports.location(key)

    def ingest(self, day: date, last: date | None = None, progress: Callable[[date], None] | None = None) -> None:
        """Materialize raw_events, rejected_events and instance_days of ``day`` (to
        ``last``, inclusive: one run over the whole range, each day its own partition);
        raises :class:`PipelineRunError` when the run fails (e.g. its blocking check: the
        days before the failing one stay ingested). ``progress`` is told each day ingested."""
        self._execute(INGEST_JOB, day, last, progress)

    def report(self, day: date) -> Path | str:
        """Materialize every asset of ``day`` (:meth:`reports_of`); returns the HTML report's path."""
        self.reports_of(day, day)
        return self.report_path(day)

    def reports_of(self, first: date, last: date, progress: Callable[[date], None] | None = None) -> None:
        """Materialize every asset of each day ``first..last`` in one run, each day its own
        partition, oldest first (every asset takes a range: ``defs/materialize.py``);
        ``progress`` is told each report built. Raises :class:`PipelineRunError` when the
        run fails (the reports built before the failing day stay).

        First builds the fleet metrics of the earlier days the reports compare with (D-1,
        D-7 and D-R, R the trends range: :func:`usage_assets.defs.partitions.comparison_days`)
        when they were never built and the lake has history that early, so a backfilled
        report gives the comparisons a daily run would have; days of the range itself are
        built by the run, before the reports that read them. With them come the days the
        next week's daily reports compare with as their D-7 (``last``-6 to ``last``-1), so
        the daily runs after a catch-up do not each start with a metrics run of their own.
        """
        history_first = history_first_day(self.lake, first)
        trends_range = parse_range(self.settings.prometheus.range)
        compared = {day for report_day in day_range(first, last) for day in comparison_days(report_day, trends_range)}
        next_weeks_compared = day_range(last - timedelta(days=WEEK_OVER_WEEK - 1), last - timedelta(days=1))
        earlier = sorted(
            day for day in compared.union(next_weeks_compared)
            if history_first <= day < first
            and not all(self.lake.has_day(name, day, "data.json") for name in (FLEET_METRICS, LIVENESS))
        )
        for stretch_first, stretch_last in consecutive_stretches(earlier):
            self._execute(METRICS_JOB, stretch_first, stretch_last)
        self._execute(REPORT_JOB, first, last, progress, logged=REPORT_BUILT)

    def _execute(
        self, job_name: str, day: date, last: date | None = None, progress: Callable[[date], None] | None = None,
        logged: str = DAY_INGESTED,
    ) -> None:
        """Run ``job_name`` for ``day`` (to ``last``, one run over the range); ``progress``
        is told each day the run logs as ``"<logged> YYYY-MM-DD"``."""
        job = self.definitions.resolve_job_def(job_name)
        run_id = str(uuid.uuid4())
        outcome: dict[str, object] = {}
        # One day is one partition; a range of days is one run over a partition range
        # (the ingest job's assets take ranges: BackfillPolicy.single_run()).
        if last is None or last == day:
            partitions = {"partition_key": day.isoformat()}
        else:
            range_tags = {ASSET_PARTITION_RANGE_START_TAG: day.isoformat(), ASSET_PARTITION_RANGE_END_TAG: last.isoformat()}
            partitions = {"tags": range_tags}

        def execute() -> None:
            try:
                outcome["result"] = job.execute_in_process(
                    instance=self.instance,
                    run_config=self.run_config,
                    raise_on_error=False,
                    run_id=run_id,
                    partition_key=partitions.get("partition_key"),
                    tags={**partitions.get("tags", {}), **process_tags()},
                )
            except BaseException as error:  # noqa: BLE001 - handed to the watching thread
                outcome["error"] = error
            finally:
                if "stopped" in outcome:
                    # Dagster logs the stop as the run's failure on its way out, which can come
                    # after the command gave up waiting for this thread (asleep, or in C code,
                    # it sees the stop only when it returns to Python): canceled again after it.
                    self._mark_canceled(run_id, outcome["stopped"])  # type: ignore[arg-type]

        # A daemon thread: when the command is stopped, the process exits without it.
        worker = threading.Thread(target=execute, name=f"{job_name} {day}", daemon=True)
        worker.start()
        try:
            self._watch(worker, run_id, progress, logged)
        except BaseException as stop:  # Ctrl-C, or SIGTERM turned into SystemExit by the CLI
            outcome["stopped"] = stop
            self._stop_run(worker, run_id, stop)
            raise
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        result = outcome["result"]
        if not result.success:  # type: ignore[attr-defined]
            days = f"{day}" if last is None or last == day else f"{day} to {last}"
            raise PipelineRunError(
                f"{job_name} for {days} failed: {failure_summary(result)}",
                headline=f"{job_name} for {days} failed", failures=step_failures(result, job), run_id=run_id,
            )

    def _watch(
        self, worker: threading.Thread, run_id: str, progress: Callable[[date], None] | None, logged: str
    ) -> None:
        """Wait for ``worker``; meanwhile tell each retry of a step and ``progress`` each day
        the run logs with ``logged`` (ingested, report built), and, when the run waits for a
        pool slot, free the slots of runs whose process is gone and say (once per change)
        what it waits for."""
        told = None
        retries_cursor = None
        days_logged = DaysLogged(self.instance, run_id, logged)
        while True:
            worker.join(PROGRESS_INTERVAL_S if progress else WATCH_INTERVAL_S)
            retries_cursor = self._tell_retries(run_id, retries_cursor)
            for ingested in days_logged.new() if progress else ():
                progress(ingested)
            if not worker.is_alive():
                return
            wait = slot_wait(self.instance, run_id)
            if wait is None:
                continue
            recovered = self.recover_dead_runs()
            if recovered:
                self.notify(recovered)
                continue
            message = describe_wait(wait)
            if message != told:
                self.notify(message)
                told = message

    def _tell_retries(self, run_id: str, cursor: str | None) -> str | None:
        """Tell the run's step retries recorded after ``cursor``, one line each; returns the
        new cursor."""
        records = self.instance.get_records_for_run(run_id, cursor, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
        for record in records.records:
            retry = record.event_log_entry.dagster_event.event_specific_data
            reason, _ = split_message(error_text(retry.error))
            self.notify(retry_line(retry.seconds_to_wait or 0.0, reason))
        return records.cursor or cursor

    def _stop_run(self, worker: threading.Thread, run_id: str, stop: BaseException) -> None:
        """The command was stopped: stop the run's thread, mark the run canceled and free
        its pool slots and its place in a pool's queue."""
        _raise_in_thread(worker, RunStopped)
        worker.join(STOP_GRACE_S)
        self._mark_canceled(run_id, stop)
        self.instance.event_log_storage.free_concurrency_slots_for_run(run_id)

    def _mark_canceled(self, run_id: str, stop: BaseException) -> None:
        """Record run ``run_id``, stopped by ``stop``, as canceled, unless it succeeded or is
        so recorded already. Dagster may have marked it failed on the way out of the stopped
        thread: it was stopped, not broken. Called by the command and by the run's thread
        (:meth:`_execute`), one at a time."""
        with self._cancel_lock:
            run = self.instance.get_run_by_id(run_id)
            if run is None or run.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.CANCELED):
                return
            how = ("Ctrl-C" if isinstance(stop, KeyboardInterrupt)
                   else "SIGTERM" if isinstance(stop, SystemExit) else repr(stop))
            self.instance.report_run_canceled(run, message=f"usage-report was stopped ({how}) before the run finished.")


class DaysLogged:
    """The days a run logged with a marker (``"<marker> YYYY-MM-DD"``, one message per day
    done: :data:`DAY_INGESTED`, :data:`REPORT_BUILT`), read from its event log a page at a time."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, marker: str = DAY_INGESTED):
        self.instance, self.run_id, self.cursor, self.prefix = instance, run_id, None, f"{marker} "

    def new(self) -> list[date]:
        """The days logged since the last call, in the order logged."""
        connection = self.instance.event_log_storage.get_records_for_run(self.run_id, cursor=self.cursor)
        self.cursor = connection.cursor
        messages = (record.event_log_entry.user_message for record in connection.records)
        return [date.fromisoformat(message.removeprefix(self.prefix)) for message in messages
                if message.startswith(self.prefix)]


def failure_summary(result: dg.ExecuteInProcessResult) -> str:
    """The failed steps' error messages and failed blocking checks of a run, one per line
    (a ``dg.Failure`` by its description)."""
    problems = []
    for event in result.all_events:
        user_failure = event.is_step_failure and event.step_failure_data.user_failure_data
        if user_failure and user_failure.description:
            # A dg.Failure: its description is the message, without the exception's class path.
            problems.append(f"{event.step_key}: {user_failure.description.strip()}")
        elif event.is_step_failure and event.step_failure_data.error:
            error = event.step_failure_data.error
            retried = ""
            if error.cause is not None and error.message.startswith("Exceeded max_retries"):
                # The retry policy gave up: report the last attempt's own error.
                retried, error = f" ({error.message.strip().lower()})", error.cause
            while error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError",):
                error = error.cause
            problems.append(f"{event.step_key}: {error.message.strip()}{retried}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                problems.append(f"check {evaluation.check_name} failed: {evaluation.description}")
    return "\n".join(problems) or "see the run in the Dagster UI"


def error_text(error) -> str:
    """The message of the user's error inside a Dagster ``SerializableErrorInfo``, without
    the Python class path (``usage_assets.sources.errors.SourceError: ``) or Dagster's
    wrappers ("Error occurred while executing op", "Exceeded max_retries")."""
    while error.cause is not None and (error.cls_name.startswith(("Dagster", "RetryRequested"))
                                       or error.message.startswith("dagster.")):
        error = error.cause  # Dagster's wrappers: the step failed, a retry was requested, retries ran out
    message = error.message.strip()
    head, separator, rest = message.partition(": ")
    if separator and head.rsplit(".", 1)[-1] == error.cls_name:  # "package.module.Class: text"
        message = rest
    if error.cls_name not in ("SourceError", "Failure"):
        # An unexpected error: its class name says what kind it is.
        message = f"{error.cls_name}: {message}"
    return message


def step_failures(result: dg.ExecuteInProcessResult, job: dg.JobDefinition) -> list[StepFailure]:
    """Each failed step of a run, and each failed blocking check, in plain words
    (:class:`usage_assets.cli.errors.StepFailure`)."""
    partition = result.dagster_run.tags.get("dagster/partition")
    retried: dict[str, int] = {}
    failures = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            retried[event.step_key] = retried.get(event.step_key, 0) + 1
        elif event.is_step_failure:
            data = event.step_failure_data
            if _failed_blocking_check(data.error):
                continue  # told by the check's own evaluation, with its description
            user = data.user_failure_data
            text = user.description.strip() if user and user.description else error_text(data.error)
            reason, next_step = split_message(text)
            failures.append(StepFailure(
                assets=_asset_names(job, event), partition=partition, reason=reason, next_step=next_step,
                retries=retried.get(event.step_key, 0),
            ))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.blocking:
                reason, next_step = split_message(evaluation.description or f"check {evaluation.check_name} failed")
                failures.append(StepFailure(
                    assets=[evaluation.asset_key.to_user_string()], partition=partition,
                    reason=f"check {evaluation.check_name} failed: {reason}", next_step=next_step,
                ))
    return failures


def _failed_blocking_check(error) -> bool:
    """True for Dagster's error that a step ends with when a blocking check of its failed."""
    while error is not None:
        if error.cls_name == "DagsterAssetCheckFailedError":
            return True
        error = error.cause
    return False


def _asset_names(job: dg.JobDefinition, event: dg.DagsterEvent) -> list[str]:
    """The assets a step materializes, by name (the step's name when it has none)."""
    keys = job.asset_layer.get_selected_entity_keys_for_node(event.node_handle)
    names = sorted(key.to_user_string() for key in keys if isinstance(key, dg.AssetKey))
    return names or [event.step_key]
