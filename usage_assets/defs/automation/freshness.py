"""The report deadline: the report of day D must exist by ``USAGE_ALERTS_REPORT_DEADLINE``
(UTC, default 03:00) on D+1.

An asset check on ``usage_report`` (``report_on_time``) shows it in the UI, and a sensor
evaluates it every few minutes without launching a run: it records the check's result
in the instance when the deadline of a new day passes (and again when a late report
arrives), and sends one alert per late day. The check is not partitioned: it is about
the newest report day, not about one partition. It is left out of the report job (a
run of an old day would judge today's deadline) and can be executed from the UI.
"""

import json
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from usage_assets.alerts.messages import Message, late_report
from usage_assets.defs.automation.notify import deliver_alert
from usage_assets.defs.partitions import PARTITIONS_START
from usage_assets.defs.report.report import usage_report
from usage_assets.settings import AlertsSettings, Settings
from usage_assets.storage.datasets import USAGE_REPORT

REPORT_ON_TIME = "report_on_time"
REPORT_ON_TIME_KEY = dg.AssetCheckKey(dg.AssetKey(USAGE_REPORT), REPORT_ON_TIME)
SENSOR_NAME = "report_deadline_sensor"


def due_report(now: datetime, deadline: time) -> tuple[date, datetime]:
    """The report day whose deadline passed last at ``now``, and that deadline (UTC): at
    02:59 on D+1 it is D-1's (due at 03:00 on D), from 03:00 on it is D's."""
    now = now.astimezone(UTC)
    due_at = datetime.combine(now.date(), deadline, UTC)
    if due_at > now:
        due_at -= timedelta(days=1)
    return due_at.date() - timedelta(days=1), due_at


def built_reports(instance: dg.DagsterInstance) -> set[date]:
    """The days whose report was materialized."""
    return {date.fromisoformat(key) for key in instance.get_materialized_partitions(dg.AssetKey(USAGE_REPORT))}


def on_time_result(
    now: datetime, deadline: time, built: set[date], first: date = PARTITIONS_START
) -> dg.AssetCheckResult:
    """The check's result at ``now``: passed when the report of the day last due exists
    (or no day is due yet: the first partition's deadline has not come)."""
    day, due_at = due_report(now, deadline)
    metadata = {"report_day": day.isoformat(), "due_by": due_at.strftime("%Y-%m-%d %H:%M UTC")}
    if day < first:
        return dg.AssetCheckResult(
            check_name=REPORT_ON_TIME,
            passed=True,
            metadata=metadata,
            description=f"no report is due yet (the first day is {first})",
        )
    if day in built:
        return dg.AssetCheckResult(
            check_name=REPORT_ON_TIME, passed=True, metadata=metadata, description=f"the report of {day} exists"
        )
    return dg.AssetCheckResult(
        check_name=REPORT_ON_TIME,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=f"the report of {day} did not exist at {metadata['due_by']}",
    )


@dg.asset_check(
    asset=usage_report,
    name=REPORT_ON_TIME,
    description="The report of the newest day due exists: day D's by USAGE_ALERTS_REPORT_DEADLINE (UTC) on D+1. "
    "Evaluated by the report_deadline_sensor.",
)
def report_on_time(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    deadline = Settings.from_env(need_source=False, lenient=True).alerts.report_deadline
    return on_time_result(datetime.now(UTC), deadline, built_reports(context.instance))


def evaluate_deadline(
    instance: dg.DagsterInstance,
    now: datetime,
    alerts: AlertsSettings,
    cursor: str | None,
    first: date = PARTITIONS_START,
) -> tuple[str, dg.AssetCheckResult | None, Message | None]:
    """One evaluation of the deadline sensor: (new cursor, the check result to record or
    None, the late-report alert to send or None). The cursor remembers the last day judged
    and whether it was late, so each day is recorded once when due, once more if it arrives
    late, and alerted once."""
    result = on_time_result(now, alerts.report_deadline, built_reports(instance), first)
    due_day, due_at = due_report(now, alerts.report_deadline)
    day = due_day.isoformat()
    state = "on_time" if result.passed else "late"
    previous = json.loads(cursor) if cursor else {}
    if previous.get("day") == day and previous.get("state") == state:
        return cursor, None, None
    if result.passed and previous.get("day") == day and previous.get("state") == "late":
        result = dg.AssetCheckResult(
            check_name=REPORT_ON_TIME,
            passed=True,
            metadata=result.metadata,
            description=f"the report of {day} arrived after its deadline",
        )
    alert = None
    if not result.passed:
        newest = max(built_reports(instance), default=None)
        alert = late_report(day=due_day, deadline=due_at, newest=newest, ui_url=alerts.ui_url)
    return json.dumps({"day": day, "state": state}), result, alert


@dg.sensor(
    name=SENSOR_NAME,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=120,
    description="Records the report_on_time check when a day's deadline passes and alerts once per late report.",
)
def report_deadline_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    alerts = Settings.from_env(need_source=False, lenient=True).alerts
    cursor, result, alert = evaluate_deadline(context.instance, datetime.now(UTC), alerts, context.cursor)
    if result is not None:
        record_check_result(context.instance, result)
    if alert is not None and (alerts.slack or alerts.email):
        deliver_alert(context, alert, alerts)
    return dg.SensorResult(cursor=cursor)


def record_check_result(instance: dg.DagsterInstance, result: dg.AssetCheckResult) -> None:
    """Record ``result`` as an evaluation of ``report_on_time`` outside any run (the UI
    shows it on the asset's checks tab)."""
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=REPORT_ON_TIME_KEY.asset_key,
            check_name=REPORT_ON_TIME,
            passed=result.passed,
            metadata=result.metadata,
            description=result.description,
            severity=result.severity,
        )
    )
