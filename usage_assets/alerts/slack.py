"""Posting a :class:`~usage_assets.alerts.messages.Message` to a Slack incoming webhook.

The webhook takes a JSON ``{"text": ..., "blocks": [...]}`` POST and answers ``ok``
(https://api.slack.com/messaging/webhooks). Text is Slack mrkdwn, in which ``&``, ``<``
and ``>`` are the only characters Slack asks to escape: unescaped, ``<!channel>`` would
ping everyone and ``<http://x|y>`` would make a link, so every value is escaped
(:func:`escape_mrkdwn`). Retries on 429 and 5xx are urllib3's, through requests.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from usage_assets.alerts.messages import AlertDeliveryError, Message

#: Retries of a post answered 429 or 5xx (or not answered in time), waiting 0 s, then 2 s
#: (urllib3's backoff): with the default 10 s timeout a dead webhook costs a sensor tick
#: at most ~32 s, within Dagster's 60 s for an evaluation.
RETRIES = Retry(
    total=2,
    backoff_factor=1.0,
    status_forcelist=(429, 500, 502, 503, 504),
    allowed_methods={"POST"},
    # After the last retry, return the answer so its status and text can be reported.
    raise_on_status=False,
)


def escape_mrkdwn(text: str) -> str:
    """``text`` safe inside Slack mrkdwn: ``&`` ``<`` ``>`` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict:
    """The webhook's JSON body: ``text`` (the notification's plain fallback) and one
    section block in mrkdwn with the title in bold, one ``*label:* value`` line per field
    and the link."""
    lines = [f"*{escape_mrkdwn(message.title)}*"]
    lines += [f"*{escape_mrkdwn(label)}:* {escape_mrkdwn(value)}" for label, value in message.fields]
    if message.link:
        url, label = message.link
        # Inside <url|label> the URL itself must not contain | or >; ours are built from
        # settings and run ids, and escaping keeps a stray one from ending the link early.
        lines.append(f"<{escape_mrkdwn(url).replace('|', '%7C')}|{escape_mrkdwn(label)}>")
    text = "\n".join(lines)
    return {
        "text": escape_mrkdwn(message.title),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def post_to_slack(webhook_url: str, message: Message, timeout_s: float = 10.0) -> None:
    """POST ``message`` to the incoming webhook ``webhook_url``.

    Raises :class:`AlertDeliveryError` when the webhook cannot be reached or does not
    answer 200 after the retries (the message carries Slack's status and answer, such as
    ``404 no_service``, not the URL, which is a secret)."""
    with requests.Session() as session:
        session.mount("https://", HTTPAdapter(max_retries=RETRIES))
        session.mount("http://", HTTPAdapter(max_retries=RETRIES))
        try:
            answer = session.post(webhook_url, json=slack_payload(message), timeout=timeout_s)
        except requests.RequestException as error:
            raise AlertDeliveryError(f"the Slack webhook could not be reached ({type(error).__name__})") from None
    if answer.status_code != 200:
        raise AlertDeliveryError(f"the Slack webhook answered {answer.status_code} {answer.text[:200]!r}")
