"""Building the report by itself after downtime: ticks of the catch-up sensor evaluated
across a simulated gap, against a Dagster instance holding the report's materializations
and the runs the sensor launched."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import dagster as dg
import pytest

from usage_assets.defs.automation.catch_up import (
    QUEUE_TAG,
    SENSOR_NAME,
    daily_usage_report_sensor,
    due_days,
    evaluate,
    plan,
    run_key,
)
from usage_assets.defs.jobs import REPORT_JOB
from usage_assets.settings import AutomationSettings
from usage_assets.storage.datasets import USAGE_REPORT

FIRST = date(2026, 11, 1)


def day(n: int) -> date:
    return date(2026, 11, n)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def report_built(instance: dg.DagsterInstance, built: date) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(USAGE_REPORT, partition=built.isoformat()))


def sensor_run(instance: dg.DagsterInstance, for_day: date, status: dg.DagsterRunStatus) -> str:
    """A run of the report job as the sensor launches it, in ``status``."""
    run = dg.DagsterRun(
        job_name=REPORT_JOB,
        run_id=str(uuid.uuid4()),
        status=status,
        tags={
            "dagster/sensor_name": SENSOR_NAME,
            "dagster/partition": for_day.isoformat(),
            "dagster/run_key": run_key(for_day),
        },
    )
    instance.add_run(run)
    return run.run_id


def requested(result) -> list[str]:
    return [request.partition_key for request in result.run_requests]


def test_a_day_is_due_once_build_at_has_passed_on_the_next_day():
    at = time(1, 30)
    assert due_days(datetime(2026, 11, 25, 1, 29, tzinfo=UTC), at, FIRST, 3) == [day(21), day(22), day(23)]
    assert due_days(datetime(2026, 11, 25, 1, 30, tzinfo=UTC), at, FIRST, 3) == [day(22), day(23), day(24)]
    # Never before the first partition; nothing before the first day is due.
    assert due_days(datetime(2026, 11, 3, 2, 0, tzinfo=UTC), at, FIRST, 31) == [day(1), day(2)]
    assert due_days(datetime(2026, 11, 2, 1, 0, tzinfo=UTC), at, FIRST, 31) == []


def test_plan_takes_days_oldest_first_and_stops_at_a_failed_one():
    due = [day(n) for n in range(20, 26)]
    assert plan(due, {day(20)}, {}, limit=3).requested == [day(21), day(22), day(23)]
    assert plan(due, {day(20)}, {}, limit=3).postponed == 2
    decided = plan(due, set(), {day(20): ("r20", False), day(22): ("r22", True)}, limit=9)
    assert decided.requested == [day(21)] and decided.waiting == [day(20)] and decided.blocked_by == (day(22), "r22")


def test_ticks_across_three_days_of_downtime_build_every_missed_day_in_order(instance):
    automation = AutomationSettings(max_runs_per_tick=3, catch_up_days=31)
    for n in range(1, 21):
        report_built(instance, day(n))
    # The daemon was down from the 21st to the 25th: on its first tick after 01:30 on the
    # 25th, the 21st..24th are missing. Three are requested, oldest first, one at a time.
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    first_tick = evaluate(instance, now, automation, FIRST)
    assert requested(first_tick) == ["2026-11-21", "2026-11-22", "2026-11-23"]
    assert [request.run_key for request in first_tick.run_requests] == [run_key(day(n)) for n in (21, 22, 23)]
    assert all(request.tags == {QUEUE_TAG: "report"} for request in first_tick.run_requests)
    # The daemon launched them: the 21st is done, the 22nd running, the 23rd not started yet.
    sensor_run(instance, day(21), dg.DagsterRunStatus.SUCCESS)
    report_built(instance, day(21))
    sensor_run(instance, day(22), dg.DagsterRunStatus.STARTED)
    sensor_run(instance, day(23), dg.DagsterRunStatus.NOT_STARTED)
    second_tick = evaluate(instance, now, automation, FIRST)
    assert requested(second_tick) == ["2026-11-24"]
    # Once everything is requested, a tick requests nothing twice.
    sensor_run(instance, day(24), dg.DagsterRunStatus.NOT_STARTED)
    third_tick = evaluate(instance, now, automation, FIRST)
    assert isinstance(third_tick, dg.SkipReason)
    assert "waiting for 2026-11-22, 2026-11-23, 2026-11-24" in third_tick.skip_message
    for n in (22, 23, 24):
        report_built(instance, day(n))
    # The next day, only the new day.
    assert requested(evaluate(instance, datetime(2026, 11, 26, 1, 31, tzinfo=UTC), automation, FIRST)) == ["2026-11-25"]


def test_a_failed_day_holds_back_the_days_after_it_and_says_what_to_do(instance):
    automation = AutomationSettings(max_runs_per_tick=7, catch_up_days=5)
    report_built(instance, day(19))
    report_built(instance, day(20))
    failed = sensor_run(instance, day(21), dg.DagsterRunStatus.FAILURE)
    tick = evaluate(instance, datetime(2026, 11, 24, 2, 0, tzinfo=UTC), automation, FIRST)
    assert isinstance(tick, dg.SkipReason)
    assert f"the report of 2026-11-21 failed in run {failed}" in tick.skip_message
    assert "usage-report run --date 2026-11-21" in tick.skip_message
    # Re-executed from the UI (not by the sensor): the 21st is built, the rest follows.
    report_built(instance, day(21))
    tick = evaluate(instance, datetime(2026, 11, 24, 2, 0, tzinfo=UTC), automation, FIRST)
    assert requested(tick) == ["2026-11-22", "2026-11-23"]


def test_the_sensor_definition_requests_the_report_job_for_missing_days(instance):
    result = daily_usage_report_sensor(dg.build_sensor_context(instance=instance))
    days = requested(result)
    # The tests' first partition (2026-01-01) is long before the 31 days looked at: the
    # oldest seven of those are requested.
    assert len(days) == AutomationSettings().max_runs_per_tick and days == sorted(days)
    newest = due_days(datetime.now(UTC), AutomationSettings().build_at, date(2026, 1, 1), 31)
    assert days == [d.isoformat() for d in newest[:7]]
    assert daily_usage_report_sensor.job_name == REPORT_JOB
