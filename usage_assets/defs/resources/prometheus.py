"""The optional Prometheus resource: where the registry's counters can be queried.

Prometheus is an enrichment, never a requirement. The resource always exists; when no
endpoint is configured (the default), or Prometheus is switched off, or it cannot be
reached, :meth:`PrometheusSource.trends` returns a ``not_used`` document with the reason
instead of raising, and the rest of the report is built as usual.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from usage_assets.enrichment.prometheus_client import (
    DEFAULT_TIMEOUT_SECONDS,
    redact_endpoint,
)
from usage_assets.enrichment.prometheus_trends import (
    DEFAULT_SERIES,
    NOT_CONFIGURED,
    trends_or_reason,
)
from usage_assets.enrichment.trend_arithmetic import DEFAULT_RANGE, parse_range


class PrometheusSource(dg.ConfigurableResource):
    """Prometheus HTTP API access for the ``prometheus_trends`` asset.

    ``endpoint``: base URL such as ``http://prometheus:9090``, or None (not configured).
    ``disabled_reason``: set when Prometheus was switched off on purpose (``--no-prometheus``);
    it wins over ``endpoint``. ``range``: ``7d``, ``14d`` or ``30d`` - the length of the
    current and of the previous window. ``series``: counter names to query (with ``_total``).
    ``timeout_seconds``: bound on connecting and on each answer.
    """

    endpoint: str | None = None
    disabled_reason: str | None = None
    range: str = DEFAULT_RANGE
    series: list[str] = list(DEFAULT_SERIES)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

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
            self.endpoint, day, self.range_days, self.series, self.timeout_seconds, self.disabled_reason
        )
