"""Send a message to every configured channel: the Slack webhook and/or e-mail.

Each channel is tried on its own: one that fails does not keep the other from sending,
and the failures are raised together afterwards (:class:`AlertDeliveryError`), so a
caller never sends twice to the channel that worked.
"""

from __future__ import annotations

from usage_assets.alerts.mail import SmtpServer, send_email
from usage_assets.alerts.messages import AlertDeliveryError, Message
from usage_assets.alerts.slack import post_to_slack
from usage_assets.settings import AlertsSettings


def smtp_server(alerts: AlertsSettings) -> SmtpServer:
    """The alerts' SMTP server settings as a :class:`SmtpServer` (password revealed)."""
    return SmtpServer(
        host=alerts.smtp_host or "localhost",
        port=alerts.smtp_port,
        sender=alerts.email_from,
        user=alerts.smtp_user,
        password=alerts.smtp_password.get_secret_value() if alerts.smtp_password else None,
        starttls=alerts.smtp_starttls,
        ca_file=alerts.smtp_ca_file,
        timeout_s=alerts.timeout_s,
    )


def send(message: Message, alerts: AlertsSettings, *, slack_webhook_url: str | None, email_to: str | None) -> list[str]:
    """Send ``message`` to Slack (``slack_webhook_url``) and by e-mail to ``email_to``
    (comma-separated) through the alerts' SMTP server, each when given. Returns the
    channels that sent (``"slack"``, ``"email"``); raises :class:`AlertDeliveryError`
    listing the channels that failed after trying all of them."""
    sent, failed = [], []
    if slack_webhook_url:
        try:
            post_to_slack(slack_webhook_url, message, alerts.timeout_s)
            sent.append("slack")
        except AlertDeliveryError as error:
            failed.append(f"slack: {error}")
    if email_to and alerts.smtp_host:
        try:
            send_email(smtp_server(alerts), message, email_to.split(","))
            sent.append("email")
        except AlertDeliveryError as error:
            failed.append(f"email: {error}")
    if failed:
        raise AlertDeliveryError("; ".join(failed) + (f" (sent to {', '.join(sent)})" if sent else ""))
    return sent


def send_alert(message: Message, alerts: AlertsSettings) -> list[str]:
    """``message`` to the alerts' channels (:func:`send`)."""
    return send(message, alerts, slack_webhook_url=alerts.slack_webhook_url, email_to=alerts.email_to)
