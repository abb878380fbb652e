"""Real servers standing in for the alert channels, on 127.0.0.1.

- :class:`WebhookServer`: an HTTP server in a thread that records every POST (path and
  JSON body) and answers as a Slack incoming webhook does (``200 ok``, or the status and
  text set in ``answer``). Slack itself cannot be reached from the tests; its webhook
  contract is one JSON POST answered ``ok``, which this server implements.
- :func:`smtp_server`: aiosmtpd, a complete SMTP server, with STARTTLS required before
  login (a certificate for ``localhost`` signed by a CA made here), a login checked
  against one user, and every accepted message recorded.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from usage_assets_tests.fake_docdb import make_ca, make_server_cert
from usage_assets_tests.loopback_sshd import free_port


class WebhookServer:
    """Records POSTs as ``posts`` (list of (path, JSON)); ``answer`` = (status, text)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.answer = (200, "ok")
        #: Seconds to wait before answering (a hanging webhook).
        self.delay_s = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.posts.append((self.path, json.loads(body)))
                time.sleep(server.delay_s)
                status, text = server.answer
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args):  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/services/T000/B000/secret"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def texts(self) -> list[str]:
        """The mrkdwn text of each post's section block."""
        return [body["blocks"][0]["text"]["text"] for _, body in self.posts]

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class SmtpServer:
    """A running aiosmtpd: ``port``, the ``ca_file`` that signed its certificate, the
    accepted login (``user``, ``password``) and the ``messages`` received (parsed)."""

    port: int
    ca_file: Path
    user: str
    password: str
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)


@contextmanager
def smtp_server(folder: Path, user: str = "alerts", password: str = "s3cret-pass") -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1 with STARTTLS required and login as ``user``/``password``."""
    ca_file, ca_key, ca_cert = make_ca(folder, "smtp test CA")
    cert, key = make_server_cert(folder, ca_key, ca_cert, dns_name="localhost")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    state = SmtpServer(port=free_port(), ca_file=ca_file, user=user, password=password)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            state.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            state.recipients.append(list(envelope.rcpt_tos))
            return "250 Message accepted for delivery"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(),
            password.encode(),
        )
        # handled=False: aiosmtpd answers the refusal (535) itself.
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=state.port,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield state
    finally:
        controller.stop()
