"""The optional Prometheus resource: where the registry's counters can be queried.

Prometheus is an enrichment, never a requirement. The resource always exists; when no
endpoint is configured (the default), or Prometheus is switched off, or a Prometheus
setting is invalid, or it cannot be reached, :meth:`PrometheusSource.trends` returns a
``not_used`` document with the reason instead of raising, and the rest of the report is
built as usual.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
from pydantic import Field

from usage_assets.enrichment.prometheus_client import redact_endpoint
from usage_assets.enrichment.prometheus_trends import NOT_CONFIGURED, trends_or_reason
from usage_assets.enrichment.trend_arithmetic import parse_range
from usage_assets.settings import PrometheusSettings


class PrometheusSource(PrometheusSettings, dg.ConfigurableResource):
    """Prometheus HTTP API access for the ``prometheus_trends`` asset.

    The settings of :class:`usage_assets.settings.PrometheusSettings` (``endpoint``,
    ``range``, ``series``, ``selector``, ``timeout``, and how to authenticate: ``auth``
    with ``bearer_token``, ``username``/``password`` or ``sigv4_region``); the secrets
    ``bearer_token`` and ``password`` are ``dg.EnvVar(...)`` (or None), so the UI shows
    only their variables' names. Plus ``disabled_reason``: set when Prometheus was
    switched off on purpose (``--no-prometheus``) or left out over an invalid setting; it
    wins over ``endpoint``.
    """

    bearer_token: str | None = Field(default=None, repr=False)
    password: str | None = Field(default=None, repr=False)
    disabled_reason: str | None = None

    @property
    def range_days(self) -> int:
        """Days of ``range``; raises ``ValueError`` for a range that is not 7d, 14d or 30d."""
        return parse_range(self.range)

    def describe(self) -> str:
        """One line for logs: the endpoint without credentials, or why it is not used."""
        if self.disabled_reason:
            return f"Prometheus {self.disabled_reason}"
        if not self.endpoint:
            return f"Prometheus {NOT_CONFIGURED}"
        return f"Prometheus at {redact_endpoint(self.endpoint)}"

    def trends(self, day: date) -> dict:
        """The trends document for report day ``day`` (see
        :func:`usage_assets.enrichment.prometheus_trends.trends_or_reason`); never raises for an
        unconfigured, disabled, unreachable or failing Prometheus."""
        return trends_or_reason(
            self.endpoint, day, self.range_days, self.series_names, self.timeout, self.disabled_reason,
            selector=self.selector or "",
            auth=self.requests_auth(),
        )
