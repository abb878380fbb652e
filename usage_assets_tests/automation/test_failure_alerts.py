"""Alerts for failed runs and failed checks: real runs in a test instance, the sensors
evaluated on them, the alert posted to a webhook server and mailed through aiosmtpd."""

from __future__ import annotations

import dagster as dg
import pytest

from usage_assets.defs.automation.failure_alerts import check_failure_alerts, failed_steps, run_failure_alerts
from usage_assets.defs.partitions import daily_partitions
from usage_assets_tests.channels import WebhookServer, smtp_server

DAY = "2026-11-20"


@dg.asset(name="raw_events", partitions_def=daily_partitions)
def raw_events() -> None:
    pass


@dg.asset(name="usage_report", partitions_def=daily_partitions, deps=[raw_events])
def failing_report() -> None:
    raise ValueError("charts of 2026-11-20 not drawn: <b>install_growth</b>")


@dg.asset(name="downstream_of_report", partitions_def=daily_partitions, deps=[failing_report])
def downstream() -> None:
    pass


@dg.asset_check(asset=raw_events, name="heartbeats_look_normal", partitions_def=daily_partitions)
def warn_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, description="heartbeats fell 80% against D-1 & <D-7>"
    )


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def failed_run(instance) -> tuple[dg.DagsterRun, dg.DagsterEvent]:
    result = dg.materialize(
        [raw_events, failing_report, downstream], partition_key=DAY, instance=instance, raise_on_error=False
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    [failure] = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    return run, failure.event_log_entry.dagster_event


def test_the_failed_step_gives_the_asset_and_the_error_without_the_trace(instance):
    run, _ = failed_run(instance)
    # The downstream asset was skipped because of it: not named.
    assert failed_steps(instance, run.run_id) == [
        (["usage_report"], "charts of 2026-11-20 not drawn: <b>install_growth</b>")
    ]


def test_a_failed_run_is_posted_and_mailed_with_asset_partition_reason_and_link(instance, monkeypatch, tmp_path):
    run, failure = failed_run(instance)
    with WebhookServer() as webhook, smtp_server(tmp_path) as smtp:
        for name, value in {
            "SLACK_WEBHOOK_URL": webhook.url,
            "UI_URL": "http://dagster.example:3000",
            "EMAIL_TO": "oncall@example.org",
            "SMTP_HOST": "localhost",
            "SMTP_PORT": str(smtp.port),
            "SMTP_USER": smtp.user,
            "SMTP_PASSWORD": smtp.password,
            "SMTP_CA_FILE": str(smtp.ca_file),
        }.items():
            monkeypatch.setenv(f"USAGE_ALERTS_{name}", value)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts", dagster_instance=instance, dagster_run=run, dagster_event=failure
        ).for_run_failure()
        run_failure_alerts(context)
    [text] = webhook.texts()
    assert text == (
        "*usage-assets: usage_report failed for 2026-11-20*\n"
        "*Asset:* usage_report\n"
        "*Partition:* 2026-11-20\n"
        "*Reason:* charts of 2026-11-20 not drawn: &lt;b&gt;install_growth&lt;/b&gt;\n"
        f"*Run:* {run.run_id}\n"
        f"<http://dagster.example:3000/runs/{run.run_id}|Open the run in Dagster>"
    )
    [mail] = smtp.messages
    assert mail["Subject"] == "usage-assets: usage_report failed for 2026-11-20"
    assert "Reason: charts of 2026-11-20 not drawn: <b>install_growth</b>" in mail.get_body(("plain",)).get_content()
    assert smtp.recipients == [["oncall@example.org"]]


def test_without_a_channel_nothing_is_sent_and_the_tick_says_why(instance):
    run, failure = failed_run(instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts", dagster_instance=instance, dagster_run=run, dagster_event=failure
    ).for_run_failure()
    assert "no alert channel is configured" in run_failure_alerts(context).skip_message


def test_failed_warn_checks_alert_only_when_switched_on(instance, monkeypatch):
    with WebhookServer() as webhook:
        monkeypatch.setenv("USAGE_ALERTS_SLACK_WEBHOOK_URL", webhook.url)

        def tick(cursor=None):
            return check_failure_alerts(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))

        defs = dg.Definitions(assets=[raw_events], asset_checks=[warn_check])
        dg.materialize([raw_events, warn_check], partition_key=DAY, instance=instance)
        start = tick()  # what failed before the sensor started is not alerted
        dg.materialize([raw_events, warn_check], partition_key=DAY, instance=instance)
        off = tick(start.cursor)
        assert webhook.posts == [] and off.cursor != start.cursor
        dg.materialize([raw_events, warn_check], partition_key=DAY, instance=instance)
        monkeypatch.setenv("USAGE_ALERTS_CHECK_FAILURES", "true")
        on = tick(off.cursor)
        again = tick(on.cursor)
    [text] = webhook.texts()
    assert again.cursor == on.cursor
    assert text.startswith("*usage-assets: check heartbeats_look_normal on raw_events failed for 2026-11-20*")
    assert "*Reason:* heartbeats fell 80% against D-1 &amp; &lt;D-7&gt;" in text
