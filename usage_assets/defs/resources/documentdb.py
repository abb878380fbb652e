"""The production telemetry source: DocumentDB/MongoDB, optionally through an SSH bastion.

:class:`DocumentDBTelemetrySource` is the ``documentdb`` source of ``usage-report`` and of
the Dagster UI (both build it with :func:`usage_assets.definitions.build_telemetry_source`).
Its fields are plain settings except the two secrets, ``password`` and
``bastion_key_passphrase``, which are given as ``dg.EnvVar(...)``: Dagster reads them when
a run starts and shows only the variable's name in the UI. The work is done by
:mod:`usage_assets.sources.documentdb.client` (queries, error explanations) and
:mod:`usage_assets.sources.documentdb.ssh_tunnel` (the tunnel); this module only wires configuration.

Each call (``fetch_day``, ``count_day``, ``coverage``, ``check``) opens its own session
(tunnel, client) and closes it before returning, so no connection outlives a step.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from usage_assets.common.days import last_complete_utc_day
from usage_assets.defs.resources.telemetry import TelemetrySource
from usage_assets.sources.documentdb.client import (
    DatabaseConfig,
    TelemetryDatabase,
    parse_database_uri,
)
from usage_assets.sources.documentdb.ssh_tunnel import BastionConfig
from usage_assets.sources.errors import SourceCheckStep, SourceError

#: Environment variables of the two secret fields (read by dg.EnvVar, never by Settings).
PASSWORD_ENV = "USAGE_DOCDB_PASSWORD"
KEY_PASSPHRASE_ENV = "USAGE_BASTION_KEY_PASSPHRASE"


class DocumentDBTelemetrySource(TelemetrySource):
    """Telemetry events read from the collector's database, one UTC day per query.

    Database: ``uri`` (``mongodb://host:port/db?options``, no credentials) or
    ``host``/``port``/``database``; ``user`` and ``password`` (secret) checked against
    ``auth_source`` with ``auth_mechanism``; ``tls`` with ``ca_file``;
    ``direct_connection``; timeouts in seconds (``server_selection_timeout_s``,
    ``socket_timeout_s``, ``query_timeout_s`` = budget of one whole query);
    ``batch_size`` documents per batch (reference 3.2).

    Bastion (optional; no tunnel when ``bastion_host`` is empty): ``bastion_host``,
    ``bastion_port``, ``bastion_user``, ``bastion_key_file``, ``bastion_key_passphrase``
    (secret), ``bastion_known_hosts`` or ``bastion_host_key_fingerprint`` (``SHA256:...``),
    ``bastion_keepalive_s``, ``bastion_timeout_s``.

    Every method raises :class:`usage_assets.sources.errors.SourceError` when the
    source cannot be read; its ``transient`` flag tells the ingest asset whether to retry.
    """

    uri: str | None = None
    host: str | None = None
    port: int = 27017
    database: str = "telemetry"
    user: str | None = None
    password: str | None = None
    auth_source: str = "admin"
    auth_mechanism: str = "SCRAM-SHA-1"
    tls: bool = True
    ca_file: str | None = None
    direct_connection: bool = True
    server_selection_timeout_s: float = 20.0
    socket_timeout_s: float = 120.0
    query_timeout_s: float = 900.0
    batch_size: int = 5000

    bastion_host: str | None = None
    bastion_port: int = 22
    bastion_user: str | None = None
    bastion_key_file: str | None = None
    bastion_key_passphrase: str | None = None
    bastion_known_hosts: str = "~/.ssh/known_hosts"
    bastion_host_key_fingerprint: str | None = None
    bastion_keepalive_s: int = 30
    bastion_timeout_s: float = 15.0

    # -- configuration -------------------------------------------------------------------

    def database_config(self) -> DatabaseConfig:
        """The database settings; raises :class:`SourceError` (stage ``config``) when incomplete."""
        fields = parse_database_uri(self.uri) if self.uri else {}
        host = fields.pop("host", None) or self.host
        if not host:
            raise SourceError(
                "the documentdb source has no database address",
                "Set USAGE_DOCDB_HOST (the endpoint as seen from the bastion) or USAGE_DOCDB_URI.",
                stage="config",
            )
        return DatabaseConfig(
            host=host,
            port=int(fields.pop("port", None) or self.port),
            database=fields.pop("database", None) or self.database,
            user=fields.pop("user", None) or self.user,
            password=self.password,
            auth_source=self.auth_source,
            auth_mechanism=self.auth_mechanism,
            tls=self.tls,
            tls_ca_file=self.ca_file,
            direct_connection=self.direct_connection,
            server_selection_timeout_s=self.server_selection_timeout_s,
            socket_timeout_s=self.socket_timeout_s,
            query_timeout_s=self.query_timeout_s,
            batch_size=self.batch_size,
            options=fields.pop("options", {}),
        )

    def bastion_config(self) -> BastionConfig | None:
        """The bastion settings, or None without a bastion; raises :class:`SourceError` when incomplete."""
        if not self.bastion_host:
            return None
        missing = [name for name, value in (("USAGE_BASTION_USER", self.bastion_user),
                                            ("USAGE_BASTION_KEY_FILE", self.bastion_key_file)) if not value]
        if missing:
            raise SourceError(
                f"USAGE_BASTION_HOST is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not",
                "Set the bastion's login user and the private key file (see the README's DocumentDB section).",
                stage="config",
            )
        return BastionConfig(
            host=self.bastion_host,
            port=self.bastion_port,
            user=self.bastion_user,
            key_file=self.bastion_key_file,
            key_passphrase=self.bastion_key_passphrase,
            known_hosts=self.bastion_known_hosts,
            host_key_fingerprint=self.bastion_host_key_fingerprint,
            connect_timeout_s=self.bastion_timeout_s,
            keepalive_s=self.bastion_keepalive_s,
        )

    def session(self) -> TelemetryDatabase:
        """A new, unopened session; use it as a context manager."""
        return TelemetryDatabase(self.database_config(), self.bastion_config())

    # -- TelemetrySource -----------------------------------------------------------------

    def fetch_day(self, day: date) -> pl.DataFrame:
        with self.session() as database:
            return database.fetch_day(day)

    def count_day(self, day: date) -> dict[str, int]:
        with self.session() as database:
            return database.count_day(day)

    def coverage(self) -> tuple[date, date] | None:
        """(UTC day of the oldest event, yesterday UTC), or None for empty collections."""
        with self.session() as database:
            first = database.first_day()
        if first is None:
            return None
        return first, max(first, last_complete_utc_day())

    def describe(self) -> str:
        try:
            config = self.database_config()
            where = f"DocumentDB {config.address}"
        except SourceError:
            where = "DocumentDB (address not configured)"
        if self.bastion_host:
            where += f" via bastion {self.bastion_user}@{self.bastion_host}:{self.bastion_port}"
        return where

    def check(self, day: date | None = None) -> list[SourceCheckStep]:
        """Settings, tunnel, connection (TLS, auth), both collections, counts of ``day``.

        ``day`` defaults to yesterday (UTC). Stops at the first failing step.
        """
        day = day or last_complete_utc_day()
        try:
            session = self.session()
        except SourceError as error:
            return [SourceCheckStep("settings", False, str(error))]
        steps = [SourceCheckStep("settings", True, self.describe())]
        try:
            with session as database:
                if database.tunnel is not None:
                    bastion = database.bastion
                    trust = ("pinned fingerprint" if bastion.host_key_fingerprint
                             else f"found in {bastion.known_hosts}")
                    steps.append(SourceCheckStep(
                        "SSH tunnel", True,
                        f"{bastion.address}: host key {database.tunnel.host_key_fingerprint} ({trust}), "
                        f"forwarding 127.0.0.1:{database.tunnel.local_port} to "
                        f"{database.config.host}:{database.config.port}",
                    ))
                steps.extend(database.diagnose(day))
        except SourceError as error:
            name = "SSH tunnel" if error.stage == "tunnel" else "settings" if error.stage == "config" else error.stage
            steps.append(SourceCheckStep(name, False, str(error)))
        return steps


def documentdb_source_from_settings(settings, environ=None) -> DocumentDBTelemetrySource:
    """The resource for ``settings`` (a :class:`usage_assets.settings.Settings`).

    Non-secret fields come from the settings; each secret is passed as
    ``dg.EnvVar(name)`` when its variable is set in ``environ`` (default ``os.environ``;
    only its presence is looked at here), so its value is read when a run starts and
    is never part of the definitions, the UI or a log.
    """
    environ = os.environ if environ is None else environ

    def secret(name: str):
        return dg.EnvVar(name) if environ.get(name) else None

    database, bastion = settings.docdb, settings.bastion
    return DocumentDBTelemetrySource(
        uri=database.uri,
        host=database.host,
        port=database.port,
        database=database.database,
        user=database.user,
        password=secret(PASSWORD_ENV),
        auth_source=database.auth_source,
        auth_mechanism=database.auth_mechanism,
        tls=database.tls,
        ca_file=str(Path(database.ca_file).expanduser()) if database.ca_file else None,
        direct_connection=database.direct_connection,
        server_selection_timeout_s=database.server_selection_timeout_s,
        socket_timeout_s=database.socket_timeout_s,
        query_timeout_s=database.query_timeout_s,
        batch_size=database.batch_size,
        bastion_host=bastion.host,
        bastion_port=bastion.port,
        bastion_user=bastion.user,
        bastion_key_file=str(Path(bastion.key_file).expanduser()) if bastion.key_file else None,
        bastion_key_passphrase=secret(KEY_PASSPHRASE_ENV),
        bastion_known_hosts=str(Path(bastion.known_hosts).expanduser()),
        bastion_host_key_fingerprint=bastion.host_key_fingerprint,
        bastion_keepalive_s=bastion.keepalive_s,
        bastion_timeout_s=bastion.timeout_s,
    )
