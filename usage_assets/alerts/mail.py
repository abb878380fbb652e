"""Sending a :class:`~usage_assets.alerts.messages.Message` by e-mail over SMTP.

Python's ``smtplib`` and ``email`` packages: a plain-text body with an HTML alternative
(every value HTML-escaped) and the message's attachments; STARTTLS verified against the
system's CAs or a CA bundle file, then login when a user is set.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from usage_assets.alerts.messages import AlertDeliveryError, Message


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send: ``host``:``port``, STARTTLS (``starttls``) verified against
    ``ca_file`` (None: the system's CAs), login ``user``/``password`` (None: no login),
    ``sender`` address and ``timeout_s`` per exchange."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    ca_file: str | None = None
    timeout_s: float = 10.0


def email_html(message: Message) -> str:
    """The HTML body: title, a table of fields, the link; every value escaped."""
    rows = "".join(
        f'<tr><th align="left">{html.escape(label)}</th><td>{html.escape(value)}</td></tr>'
        for label, value in message.fields
    )
    link = ""
    if message.link:
        url, label = message.link
        link = f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>'
    return f"<html><body><h2>{html.escape(message.title)}</h2><table>{rows}</table>{link}</body></html>"


def email_message(message: Message, sender: str, recipients: list[str]) -> EmailMessage:
    """``message`` as an e-mail from ``sender`` to ``recipients``: plain text and HTML
    alternatives, then the attachments."""
    mail = EmailMessage()
    # A title is one line; a newline in it would start a header of its own.
    mail["Subject"] = " ".join(message.title.split())
    mail["From"], mail["To"] = sender, ", ".join(recipients)
    mail.set_content(message.plain_text())
    mail.add_alternative(email_html(message), subtype="html")
    for attachment in message.attachments:
        maintype, subtype = attachment.mime_type.split("/", 1)
        mail.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return mail


def send_email(server: SmtpServer, message: Message, recipients: list[str]) -> None:
    """Send ``message`` to ``recipients`` through ``server``.

    Raises :class:`AlertDeliveryError` naming the server and what failed (connect, TLS,
    login, refused recipients), never the password."""
    mail = email_message(message, server.sender, recipients)
    where = f"the SMTP server {server.host}:{server.port}"
    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout_s) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=server.ca_file))
            if server.user:
                smtp.login(server.user, server.password or "")
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as error:
        raise AlertDeliveryError(f"{where} refused the login of {server.user} ({error.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as error:
        raise AlertDeliveryError(f"{where} refused the recipients {sorted(error.recipients)}") from None
    except ssl.SSLError as error:
        raise AlertDeliveryError(f"{where}: TLS failed ({error.reason or error}); check the CA file") from None
    except (OSError, smtplib.SMTPException) as error:
        raise AlertDeliveryError(f"{where}: {type(error).__name__}: {error}") from None
