"""Delivering the day's report: real materializations of a stand-in ``usage_report`` in a
test instance (tagged as the automation's runs are, or as a backfill's), the delivery
sensor evaluated over them, the Slack post received by a webhook server and the e-mail
by aiosmtpd, both on loopback."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from usage_assets.alerts.headline import Figure, report_headline
from usage_assets.defs.automation.catch_up import DELIVER_TAG
from usage_assets.defs.automation.catch_up import SENSOR_NAME as BUILD_SENSOR
from usage_assets.defs.automation.delivery import report_delivery_sensor, should_send
from usage_assets.defs.partitions import daily_partitions
from usage_assets.defs.resources.storage import DataLake
from usage_assets.storage.datasets import FLEET_METRICS, LIVENESS, USAGE_REPORT
from usage_assets.storage.lake import Lake
from usage_assets_tests.channels import WebhookServer, smtp_server

D, D1 = date(2026, 11, 20), date(2026, 11, 19)
HOSTILE_VERSION = "2.0.0 <!here> & <https://phish.example|login>"


def fleet(installs: int, customers: int, dai: int) -> dict:
    return {
        "key_metrics": {"identified_instances": installs},
        "stickiness": {"total_non_internal": customers},
        "active_on_report_date": {"customers": dai, "installs": dai, "new_installs": 0},
        "version_adoption": [{"version": HOSTILE_VERSION, "events": 10}],
    }


def liveness(confirmed: int, likely: int) -> dict:
    return {"counts": {"confirmed": confirmed, "likely": likely}}


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(tmp_path / "data")
    lake.write_json(FLEET_METRICS, D1, fleet(40, 30, 12))
    lake.write_json(LIVENESS, D1, liveness(20, 25))
    lake.write_json(FLEET_METRICS, D, fleet(42, 31, 12))
    lake.write_json(LIVENESS, D, liveness(18, 26))
    return lake


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def build_report(instance, tmp_path, day: date, tags: dict[str, str]) -> None:
    """Materialize ``usage_report`` of ``day`` in a run with ``tags``; its page is a small HTML file."""
    page = tmp_path / f"usage-report-{day}.html"
    page.write_text(f"<html><body>Report {day}</body></html>")

    @dg.asset(name=USAGE_REPORT, partitions_def=daily_partitions)
    def stand_in() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"report_html": dg.MetadataValue.path(str(page))})

    assert dg.materialize([stand_in], partition_key=day.isoformat(), instance=instance, tags=tags).success


def test_the_headline_has_the_five_figures_and_their_change_since_d_minus_1(lake):
    figures, top = report_headline(lake, D)
    assert figures == [
        Figure("Installs", 42, 40),
        Figure("Customer installs", 31, 30),
        Figure("Confirmed Alive", 18, 20),
        Figure("Likely Alive", 26, 25),
        Figure("DAI", 12, 12),
    ]
    assert [figure.change() for figure in figures] == [
        "+2 vs D-1",
        "+1 vs D-1",
        "-2 vs D-1",
        "+1 vs D-1",
        "unchanged vs D-1",
    ]
    assert top == HOSTILE_VERSION
    # Without D-1 in the lake, no change is made up.
    assert report_headline(lake, D1)[0][0].change() == "no D-1 to compare"


def test_only_the_automations_runs_or_an_explicit_ask_deliver():
    assert should_send({"dagster/sensor_name": BUILD_SENSOR}, "2026-11-20", [])
    assert not should_send({"dagster/sensor_name": BUILD_SENSOR}, "2026-11-20", ["2026-11-20"])
    assert not should_send({"dagster/backfill": "abc"}, "2026-11-20", [])
    assert should_send({"dagster/backfill": "abc", DELIVER_TAG: "true"}, "2026-11-20", ["2026-11-20"])


def test_a_built_report_is_sent_once_and_a_backfill_only_when_asked(lake, instance, tmp_path, monkeypatch):
    with WebhookServer() as webhook, smtp_server(tmp_path) as smtp:
        for name, value in {
            "ALERTS_SLACK_WEBHOOK_URL": webhook.url,
            "ALERTS_SMTP_HOST": "localhost",
            "ALERTS_SMTP_PORT": str(smtp.port),
            "ALERTS_SMTP_USER": smtp.user,
            "ALERTS_SMTP_PASSWORD": smtp.password,
            "ALERTS_SMTP_CA_FILE": str(smtp.ca_file),
            "ALERTS_EMAIL_FROM": "usage@example.org",
            "DELIVERY_SLACK": "true",
            "DELIVERY_EMAIL_TO": "team@example.org,lead@example.org",
            "DELIVERY_REPORT_URL": "https://reports.example/usage",
        }.items():
            monkeypatch.setenv(f"USAGE_{name}", value)

        def tick(cursor):
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"data_lake": DataLake(data_dir=str(lake.root))}
            )
            return report_delivery_sensor(context).cursor

        cursor = tick(None)
        build_report(instance, tmp_path, D, {"dagster/sensor_name": BUILD_SENSOR})
        cursor = tick(cursor)
        cursor = tick(cursor)  # nothing new: nothing sent again
        # Re-built by the automation (re-executed run) and by a backfill: not sent again ...
        build_report(instance, tmp_path, D, {"dagster/sensor_name": BUILD_SENSOR})
        build_report(instance, tmp_path, D, {"dagster/backfill": "b1"})
        cursor = tick(cursor)
        assert len(webhook.posts) == 1 and len(smtp.messages) == 1
        # ... unless asked.
        build_report(instance, tmp_path, D, {"dagster/backfill": "b2", DELIVER_TAG: "true"})
        tick(cursor)
    assert len(webhook.posts) == 2 and len(smtp.messages) == 2
    text = webhook.texts()[0]
    assert text.startswith("*Usage report for 2026-11-20 (UTC)*\n*Installs:* 42 (+2 vs D-1)\n")
    assert "*Confirmed Alive:* 18 (-2 vs D-1)" in text and "*DAI:* 12 (unchanged vs D-1)" in text
    assert "*Most reported version:* 2.0.0 &lt;!here&gt; &amp; &lt;https://phish.example|login&gt;" in text
    assert text.endswith("<https://reports.example/usage/2026-11-20/usage-report-2026-11-20.html|Open the report>")
    mail = smtp.messages[0]
    assert smtp.recipients[0] == ["team@example.org", "lead@example.org"]
    assert mail["Subject"] == "Usage report for 2026-11-20 (UTC)"
    assert "Likely Alive: 26 (+1 vs D-1)" in mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "&lt;!here&gt; &amp; &lt;https://phish.example|login&gt;" in html and "<!here>" not in html
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "usage-report-2026-11-20.html"
    assert "Report 2026-11-20" in attachment.get_content()


def test_a_report_whose_numbers_are_missing_is_not_sent_and_not_retried(instance, tmp_path, monkeypatch):
    with WebhookServer() as webhook:
        monkeypatch.setenv("USAGE_ALERTS_SLACK_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("USAGE_DELIVERY_SLACK", "true")
        resources = {"data_lake": DataLake(data_dir=str(tmp_path / "empty-lake"))}
        start = report_delivery_sensor(dg.build_sensor_context(instance=instance, resources=resources)).cursor
        build_report(instance, tmp_path, D, {"dagster/sensor_name": BUILD_SENSOR})
        after = report_delivery_sensor(dg.build_sensor_context(instance=instance, cursor=start, resources=resources))
    assert webhook.posts == [] and after.cursor != start
