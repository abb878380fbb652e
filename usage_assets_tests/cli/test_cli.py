"""The usage-report command line: help texts, clear errors, and a run on CSV exports."""

import json

import dagster as dg
import pytest
from click.testing import CliRunner

from usage_assets.cli.main import main
from usage_assets.settings import Settings
from usage_assets.workspace import Workspace
from usage_assets_tests.conftest import ID_A, ID_B
from usage_assets_tests.sources.test_csv_archive import header_variant, write_export


@pytest.mark.parametrize("command", [[], ["run"], ["backfill"], ["ui"]])
def test_every_command_explains_itself(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output.splitlines()) > 5


def test_csv_source_without_a_path_says_what_to_set(pipeline_env, monkeypatch):
    monkeypatch.delenv("USAGE_CSV_PATH", raising=False)
    result = CliRunner().invoke(main, ["run", "--source", "csv", "--data-dir", str(pipeline_env / "data")])
    assert result.exit_code == 2
    assert "USAGE_CSV_PATH" in result.output and "--csv-path" in result.output


def test_a_folder_without_exports_is_a_clear_error(pipeline_env):
    (pipeline_env / "empty").mkdir()
    result = CliRunner().invoke(main, ["run", "--source", "csv", "--csv-path", str(pipeline_env / "empty"),
                                       "--data-dir", str(pipeline_env / "data")])
    assert result.exit_code == 1
    assert "no registry_metrics export found" in result.output


def test_run_on_a_folder_of_exports_builds_the_last_complete_day(pipeline_env):
    def row(kind, registry_id, ts):
        return {"event": kind, "registry_id": registry_id, "ts": ts, "v": "1.31.0", "cloud": "aws"}

    first = [row("startup", ID_A, "2026-05-01T08:00:00.000Z"), row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z")]
    write_export(pipeline_env / "exports" / "2026-05-02" / "registry_metrics.csv", header_variant(30), first)
    second = first + [row("heartbeat", ID_A, "2026-05-02T08:00:05.000Z"), row("startup", ID_B, "2026-05-03T01:00:00.000Z")]
    write_export(pipeline_env / "exports" / "2026-05-03" / "registry_metrics.csv", header_variant(34), second)
    result = CliRunner().invoke(main, [
        "run", "--source", "csv", "--csv-path", str(pipeline_env / "exports"),
        "--data-dir", str(pipeline_env / "data"), "--reports-dir", str(pipeline_env / "reports"),
    ])
    assert result.exit_code == 0, result.output
    folder = pipeline_env / "reports" / "2026-05-02"
    assert str(folder / "usage-report-2026-05-02.html") in result.output
    metrics = json.loads((folder / "metrics-2026-05-02.json").read_text())
    assert metrics["key_metrics"]["identified_instances"] == 1  # B arrived on the incomplete day
    assert metrics["key_metrics"]["total_events"] == 3  # the repeated snapshot rows count once


def test_a_day_after_the_archive_is_refused_not_reported_empty(pipeline_env):
    row = {"event": "startup", "registry_id": ID_A, "ts": "2026-05-01T08:00:00.000Z", "v": "1.31.0"}
    write_export(pipeline_env / "exports" / "2026-05-02" / "registry_metrics.csv", header_variant(34), [row])
    result = CliRunner().invoke(main, [
        "run", "--source", "csv", "--csv-path", str(pipeline_env / "exports"), "--date", "2026-05-05",
        "--data-dir", str(pipeline_env / "data"), "--reports-dir", str(pipeline_env / "reports"),
    ])
    assert result.exit_code == 1
    assert "2026-05-05 is after the last complete day the source has (2026-05-01)" in result.output
    assert not (pipeline_env / "data" / "raw_events").exists()


def test_a_truncated_newest_export_is_not_reported_on_and_a_changed_day_is_reingested(pipeline_env):
    # Issue 10, item 4: with the newest export cut at 70 %, `run` reported on a day holding
    # half its rows, and later days were built on that stale partial data.
    def row(kind, registry_id, ts):
        return {"event": kind, "registry_id": registry_id, "ts": ts, "v": "1.31.0", "cloud": "aws"}

    exports = pipeline_env / "exports"
    day_one = [row("startup", ID_A, "2026-05-01T08:00:00.000Z")] + [
        row("heartbeat", ID_A, f"2026-05-01T{h:02d}:00:05.000Z") for h in range(9, 13)]
    day_two = [row("heartbeat", ID_A, f"2026-05-02T{h:02d}:00:05.000Z") for h in range(0, 24)]
    write_export(exports / "2026-05-02" / "registry_metrics.csv", header_variant(34), day_one)
    newest = exports / "2026-05-03" / "registry_metrics.csv"
    write_export(newest, header_variant(34), day_one + day_two)
    newest.write_text(newest.read_text()[: int(newest.stat().st_size * 0.7)])
    arguments = ["run", "--source", "csv", "--csv-path", str(exports),
                 "--data-dir", str(pipeline_env / "data"), "--reports-dir", str(pipeline_env / "reports")]

    wide = {"COLUMNS": "500"}  # one log message per line
    result = CliRunner().invoke(main, arguments, env=wide)
    assert result.exit_code == 0, result.output
    assert "2026-05-03/registry_metrics.csv is incomplete, its last row is cut short" in result.output
    assert "Report for 2026-05-01" in result.output
    assert not (pipeline_env / "reports" / "2026-05-02").exists()

    # The complete export arrives, with a late heartbeat of 05-01 that the database received since.
    late = row("heartbeat", ID_B, "2026-05-01T23:00:05.000Z")
    write_export(newest, header_variant(34), [*day_one, late, *day_two])
    result = CliRunner().invoke(main, [*arguments, "--date", "2026-05-02"], env=wide)
    assert result.exit_code == 0, result.output
    assert "The source changed 1 ingested day(s) since their ingest (2026-05-01 to 2026-05-01)" in result.output
    assert "usage-report backfill --start 2026-05-01 --end 2026-05-01 --force" in result.output
    metrics = json.loads((pipeline_env / "reports" / "2026-05-02" / "metrics-2026-05-02.json").read_text())
    assert metrics["key_metrics"]["total_events"] == 5 + 1 + 24
    assert metrics["key_metrics"]["identified_instances"] == 2


def test_a_file_that_is_not_an_export_is_named(pipeline_env):
    # Issue 10, item 15: "/etc/passwd" as registry_metrics.csv said only "no export found".
    (pipeline_env / "exports").mkdir()
    (pipeline_env / "exports" / "registry_metrics.csv").write_text("root:x:0:0:root:/root:/bin/bash\n")
    result = CliRunner().invoke(main, ["run", "--source", "csv", "--csv-path", str(pipeline_env / "exports"),
                                       "--data-dir", str(pipeline_env / "data")])
    assert result.exit_code == 1
    assert "registry_metrics.csv exists but is not an export: its header lacks event, registry_id, v, ts" in \
        " ".join(result.output.split())


def archive_row(kind, registry_id, ts):
    return {"event": kind, "registry_id": registry_id, "ts": ts, "v": "1.31.0", "cloud": "aws"}


def test_switching_from_the_demo_to_an_export_in_one_folder_neither_mixes_nor_overwrites(tmp_path, monkeypatch):
    """Issue 10 item 9: the Quickstart's demo run, then a 3-install export, with no folder set."""
    monkeypatch.setenv("USAGE_WORKSPACES_DIR", str(tmp_path / "workspaces"))
    monkeypatch.setenv("USAGE_DEMO_START", "2026-05-01")
    cli = CliRunner(env={"DAGSTER_HOME": None})  # unset: each command uses its workspace's
    demo = cli.invoke(main, ["run", "--date", "2026-05-02"])
    assert demo.exit_code == 0, demo.output
    [demo_workspace] = (tmp_path / "workspaces").glob("demo-seed7-*")
    demo_metrics = demo_workspace / "reports" / "2026-05-02" / "metrics-2026-05-02.json"
    assert str(demo_metrics.with_name("usage-report-2026-05-02.html")) in demo.output
    demo_report = demo_metrics.read_bytes()
    with dg.DagsterInstance.from_config(str(demo_workspace / "dagster_home")) as instance:
        demo_runs = instance.get_runs_count()

    rows = [archive_row(kind, registry_id, f"2026-05-0{day}T08:00:0{n}.000Z")
            for day in (1, 2) for n, registry_id in enumerate((ID_A, ID_B, "cccccccc-0000-4000-8000-00000000000c"))
            for kind in ("startup", "heartbeat")]
    write_export(tmp_path / "exports" / "2026-05-03" / "registry_metrics.csv", header_variant(34), rows)
    export = cli.invoke(main, ["run", "--source", "csv", "--csv-path", str(tmp_path / "exports"), "--date", "2026-05-02"])
    assert export.exit_code == 0, export.output
    [csv_workspace] = (tmp_path / "workspaces").glob("csv-exports-*")
    report = csv_workspace / "reports" / "2026-05-02"
    assert str(report / "usage-report-2026-05-02.html") in export.output
    metrics = json.loads((report / "metrics-2026-05-02.json").read_text())
    assert metrics["key_metrics"]["identified_instances"] == 3 and metrics["key_metrics"]["total_events"] == 12
    assert demo_metrics.read_bytes() == demo_report
    # Each source's runs are in its own Dagster instance, so the UI shows its partitions only.
    with dg.DagsterInstance.from_config(str(demo_workspace / "dagster_home")) as instance:
        assert instance.get_runs_count() == demo_runs
    with dg.DagsterInstance.from_config(str(csv_workspace / "dagster_home")) as instance:
        assert instance.get_runs_count() > 0


def test_a_data_folder_of_another_source_is_refused_naming_the_setting(pipeline_env):
    Workspace.of(Settings(data_dir=str(pipeline_env / "data"))).open()  # the demo's lake
    write_export(pipeline_env / "exports" / "registry_metrics.csv", header_variant(34),
                 [archive_row("startup", ID_A, "2026-05-01T08:00:00.000Z")])
    result = CliRunner().invoke(main, ["run", "--source", "csv", "--csv-path", str(pipeline_env / "exports"),
                                       "--data-dir", str(pipeline_env / "data")])
    assert result.exit_code == 2
    assert f"{pipeline_env / 'data'} (USAGE_DATA_DIR or --data-dir) holds the workspace of the demo source" in result.output
    assert "Set USAGE_DATA_DIR or --data-dir to another folder" in result.output
    assert sorted(path.name for path in (pipeline_env / "data").iterdir()) == ["workspace.json"]


def test_an_event_dated_1999_does_not_block_a_run(pipeline_env):
    rows = [archive_row("startup", ID_A, "2026-05-01T08:00:00.000Z"),
            archive_row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z"),
            archive_row("heartbeat", ID_A, "2026-05-02T08:00:05.000Z"),
            archive_row("heartbeat", ID_B, "1999-12-31T08:00:05.000Z")]  # an install with a wrong clock
    write_export(pipeline_env / "exports" / "2026-05-03" / "registry_metrics.csv", header_variant(34), rows)
    result = CliRunner().invoke(main, [
        "run", "--source", "csv", "--csv-path", str(pipeline_env / "exports"),
        "--data-dir", str(pipeline_env / "data"), "--reports-dir", str(pipeline_env / "reports"),
    ])
    assert result.exit_code == 0, result.output
    assert "1 row(s) are dated more than 365 days before the export" in result.output  # (the log wraps there)
    assert sorted(path.name for path in (pipeline_env / "data" / "raw_events").iterdir()) == [
        "date=2026-05-01", "date=2026-05-02"]
    metrics = json.loads((pipeline_env / "reports" / "2026-05-02" / "metrics-2026-05-02.json").read_text())
    assert metrics["key_metrics"]["identified_instances"] == 1


def test_a_day_before_the_sources_first_day_is_refused_naming_it(pipeline_env):
    write_export(pipeline_env / "exports" / "2026-05-03" / "registry_metrics.csv", header_variant(34),
                 [archive_row("startup", ID_A, "2026-05-01T08:00:00.000Z")])
    result = CliRunner().invoke(main, [
        "run", "--source", "csv", "--csv-path", str(pipeline_env / "exports"), "--date", "2026-04-30",
        "--data-dir", str(pipeline_env / "data"), "--reports-dir", str(pipeline_env / "reports"),
    ])
    assert result.exit_code == 1
    assert "2026-04-30 is before the source's first day 2026-05-01" in result.output
    assert not (pipeline_env / "data" / "raw_events").exists() and not (pipeline_env / "reports" / "2026-04-30").exists()


def test_a_failed_blocking_check_is_told_once_in_plain_lines(pipeline_env):
    """Issue 12, item 12: the check's failure, not also Dagster's DagsterAssetCheckFailedError."""
    rows = [archive_row("startup", ID_A, "2026-05-01T08:00:00.000Z"),
            archive_row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z"),
            archive_row("startup", ID_B, "2026-05-02T08:00:00.000Z"),  # day 2: startups only
            archive_row("startup", ID_B, "2026-05-03T08:00:00.000Z")]
    write_export(pipeline_env / "exports" / "2026-05-04" / "registry_metrics.csv", header_variant(34), rows)
    result = CliRunner().invoke(main, [
        "run", "--source", "csv", "--csv-path", str(pipeline_env / "exports"), "--date", "2026-05-02",
        "--data-dir", str(pipeline_env / "data"), "--reports-dir", str(pipeline_env / "reports"),
    ], env={"COLUMNS": "1000"})
    assert result.exit_code == 1
    lines = [line.rstrip() for line in result.output.splitlines() if line.strip()]
    block = lines[next(n for n, line in enumerate(lines) if line.startswith("Error:")):]
    # The check's own words (ingest/completeness.py) as reason and next step.
    assert block[:2] == ["Error: daily_usage_report for 2026-05-02 failed.", "  Asset:   raw_events, partition 2026-05-02"]
    assert block[2].startswith("  Reason:  check heartbeats_present failed: 1 startup event(s) but no heartbeats")
    assert block[3].startswith("  Next:    Re-fetch the day")
    assert block[4].startswith("  Details: run ") and len(block) == 5
    assert "Dagster" not in result.output.split("Error:")[1].replace("Dagster UI", "")
    assert "Stack Trace" not in result.output and "Not executing" not in result.output
