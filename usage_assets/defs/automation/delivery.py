"""Delivering each day's report: a Slack message with the headline numbers and a link,
and/or an e-mail with the HTML report attached (``USAGE_DELIVERY_*``).

Separate from building: this sensor reacts to ``usage_report`` materializations (its
cursor is the last one seen, with the days already sent). A report is sent when the
automation built it (the run of :data:`~usage_assets.defs.automation.catch_up.SENSOR_NAME`)
and its day was not sent before; a backfill or a re-materialization of a day is sent only
when its run has the tag ``usage/deliver=true``. Telemetry strings (the most reported
version) are escaped by each channel.
"""

import json
from datetime import date
from pathlib import Path

import dagster as dg

from usage_assets.alerts.headline import report_delivery, report_headline
from usage_assets.alerts.messages import AlertDeliveryError, Attachment, run_url
from usage_assets.alerts.notify import send
from usage_assets.defs.automation.catch_up import DELIVER_TAG
from usage_assets.defs.automation.catch_up import SENSOR_NAME as BUILD_SENSOR
from usage_assets.defs.resources.storage import DataLake
from usage_assets.settings import Settings
from usage_assets.storage.datasets import USAGE_REPORT

SENSOR_NAME = "report_delivery_sensor"
#: Materializations read per evaluation.
RECORDS_PER_TICK = 50
#: Days remembered as sent (older days are only sent again when asked by the tag).
SENT_DAYS_KEPT = 62


def should_send(tags: dict[str, str], day: str, sent: list[str]) -> bool:
    """Send the report of ``day`` materialized by a run with ``tags``? Yes when asked
    (:data:`DELIVER_TAG` ``true``), else when the automation built it and it was not sent."""
    if tags.get(DELIVER_TAG, "").lower() == "true":
        return True
    return tags.get("dagster/sensor_name") == BUILD_SENSOR and day not in sent


@dg.sensor(
    name=SENSOR_NAME,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Sends each report the automation builds (USAGE_DELIVERY_SLACK, USAGE_DELIVERY_EMAIL_TO), once per day.",
)
def report_delivery_sensor(context: dg.SensorEvaluationContext, data_lake: DataLake) -> dg.SensorResult:
    settings = Settings.from_env(need_source=False, lenient=True)
    state = json.loads(context.cursor) if context.cursor else {"after": None, "sent": []}
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(USAGE_REPORT), after_storage_id=state["after"]),
        limit=RECORDS_PER_TICK,
        ascending=True,
    ).records
    if state["after"] is None and not records:
        return dg.SensorResult(cursor=json.dumps({"after": 0, "sent": []}), skip_reason="no report built yet")
    delivery = settings.delivery
    webhook = (delivery.slack_webhook_url or settings.alerts.slack_webhook_url) if delivery.slack else None
    for record in records:
        state["after"] = record.storage_id
        day = record.partition_key
        run = context.instance.get_run_by_id(record.run_id) if record.run_id else None
        if day is None or run is None or not should_send(run.tags, day, state["sent"]):
            continue
        if not (webhook or (delivery.email_to and settings.alerts.smtp_host)):
            context.log.info(f"report of {day} not sent: no delivery channel is configured")
            continue
        try:
            message = delivery_message(data_lake, date.fromisoformat(day), record, settings)
        except FileNotFoundError as error:
            # Not retried either: the lake lacks what the report was built from.
            context.log.error(f"report of {day} not sent: {error}")
            continue
        try:
            sent = send(message, settings.alerts, slack_webhook_url=webhook, email_to=delivery.email_to)
            context.log.info(f"report of {day} sent to {', '.join(sent)}")
        except AlertDeliveryError as error:
            # Not retried: a channel that worked would send it twice.
            context.log.error(f"report of {day} not sent: {error}")
        state["sent"] = sorted({*state["sent"], day})[-SENT_DAYS_KEPT:]
    return dg.SensorResult(cursor=json.dumps(state))


def delivery_message(data_lake: DataLake, day: date, record, settings: Settings):
    """The delivery of ``day``'s report: headline from the lake, the report link
    (``USAGE_DELIVERY_REPORT_URL`` or the run in the UI) and the HTML page attached when
    the materialization's ``report_html`` is a readable file."""
    figures, top_version = report_headline(data_lake.lake(), day)
    html_path = record.asset_materialization.metadata.get("report_html")
    page = Path(html_path.value) if html_path is not None else None
    attachment = Attachment(page.name, "text/html", page.read_bytes()) if page is not None and page.is_file() else None
    if settings.delivery.report_url:
        link = (f"{settings.delivery.report_url.rstrip('/')}/{day}/usage-report-{day}.html", "Open the report")
    else:
        link = run_url(settings.alerts.ui_url, record.run_id)
    return report_delivery(day=day, figures=figures, top_version=top_version, link=link, report_html=attachment)
