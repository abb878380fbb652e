"""Sending an alert from a sensor: every configured channel, failures logged, never retried."""

import dagster as dg

from usage_assets.alerts.messages import AlertDeliveryError, Message
from usage_assets.alerts.notify import send_alert
from usage_assets.settings import AlertsSettings


def deliver_alert(
    context: dg.SensorEvaluationContext, message: Message, alerts: AlertsSettings
) -> dg.SkipReason | None:
    """Send ``message`` to the alerts' channels. A channel that fails is logged and named
    in the returned ``SkipReason`` (shown on the tick), not retried: the other channel may
    have sent it already, and a retry would alert twice."""
    try:
        sent = send_alert(message, alerts)
    except AlertDeliveryError as error:
        context.log.error(f"alert not sent: {error}")
        return dg.SkipReason(f"alert '{message.title}' not sent: {error}")
    if sent:
        context.log.info(f"alert '{message.title}' sent to {', '.join(sent)}")
    return None
