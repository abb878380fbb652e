"""The Prometheus client's fallback: every way Prometheus can be unusable gives a reason, fast.

Real sockets on 127.0.0.1 only: a closed port (connection refused), a listening socket
that never answers (timeout), and a small HTTP server answering errors.
"""

import json
import socket
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from usage_assets.enrichment.prometheus_client import PrometheusClient, increase_query, redact_endpoint
from usage_assets.enrichment.prometheus_trends import NOT_CONFIGURED, trends_or_reason
from usage_assets.settings import Settings, SettingsError
from usage_assets_tests.prometheus_server import closed_port_url

DAY = date(2026, 3, 10)


@pytest.fixture
def answering(request):
    """An HTTP server on 127.0.0.1 answering every GET with (status, content type, body)."""
    status, content_type, body = request.param

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_not_configured_and_switched_off_are_reasons_not_errors():
    assert trends_or_reason(None, DAY, 7)["reason"] == NOT_CONFIGURED
    off = trends_or_reason("http://127.0.0.1:9", DAY, 7, disabled_reason="switched off")
    assert off["status"] == "not_used" and off["reason"] == "switched off" and off["series"] == []
    assert trends_or_reason("ftp://example.org", DAY, 7)["reason"].startswith("the Prometheus endpoint must be")


def test_connection_refused_falls_back_quickly_without_leaking_credentials():
    url = closed_port_url().replace("http://", "http://reader:s3cret@")
    started = time.monotonic()
    trends = trends_or_reason(url, DAY, 7, timeout_seconds=5)
    assert time.monotonic() - started < 5
    assert trends["status"] == "not_used"
    assert trends["reason"].startswith("connection refused, at http://127.0.0.1:")
    assert "s3cret" not in json.dumps(trends)


def test_a_server_that_never_answers_times_out():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts connections; nobody ever answers
    try:
        started = time.monotonic()
        trends = trends_or_reason(f"http://127.0.0.1:{silent.getsockname()[1]}", DAY, 7, timeout_seconds=0.3)
        assert time.monotonic() - started < 3
    finally:
        silent.close()
    assert trends["status"] == "not_used" and trends["reason"].startswith("timed out after 0.3 s")


@pytest.mark.parametrize(
    ("answering", "reason"),
    [
        ((400, "application/json", b'{"status":"error","errorType":"bad_data","error":"parse error at char 5"}'),
         "answered an error (bad_data): parse error at char 5"),
        ((502, "text/html", b"<html>Bad Gateway</html>"), "answered HTTP 502"),
        ((200, "text/html", b"<html>a login page</html>"), "answered with a body that is not JSON (is this a Prometheus server?)"),
        ((200, "application/json", b'{"status":"success","data":{"resultType":"matrix","result":[]}}'),
         "answered /api/v1/series with an unexpected shape"),
    ],
    indirect=["answering"],
)
def test_error_answers_become_the_reason(answering, reason):
    trends = trends_or_reason(answering, DAY, 7, timeout_seconds=5)
    assert trends["status"] == "not_used"
    assert trends["reason"] == f"{reason}, at {answering}"


def test_queries_keep_the_total_suffix_and_refuse_injection(monkeypatch):
    assert increase_query("mcpgw_registry_tool_execution_total", 7) == \
        "sum (increase(mcpgw_registry_tool_execution_total[7d]))"
    assert increase_query("telemetry_sends_total", 14, 14, ("status",)) == \
        "sum by (status) (increase(telemetry_sends_total[14d] offset 14d))"
    for bad in ("up) or vector(1", 'x{a="b"}', ""):
        with pytest.raises(ValueError):
            increase_query(bad, 7)
    for variable, value, expected in (
        ("USAGE_PROMETHEUS_SERIES", "ok_total,up) or vector(1", "USAGE_PROMETHEUS_SERIES"),
        ("USAGE_PROMETHEUS_RANGE", "5d", "USAGE_PROMETHEUS_RANGE"),
        ("USAGE_PROMETHEUS_ENDPOINT", "prometheus:9090", "http"),
    ):
        with monkeypatch.context() as environment:
            environment.setenv(variable, value)
            with pytest.raises(SettingsError, match=expected):
                Settings.from_env()


def test_endpoints_are_shown_without_credentials_or_query():
    assert redact_endpoint("https://user:pw@prom.example.org:9443/prom/?token=x") == "https://prom.example.org:9443/prom/"
    assert PrometheusClient("http://u:p@127.0.0.1:9090/").describe() == "http://127.0.0.1:9090"


def test_many_slow_answers_hit_the_total_budget():
    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            time.sleep(0.35)  # each answer well within the 0.5 s timeout; 6 x 0.5 s in total is used up
            data = [{"__name__": "x_total", "success": "true"}] if "/series" in self.path else [] \
                if "/label/" in self.path else \
                {"resultType": "vector", "result": []}
            body = json.dumps({"status": "success", "data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        started = time.monotonic()
        trends = trends_or_reason(f"http://127.0.0.1:{server.server_address[1]}", DAY, 7, timeout_seconds=0.5)
        assert time.monotonic() - started < 10
    finally:
        server.shutdown()
        server.server_close()
    assert trends["status"] == "not_used"
    assert trends["reason"].startswith("answers too slow: gave up after 3 s in total")


def test_an_endpoint_with_credentials_is_refused_without_repeating_them(monkeypatch):
    monkeypatch.setenv("USAGE_PROMETHEUS_ENDPOINT", "http://admin:hunter2@127.0.0.1:9090")
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert "USAGE_PROMETHEUS_ENDPOINT" in str(refused.value) and "hunter2" not in str(refused.value)
