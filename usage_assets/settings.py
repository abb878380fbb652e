"""Settings shared by the CLI, the Dagster UI and the schedule, read from the environment.

Every setting has an environment variable (:data:`ENV_VARS`, documented in
``.env.example``); the CLI's options override them for one command. ``dagster dev`` and
``usage-report`` both load a ``.env`` file from the project root, so the UI, the schedule
and the CLI see one source. Parsing and validation are pydantic's (strings from the
environment become ints, floats and booleans: ``true``/``false``, ``1``/``0``,
``yes``/``no``, ``on``/``off``); errors name the environment variable to fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from usage_assets.enrichment.prometheus_client import check_metric_name
from usage_assets.enrichment.trend_arithmetic import parse_range, range_label

PROJECT_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
SourceName = Literal["demo", "csv", "documentdb"]
SOURCES: tuple[str, ...] = get_args(SourceName)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which variable to fix."""


class Settings(BaseModel):
    """Where events come from and where outputs go.

    ``source``: ``demo`` (built-in simulated fleet), ``csv`` (reference exports at
    ``csv_path``) or ``documentdb``. ``internal_instances``: optional allowlist file of
    internal installs (for ``demo``, the simulator's own list is used when unset).
    ``data_dir``: the day-partitioned data lake; ``reports_dir``: ``<reports_dir>/<D>/``
    report folders. ``demo_*``: the simulator's seed, first day (YYYY-MM-DD) and initial
    new installs per day. ``prometheus_*``: the optional Prometheus enrichment - endpoint
    URL (None: not configured), ``prometheus_disabled`` (switch it off even when an
    endpoint is set), range (``7d``/``14d``/``30d``), comma-separated counter names
    (None: the registry's default counters) and the per-request timeout in seconds.
    ``cost_model``: the JSON file of daily platform rates behind the infra-spend section;
    ``forecast_target``: the install count the forecast gives an ETA for;
    ``github_repo`` (``owner/name``, None: the GitHub section says it is not configured)
    and ``github_api_url``: the repository statistics (token: ``USAGE_GITHUB_TOKEN``,
    read through ``dg.EnvVar``).
    ``docdb_*``/``bastion_*``: the documentdb source's database and SSH bastion (see
    :class:`usage_assets.defs.resources.documentdb.DocumentDBTelemetrySource`; timeouts and
    keepalive in seconds). Its two secrets are not settings: the resource reads
    ``USAGE_DOCDB_PASSWORD`` and ``USAGE_BASTION_KEY_PASSPHRASE`` through ``dg.EnvVar``.

    Constructing one validates it; pydantic's ``ValidationError`` is raised for direct
    construction, :class:`SettingsError` by :meth:`from_env`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: SourceName = "demo"
    csv_path: str | None = None
    internal_instances: str | None = None
    data_dir: str = str(PROJECT_ROOT / "data")
    reports_dir: str = str(PROJECT_ROOT / "reports")
    demo_seed: int = 7
    demo_start: str = "2026-08-23"
    demo_daily_new_installs: PositiveFloat = 2.0
    prometheus_endpoint: str | None = None
    prometheus_disabled: bool = False
    prometheus_range: str = "7d"
    prometheus_series: str | None = None
    prometheus_timeout: float = Field(default=10.0, gt=0, le=300)
    cost_model: str = str(PROJECT_ROOT / "cost_model.json")
    forecast_target: PositiveInt = 1000
    github_repo: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    github_api_url: str = "https://api.github.com"
    # documentdb source (secrets are not settings: USAGE_DOCDB_PASSWORD and
    # USAGE_BASTION_KEY_PASSPHRASE reach the resource only through dg.EnvVar).
    docdb_uri: str | None = None
    docdb_host: str | None = None
    docdb_port: PositiveInt = 27017
    docdb_database: str = "telemetry"
    docdb_user: str | None = None
    docdb_auth_source: str = "admin"
    docdb_auth_mechanism: str = "SCRAM-SHA-1"
    docdb_tls: bool = True
    docdb_ca_file: str | None = None
    docdb_direct_connection: bool = True
    docdb_server_selection_timeout: PositiveFloat = 20.0
    docdb_socket_timeout: PositiveFloat = 120.0
    docdb_query_timeout: PositiveFloat = 900.0
    docdb_batch_size: PositiveInt = 5000
    bastion_host: str | None = None
    bastion_port: PositiveInt = 22
    bastion_user: str | None = None
    bastion_key_file: str | None = None
    bastion_known_hosts: str = "~/.ssh/known_hosts"
    bastion_host_key_fingerprint: str | None = None
    bastion_keepalive: NonNegativeInt = 30

    @field_validator("demo_start")
    @classmethod
    def _iso_day(cls, value: str) -> str:
        try:
            date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(f"must be YYYY-MM-DD, got {value!r}") from error
        return value

    @field_validator("prometheus_endpoint", "github_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL such as http://127.0.0.1:9090")
        if value and (urlsplit(value).password or urlsplit(value).query):
            # Settings end up in Dagster's resource config, which the UI shows.
            raise ValueError("must not carry credentials or a query string (they would be shown in the Dagster UI)")
        return value

    @field_validator("docdb_uri")
    @classmethod
    def _no_password_in_uri(cls, value: str | None) -> str | None:
        if value and urlsplit(value).password:
            raise ValueError("must not contain a password: put it in USAGE_DOCDB_PASSWORD instead")
        return value

    @field_validator("prometheus_range", mode="before")
    @classmethod
    def _range_label(cls, value: str | int) -> str:
        return range_label(parse_range(value))

    @field_validator("prometheus_series")
    @classmethod
    def _metric_names(cls, value: str | None) -> str | None:
        names = [name.strip() for name in (value or "").split(",") if name.strip()]
        return ",".join(check_metric_name(name) for name in names) or None

    @model_validator(mode="after")
    def _source_needs(self, info: ValidationInfo) -> "Settings":
        if info.context and not info.context.get("need_source", True):
            return self
        if self.source == "csv" and not self.csv_path:
            raise ValueError(
                "the csv source needs a path: set USAGE_CSV_PATH (or pass --csv-path) to a "
                "registry_metrics.csv or a folder of dated exports"
            )
        if self.source == "documentdb" and not (self.docdb_host or self.docdb_uri):
            raise ValueError(
                "the documentdb source needs the database address: set USAGE_DOCDB_HOST (the endpoint as "
                "seen from the bastion) or USAGE_DOCDB_URI; see the README's DocumentDB section"
            )
        return self

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, need_source: bool = True, **overrides
    ) -> "Settings":
        """Settings from ``environ`` (default ``os.environ``), then non-None ``overrides``.

        Empty variables count as unset. ``need_source=False`` skips the checks that the
        chosen source is fully configured (for commands that only read the data lake).
        Raises :class:`SettingsError` naming the variable of every invalid value.
        """
        environ = os.environ if environ is None else environ
        values = {name: environ[var] for name, var in ENV_VARS.items() if environ.get(var, "") != ""}
        values.update({name: value for name, value in overrides.items() if value is not None})
        try:
            return cls.model_validate(values, context={"need_source": need_source})
        except ValidationError as error:
            raise SettingsError(describe_errors(error)) from None


#: The environment variable of every setting.
ENV_VARS: dict[str, str] = {
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
    "cost_model": "USAGE_COST_MODEL",
    "forecast_target": "USAGE_FORECAST_TARGET",
    "github_repo": "USAGE_GITHUB_REPO",
    "github_api_url": "USAGE_GITHUB_API_URL",
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


def definition_setting(variable: str, default: str, parse: Callable[[str], T], expected: str) -> T:
    """A setting Dagster needs while the definitions are imported, so not a :class:`Settings`
    field: ``USAGE_PARTITIONS_START`` (the partitions) and ``USAGE_INGEST_RETRY_DELAY_S``
    (the ingest's retry policy). Raises :class:`SettingsError` naming the variable."""
    raw = os.environ.get(variable) or default
    try:
        return parse(raw)
    except ValueError:
        raise SettingsError(f"{variable} must be {expected}, got {raw!r}") from None


#: Settings whose values are URLs (possibly with credentials): never echoed in errors.
URL_FIELDS = frozenset({"prometheus_endpoint", "docdb_uri"})


def describe_errors(error: ValidationError) -> str:
    """One line per invalid setting, naming its environment variable."""
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        field = problem["loc"][0] if problem["loc"] else None
        if field in ENV_VARS:
            # URLs can hold credentials: never repeat them.
            given = "<hidden>" if field in URL_FIELDS else repr(problem["input"])
            lines.append(f"{ENV_VARS[field]}: {message}" + ("" if given in message else f" (got {given})"))
        else:
            lines.append(message)
    return "\n".join(lines)
