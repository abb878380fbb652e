"""The Dagster instance's default SQLite storage, with its event log cheaper to write.

Dagster's SQLite event log (one database per run plus an index database, under
``$DAGSTER_HOME/history/runs/``) builds a new SQLAlchemy engine for every read and write and
disposes of it afterwards, so each of the ~235 events of a report run pays for building an
engine and for compiling its SQL again (SQLAlchemy caches compiled statements per engine):
0.3-0.5 s of CPU in a 5 s report run on this project's 2-core machine.

:class:`EngineReusingSqliteStorage` is Dagster's ``DagsterSqliteStorage`` (same files, same
schema, same layout: an existing Dagster home reads as before, and Dagster's own storage
reads what it writes) whose event log keeps one engine per database, for the most recent
databases. Connections are still not pooled (``NullPool``, as Dagster does): each closes
after its transaction, so no connection outlives its use, several processes (CLI,
webserver, daemon, run workers) keep sharing the files, and the webserver's live view of a
run (a file watch on the run's database, which changes when the last connection closes)
works as before.

The instance uses it through :class:`UsageAssetsInstance`, which the project's
``dagster.yaml`` names as its ``instance_class``: Dagster's instance, whose default storage
(when ``dagster.yaml`` names none, i.e. unless PostgreSQL is configured) is this one, in the
instance's own folder, as Dagster's default is. So a copied or moved Dagster home, and
``DagsterInstance.from_config(folder)``, use the folder they are loaded from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import sqlalchemy
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, SqliteStorageConfig, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy.pool import NullPool

#: Engines kept per process: the index database and the databases of the runs written or
#: read most recently (a long-lived webserver reads many runs; older engines are dropped).
KEPT_ENGINES = 16


class EngineReusingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's per-run SQLite event log, with one engine per database reused across
    reads and writes (at most :data:`KEPT_ENGINES`)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, sqlalchemy.Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> sqlalchemy.Engine:
        """The engine of ``shard``'s database file, created on first use (most recent last)."""
        with self._engines_lock:
            engine = self._engines.pop(shard, None)
            if engine is None:
                engine = sqlalchemy.create_engine(
                    self.conn_string_for_shard(shard), poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
            self._engines[shard] = engine
            while len(self._engines) > KEPT_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sqlalchemy.Connection]:
        # As Dagster's own: one transaction per use, the database created on first use.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    def has_table(self, table_name: str) -> bool:
        # Called while a connection is open (so without the database lock), on every asset event.
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as connection:
            return bool(engine.dialect.has_table(connection, table_name))

    def dispose(self) -> None:
        super().dispose()
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


class EngineReusingSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (runs, event log, schedules under ``base_dir``, the
    Dagster home) with :class:`EngineReusingSqliteEventLogStorage` as its event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage = EngineReusingSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData, config_value: SqliteStorageConfig
    ) -> EngineReusingSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


class UsageAssetsInstance(dg.DagsterInstance):
    """Dagster's instance whose default storage is :class:`EngineReusingSqliteStorage` in the
    instance's folder. ``dagster.yaml``::

        instance_class:
          module: usage_assets.instance_storage
          class: UsageAssetsInstance

    A ``storage`` block in ``dagster.yaml`` (PostgreSQL) still takes precedence, as it does
    over Dagster's own default."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}  # no settings of its own

    @staticmethod
    def config_defaults(base_dir: str) -> dict[str, ConfigurableClassData | None]:
        return {
            **InstanceRef.config_defaults(base_dir),
            "storage": ConfigurableClassData(__name__, EngineReusingSqliteStorage.__name__,
                                             yaml.dump({"base_dir": base_dir}, default_flow_style=False)),
        }
