"""Building the daily report by itself, including every day missed while the daemon was down.

A sensor, not a schedule: a schedule's tick requests only its own day, so after three
days of downtime the daemon's catch-up ticks ran up to five days at once, out of order,
and each failed on the days still missing before it. This sensor looks at the report
days that are due (day D once ``build_at`` on D+1 has passed, back ``catch_up_days``),
and requests every one without a report, oldest first, then the latest, at most
``max_runs_per_tick`` per evaluation. Runs carry :data:`QUEUE_TAG`, which the instance
limits to one run at a time (``dagster_home/dagster.yaml``), so day D+1 starts only after
day D finished: its history-wide assets read D. Run keys (``usage_report-D``) make each
day's request once; a day whose run failed stops the sensor there (later days would fail
on it) until the run is re-executed or the day built otherwise.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from usage_assets.defs.jobs import REPORT_JOB, report_job
from usage_assets.defs.partitions import PARTITIONS_START
from usage_assets.settings import AutomationSettings, Settings
from usage_assets.storage.datasets import USAGE_REPORT

SENSOR_NAME = "daily_usage_report_sensor"
#: Runs with this tag run one at a time (the instance's tag concurrency limit).
QUEUE_TAG = "usage/report_queue"
#: The tag that asks for a report to be delivered even though the automation did not build it.
DELIVER_TAG = "usage/deliver"


def run_key(day: date) -> str:
    """The run key of the report run of ``day``: one request per day, ever."""
    return f"{USAGE_REPORT}-{day.isoformat()}"


def due_days(now: datetime, build_at: time, first: date, catch_up_days: int) -> list[date]:
    """The report days due at ``now`` (UTC), oldest first: the newest is the D for which
    ``build_at`` on D+1 has passed, the oldest ``catch_up_days - 1`` days before it (not
    before ``first``, the first partition). Empty before the first day is due."""
    newest = (now.astimezone(UTC) - timedelta(hours=build_at.hour, minutes=build_at.minute)).date()
    newest -= timedelta(days=1)
    oldest = max(first, newest - timedelta(days=catch_up_days - 1))
    return [oldest + timedelta(days=offset) for offset in range((newest - oldest).days + 1)]


@dataclass(frozen=True)
class Plan:
    """What one evaluation does: ``requested`` days (oldest first), ``waiting`` (days whose
    run is queued or running), ``blocked_by`` (the oldest day whose run failed, with the
    run's id; nothing later is requested) and ``postponed`` (due days left for the next
    evaluation by the per-tick limit)."""

    requested: list[date]
    waiting: list[date]
    blocked_by: tuple[date, str] | None
    postponed: int


def plan(due: Iterable[date], built: set[date], runs: dict[date, tuple[str, bool]], limit: int) -> Plan:
    """Which ``due`` days to request. ``built``: days whose report exists; ``runs``: the
    sensor's newest run of a day as (run id, failed). Days are taken oldest first: built
    ones and ones with a run in flight are passed, a failed one stops the plan, the rest
    are requested up to ``limit``."""
    requested, waiting, postponed = [], [], 0
    for day in due:
        if day in built:
            continue
        if day in runs:
            run_id, failed = runs[day]
            if failed:
                return Plan(requested, waiting, (day, run_id), postponed)
            waiting.append(day)
        elif len(requested) < limit:
            requested.append(day)
        else:
            postponed += 1
    return Plan(requested, waiting, None, postponed)


def sensor_runs(instance: dg.DagsterInstance, days: int) -> dict[date, tuple[str, bool]]:
    """The newest run this sensor launched for each partition (at most ``2 * days`` runs
    looked at), as (run id, failed or canceled)."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=REPORT_JOB, tags={"dagster/sensor_name": SENSOR_NAME}), limit=2 * days
    )
    runs: dict[date, tuple[str, bool]] = {}
    for record in records:  # newest first
        run = record.dagster_run
        partition = run.tags.get("dagster/partition")
        if partition and date.fromisoformat(partition) not in runs:
            failed = run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
            runs[date.fromisoformat(partition)] = (run.run_id, failed)
    return runs


@dg.sensor(
    name=SENSOR_NAME,
    job=report_job,
    minimum_interval_seconds=Settings.from_env(need_source=False, lenient=True).automation.interval_s,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Builds the report of day D after USAGE_AUTOMATION_BUILD_AT (UTC) on D+1, and every day "
    "missed within USAGE_AUTOMATION_CATCH_UP_DAYS, oldest first, one run at a time.",
)
def daily_usage_report_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    return evaluate(context.instance, datetime.now(UTC), Settings.from_env(need_source=False, lenient=True).automation)


def evaluate(
    instance: dg.DagsterInstance, now: datetime, automation: AutomationSettings, first: date = PARTITIONS_START
) -> dg.SensorResult | dg.SkipReason:
    """One evaluation of the sensor at ``now``: the run requests of :func:`plan`, or why
    there are none."""
    due = due_days(now, automation.build_at, first, automation.catch_up_days)
    if not due:
        return dg.SkipReason(
            f"no report day is due yet (the first, {first}, is built after "
            f"{automation.build_at:%H:%M} UTC the day after)"
        )
    built = {date.fromisoformat(key) for key in instance.get_materialized_partitions(dg.AssetKey(USAGE_REPORT))}
    decided = plan(due, built, sensor_runs(instance, automation.catch_up_days), automation.max_runs_per_tick)
    if decided.blocked_by is not None and not decided.requested:
        day, run_id = decided.blocked_by
        return dg.SkipReason(
            f"the report of {day} failed in run {run_id}: re-execute that run (or build the day with "
            f"`usage-report run --date {day}`); later days wait for it"
        )
    if not decided.requested:
        waiting = f"; waiting for {', '.join(map(str, decided.waiting))}" if decided.waiting else ""
        return dg.SkipReason(f"every report from {due[0]} to {due[-1]} is built or requested{waiting}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=run_key(day), partition_key=day.isoformat(), tags={QUEUE_TAG: "report"})
            for day in decided.requested
        ]
    )
