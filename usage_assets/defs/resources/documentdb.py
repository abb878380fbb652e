"""The production telemetry source: DocumentDB/MongoDB, optionally through an SSH bastion.

:class:`DocumentDBTelemetrySource` is the ``documentdb`` source of ``usage-report`` and of
the Dagster UI (both build it with :func:`usage_assets.definitions.build_telemetry_source`).
Its two fields are the settings models :class:`usage_assets.settings.DatabaseSettings`
and :class:`usage_assets.settings.BastionSettings` as Dagster config, whose secrets,
``password`` and ``key_passphrase``, are given as ``dg.EnvVar(...)``: Dagster reads them
when a run starts and shows only the variable's name in the UI. The work is done by
:mod:`usage_assets.sources.documentdb.client` (queries, error explanations) and
:mod:`usage_assets.sources.documentdb.ssh_tunnel` (the tunnel); this module only wires configuration.

Each call (``fetch_day``, ``count_day``, ``coverage``, ``check``) opens its own session
(tunnel, client) and closes it before returning, so no connection outlives a step.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl
from pydantic import Field

from usage_assets.common.days import last_complete_utc_day
from usage_assets.defs.resources.telemetry import TelemetrySource, day_step
from usage_assets.settings import BastionSettings, DatabaseSettings
from usage_assets.sources.errors import SourceCheckStep, SourceError

if TYPE_CHECKING:
    from usage_assets.sources.documentdb.client import TelemetryDatabase


class DatabaseConfig(DatabaseSettings, dg.Config):
    """:class:`DatabaseSettings` as Dagster config: ``password`` is ``dg.EnvVar(...)`` (or None)."""

    password: str | None = Field(default=None, repr=False)


class BastionConfig(BastionSettings, dg.Config):
    """:class:`BastionSettings` as Dagster config: ``key_passphrase`` is ``dg.EnvVar(...)`` (or None)."""

    key_passphrase: str | None = Field(default=None, repr=False)


class DocumentDBTelemetrySource(TelemetrySource):
    """Telemetry events read from the collector's database, one UTC day per query.

    ``database``: where the database is and how to log in; ``bastion``: the SSH bastion
    in front of it (no tunnel when its ``host`` is unset). See
    :class:`usage_assets.settings.DatabaseSettings` and
    :class:`usage_assets.settings.BastionSettings` for the fields, units and defaults.

    Every method raises :class:`usage_assets.sources.errors.SourceError` when the
    source cannot be read; its ``transient`` flag tells the ingest asset whether to retry.
    """

    database: DatabaseConfig
    bastion: BastionConfig

    # -- configuration -------------------------------------------------------------------

    def settings(self) -> tuple[DatabaseSettings, BastionSettings]:
        """The database and bastion settings as the client takes them: the secrets, read
        by Dagster when the run started, become ``SecretStr`` again."""
        return (DatabaseSettings.model_validate(self.database.model_dump()),
                BastionSettings.model_validate(self.bastion.model_dump()))

    def session(self) -> TelemetryDatabase:
        """A new, unopened session; use it as a context manager. Raises
        :class:`SourceError` (stage ``config``) when the settings are incomplete."""
        # Imported when used: pymongo and paramiko are a fifth of a second of every
        # process's start, and only DocumentDB sources need them.
        from usage_assets.sources.documentdb.client import TelemetryDatabase

        return TelemetryDatabase(*self.settings())

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
            from usage_assets.sources.documentdb.client import TelemetryDatabase

            database, _ = self.settings()
            where = f"DocumentDB {TelemetryDatabase(database).config.address}"
        except SourceError:
            where = "DocumentDB (address not configured)"
        if self.bastion.host:
            where += f" via bastion {self.bastion.address}"
        return where

    def check(self, day: date | None = None) -> list[SourceCheckStep]:
        """Settings (files included: CA bundle, SSH key and its passphrase), tunnel,
        connection (TLS, auth), both collections, the events of ``day`` (:func:`day_step`).

        ``day`` defaults to yesterday (UTC). Stops at the first failing step.
        """
        day = day or last_complete_utc_day()
        try:
            session = self.session()
            session.preflight()
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
                steps.extend(database.diagnose())
                if all(step.ok for step in steps):
                    steps.append(day_step(day, database.count_day, database.fetch_day))
        except SourceError as error:
            if error.stage == "config":
                # A setting found wrong only while connecting (a missing known_hosts file):
                # the settings step fails, it is not reported as passed first.
                return [SourceCheckStep("settings", False, str(error))]
            name = "SSH tunnel" if error.stage == "tunnel" else error.stage
            steps.append(SourceCheckStep(name, False, str(error)))
        return steps
