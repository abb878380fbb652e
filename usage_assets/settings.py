"""Settings shared by the CLI, the Dagster UI and the schedule, read from the environment.

Every setting is declared once, here: :class:`Settings` holds the top-level ones and one
model per group - :class:`DatabaseSettings`, :class:`BastionSettings`,
:class:`PrometheusSettings`, :class:`GitHubSettings`, :class:`QualitySettings` - which the resources (as Dagster
config, secrets as ``dg.EnvVar``) and the DocumentDB client take as they are. A setting's
environment variable is ``USAGE_`` and its path, upper-case, joined by ``_``
(:func:`variable`): ``source`` is ``USAGE_SOURCE``, ``docdb.server_selection_timeout_s`` is
``USAGE_DOCDB_SERVER_SELECTION_TIMEOUT_S``; all of them are listed in ``.env.example``.
Values come from the environment, then from the project's ``.env`` (``dagster dev`` and
``usage-report`` load it too, so the UI, the schedule and the CLI see one source); the
CLI's options override them for one command. Parsing and validation are pydantic's
(strings become ints, floats, days and booleans: ``true``/``false``, ``1``/``0``,
``yes``/``no``, ``on``/``off``); errors name the variable to fix and never repeat a URL or
a secret.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from usage_assets.enrichment.github_stats import GITHUB_API_URL
from usage_assets.enrichment.prometheus_client import DEFAULT_TIMEOUT_SECONDS, check_metric_name
from usage_assets.enrichment.prometheus_trends import DEFAULT_SERIES
from usage_assets.enrichment.trend_arithmetic import DEFAULT_RANGE, parse_range, range_label

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SourceName = Literal["demo", "csv", "documentdb"]
SOURCES: tuple[str, ...] = get_args(SourceName)

#: A secret: pydantic masks it, :func:`describe_errors` never repeats it (``repr=False``
#: marks the settings whose values are never shown: secrets and URLs, which may carry
#: credentials), and Dagster gets only the name of its variable, as ``dg.EnvVar``.
Secret = Annotated[SecretStr | None, Field(repr=False)]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which variable to fix."""


def _http_url(value: str | None) -> str | None:
    value = (value or "").strip() or None
    if value and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL such as http://127.0.0.1:9090")
    if value and (urlsplit(value).password or urlsplit(value).query):
        # Settings end up in Dagster's resource config, which the UI shows.
        raise ValueError("must not carry credentials or a query string (they would be shown in the Dagster UI)")
    return value


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(_Group):
    """The documentdb source's database and how to log in (variables ``USAGE_DOCDB_*``).

    ``uri``: ``mongodb://host[:port][/database][?options]`` without credentials, instead of
    ``host``/``port``/``database`` (what the URI gives wins; its options too). ``host``/
    ``port``: the endpoint as seen from the bastion (or from here without one).
    ``database``: holds ``startup_events`` and ``heartbeat_events``. ``user``/``password``:
    SCRAM credentials, checked against ``auth_source`` with ``auth_mechanism``. ``tls``,
    ``ca_file``: TLS and the CA bundle (e.g. AWS's ``global-bundle.pem``).
    ``direct_connection``: talk to this one node (DocumentDB's cluster endpoint). Seconds:
    ``server_selection_timeout_s`` finding and connecting to the server,
    ``socket_timeout_s`` each reply outside a query (ping, listing), ``query_timeout_s``
    one whole query, first to last batch. ``batch_size``: documents per batch.
    """

    uri: str | None = Field(default=None, repr=False)
    host: str | None = None
    port: PositiveInt = 27017
    database: str = "telemetry"
    user: str | None = None
    password: Secret = None
    auth_source: str = "admin"
    auth_mechanism: str = "SCRAM-SHA-1"
    tls: bool = True
    ca_file: str | None = None
    direct_connection: bool = True
    server_selection_timeout_s: PositiveFloat = 20.0
    socket_timeout_s: PositiveFloat = 120.0
    query_timeout_s: PositiveFloat = 900.0
    batch_size: PositiveInt = 5000

    @field_validator("uri")
    @classmethod
    def _no_password_in_uri(cls, value: str | None) -> str | None:
        if value and urlsplit(value).password:
            raise ValueError(f"must not contain a password: put it in {variable('docdb', 'password')} instead")
        return value

    @property
    def address(self) -> str:
        """``host:port/database``, for messages."""
        return f"{self.host}:{self.port}/{self.database}"


class BastionSettings(_Group):
    """The SSH bastion in front of the database (variables ``USAGE_BASTION_*``).

    ``host`` unset: no tunnel, the database is reached directly. ``port``: the bastion's SSH
    port. ``user``: login name. ``key_file``: private key (OpenSSH or PEM; ed25519, ECDSA
    or RSA); ``key_passphrase``: its passphrase, or None for an unencrypted key.
    ``known_hosts``: OpenSSH known_hosts file holding the bastion's key (hashed entries and
    ``[host]:port`` entries work); ``host_key_fingerprint``: instead, the bastion key's
    ``SHA256:...`` fingerprint as ``ssh-keygen -lf`` prints it. ``keepalive_s``: SSH
    keepalive interval, seconds (0: off). ``timeout_s``: seconds for the TCP connect, the
    banner, the login and opening each forwarded channel.
    """

    host: str | None = None
    port: PositiveInt = 22
    user: str | None = None
    key_file: str | None = None
    key_passphrase: Secret = None
    known_hosts: str = "~/.ssh/known_hosts"
    host_key_fingerprint: str | None = None
    keepalive_s: NonNegativeInt = 30
    timeout_s: PositiveFloat = 15.0

    @property
    def address(self) -> str:
        """``user@host:port``, for messages."""
        return f"{self.user}@{self.host}:{self.port}"


class PrometheusSettings(_Group):
    """The optional Prometheus enrichment (variables ``USAGE_PROMETHEUS_*``).

    ``endpoint``: base URL such as ``http://prometheus:9090``, or None (not configured).
    ``range``: ``7d``, ``14d`` or ``30d``, the length of the current and of the previous
    window. ``series``: comma-separated counter names with their ``_total`` suffix (None:
    the registry's own, :data:`DEFAULT_SERIES`). ``timeout``: seconds for connecting and
    for each answer. (Switching it off is the top-level ``no_prometheus``: its variable is
    ``USAGE_NO_PROMETHEUS``.)
    """

    endpoint: Annotated[str | None, AfterValidator(_http_url)] = Field(default=None, repr=False)
    range: str = DEFAULT_RANGE
    series: str | None = None
    timeout: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=300)

    @field_validator("range", mode="before")
    @classmethod
    def _range_label(cls, value: str | int) -> str:
        return range_label(parse_range(value))

    @field_validator("series")
    @classmethod
    def _metric_names(cls, value: str | None) -> str | None:
        names = [name.strip() for name in (value or "").split(",") if name.strip()]
        return ",".join(check_metric_name(name) for name in names) or None

    @property
    def series_names(self) -> list[str]:
        """The counters to query: ``series`` split, or :data:`DEFAULT_SERIES`."""
        return self.series.split(",") if self.series else list(DEFAULT_SERIES)


class GitHubSettings(_Group):
    """The repository whose statistics the report shows (variables ``USAGE_GITHUB_*``).

    ``repo``: ``owner/name``, or None (the section says it is not configured). ``api_url``:
    the REST API root. ``token``: optional; raises the rate limit from 60 to 5,000
    requests an hour.
    """

    repo: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    api_url: Annotated[str, AfterValidator(_http_url)] = Field(default=GITHUB_API_URL, repr=False)
    token: Secret = None


class QualitySettings(_Group):
    """When the data-quality asset checks on ``raw_events`` warn (variables ``USAGE_QUALITY_*``).

    ``max_rejected_rows_pct``: rows of a day rejected as no event, in % of the rows fetched.
    ``max_cleared_fields_pct``: field values set to null (kept events), per 100 kept events.
    Above either, the check warns; it never blocks the pipeline.
    """

    max_rejected_rows_pct: NonNegativeFloat = 1.0
    max_cleared_fields_pct: NonNegativeFloat = 5.0


class Settings(BaseSettings):
    """Where events come from, where outputs go, and the optional enrichments.

    ``source``: ``demo`` (built-in simulated fleet), ``csv`` (reference exports at
    ``csv_path``) or ``documentdb`` (``docdb``, through ``bastion``).
    ``internal_instances``: optional allowlist file of internal installs (for ``demo``, the
    simulator's own list is used when unset). ``workspaces_dir``: the folder holding one
    workspace per source (:mod:`usage_assets.workspace`), whose ``data/``, ``reports/`` and
    ``dagster_home/`` are the defaults of ``data_dir``, ``reports_dir`` and
    ``DAGSTER_HOME``. ``data_dir``: the day-partitioned data lake; ``reports_dir``:
    ``<reports_dir>/<D>/`` report folders (None: the source's workspace's).
    ``partitions_start``: the first daily partition (UTC; None: the source's first day).
    ``demo_*``: the simulator's seed, first day (YYYY-MM-DD) and initial new installs per
    day. ``no_prometheus``: leave Prometheus out even when ``prometheus.endpoint`` is set.
    ``cost_model``: the JSON file of daily platform rates behind the infra-spend section;
    ``forecast_target``: the install count the forecast gives an ETA for.
    ``ingest_retry_delay_s``: seconds before the ingest's first retry of a flaky source,
    then twice and four times that. ``partitions_start`` and ``ingest_retry_delay_s`` are
    read when the definitions are imported (they are part of them). The report's settings
    stay top-level because their variables (``USAGE_COST_MODEL``,
    ``USAGE_FORECAST_TARGET``, ``USAGE_INTERNAL_INSTANCES``) share no group prefix.

    Constructing one reads the environment and ``.env`` for every value not given, and
    validates; pydantic's ``ValidationError`` is raised for direct construction,
    :class:`SettingsError` by :meth:`from_env`.
    """

    model_config = SettingsConfigDict(
        env_prefix="USAGE_",
        # USAGE_DOCDB_SERVER_SELECTION_TIMEOUT_S is docdb.server_selection_timeout_s: one split
        # after the group's name, so field names keep their underscores.
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_ignore_empty=True,
        env_file=PROJECT_ROOT / ".env",
        # .env also holds other variables (DAGSTER_HOME); like the environment's, they are ignored.
        dotenv_filtering="only_existing",
        frozen=True,
        extra="forbid",
    )

    source: SourceName = "demo"
    csv_path: str | None = None
    internal_instances: str | None = None
    workspaces_dir: str = str(PROJECT_ROOT / "workspaces")
    data_dir: str | None = None
    reports_dir: str | None = None
    partitions_start: date | None = None
    demo_seed: int = 7
    demo_start: str = "2026-08-23"
    demo_daily_new_installs: PositiveFloat = 2.0
    no_prometheus: bool = False
    cost_model: str = str(PROJECT_ROOT / "cost_model.json")
    forecast_target: PositiveInt = 1000
    ingest_retry_delay_s: NonNegativeFloat = 30.0
    docdb: DatabaseSettings = DatabaseSettings()
    bastion: BastionSettings = BastionSettings()
    prometheus: PrometheusSettings = PrometheusSettings()
    github: GitHubSettings = GitHubSettings()
    quality: QualitySettings = QualitySettings()

    @field_validator("demo_start")
    @classmethod
    def _iso_day(cls, value: str) -> str:
        try:
            date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(f"must be YYYY-MM-DD, got {value!r}") from error
        return value

    def check_source(self) -> None:
        """Raise :class:`SettingsError` when the chosen source lacks what it needs: the csv
        source a path, the documentdb source the database's address."""
        if self.source == "csv" and not self.csv_path:
            raise SettingsError(
                f"the csv source needs a path: set {variable('csv_path')} (or pass --csv-path) to a "
                "registry_metrics.csv or a folder of dated exports"
            )
        if self.source == "documentdb" and not (self.docdb.host or self.docdb.uri):
            raise SettingsError(
                f"the documentdb source needs the database address: set {variable('docdb', 'host')} (the "
                f"endpoint as seen from the bastion) or {variable('docdb', 'uri')}; see the README's "
                "DocumentDB section"
            )

    @classmethod
    def from_env(cls, *, need_source: bool = True, **overrides: Any) -> "Settings":
        """Settings from the environment and ``.env``, then the non-None ``overrides``.

        ``overrides`` are named like the variables, without ``USAGE_`` and in lower case, as
        the CLI's options are: ``csv_path``, ``no_prometheus``, ``prometheus_endpoint``
        (``prometheus.endpoint``). Empty variables count as unset. ``need_source=False``
        skips :meth:`check_source` (for commands that only read the data lake). Raises
        :class:`SettingsError` naming the variable of every invalid value.
        """
        values: dict[str, Any] = {}
        for name, value in overrides.items():
            if value is None:
                continue
            # Split as the variables are: the group's name, then the field's.
            group, _, field = name.partition("_")
            if group in GROUPS:
                values.setdefault(group, {})[field] = value
            else:
                values[name] = value
        try:
            settings = cls(**values)
        except ValidationError as error:
            raise SettingsError(describe_errors(error)) from None
        if need_source:
            settings.check_source()
        return settings


#: The settings groups: top-level fields holding a model, read from ``USAGE_<GROUP>_*``.
GROUPS: dict[str, type[BaseModel]] = {
    name: field.annotation for name, field in Settings.model_fields.items() if isinstance(field.default, BaseModel)
}


def variable(*path: str) -> str:
    """The environment variable of the setting at ``path``: ``variable("csv_path")`` is
    ``USAGE_CSV_PATH``, ``variable("docdb", "host")`` is ``USAGE_DOCDB_HOST``."""
    config = Settings.model_config
    return (config["env_prefix"] + config["env_nested_delimiter"].join(path)).upper()


def _field(path: tuple[str, ...]) -> FieldInfo | None:
    """The declaration of the setting at ``path``, or None for a name that is no setting."""
    if len(path) == 2 and path[0] in GROUPS:
        return GROUPS[path[0]].model_fields.get(path[1])
    return Settings.model_fields.get(path[0]) if len(path) == 1 else None


def describe_errors(error: ValidationError) -> str:
    """One line per invalid setting, naming its environment variable.

    The value given is repeated only for declared settings that are not URLs or secrets
    (``repr=False``); an unknown name under a group's prefix (a typo) is named without it.
    """
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "is not a setting (.env.example lists them all)"
        path = tuple(str(part) for part in problem["loc"])
        if not path:
            lines.append(message)
            continue
        field = _field(path)
        given = repr(problem["input"]) if field is not None and field.repr else "<hidden>"
        lines.append(f"{variable(*path)}: {message}" + ("" if given in message else f" (got {given})"))
    return "\n".join(lines)
