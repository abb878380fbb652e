"""A small client for the Prometheus HTTP API and the PromQL this project sends.

Only two endpoints are used: ``/api/v1/series`` (does a series exist in a time span?) and
``/api/v1/query`` (an instant query evaluated at a given UTC instant). Every failure that
means "Prometheus cannot be used right now" - connection refused, DNS failure, timeout,
an HTTP error status, an ``"status": "error"`` answer, a body that is not the documented
JSON - is raised as :class:`PrometheusUnavailable` with a short, human-readable reason,
so callers can fall back instead of failing.

Metric names are validated before they are put into a query (:func:`check_metric_name`);
label *values* are never interpolated into PromQL, only the fixed label names of
``by (...)`` clauses, so nothing that comes from Prometheus or from telemetry can change
a query.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import requests

#: Seconds to wait for a connection and for each answer unless configured otherwise.
DEFAULT_TIMEOUT_SECONDS = 10.0
#: All requests of one client (one report's queries) together get this many timeouts.
TOTAL_TIMEOUT_FACTOR = 6
#: Largest answer body read, in bytes; a larger one is treated as an error (bounded memory).
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: Prometheus' metric-name syntax (https://prometheus.io/docs/concepts/data_model/).
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class PrometheusUnavailable(RuntimeError):
    """Prometheus could not answer; ``reason`` says why in a few words (no secrets)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def check_metric_name(name: str) -> str:
    """Return ``name`` when it is a valid Prometheus metric name; raise ``ValueError`` otherwise."""
    if not _METRIC_NAME.match(name or ""):
        raise ValueError(f"{name!r} is not a valid Prometheus metric name")
    return name


def redact_endpoint(endpoint: str) -> str:
    """``endpoint`` without user:password and without query string, safe to log and print."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def increase_query(metric: str, window_days: int, offset_days: int = 0, by: tuple[str, ...] = ()) -> str:
    """PromQL for the counter increase of ``metric`` over ``window_days`` days, summed.

    ``offset_days`` shifts the window back (the previous period uses ``window_days``);
    ``by`` lists label names to keep (``sum by (...)``). The result of the query is a
    count per window (a float, as Prometheus computes it). Raises ``ValueError`` for an
    invalid metric or label name.
    """
    check_metric_name(metric)
    for label in by:
        if not _LABEL_NAME.match(label):
            raise ValueError(f"{label!r} is not a valid label name")
    if window_days <= 0 or offset_days < 0:
        raise ValueError("window_days must be positive and offset_days non-negative")
    offset = f" offset {offset_days}d" if offset_days else ""
    grouping = f" by ({', '.join(by)})" if by else ""
    return f"sum{grouping} (increase({metric}[{window_days}d]{offset}))"


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector: its labels and its value."""

    labels: dict[str, str]
    value: float


def _unix(instant: datetime) -> float:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware (UTC)")
    return instant.astimezone(timezone.utc).timestamp()


def connection_reason(error: requests.RequestException) -> str:
    text = str(error)
    for marker, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "host name not found"),
        ("nodename nor servname", "host name not found"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
        ("Connection reset", "connection reset"),
    ):
        if marker in text:
            return reason
    return f"unreachable ({type(error).__name__})"


class PrometheusClient:
    """Synchronous client for one Prometheus server.

    ``endpoint``: base URL (``http://host:9090``, optionally with a path prefix and
    ``user:password@``); ``timeout_seconds``: bound on connecting and on each answer
    (every request ends within about twice this). All requests of one client together
    get :data:`TOTAL_TIMEOUT_FACTOR` times ``timeout_seconds``; past that every request
    fails at once. No retries: Prometheus is an optional enrichment, and a second attempt
    would only delay the fallback.
    """

    def __init__(
        self,
        endpoint: str,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ):
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the Prometheus endpoint must be an http(s) URL, got {redact_endpoint(endpoint)!r}")
        self.endpoint = endpoint.rstrip("/")
        self.timeout_seconds = float(timeout_seconds)
        self.session = session or requests.Session()
        self._first_request: float | None = None

    def describe(self) -> str:
        return redact_endpoint(self.endpoint)

    def _get(self, path: str, params: dict) -> object:
        """The ``data`` member of a successful API answer; raises :class:`PrometheusUnavailable`."""
        started = time.monotonic()
        if self._first_request is None:
            self._first_request = started
        budget = TOTAL_TIMEOUT_FACTOR * self.timeout_seconds
        if started - self._first_request > budget:
            raise PrometheusUnavailable(f"answers too slow: gave up after {budget:g} s in total")
        try:
            response = self.session.get(
                self.endpoint + path, params=params, timeout=(self.timeout_seconds, self.timeout_seconds), stream=True
            )
        except requests.Timeout:
            raise PrometheusUnavailable(f"timed out after {self.timeout_seconds:g} s") from None
        except requests.RequestException as error:
            raise PrometheusUnavailable(connection_reason(error)) from None
        try:
            body = self._read_body(response, started)
        finally:
            response.close()
        try:
            payload = json.loads(body.decode("utf-8"))
        except ValueError:
            if response.status_code >= 400:
                raise PrometheusUnavailable(f"answered HTTP {response.status_code}") from None
            raise PrometheusUnavailable("answered with a body that is not JSON (is this a Prometheus server?)") from None
        if not isinstance(payload, dict):
            raise PrometheusUnavailable("answered with JSON that is not a Prometheus API response")
        if payload.get("status") != "success":
            error_type = str(payload.get("errorType") or f"HTTP {response.status_code}")[:60]
            message = str(payload.get("error") or "no message")[:200]
            raise PrometheusUnavailable(f"answered an error ({error_type}): {message}")
        if response.status_code >= 400:
            raise PrometheusUnavailable(f"answered HTTP {response.status_code}")
        return payload.get("data")

    def _read_body(self, response: requests.Response, started: float) -> bytes:
        """The body, read in chunks: at most :data:`MAX_RESPONSE_BYTES`, and given up once
        the request has taken twice the timeout (a server trickling bytes cannot hold us)."""
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                if time.monotonic() - started > 2 * self.timeout_seconds:
                    raise PrometheusUnavailable(f"timed out after {self.timeout_seconds:g} s")
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise PrometheusUnavailable(f"answer larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB")
                chunks.append(chunk)
        except requests.Timeout:
            raise PrometheusUnavailable(f"timed out after {self.timeout_seconds:g} s") from None
        except requests.RequestException as error:
            raise PrometheusUnavailable(connection_reason(error)) from None
        return b"".join(chunks)

    def series(self, metric: str, start: datetime, end: datetime) -> list[dict[str, str]]:
        """Label sets of every series named ``metric`` with data between ``start`` and
        ``end`` (UTC instants), ``__name__`` included; empty when there is none."""
        data = self._get(
            "/api/v1/series",
            {"match[]": check_metric_name(metric), "start": f"{_unix(start):.3f}", "end": f"{_unix(end):.3f}"},
        )
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise PrometheusUnavailable("answered /api/v1/series with an unexpected shape")
        return [{str(k): str(v) for k, v in item.items()} for item in data]

    def query(self, promql: str, at: datetime) -> list[Sample]:
        """Evaluate ``promql`` as an instant query at UTC instant ``at``.

        Returns the instant vector's samples (empty when nothing matched). A scalar
        answer becomes one sample without labels. Raises :class:`PrometheusUnavailable`
        for any failure, including a non-finite or unparsable value.
        """
        data = self._get("/api/v1/query", {"query": promql, "time": f"{_unix(at):.3f}"})
        if not isinstance(data, dict):
            raise PrometheusUnavailable("answered /api/v1/query with an unexpected shape")
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar":
            result = [{"metric": {}, "value": result}]
        elif kind != "vector":
            raise PrometheusUnavailable(f"answered a {kind!r} result where an instant vector was expected")
        samples = []
        for item in result or []:
            try:
                value = float(item["value"][1])
                labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
            except (KeyError, IndexError, TypeError, ValueError):
                raise PrometheusUnavailable("answered a sample that cannot be parsed") from None
            if not math.isfinite(value):
                raise PrometheusUnavailable(f"answered a non-finite value ({value}) for {promql}")
            samples.append(Sample(labels, value))
        return samples
