"""The report deadline: the check's verdict over a day, the sensor's once-per-day record
and alert, and a real alert posted to a webhook server on loopback."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import dagster as dg
import pytest

from usage_assets.defs.automation.freshness import (
    REPORT_ON_TIME,
    due_report,
    evaluate_deadline,
    on_time_result,
    report_deadline_sensor,
)
from usage_assets.settings import AlertsSettings
from usage_assets.storage.datasets import USAGE_REPORT
from usage_assets_tests.channels import WebhookServer

FIRST = date(2026, 11, 1)


def at(d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, d, hour, minute, tzinfo=UTC)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def report_built(instance, n: int) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(USAGE_REPORT, partition=date(2026, 11, n).isoformat()))


def test_the_report_of_d_is_due_at_the_deadline_on_d_plus_1():
    assert due_report(at(25, 2, 59), time(3)) == (date(2026, 11, 23), at(24, 3))
    assert due_report(at(25, 3, 0), time(3)) == (date(2026, 11, 24), at(25, 3))
    assert on_time_result(at(25, 3, 0), time(3), {date(2026, 11, 24)}, FIRST).passed
    late = on_time_result(at(25, 3, 0), time(3), {date(2026, 11, 23)}, FIRST)
    assert not late.passed and late.description == "the report of 2026-11-24 did not exist at 2026-11-25 03:00 UTC"
    # Before the first day's deadline nothing is due.
    assert on_time_result(at(1, 12), time(3), set(), FIRST).passed


def test_a_late_day_is_recorded_and_alerted_once_and_recorded_again_when_it_arrives(instance):
    alerts = AlertsSettings(report_deadline="03:00", ui_url="http://dagster.example")
    report_built(instance, 23)
    cursor, result, alert = evaluate_deadline(instance, at(24, 4), alerts, None, FIRST)
    assert result.passed and alert is None  # the 23rd was on time
    cursor, result, alert = evaluate_deadline(instance, at(25, 3, 1), alerts, cursor, FIRST)
    assert not result.passed and alert.title == "usage-assets: the report for 2026-11-24 is late"
    assert ("Newest report", "2026-11-23") in alert.fields and alert.link[0] == "http://dagster.example/runs"
    # Every later tick of the same day: nothing new, no second alert.
    assert evaluate_deadline(instance, at(25, 3, 30), alerts, cursor, FIRST) == (cursor, None, None)
    report_built(instance, 24)
    cursor, result, alert = evaluate_deadline(instance, at(25, 5), alerts, cursor, FIRST)
    assert (
        result.passed and alert is None and result.description == "the report of 2026-11-24 arrived after its deadline"
    )
    assert evaluate_deadline(instance, at(25, 6), alerts, cursor, FIRST) == (cursor, None, None)


def test_the_sensor_records_the_check_in_the_instance_and_posts_one_alert(instance, monkeypatch):
    with WebhookServer() as webhook:
        monkeypatch.setenv("USAGE_ALERTS_SLACK_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("USAGE_ALERTS_UI_URL", "http://dagster.example")
        context = dg.build_sensor_context(instance=instance)
        first = report_deadline_sensor(context)
        second = report_deadline_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert second.cursor == first.cursor
    [text] = webhook.texts()
    assert text.startswith("*usage-assets: the report for 2026-11-") and "is late*" in text
    assert "<http://dagster.example/runs|Open the runs in Dagster>" in text
    [record] = instance.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION))
    evaluation = record.event_log_entry.dagster_event.event_specific_data
    assert (evaluation.check_name, evaluation.passed, evaluation.asset_key) == (
        REPORT_ON_TIME,
        False,
        dg.AssetKey(USAGE_REPORT),
    )
