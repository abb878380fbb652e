"""One source per workspace: identities, default folders, refusals and the recorded first day."""

from __future__ import annotations

import json
from datetime import date

import pytest

from usage_assets.definitions import build_resources, source_first_day
from usage_assets.settings import PROJECT_ROOT, Settings
from usage_assets.workspace import MANIFEST, Workspace, WorkspaceError, source_identity
from usage_assets_tests.conftest import ID_A
from usage_assets_tests.sources.test_csv_archive import header_variant, startup, write_export


def csv_settings(path, **fields) -> Settings:
    return Settings(source="csv", csv_path=str(path), **fields)


def test_each_source_kind_has_a_stable_readable_folder_name_without_secrets(tmp_path, monkeypatch):
    demo = source_identity(Settings(demo_seed=7))
    assert demo.identity == {"seed": 7, "start": "2026-08-23", "daily_new_installs": 2.0}
    assert demo.folder_name.startswith("demo-seed7-") and demo.folder_name == source_identity(Settings()).folder_name
    assert source_identity(Settings(demo_seed=8)).folder_name != demo.folder_name
    assert source_identity(Settings(demo_start="2026-03-01")).folder_name != demo.folder_name

    (tmp_path / "usage-reports").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "usage-reports")
    archive = source_identity(csv_settings(tmp_path / "usage-reports"))
    assert archive.identity == {"path": str((tmp_path / "usage-reports").resolve())}
    assert archive.folder_name.startswith("csv-usage-reports-")
    assert source_identity(csv_settings(tmp_path / "link")) == archive  # the archive's real path

    monkeypatch.setenv("USAGE_DOCDB_PASSWORD", "hunter2")
    database = source_identity(Settings.from_env(
        source="documentdb", docdb_uri="mongodb://reader@telemetry.cluster-1.docdb.amazonaws.com:27018/fleet?tls=true"
    ))
    assert database.identity == {"host": "telemetry.cluster-1.docdb.amazonaws.com", "port": 27018, "database": "fleet"}
    assert database.folder_name.startswith("documentdb-telemetry-fleet-")
    assert "hunter2" not in json.dumps(database.identity) + database.folder_name


def test_the_default_workspace_holds_the_lake_the_reports_and_a_dagster_home(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = Settings(workspaces_dir=str(tmp_path))
    workspace = Workspace.of(settings).open()
    assert workspace.root == tmp_path / source_identity(settings).folder_name
    assert (workspace.data_dir, workspace.reports_dir, workspace.dagster_home) == (
        workspace.root / "data", workspace.root / "reports", workspace.root / "dagster_home")
    instance_config = PROJECT_ROOT / "dagster_home" / "dagster.yaml"
    assert (workspace.dagster_home / "dagster.yaml").read_text() == instance_config.read_text()
    for folder in (workspace.data_dir, workspace.reports_dir, workspace.dagster_home):
        assert json.loads((folder / MANIFEST).read_text())["source"] == "demo"
    # The resources write there, and the demo's first day is its start.
    resources = build_resources(settings)
    assert resources["data_lake"].data_dir == str(workspace.data_dir)
    assert resources["report_config"].reports_dir == str(workspace.reports_dir)
    assert workspace.first_day() == date(2026, 8, 23)


def test_a_folder_of_another_source_is_refused_naming_the_setting_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    shared = {"data_dir": str(tmp_path / "data"), "reports_dir": str(tmp_path / "reports")}
    Workspace.of(Settings(**shared)).open()
    (tmp_path / "other-exports").mkdir()
    other = Workspace.of(csv_settings(tmp_path / "other-exports", **shared))
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(WorkspaceError) as refused:
        other.open()
    message = str(refused.value)
    assert f"{tmp_path / 'data'} (USAGE_DATA_DIR or --data-dir) holds the workspace of the demo source" in message
    assert "Set USAGE_DATA_DIR or --data-dir to another folder" in message and str(other.root) in message
    assert sorted(tmp_path.rglob("*")) == before
    # Its own data folder is not enough: the reports folder and the Dagster home are the demo's too.
    with pytest.raises(WorkspaceError, match="USAGE_REPORTS_DIR"):
        Workspace.of(csv_settings(tmp_path / "other-exports", reports_dir=shared["reports_dir"])).open()
    with pytest.raises(WorkspaceError, match="Set DAGSTER_HOME to another folder"):
        Workspace.of(csv_settings(tmp_path / "other-exports")).open()


def test_two_csv_archives_get_two_import_caches(tmp_path):
    for name, registry_id in (("a", ID_A), ("b", "bbbbbbbb-0000-4000-8000-00000000000b")):
        write_export(tmp_path / name / "2026-05-03" / "registry_metrics.csv", header_variant(34),
                     [startup(registry_id, "2026-05-01T10:00:00.000Z")])
    sources = [build_resources(csv_settings(tmp_path / name, workspaces_dir=str(tmp_path / "ws")))["telemetry"]
               for name in ("a", "b")]
    assert sources[0].cache_dir != sources[1].cache_dir
    for source in sources:
        source.prepare()
    assert [source.archive().day(date(2026, 5, 1))["registry_id"].to_list() for source in sources] == [
        [ID_A], ["bbbbbbbb-0000-4000-8000-00000000000b"]]


def test_a_csv_sources_first_day_is_recorded_once_and_never_moved(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    exports = tmp_path / "exports"
    write_export(exports / "2026-05-03" / "registry_metrics.csv", header_variant(34),
                 [startup(ID_A, "2026-05-01T10:00:00.000Z")])
    settings = csv_settings(exports, data_dir=str(tmp_path / "data"), reports_dir=str(tmp_path / "reports"))
    workspace = Workspace.of(settings)
    assert workspace.first_day() is None
    assert source_first_day(settings) == date(2026, 5, 1)
    assert json.loads((workspace.data_dir / MANIFEST).read_text())["first_day"] == "2026-05-01"
    # A later export with an earlier event (a late delivery) does not move the partitions.
    write_export(exports / "2026-05-04" / "registry_metrics.csv", header_variant(34),
                 [startup(ID_A, "2026-04-20T10:00:00.000Z"), startup(ID_A, "2026-05-01T10:00:00.000Z")])
    assert source_first_day(settings) == date(2026, 5, 1)
