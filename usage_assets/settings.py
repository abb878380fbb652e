"""Settings shared by the CLI, the Dagster UI and the schedule, read from the environment.

Every setting has an environment variable (documented in ``.env.example``); the CLI's
options override them for one command. ``dagster dev`` and ``usage-report`` both load a
``.env`` file from the project root, so the UI, the schedule and the CLI see one source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("demo", "csv", "documentdb")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which variable to fix."""


@dataclass(frozen=True)
class Settings:
    """Where events come from and where outputs go.

    ``source``: ``demo`` (built-in simulated fleet) or ``csv`` (reference exports at
    ``csv_path``). ``internal_instances``: optional allowlist file of internal installs
    (for ``demo``, the simulator's own list is used when unset). ``data_dir``: the
    day-partitioned data lake; ``reports_dir``: ``<reports_dir>/<D>/`` report folders.
    ``demo_*``: the simulator's seed, first day and initial new installs per day.
    ``prometheus_*``: the optional Prometheus enrichment - endpoint URL (None: not
    configured), ``prometheus_disabled`` (switch it off even when an endpoint is set),
    range (``7d``/``14d``/``30d``), comma-separated counter names (None: the registry's
    default counters) and the per-request timeout in seconds.
    ``docdb_*``/``bastion_*``: the documentdb source's database and SSH bastion (see
    :class:`usage_assets.resources.documentdb.DocumentDBTelemetrySource`; timeouts and
    keepalive in seconds). Its two secrets are not settings: the resource reads
    ``USAGE_DOCDB_PASSWORD`` and ``USAGE_BASTION_KEY_PASSPHRASE`` through ``dg.EnvVar``.
    """

    source: str = "demo"
    csv_path: str | None = None
    internal_instances: str | None = None
    data_dir: str = str(PROJECT_ROOT / "data")
    reports_dir: str = str(PROJECT_ROOT / "reports")
    demo_seed: int = 7
    demo_start: str = "2026-08-23"
    demo_daily_new_installs: float = 2.0
    prometheus_endpoint: str | None = None
    prometheus_disabled: bool = False
    prometheus_range: str = "7d"
    prometheus_series: str | None = None
    prometheus_timeout: float = 10.0
    # documentdb source (secrets are not settings: USAGE_DOCDB_PASSWORD and
    # USAGE_BASTION_KEY_PASSPHRASE reach the resource only through dg.EnvVar).
    docdb_uri: str | None = None
    docdb_host: str | None = None
    docdb_port: int = 27017
    docdb_database: str = "telemetry"
    docdb_user: str | None = None
    docdb_auth_source: str = "admin"
    docdb_auth_mechanism: str = "SCRAM-SHA-1"
    docdb_tls: bool = True
    docdb_ca_file: str | None = None
    docdb_direct_connection: bool = True
    docdb_server_selection_timeout: float = 20.0
    docdb_socket_timeout: float = 120.0
    docdb_query_timeout: float = 900.0
    docdb_batch_size: int = 5000
    bastion_host: str | None = None
    bastion_port: int = 22
    bastion_user: str | None = None
    bastion_key_file: str | None = None
    bastion_known_hosts: str = "~/.ssh/known_hosts"
    bastion_host_key_fingerprint: str | None = None
    bastion_keepalive: int = 30

    #: Environment variable of each field.
    ENV = {
        "source": "USAGE_SOURCE",
        "csv_path": "USAGE_CSV_PATH",
        "internal_instances": "USAGE_INTERNAL_INSTANCES",
        "data_dir": "USAGE_DATA_DIR",
        "reports_dir": "USAGE_REPORTS_DIR",
        "demo_seed": "USAGE_DEMO_SEED",
        "demo_start": "USAGE_DEMO_START",
        "demo_daily_new_installs": "USAGE_DEMO_DAILY_NEW_INSTALLS",
        "prometheus_endpoint": "USAGE_PROMETHEUS_ENDPOINT",
        "prometheus_disabled": "USAGE_NO_PROMETHEUS",
        "prometheus_range": "USAGE_PROMETHEUS_RANGE",
        "prometheus_series": "USAGE_PROMETHEUS_SERIES",
        "prometheus_timeout": "USAGE_PROMETHEUS_TIMEOUT",
        "docdb_uri": "USAGE_DOCDB_URI",
        "docdb_host": "USAGE_DOCDB_HOST",
        "docdb_port": "USAGE_DOCDB_PORT",
        "docdb_database": "USAGE_DOCDB_DATABASE",
        "docdb_user": "USAGE_DOCDB_USER",
        "docdb_auth_source": "USAGE_DOCDB_AUTH_SOURCE",
        "docdb_auth_mechanism": "USAGE_DOCDB_AUTH_MECHANISM",
        "docdb_tls": "USAGE_DOCDB_TLS",
        "docdb_ca_file": "USAGE_DOCDB_CA_FILE",
        "docdb_direct_connection": "USAGE_DOCDB_DIRECT_CONNECTION",
        "docdb_server_selection_timeout": "USAGE_DOCDB_SERVER_SELECTION_TIMEOUT_S",
        "docdb_socket_timeout": "USAGE_DOCDB_SOCKET_TIMEOUT_S",
        "docdb_query_timeout": "USAGE_DOCDB_QUERY_TIMEOUT_S",
        "docdb_batch_size": "USAGE_DOCDB_BATCH_SIZE",
        "bastion_host": "USAGE_BASTION_HOST",
        "bastion_port": "USAGE_BASTION_PORT",
        "bastion_user": "USAGE_BASTION_USER",
        "bastion_key_file": "USAGE_BASTION_KEY_FILE",
        "bastion_known_hosts": "USAGE_BASTION_KNOWN_HOSTS",
        "bastion_host_key_fingerprint": "USAGE_BASTION_HOST_KEY_FINGERPRINT",
        "bastion_keepalive": "USAGE_BASTION_KEEPALIVE_S",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Settings from ``environ`` (default ``os.environ``), then non-None ``overrides``.

        Raises :class:`SettingsError` naming the variable when a value is invalid.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for spec in fields(cls):
            raw = environ.get(cls.ENV[spec.name])
            if raw not in (None, ""):
                values[spec.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values).checked()

    def checked(self) -> "Settings":
        """Coerce numeric fields and validate; returns a new, valid Settings."""
        try:
            seed = int(self.demo_seed)
        except ValueError as error:
            raise SettingsError(f"USAGE_DEMO_SEED must be an integer, got {self.demo_seed!r}") from error
        try:
            rate = float(self.demo_daily_new_installs)
        except ValueError as error:
            raise SettingsError(
                f"USAGE_DEMO_DAILY_NEW_INSTALLS must be a number, got {self.demo_daily_new_installs!r}"
            ) from error
        try:
            date.fromisoformat(self.demo_start)
        except ValueError as error:
            raise SettingsError(f"USAGE_DEMO_START must be YYYY-MM-DD, got {self.demo_start!r}") from error
        if self.source not in SOURCES:
            raise SettingsError(f"USAGE_SOURCE must be one of {', '.join(SOURCES)}, got {self.source!r}")
        if self.source == "csv" and not self.csv_path:
            raise SettingsError(
                "the csv source needs a path: set USAGE_CSV_PATH (or pass --csv-path) to a "
                "registry_metrics.csv or a folder of dated exports"
            )
        if rate <= 0:
            raise SettingsError("USAGE_DEMO_DAILY_NEW_INSTALLS must be positive")
        return replace(self, demo_seed=seed, demo_daily_new_installs=rate, **self._prometheus_checked(),
                       **self._documentdb_checked())

    def _documentdb_checked(self) -> dict:
        """Coerced ``docdb_*``/``bastion_*`` values; raises :class:`SettingsError` naming the variable.

        For the documentdb source an address is required (USAGE_DOCDB_HOST or USAGE_DOCDB_URI).
        Whether the secrets are set is checked by the resource when a run starts.
        """
        values = {}
        numbers = {"docdb_port": int, "bastion_port": int, "bastion_keepalive": int, "docdb_batch_size": int,
                   "docdb_server_selection_timeout": float, "docdb_socket_timeout": float,
                   "docdb_query_timeout": float}
        for name, kind in numbers.items():
            try:
                values[name] = kind(getattr(self, name))
            except (TypeError, ValueError) as error:
                raise SettingsError(f"{self.ENV[name]} must be a number, got {getattr(self, name)!r}") from error
            if values[name] < 0 or (values[name] == 0 and name != "bastion_keepalive"):
                raise SettingsError(f"{self.ENV[name]} must be positive, got {getattr(self, name)!r}")
        for name in ("docdb_tls", "docdb_direct_connection"):
            flag = getattr(self, name)
            if isinstance(flag, str):
                lowered = flag.strip().lower()
                if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                    raise SettingsError(f"{self.ENV[name]} must be true or false, got {flag!r}")
                flag = lowered in ("1", "true", "yes", "on")
            values[name] = bool(flag)
        if self.source == "documentdb" and not (self.docdb_host or self.docdb_uri):
            raise SettingsError(
                "the documentdb source needs the database address: set USAGE_DOCDB_HOST (the endpoint as "
                "seen from the bastion) or USAGE_DOCDB_URI; see the README's DocumentDB section"
            )
        return values

    def _prometheus_checked(self) -> dict:
        """Coerced ``prometheus_*`` values; raises :class:`SettingsError` naming the variable."""
        from usage_assets.lib.prometheus import check_metric_name
        from usage_assets.lib.trends import parse_range

        disabled = self.prometheus_disabled
        if isinstance(disabled, str):
            flag = disabled.strip().lower()
            if flag not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
                raise SettingsError(f"USAGE_NO_PROMETHEUS must be true or false, got {disabled!r}")
            disabled = flag in ("1", "true", "yes", "on")
        endpoint = (self.prometheus_endpoint or "").strip() or None
        if endpoint and not endpoint.lower().startswith(("http://", "https://")):
            raise SettingsError("USAGE_PROMETHEUS_ENDPOINT (--prometheus-endpoint) must be an http:// or "
                                "https:// URL such as http://127.0.0.1:9090")
        try:
            range_days = parse_range(self.prometheus_range)
        except ValueError as error:
            raise SettingsError(f"USAGE_PROMETHEUS_RANGE: {error}") from error
        series = None
        if self.prometheus_series is not None:
            names = [name.strip() for name in str(self.prometheus_series).split(",") if name.strip()]
            try:
                series = ",".join(check_metric_name(name) for name in names) or None
            except ValueError as error:
                raise SettingsError(f"USAGE_PROMETHEUS_SERIES: {error}") from error
        try:
            timeout = float(self.prometheus_timeout)
        except ValueError as error:
            raise SettingsError(f"USAGE_PROMETHEUS_TIMEOUT must be a number of seconds, got "
                                f"{self.prometheus_timeout!r}") from error
        if not 0 < timeout <= 300:
            raise SettingsError("USAGE_PROMETHEUS_TIMEOUT must be between 0 and 300 seconds")
        return {
            "prometheus_endpoint": endpoint,
            "prometheus_disabled": bool(disabled),
            "prometheus_range": f"{range_days}d",
            "prometheus_series": series,
            "prometheus_timeout": timeout,
        }
