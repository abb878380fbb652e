"""A small code location for the daemon test on PostgreSQL (test_postgres_instance.py).

A schedule that ticks every minute and asks for one partition of a job with an asset
that materializes and one that fails, plus the project's own run-failure alert sensor.
Small on purpose: what is tested is the instance's storage and the real daemon's ticks,
not the pipeline (the report is built on PostgreSQL by the CLI in the same module).
"""

import dagster as dg

from usage_assets.defs.automation.failure_alerts import run_failure_alerts

days = dg.DailyPartitionsDefinition(start_date="2026-11-01", timezone="UTC")
SCHEDULED_DAY = "2026-11-20"


@dg.asset(partitions_def=days)
def daily_numbers() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset(partitions_def=days)
def broken_numbers() -> None:
    raise ValueError("the source answered <500> & gave up")


numbers_job = dg.define_asset_job("numbers_job", selection=[daily_numbers, broken_numbers])
backfill_job = dg.define_asset_job("backfill_job", selection=[daily_numbers])


@dg.schedule(cron_schedule="* * * * *", job=numbers_job, default_status=dg.DefaultScheduleStatus.RUNNING)
def every_minute(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=SCHEDULED_DAY, partition_key=SCHEDULED_DAY)


defs = dg.Definitions(
    assets=[daily_numbers, broken_numbers],
    jobs=[numbers_job, backfill_job],
    schedules=[every_minute],
    sensors=[run_failure_alerts],
)
