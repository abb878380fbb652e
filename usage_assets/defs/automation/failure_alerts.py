"""Alerts for failed runs and, when asked, failed asset checks.

The run-failure sensor is Dagster's: the daemon hands it each failed run once (its
cursor moves past the run), so a failing run gives exactly one alert. The alert names
the assets that failed (not the ones skipped because of them), the partition, the
failing step's error message without its trace and a link to the run in the UI.

Failed checks that do not fail their run (severity WARN, non-blocking) are alerted only
when ``USAGE_ALERTS_CHECK_FAILURES`` is on: a blocking check that fails fails its run,
which the run-failure alert covers, and the report deadline check alerts on its own
(:mod:`usage_assets.defs.automation.freshness`).
"""

import json
from collections.abc import Iterable

import dagster as dg
from dagster._core.definitions.events import AssetMaterializationFailureReason
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)

from usage_assets.alerts.messages import check_failure, run_failure
from usage_assets.defs.automation.freshness import REPORT_ON_TIME_KEY
from usage_assets.defs.automation.notify import deliver_alert
from usage_assets.settings import Settings

#: Executions of each check read per evaluation of the check-failure sensor.
CHECK_EVENTS_PER_TICK = 200


def step_error_message(error) -> str:
    """The message of the user code's own exception in a step's ``error`` (Dagster's
    ``SerializableErrorInfo``), not Dagster's wrapper ("Error occurred while executing op
    ...") nor the retry policy's ("Exceeded max_retries"), without its class name."""
    while error.cause is not None and (
        error.cls_name == "DagsterExecutionStepExecutionError" or error.message.startswith("Exceeded max_retries")
    ):
        error = error.cause
    return error.message.strip().removeprefix(f"{error.cls_name}: ")


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> list[tuple[list[str], str]]:
    """Each failed step of run ``run_id`` as (the asset keys it failed to materialize, in
    order; the reason). A step whose assets were never reported keeps its step key."""
    failed_assets: dict[str, list[str]] = {}
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_FAILED_TO_MATERIALIZE).records:
        event = record.event_log_entry.dagster_event
        failure = event.event_specific_data.asset_materialization_failure
        if failure.reason == AssetMaterializationFailureReason.FAILED_TO_MATERIALIZE:
            failed_assets.setdefault(event.step_key, []).append(failure.asset_key.to_user_string())
    steps = []
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        event = record.event_log_entry.dagster_event
        data = event.step_failure_data
        user = data.user_failure_data
        # A dg.Failure's description is its message; other errors are the exception's.
        reason = user.description if user and user.description else step_error_message(data.error) if data.error else ""
        steps.append((failed_assets.get(event.step_key, [event.step_key]), reason or "no message"))
    return steps


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Posts each failed run (asset, partition, reason, link) to USAGE_ALERTS_SLACK_WEBHOOK_URL and/or "
    "USAGE_ALERTS_EMAIL_TO.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext) -> dg.SkipReason | None:
    alerts = Settings.from_env(need_source=False, lenient=True).alerts
    if not (alerts.slack or alerts.email):
        return dg.SkipReason("no alert channel is configured (USAGE_ALERTS_SLACK_WEBHOOK_URL, USAGE_ALERTS_EMAIL_TO)")
    run = context.dagster_run
    steps = failed_steps(context.instance, run.run_id)
    if steps:
        assets = [asset for step_assets, _ in steps for asset in step_assets]
        reason = " | ".join(reason for _, reason in steps)
    else:  # failed before any step: the run's own failure message
        assets, reason = [], context.failure_event.message or "the run failed before any step started"
    message = run_failure(
        job=None if run.job_name.startswith("__") else run.job_name,
        run_id=run.run_id,
        partition=run.tags.get("dagster/partition"),
        assets=assets,
        reason=reason,
        ui_url=alerts.ui_url,
    )
    return deliver_alert(context, message, alerts)


def new_check_results(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey], after: int, seen: set[int]
) -> tuple[list[AssetCheckExecutionRecord], int, set[int]]:
    """The finished check executions newer than execution id ``after`` (not in ``seen``),
    oldest first, with the next cursor: the newest finished id, held back below a newer
    execution still planned (it finishes later, under the id it has now), and the ids
    above it already returned. Per check key, because the default SQLite event log is
    sharded by run and cannot be read across runs by event id."""
    finished, planned = [], []
    for key in check_keys:
        for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=CHECK_EVENTS_PER_TICK):
            if record.id <= after or record.id in seen:
                continue
            (planned if record.status == AssetCheckExecutionRecordStatus.PLANNED else finished).append(record)
    finished.sort(key=lambda record: record.id)
    newest = max((record.id for record in finished), default=after)
    cursor = min([newest, *(record.id - 1 for record in planned)])
    return finished, cursor, {record.id for record in finished if record.id > cursor} | {i for i in seen if i > cursor}


@dg.sensor(
    name="check_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="When USAGE_ALERTS_CHECK_FAILURES is on, alerts on each failed non-blocking asset check.",
)
def check_failure_alerts(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    alerts = Settings.from_env(need_source=False, lenient=True).alerts
    check_keys = [key for key in context.repository_def.asset_graph.asset_check_keys if key != REPORT_ON_TIME_KEY]
    state = json.loads(context.cursor) if context.cursor else None
    records, after, seen = new_check_results(
        context.instance, check_keys, state["after"] if state else 0, set(state["seen"]) if state else set()
    )
    cursor = json.dumps({"after": after, "seen": sorted(seen)})
    if state is None:
        # First evaluation: start from now, not from every check the instance ever ran.
        return dg.SensorResult(cursor=cursor, skip_reason="started: alerting on check results from now on")
    if not alerts.check_failures or not (alerts.slack or alerts.email):
        return dg.SensorResult(cursor=cursor, skip_reason="check-failure alerts are off (USAGE_ALERTS_CHECK_FAILURES)")
    for record in records:
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        if record.status != AssetCheckExecutionRecordStatus.FAILED or evaluation is None or evaluation.blocking:
            continue
        message = check_failure(
            asset=record.key.asset_key.to_user_string(),
            check=record.key.name,
            partition=record.partition,
            severity=evaluation.severity.value,
            description=evaluation.description or "no description",
            run_id=record.run_id or None,
            ui_url=alerts.ui_url,
        )
        deliver_alert(context, message, alerts)
    return dg.SensorResult(cursor=cursor)
