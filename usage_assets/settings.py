"""Settings shared by the CLI, the Dagster UI and the schedule, read from the environment.

Every setting is declared once, here: :class:`Settings` holds the top-level ones and one
model per group - :class:`DatabaseSettings`, :class:`BastionSettings`,
:class:`PrometheusSettings`, :class:`GitHubSettings`, :class:`S3Settings`,
:class:`QualitySettings` - which the resources (as Dagster config, secrets as
``dg.EnvVar``) and the DocumentDB client take as they are; the production groups
:class:`PostgresSettings`, :class:`AlertsSettings`, :class:`DeliverySettings` and
:class:`AutomationSettings` are read by the instance config and the sensors of
``usage_assets/defs/automation/``. A setting's
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

from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from usage_assets.enrichment.github_stats import GITHUB_API_URL
from usage_assets.enrichment.prometheus_client import (
    DEFAULT_TIMEOUT_SECONDS,
    build_auth,
    check_metric_name,
    parse_selector,
)
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
    the registry's own, :data:`DEFAULT_SERIES`). ``selector``: a label selector applied to
    every query, e.g. ``{job="registry", env="prod"}`` (None: every series of those names).
    ``timeout``: seconds for connecting and for each answer. Authentication: ``auth``
    (``none``, ``bearer``, ``basic`` or ``sigv4``; None: the one whose settings are set,
    refused when several are) with ``bearer_token``; ``username`` and ``password`` (basic
    auth); or ``sigv4_region``, the AWS region of an Amazon Managed Service for Prometheus
    workspace (requests are signed with the standard AWS credential chain: environment,
    ``~/.aws``, SSO, task or instance role). (Switching it off is the top-level
    ``no_prometheus``: its variable is ``USAGE_NO_PROMETHEUS``.)
    """

    endpoint: Annotated[str | None, AfterValidator(_http_url)] = Field(default=None, repr=False)
    range: str = DEFAULT_RANGE
    series: str | None = None
    selector: str | None = None
    timeout: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=300)
    auth: str | None = Field(default=None, pattern=r"^(none|bearer|basic|sigv4)$")
    bearer_token: Secret = None
    username: str | None = None
    password: Secret = None
    sigv4_region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")

    @field_validator("range", mode="before")
    @classmethod
    def _range_label(cls, value: str | int) -> str:
        return range_label(parse_range(value))

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        return parse_selector(value) or None

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> PrometheusSettings:
        self.requests_auth()  # raises ValueError for several ways without a choice, or a missing setting
        return self

    def requests_auth(self):
        """The ``requests`` authentication these settings ask for (see
        :func:`usage_assets.enrichment.prometheus_client.build_auth`), or None. The secrets are
        ``SecretStr`` in settings and plain strings (resolved ``dg.EnvVar``) in the resource."""
        def reveal(secret: SecretStr | str | None) -> str | None:
            return secret.get_secret_value() if isinstance(secret, SecretStr) else secret

        return build_auth(self.auth, reveal(self.bearer_token), self.username, reveal(self.password),
                          self.sigv4_region)

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


class S3Settings(_Group):
    """How to reach S3 when ``data_dir`` or ``reports_dir`` is an ``s3://bucket/prefix`` URL
    (variables ``USAGE_S3_*``). Credentials are not settings: they come from the standard
    AWS chain (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, web
    identity, the instance or pod role).

    ``endpoint_url``: an S3-compatible store's endpoint (MinIO, Ceph), None for AWS S3.
    ``region``: the bucket's region, None for the AWS chain's (``AWS_REGION``), else
    ``us-east-1``.
    """

    endpoint_url: Annotated[str | None, AfterValidator(_http_url)] = Field(default=None, repr=False)
    region: str | None = None


def _folder_or_bucket(value: str | None) -> str | None:
    if value and value.lower().startswith("s3://") and not urlsplit(value).netloc:
        raise ValueError("must name a bucket: s3://bucket or s3://bucket/prefix")
    return value


def _time_of_day(value: str | time) -> time:
    """``HH:MM`` (UTC) as a ``time``."""
    if isinstance(value, time):
        return value
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError as error:
        raise ValueError(f"must be a UTC time of day HH:MM such as 03:00, got {value!r}") from error
    return parsed.replace(second=0, microsecond=0)


def _addresses(value: str | None) -> str | None:
    """Comma-separated e-mail addresses, each with an ``@``; None when empty."""
    addresses = [address.strip() for address in (value or "").split(",") if address.strip()]
    for address in addresses:
        if "@" not in address or any(character.isspace() for character in address):
            raise ValueError(f"{address!r} is not an e-mail address")
    return ",".join(addresses) or None


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
Addresses = Annotated[str | None, AfterValidator(_addresses)]


class PostgresSettings(_Group):
    """The Dagster instance's PostgreSQL (variables ``USAGE_POSTGRES_*``): run, event-log and
    schedule storage for a production deployment (``usage-report instance-config``).

    ``host`` unset (the default): the instance stays on SQLite under ``DAGSTER_HOME``.
    ``port``, ``database``, ``user``: where and as whom to connect; ``password``: its
    secret, read by Dagster from the environment when the instance starts (never written
    to ``dagster.yaml``). ``sslmode``: libpq's (``disable``, ``prefer``, ``require``,
    ``verify-full``...).
    """

    host: str | None = None
    port: PositiveInt = 5432
    database: str = "dagster"
    user: str = "dagster"
    password: Secret = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"


class AlertsSettings(_Group):
    """Where failures and late reports are told (variables ``USAGE_ALERTS_*``).

    ``slack_webhook_url``: a Slack incoming webhook (a secret: whoever has it can post).
    ``email_to``: comma-separated recipients, sent through the SMTP server ``smtp_host``:
    ``smtp_port`` with STARTTLS (``smtp_starttls``; off only for a server on the same
    host), logging in as ``smtp_user`` with ``smtp_password`` (a secret) when set;
    ``smtp_ca_file``: the CA bundle that signed the server's certificate (None: the
    system's); ``email_from``: the sender. Neither configured: no alert is sent (the UI
    still shows failures). ``ui_url``: the Dagster UI's address as the reader opens it,
    for links to runs (None: no link). ``report_deadline``: UTC time on D+1 by which the
    report of day D must exist (the freshness check). ``check_failures``: also alert on
    failed asset checks that do not fail their run (WARN severity). ``timeout_s``:
    seconds for each post or SMTP exchange.
    """

    slack_webhook_url: Annotated[str | None, AfterValidator(_http_url)] = Field(default=None, repr=False)
    email_to: Addresses = None
    email_from: str = "usage-report@localhost"
    smtp_host: str | None = None
    smtp_port: PositiveInt = 587
    smtp_user: str | None = None
    smtp_password: Secret = None
    smtp_starttls: bool = True
    smtp_ca_file: str | None = None
    ui_url: Annotated[str | None, AfterValidator(_http_url)] = None
    report_deadline: TimeOfDay = time(3, 0)
    check_failures: bool = False
    timeout_s: PositiveFloat = 10.0

    @property
    def slack(self) -> bool:
        """A Slack webhook is configured."""
        return self.slack_webhook_url is not None

    @property
    def email(self) -> bool:
        """Recipients and an SMTP server are configured."""
        return self.email_to is not None and self.smtp_host is not None


class DeliverySettings(_Group):
    """Sending each day's report when the automation builds it (variables ``USAGE_DELIVERY_*``).

    ``slack``: post the headline numbers and a link to the alerts' Slack webhook, or to
    ``slack_webhook_url`` when set (a secret). ``email_to``: comma-separated recipients of
    the HTML report, through the alerts' SMTP server. ``report_url``: where readers open
    reports, ``<report_url>/<D>/usage-report-<D>.html`` (None: the Dagster UI's run link).
    A day is sent once, after the run the automation launched for it; a backfill or a
    re-materialization of a day is sent only when its run has the tag ``usage/deliver=true``.
    """

    slack: bool = False
    slack_webhook_url: Annotated[str | None, AfterValidator(_http_url)] = Field(default=None, repr=False)
    email_to: Addresses = None
    report_url: Annotated[str | None, AfterValidator(_http_url)] = None


class AutomationSettings(_Group):
    """What the daemon builds by itself (variables ``USAGE_AUTOMATION_*``).

    ``build_at``: UTC time on D+1 after which the report of day D is built (late events of
    D have arrived). ``catch_up_days``: how many report days back, up to the newest, a
    missing report is built after downtime. ``max_runs_per_tick``: at most this many days
    requested per evaluation (the rest on the next ones). ``interval_s``: seconds between
    evaluations of the automation's sensors. ``backfill_interval_s``: seconds between the
    daemon's looks at asset backfills, read by ``usage-report daemon`` when it starts
    (:mod:`usage_assets.cli.daemon`; Dagster's own daemon looks every 30 s).
    """

    build_at: TimeOfDay = time(1, 30)
    catch_up_days: PositiveInt = 31
    max_runs_per_tick: PositiveInt = 7
    interval_s: PositiveInt = 300
    backfill_interval_s: PositiveInt = 5


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
    ``<reports_dir>/<D>/`` report folders (None: the source's workspace's); either may be
    an ``s3://bucket/prefix`` URL, reached as ``s3`` says.
    ``partitions_start``: the first daily partition (UTC; None: the source's first day).
    ``demo_*``: the simulator's seed, first day (YYYY-MM-DD) and initial new installs per
    day. ``no_prometheus``: leave Prometheus out even when ``prometheus.endpoint`` is set.
    ``cost_model``: the JSON file of daily platform rates behind the infra-spend section;
    ``forecast_target``: the install count the forecast gives an ETA for.
    ``ingest_retry_delay_s``: seconds before the ingest's first retry of a flaky source,
    then 3 and 7 times that, each give or take the delay. ``partitions_start`` and ``ingest_retry_delay_s`` are
    read when the definitions are imported (they are part of them). The report's settings
    stay top-level because their variables (``USAGE_COST_MODEL``,
    ``USAGE_FORECAST_TARGET``, ``USAGE_INTERNAL_INSTANCES``) share no group prefix.

    Constructing one reads the environment and ``.env`` for every value not given, and
    validates; pydantic's ``ValidationError`` is raised for direct construction,
    :class:`SettingsError` by :meth:`from_env`.
    """

    #: Optional groups left out because a value in them is invalid (``lenient``
    #: :meth:`from_env`): group name -> the error lines naming the variables.
    _invalid_groups: dict[str, str] = PrivateAttr(default_factory=dict)

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
    data_dir: Annotated[str | None, AfterValidator(_folder_or_bucket)] = None
    reports_dir: Annotated[str | None, AfterValidator(_folder_or_bucket)] = None
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
    s3: S3Settings = S3Settings()
    postgres: PostgresSettings = PostgresSettings()
    alerts: AlertsSettings = AlertsSettings()
    delivery: DeliverySettings = DeliverySettings()
    automation: AutomationSettings = AutomationSettings()
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

    def invalid_group(self, group: str) -> str | None:
        """Why the optional ``group`` was left out (its invalid settings), or None."""
        return self._invalid_groups.get(group)

    @classmethod
    def from_env(cls, *, need_source: bool = True, lenient: bool = False, **overrides: Any) -> "Settings":
        """Settings from the environment and ``.env``, then the non-None ``overrides``.

        ``overrides`` are named like the variables, without ``USAGE_`` and in lower case, as
        the CLI's options are: ``csv_path``, ``no_prometheus``, ``prometheus_endpoint``
        (``prometheus.endpoint``). Empty variables count as unset. ``need_source=False``
        skips :meth:`check_source` (for commands that only read the data lake). Raises
        :class:`SettingsError` naming the variable of every invalid value.

        ``lenient`` (the Dagster code location): when every invalid value lies in an
        :data:`OPTIONAL_GROUPS` group, that group gets its defaults instead and
        :meth:`invalid_group` says why, so a typo in an optional enrichment switches that
        enrichment off rather than the whole code location. The CLI is strict.
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
        invalid: dict[str, str] = {}
        try:
            settings = cls(**values)
        except ValidationError as error:
            groups = {str(problem["loc"][0]) if problem["loc"] else "" for problem in error.errors()}
            if not (lenient and groups <= set(OPTIONAL_GROUPS)):
                raise SettingsError(describe_errors(error)) from None
            invalid = {group: describe_errors(error, group) for group in sorted(groups)}
            try:
                settings = cls(**values, **{group: GROUPS[group]() for group in groups})
            except ValidationError as again:
                raise SettingsError(describe_errors(again)) from None
        settings._invalid_groups.update(invalid)
        if need_source:
            settings.check_source()
        return settings


#: The settings groups: top-level fields holding a model, read from ``USAGE_<GROUP>_*``.
GROUPS: dict[str, type[BaseModel]] = {
    name: field.annotation for name, field in Settings.model_fields.items() if isinstance(field.default, BaseModel)
}
#: Groups of optional enrichments: invalid values there switch the enrichment off in the
#: code location (:meth:`Settings.from_env` with ``lenient``) instead of failing its load.
OPTIONAL_GROUPS = ("prometheus",)


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


def describe_errors(error: ValidationError, group: str | None = None) -> str:
    """One line per invalid setting (of ``group`` only, when given), naming its
    environment variable.

    The value given is repeated only for declared settings that are not URLs or secrets
    (``repr=False``); an unknown name under a group's prefix (a typo) is named without it.
    """
    lines = []
    for problem in error.errors():
        if group is not None and (not problem["loc"] or problem["loc"][0] != group):
            continue
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "is not a setting (.env.example lists them all)"
        path = tuple(str(part) for part in problem["loc"])
        if not path:
            lines.append(message)
            continue
        if path in ((group,) for group in GROUPS):
            # A rule across a group's settings: its input is the whole group, secrets included.
            lines.append(f"{variable(*path)}_*: {message}")
            continue
        field = _field(path)
        given = repr(problem["input"]) if field is not None and field.repr else "<hidden>"
        lines.append(f"{variable(*path)}: {message}" + ("" if given in message else f" (got {given})"))
    return "\n".join(lines)
