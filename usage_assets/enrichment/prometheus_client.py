"""A small client for the Prometheus HTTP API and the PromQL this project sends.

Three endpoints are used: ``/api/v1/series`` (does a series exist in a time span?),
``/api/v1/label/__name__/values`` (which metric names exist, for "did you mean" hints) and
``/api/v1/query`` (an instant query evaluated at a given UTC instant). Requests can be
authenticated with a bearer token, basic auth or AWS Signature Version 4 (Amazon Managed
Service for Prometheus; botocore signs, with the standard AWS credential chain). Every failure that
means "Prometheus cannot be used right now" - connection refused, DNS failure, timeout,
an HTTP error status, an ``"status": "error"`` answer, a body that is not the documented
JSON - is raised as :class:`PrometheusUnavailable` with a short, human-readable reason,
so callers can fall back instead of failing.

Metric names are validated before they are put into a query (:func:`check_metric_name`),
and so is the operator's label selector (:func:`parse_selector`), once, and rebuilt from
its parsed matchers; label values that come from Prometheus or from telemetry are never
interpolated into PromQL, only the fixed label names of ``by (...)`` clauses, so nothing
read back can change a query.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

#: Seconds to wait for a connection and for each answer unless configured otherwise.
DEFAULT_TIMEOUT_SECONDS = 10.0
#: All requests of one client (one report's queries) together get this many timeouts.
TOTAL_TIMEOUT_FACTOR = 6
#: Largest answer body read, in bytes; a larger one is treated as an error (bounded memory).
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: Prometheus' metric-name syntax (https://prometheus.io/docs/concepts/data_model/).
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
#: One label matcher of a PromQL selector: name, operator, a double- or single-quoted string.
_MATCHER = re.compile(
    r"""\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')\s*(,|$)"""
)
#: The AWS service name Amazon Managed Service for Prometheus signs requests for.
SIGV4_SERVICE = "aps"


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


def parse_selector(text: str | None) -> str:
    """The label selector ``text`` (``{job="registry", env="prod"}``; braces optional) in
    canonical form, ``{job="registry",env="prod"}``, or ``""`` for none.

    Matchers are ``label=value``, ``!=``, ``=~`` and ``!~`` with a double- or single-quoted
    value, as in PromQL. Raises ``ValueError`` saying what is wrong for anything else,
    including a ``__name__`` matcher (the series names are a setting of their own).
    """
    body = (text or "").strip()
    if body.startswith("{") != body.endswith("}"):
        raise ValueError(f"unbalanced braces in label selector {body!r}")
    body = body.removeprefix("{").removesuffix("}").strip()
    matchers, position = [], 0
    while position < len(body):
        match = _MATCHER.match(body, position)
        if not match:
            raise ValueError(
                f"malformed label selector at {body[position:position + 30]!r}: expected "
                'label="value" matchers separated by commas, e.g. {job="registry", env="prod"}'
            )
        name, operator, value, _separator = match.groups()
        if name == "__name__":
            raise ValueError("the label selector must not match __name__ (set the series names instead)")
        if value.startswith("'"):  # PromQL accepts both quotes; one spelling in every query
            value = '"' + value[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
        matchers.append(f"{name}{operator}{value}")
        position = match.end()  # a trailing comma is fine, as in PromQL
    return "{" + ",".join(matchers) + "}" if matchers else ""


def series_selector(metric: str, selector: str = "") -> str:
    """``metric`` with the label selector ``selector`` (as :func:`parse_selector` returns it)."""
    return check_metric_name(metric) + parse_selector(selector)


def redact_endpoint(endpoint: str) -> str:
    """``endpoint`` without user:password and without query string, safe to log and print."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def increase_query(
    metric: str, window_days: int, offset_days: int = 0, by: tuple[str, ...] = (), selector: str = ""
) -> str:
    """PromQL for the counter increase of ``metric`` over ``window_days`` days, summed.

    ``offset_days`` shifts the window back (the previous period uses ``window_days``);
    ``by`` lists label names to keep (``sum by (...)``); ``selector`` restricts the series
    (see :func:`parse_selector`). The result of the query is a count per window (a float,
    as Prometheus computes it). Raises ``ValueError`` for an invalid metric or label name
    or selector.
    """
    selected = series_selector(metric, selector)
    for label in by:
        if not _LABEL_NAME.match(label):
            raise ValueError(f"{label!r} is not a valid label name")
    if window_days <= 0 or offset_days < 0:
        raise ValueError("window_days must be positive and offset_days non-negative")
    offset = f" offset {offset_days}d" if offset_days else ""
    grouping = f" by ({', '.join(by)})" if by else ""
    return f"sum{grouping} (increase({selected}[{window_days}d]{offset}))"


def earliest_sample_query(metric: str, span_hours: int, selector: str = "") -> str:
    """PromQL for the earliest sample time (Unix seconds) of any series of ``metric`` in the
    ``span_hours`` hours before the evaluation instant, to the hour: a subquery samples
    ``timestamp()`` hourly. Empty when there is no sample in the span."""
    if span_hours <= 0:
        raise ValueError("span_hours must be positive")
    return f"min(min_over_time(timestamp({series_selector(metric, selector)})[{span_hours}h:1h]))"


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector: its labels and its value."""

    labels: dict[str, str]
    value: float


def _unix(instant: datetime) -> float:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware (UTC)")
    return instant.astimezone(UTC).timestamp()


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


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class SigV4Auth(AuthBase):
    """AWS Signature Version 4 on every request, for Amazon Managed Service for Prometheus.

    botocore signs (``botocore.auth.SigV4Auth``) with credentials from the standard AWS
    chain (environment, shared files, SSO, container and instance roles), looked up on the
    first request and refreshed by botocore when they expire. ``region``: the workspace's
    region, e.g. ``us-east-1``. Raises :class:`PrometheusUnavailable` when no credentials
    are found. The request's query string must already be RFC 3986-encoded (the client
    builds it so): botocore signs it as it is.
    """

    def __init__(self, region: str, service: str = SIGV4_SERVICE, credentials=None):
        self.region, self.service = region, service
        self._credentials = credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth as Signer
        from botocore.awsrequest import AWSRequest
        from botocore.session import get_session

        if self._credentials is None:
            self._credentials = get_session().get_credentials()
        if self._credentials is None:
            raise PrometheusUnavailable(
                "no AWS credentials found for SigV4 (environment, ~/.aws, SSO or an instance/task role)"
            )
        signed = AWSRequest(method=request.method, url=request.url, data=request.body or b"")
        Signer(self._credentials.get_frozen_credentials(), self.service, self.region).add_auth(signed)
        request.headers.update(dict(signed.headers.items()))
        return request


#: Ways to authenticate to Prometheus (``none``: no credentials are sent).
AUTH_METHODS = ("none", "bearer", "basic", "sigv4")


def build_auth(
    method: str | None = None,
    bearer_token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    sigv4_region: str | None = None,
) -> AuthBase | None:
    """The authentication of requests: ``method`` one of :data:`AUTH_METHODS`, or None to
    take the one whose settings are given - a bearer token, basic auth (``username`` with
    ``password``), SigV4 for ``sigv4_region`` - or none. Returns None for no authentication.

    Raises ``ValueError`` when ``method`` is None and the settings of several methods are
    given (which one was meant is not guessed), or the chosen method lacks its setting.
    """
    given = {"bearer": bool(bearer_token), "basic": bool(username or password), "sigv4": bool(sigv4_region)}
    if method is None:
        chosen = [name for name, present in given.items() if present]
        if len(chosen) > 1:
            raise ValueError(f"settings of several ways to authenticate are set ({', '.join(chosen)}): "
                             "set USAGE_PROMETHEUS_AUTH to the one to use")
        method = chosen[0] if chosen else "none"
    if method not in AUTH_METHODS:
        raise ValueError(f"the authentication must be one of {', '.join(AUTH_METHODS)}, got {method!r}")
    if method == "bearer":
        if not bearer_token:
            raise ValueError("bearer authentication needs USAGE_PROMETHEUS_BEARER_TOKEN")
        return BearerAuth(bearer_token)
    if method == "basic":
        if not username:
            raise ValueError("basic authentication needs USAGE_PROMETHEUS_USERNAME (and USAGE_PROMETHEUS_PASSWORD)")
        return HTTPBasicAuth(username, password or "")
    if method == "sigv4":
        if not sigv4_region:
            raise ValueError("SigV4 authentication needs USAGE_PROMETHEUS_SIGV4_REGION, e.g. us-east-1")
        return SigV4Auth(sigv4_region)
    return None


class PrometheusClient:
    """Synchronous client for one Prometheus server.

    ``endpoint``: base URL (``http://host:9090``, optionally with a path prefix and
    ``user:password@``); ``timeout_seconds``: bound on connecting and on each answer
    (every request ends within about twice this); ``auth``: see :func:`build_auth`. All requests of one client together
    get :data:`TOTAL_TIMEOUT_FACTOR` times ``timeout_seconds``; past that every request
    fails at once. No retries: Prometheus is an optional enrichment, and a second attempt
    would only delay the fallback.
    """

    def __init__(
        self,
        endpoint: str,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
        auth: AuthBase | None = None,
    ):
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the Prometheus endpoint must be an http(s) URL, got {redact_endpoint(endpoint)!r}")
        self.endpoint = endpoint.rstrip("/")
        self.timeout_seconds = float(timeout_seconds)
        self.session = session or requests.Session()
        self.auth = auth
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
            # RFC 3986 encoding (spaces as %20, not +): what a SigV4 signature covers.
            url = f"{self.endpoint}{path}?{urlencode(params, quote_via=quote, safe='')}"
            response = self.session.get(
                url, auth=self.auth, timeout=(self.timeout_seconds, self.timeout_seconds), stream=True
            )
        except requests.Timeout:
            raise PrometheusUnavailable(f"timed out after {self.timeout_seconds:g} s") from None
        except requests.RequestException as error:
            raise PrometheusUnavailable(connection_reason(error)) from None
        try:
            body = self._read_body(response, started)
        finally:
            response.close()
        if response.status_code in (401, 403):
            given = "refused the credentials" if self.auth else "asks for credentials"
            raise PrometheusUnavailable(
                f"{given} (HTTP {response.status_code}): set USAGE_PROMETHEUS_BEARER_TOKEN, USAGE_PROMETHEUS_USERNAME "
                "and USAGE_PROMETHEUS_PASSWORD, or USAGE_PROMETHEUS_SIGV4_REGION with AWS credentials"
            )
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

    def series(self, metric: str, start: datetime, end: datetime, selector: str = "") -> list[dict[str, str]]:
        """Label sets of every series named ``metric`` (restricted by the label ``selector``)
        with data between ``start`` and ``end`` (UTC instants), ``__name__`` included; empty
        when there is none."""
        data = self._get(
            "/api/v1/series",
            {"match[]": series_selector(metric, selector), "start": f"{_unix(start):.3f}",
             "end": f"{_unix(end):.3f}"},
        )
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise PrometheusUnavailable("answered /api/v1/series with an unexpected shape")
        return [{str(k): str(v) for k, v in item.items()} for item in data]

    def metric_names(self, start: datetime, end: datetime, selector: str = "") -> list[str]:
        """Every metric name with data between ``start`` and ``end`` (UTC instants), of the
        series the label ``selector`` matches when one is given."""
        params = {"start": f"{_unix(start):.3f}", "end": f"{_unix(end):.3f}"}
        if parse_selector(selector):
            params["match[]"] = parse_selector(selector)
        data = self._get("/api/v1/label/__name__/values", params)
        if not isinstance(data, list):
            raise PrometheusUnavailable("answered /api/v1/label/__name__/values with an unexpected shape")
        return [str(name) for name in data]

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
