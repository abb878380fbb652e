"""The project's instance and its default storage (usage_assets/instance_storage.py) on real
SQLite files: what it writes, Dagster's own SQLite storage reads, and the other way round;
it keeps the data in the folder it is loaded from (with or without DAGSTER_HOME, after the
folder is copied); PostgreSQL settings still take precedence; the engines it keeps are
reused and bounded."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from usage_assets.instance_config import instance_config
from usage_assets.instance_storage import KEPT_ENGINES, EngineReusingSqliteStorage, UsageAssetsInstance
from usage_assets.settings import PostgresSettings

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=DAYS)
def counted(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"day": context.partition_key})


def _instance(home: Path, ours: bool) -> dg.DagsterInstance:
    """An instance on ``home`` from its dagster.yaml: the project's, or one without its
    instance class (Dagster's default SQLite storage on the same folder)."""
    config = yaml.safe_load(instance_config()) if ours else {"telemetry": {"enabled": False}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(home))


def _materialize(instance: dg.DagsterInstance, day: str) -> None:
    assert dg.materialize([counted], instance=instance, partition_key=day).success


def _days(instance: dg.DagsterInstance) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey("counted")))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def test_the_project_instance_keeps_its_data_in_the_folder_it_is_loaded_from(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    (tmp_path / "home").mkdir()
    with _instance(tmp_path / "home", ours=True) as instance:
        assert isinstance(instance, UsageAssetsInstance)
        _materialize(instance, "2026-01-01")
    assert (tmp_path / "home" / "history" / "runs.db").is_file()
    # A copy of the folder is a home of its own: what it writes stays in it.
    shutil.copytree(tmp_path / "home", tmp_path / "copy")
    with dg.DagsterInstance.from_config(str(tmp_path / "copy")) as copy:
        assert _days(copy) == {"2026-01-01"}
        _materialize(copy, "2026-01-02")
        assert _days(copy) == {"2026-01-01", "2026-01-02"}
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as original:
        assert _days(original) == {"2026-01-01"}


def test_postgres_settings_still_choose_the_storage():
    config = yaml.safe_load(instance_config(PostgresSettings(host="db.internal")))
    assert config["instance_class"]["class"] == "UsageAssetsInstance" and "postgres" in config["storage"]
    defaults = UsageAssetsInstance.config_defaults("/some/home")
    assert defaults["storage"].class_name == "EngineReusingSqliteStorage"
    assert yaml.safe_load(defaults["storage"].config_yaml) == {"base_dir": "/some/home"}


def test_what_it_writes_dagster_reads_and_the_other_way_round(home):
    with _instance(home, ours=True) as instance:
        assert isinstance(instance.get_ref().storage, EngineReusingSqliteStorage)
        _materialize(instance, "2026-01-01")
    with _instance(home, ours=False) as instance:
        assert type(instance.get_ref().storage).__name__ == "DagsterSqliteStorage"
        assert _days(instance) == {"2026-01-01"}
        _materialize(instance, "2026-01-02")
    with _instance(home, ours=True) as instance:
        assert _days(instance) == {"2026-01-01", "2026-01-02"}
        (run,) = instance.get_runs(limit=1)
        last_event = instance.all_logs(run.run_id)[-1]
        assert last_event.dagster_event_type == dg.DagsterEventType.RUN_SUCCESS
    # The same files as Dagster's layout: runs, one event-log database per run plus the index.
    assert (home / "history" / "runs.db").is_file()
    assert len(list((home / "history" / "runs").glob("*.db"))) == 3


def test_engines_are_reused_and_bounded(home):
    with _instance(home, ours=True) as instance:
        event_log = instance.event_log_storage
        _materialize(instance, "2026-01-01")
        index_engine = event_log._engines["index"]
        for day in range(2, KEPT_ENGINES + 4):
            _materialize(instance, f"2026-01-{day:02d}")
        # The index's engine served every run's events; only the newest runs' engines are kept.
        assert event_log._engines["index"] is index_engine
        assert len(event_log._engines) == KEPT_ENGINES
        assert _days(instance) == {f"2026-01-{day:02d}" for day in range(1, KEPT_ENGINES + 4)}
        # As with Dagster's: WAL mode, and no connection left open between uses (the last
        # connection to close copies the write-ahead log into the database file, which the
        # webserver's live view of a run watches, and deletes the log).
        with event_log.index_connection() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert not list((home / "history" / "runs").glob("*.db-wal"))
