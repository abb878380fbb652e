"""Messages to Slack and by e-mail, through real servers on loopback (usage_assets_tests/channels.py):
what arrives, how untrusted text is escaped, and what a failing channel says."""

from __future__ import annotations

import pytest

from usage_assets.alerts.mail import SmtpServer, send_email
from usage_assets.alerts.messages import AlertDeliveryError, Attachment, Message, plain_reason, run_failure
from usage_assets.alerts.notify import send
from usage_assets.alerts.slack import escape_mrkdwn, post_to_slack, slack_payload
from usage_assets.settings import AlertsSettings
from usage_assets_tests.channels import WebhookServer, smtp_server

# A version string as an install may send it: markup, a Slack broadcast, a fake link.
HOSTILE = "1.2.3 <!channel> & <http://evil.example|click> <script>alert(1)</script>"


def hostile_message() -> Message:
    return Message(
        title="Usage report for 2026-11-29 (UTC)",
        fields=[("Installs", "12 (+2 vs D-1)"), ("Most reported version", HOSTILE)],
        link=("http://ui.example/runs/abc", "Open the run"),
    )


def test_slack_text_escapes_the_three_characters_slack_reserves():
    assert escape_mrkdwn("a & b <c> d") == "a &amp; b &lt;c&gt; d"
    text = slack_payload(hostile_message())["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "<http://evil" not in text and "<script>" not in text
    assert "1.2.3 &lt;!channel&gt; &amp; &lt;http://evil.example|click&gt; &lt;script&gt;" in text
    # The one real link is ours.
    assert text.count("<") == 1 and text.endswith("<http://ui.example/runs/abc|Open the run>")


def test_a_post_reaches_the_webhook_as_slack_expects_it():
    with WebhookServer() as webhook:
        post_to_slack(webhook.url, hostile_message(), timeout_s=5)
    [(path, body)] = webhook.posts
    assert path == "/services/T000/B000/secret"
    assert body == slack_payload(hostile_message())
    assert body["text"] == "Usage report for 2026-11-29 (UTC)"


def test_a_refused_post_names_slacks_answer_not_the_secret_url():
    with WebhookServer() as webhook:
        webhook.answer = (404, "no_service")
        with pytest.raises(AlertDeliveryError, match="404 'no_service'") as raised:
            post_to_slack(webhook.url, hostile_message(), timeout_s=5)
    assert "secret" not in str(raised.value) and len(webhook.posts) == 1  # 404 is not retried


def test_an_email_goes_through_starttls_with_login_and_escapes_the_html(tmp_path):
    page = b"<html><body>report</body></html>"
    message = Message(
        **{**hostile_message().__dict__, "attachments": [Attachment("usage-report-2026-11-29.html", "text/html", page)]}
    )
    with smtp_server(tmp_path) as smtp:
        server = SmtpServer(
            host="localhost",
            port=smtp.port,
            sender="usage@example.org",
            user=smtp.user,
            password=smtp.password,
            ca_file=str(smtp.ca_file),
            timeout_s=10,
        )
        send_email(server, message, ["a@example.org", "b@example.org"])
    [mail] = smtp.messages
    assert smtp.recipients == [["a@example.org", "b@example.org"]]
    assert mail["Subject"] == "Usage report for 2026-11-29 (UTC)" and mail["From"] == "usage@example.org"
    plain = mail.get_body(("plain",)).get_content()
    assert f"Most reported version: {HOSTILE}" in plain
    html = mail.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="http://ui.example/runs/abc">Open the run</a>' in html
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "usage-report-2026-11-29.html" and attachment.get_content().encode() == page


def test_an_untrusted_certificate_or_a_wrong_password_is_a_clear_error(tmp_path):
    with smtp_server(tmp_path) as smtp:
        untrusted = SmtpServer(
            host="localhost",
            port=smtp.port,
            sender="u@example.org",
            user=smtp.user,
            password=smtp.password,
            timeout_s=10,
        )  # the system CAs do not know the test CA
        with pytest.raises(AlertDeliveryError, match="TLS failed"):
            send_email(untrusted, hostile_message(), ["a@example.org"])
        wrong = SmtpServer(
            host="localhost",
            port=smtp.port,
            sender="u@example.org",
            user=smtp.user,
            password="wrong",
            ca_file=str(smtp.ca_file),
            timeout_s=10,
        )
        with pytest.raises(AlertDeliveryError, match="refused the login of alerts") as raised:
            send_email(wrong, hostile_message(), ["a@example.org"])
        assert "wrong" not in str(raised.value)
    assert smtp.messages == []


def test_one_failing_channel_does_not_stop_the_other(tmp_path):
    with WebhookServer() as webhook, smtp_server(tmp_path) as smtp:
        webhook.answer = (500, "oops")
        alerts = AlertsSettings(
            smtp_host="localhost",
            smtp_port=smtp.port,
            smtp_user=smtp.user,
            smtp_password=smtp.password,
            smtp_ca_file=str(smtp.ca_file),
            timeout_s=5,
        )
        with pytest.raises(AlertDeliveryError, match=r"slack: .*500.*\(sent to email\)"):
            send(hostile_message(), alerts, slack_webhook_url=webhook.url, email_to="ops@example.org")
    assert len(smtp.messages) == 1
    assert len(webhook.posts) == 3  # the first post and urllib3's two retries of a 500


def test_the_reason_is_the_message_without_its_trace():
    error = "source said <b>no</b>\n  details here\nTraceback (most recent call last):\n  File 'x.py', line 1\n"
    assert plain_reason(error) == "source said <b>no</b> details here"
    assert plain_reason("x" * 2000).endswith("…") and len(plain_reason("x" * 2000)) == 600
    alert = run_failure(
        job="daily_usage_report",
        run_id="r1",
        partition="2026-11-29",
        assets=["usage_report"],
        reason=error,
        ui_url="http://ui.example/",
    )
    assert alert.title == "usage-assets: usage_report failed for 2026-11-29"
    assert ("Reason", "source said <b>no</b> details here") in alert.fields
    assert alert.link == ("http://ui.example/runs/r1", "Open the run in Dagster")


def test_a_webhook_that_never_answers_is_given_up_with_a_clear_error():
    with WebhookServer() as webhook:
        webhook.delay_s = 5
        with pytest.raises(AlertDeliveryError, match="could not be reached"):
            post_to_slack(webhook.url, hostile_message(), timeout_s=0.5)
    assert len(webhook.posts) == 3  # tried three times (two retries), then gave up
