"""Prometheus behind authentication (issue #12, item 7): bearer token, basic auth, AWS SigV4.

The real Prometheus of prometheus_server.py sits behind a small reverse proxy on 127.0.0.1
(a ``ThreadingHTTPServer`` in this file) that forwards a request only when its
``Authorization`` header is the expected one, and answers 401 otherwise - what an nginx or
a Grafana-style auth proxy in front of Prometheus does.

Amazon Managed Service for Prometheus cannot run here, so SigV4 is checked by a stand-in:
the proxy recomputes the signature of every request it receives with botocore's signer,
the credentials it knows and the request's own ``X-Amz-Date``, and, as AWS does, first
decodes and re-encodes the query string to RFC 3986 (so a client that signs a differently
encoded URL than it sends is caught). It answers 403 on any mismatch, and forwards
otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

import dagster as dg
import pytest
import requests
from botocore.auth import SigV4Auth as Signer
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from usage_assets.definitions import build_prometheus_source
from usage_assets.defs.enrichment.prometheus import prometheus_trends as prometheus_trends_asset
from usage_assets.defs.resources.storage import DataLake
from usage_assets.enrichment.prometheus_client import PrometheusClient, build_auth
from usage_assets.enrichment.prometheus_trends import trends_or_reason
from usage_assets.settings import Settings, SettingsError
from usage_assets.storage.lake import Lake
from usage_assets_tests.prometheus_server import REPORT_DAY

W = 168
SERIES = ["mcpgw_registry_tool_execution_total"]
TOKEN = "t0ken-of-the-reader"
ACCESS_KEY, SECRET_KEY, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1"


@contextmanager
def proxy(upstream: str, allowed: Callable[[BaseHTTPRequestHandler], tuple[int, str] | None]) -> Iterator[str]:
    """A reverse proxy to ``upstream`` on 127.0.0.1; ``allowed(handler)`` returns None to
    forward the request, or (status, message) to refuse it. Yields the proxy's URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            refused = allowed(self)
            if refused:
                status, message = refused
                body, content_type = message.encode(), "text/plain"
            else:
                answer = requests.get(upstream + self.path, timeout=10)
                status, body, content_type = answer.status_code, answer.content, answer.headers["Content-Type"]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def expecting(header: str) -> Callable[[BaseHTTPRequestHandler], tuple[int, str] | None]:
    def allowed(handler: BaseHTTPRequestHandler) -> tuple[int, str] | None:
        return None if handler.headers.get("Authorization") == header else (401, "Unauthorized")

    return allowed


def sigv4_verifier(handler: BaseHTTPRequestHandler) -> tuple[int, str] | None:
    """None when the request carries a valid SigV4 signature of ACCESS_KEY/SECRET_KEY for
    ``aps`` in REGION, else (403, why)."""
    authorization = handler.headers.get("Authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return 403, "missing SigV4 Authorization"
    fields = dict(part.strip().split("=", 1) for part in authorization.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    query = urlsplit(handler.path).query
    for pair in filter(None, query.split("&")):
        for part in pair.split("=", 1):
            if quote(unquote(part), safe="-_.~") != part:  # what AWS canonicalizes to before verifying
                return 403, f"query string not RFC 3986-encoded: {part}"
    signed_headers = fields["SignedHeaders"].split(";")
    request = AWSRequest(method="GET", url=f"http://{handler.headers['Host']}{handler.path}", data=b"",
                         headers={name: handler.headers[name] for name in signed_headers})
    request.context["timestamp"] = handler.headers["X-Amz-Date"]
    signer = Signer(Credentials(ACCESS_KEY, SECRET_KEY), "aps", REGION)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if fields["Credential"] != signer.scope(request) or fields["Signature"] != expected:
        return 403, "The request signature we calculated does not match the signature you provided."
    return None


def tool_calls(trends: dict) -> dict:
    assert trends["status"] == "used", trends["reason"]
    return trends["series"][0]["increase"]


@pytest.mark.parametrize(
    ("auth", "header"),
    [
        (build_auth(bearer_token=TOKEN), f"Bearer {TOKEN}"),
        (build_auth(username="reader", password="s3cret pass"), "Basic cmVhZGVyOnMzY3JldCBwYXNz"),
    ],
    ids=["bearer", "basic"],
)
def test_a_prometheus_behind_bearer_or_basic_auth_gives_the_same_trends(prometheus_server, auth, header):
    with proxy(prometheus_server.url, expecting(header)) as url:
        assert tool_calls(trends_or_reason(url, REPORT_DAY, 7, SERIES, 5, auth=auth))["current"] == 5 * W
        refused = trends_or_reason(url, REPORT_DAY, 7, SERIES, 5, auth=build_auth(bearer_token="wrong"))
        missing = trends_or_reason(url, REPORT_DAY, 7, SERIES, 5)
    assert refused["status"] == "not_used" and refused["reason"].startswith("refused the credentials (HTTP 401)")
    assert missing["reason"].startswith("asks for credentials (HTTP 401): set USAGE_PROMETHEUS_BEARER_TOKEN")
    assert TOKEN not in str(refused) + str(missing)


def test_sigv4_requests_carry_a_signature_the_server_can_verify(prometheus_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    with proxy(prometheus_server.url, sigv4_verifier) as url:
        # A path prefix, as an AMP workspace URL has, and queries with spaces, braces and quotes.
        trends = trends_or_reason(url, REPORT_DAY, 7, SERIES, 5, selector='{method="tools/call"}',
                                  auth=build_auth("sigv4", sigv4_region=REGION))
        assert tool_calls(trends) == {"current": 5 * W, "previous": 6 * W, "change_pct": -16.7, "arrow": "↓"}
        assert trends["series"][0]["breakdowns"]["tool_name"]["distinct_values"] == 3  # sum by (...) queries too
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        forged = trends_or_reason(url, REPORT_DAY, 7, SERIES, 5, auth=build_auth("sigv4", sigv4_region=REGION))
    assert forged["reason"].startswith("refused the credentials (HTTP 403)")


def test_sigv4_without_aws_credentials_says_so(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = PrometheusClient("http://127.0.0.1:9", 1, auth=build_auth(sigv4_region=REGION))
    trends = trends_or_reason(client.endpoint, REPORT_DAY, 7, SERIES, 1, auth=client.auth)
    assert trends["reason"].startswith("no AWS credentials found for SigV4")


def test_auth_settings_are_validated_and_secrets_reach_the_run_as_env_vars(prometheus_server, monkeypatch, tmp_path):
    for variables, message in (
        ({"USAGE_PROMETHEUS_BEARER_TOKEN": "x", "USAGE_PROMETHEUS_SIGV4_REGION": REGION}, "USAGE_PROMETHEUS_AUTH"),
        ({"USAGE_PROMETHEUS_PASSWORD": "x"}, "USAGE_PROMETHEUS_USERNAME"),
        ({"USAGE_PROMETHEUS_AUTH": "sigv4"}, "USAGE_PROMETHEUS_SIGV4_REGION"),
        ({"USAGE_PROMETHEUS_SIGV4_REGION": "Frankfurt"}, "USAGE_PROMETHEUS_SIGV4_REGION"),
    ):
        with monkeypatch.context() as environment:
            for name, value in variables.items():
                environment.setenv(name, value)
            with pytest.raises(SettingsError, match=message) as refused:
                Settings.from_env()
            assert "Frankfurt" in str(refused.value) or "x'" not in str(refused.value)
    # An explicit choice settles several: the token is used, the region ignored.
    monkeypatch.setenv("USAGE_PROMETHEUS_AUTH", "bearer")
    monkeypatch.setenv("USAGE_PROMETHEUS_SIGV4_REGION", REGION)
    monkeypatch.setenv("USAGE_PROMETHEUS_BEARER_TOKEN", TOKEN)
    with proxy(prometheus_server.url, expecting(f"Bearer {TOKEN}")) as url:
        monkeypatch.setenv("USAGE_PROMETHEUS_ENDPOINT", url)
        monkeypatch.setenv("USAGE_PROMETHEUS_SERIES", SERIES[0])
        resource = build_prometheus_source(Settings.from_env())
        # The definitions hold the variable's name; Dagster reads the value when the run starts.
        assert isinstance(resource.bearer_token, dg.EnvVar) and resource.bearer_token.env_var_name == \
            "USAGE_PROMETHEUS_BEARER_TOKEN"
        result = dg.materialize([prometheus_trends_asset], partition_key=REPORT_DAY.isoformat(),
                                resources={"prometheus": resource, "data_lake": DataLake(data_dir=str(tmp_path))})
    assert result.success
    stored = Lake(tmp_path).read_json("prometheus_trends", REPORT_DAY)
    assert tool_calls(stored)["current"] == 5 * W
    assert TOKEN not in (tmp_path / "prometheus_trends").rglob("*.json").__next__().read_text()
