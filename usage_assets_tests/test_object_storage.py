"""End to end with the data lake and the reports in an S3 bucket: demo source -> report.

The S3 stand-in is moto's S3 server on loopback (``usage_assets_tests/s3_server.py``),
started by the tests: no real S3-compatible server is in this machine's package
registries. The pipeline runs for real (Dagster jobs in-process against an on-disk
instance); boto3 writes the lake and the report folders to the server and polars scans
the lake's history from it. The same fleet built on local disk gives the same files.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import boto3
import dagster as dg
import pytest
from click.testing import CliRunner

from usage_assets.cli.main import main
from usage_assets.cli.runner import PipelineRunner
from usage_assets.common.days import day_range
from usage_assets.settings import S3Settings, Settings, SettingsError
from usage_assets.storage.lake import Lake
from usage_assets.storage.s3 import FOLDER_MANIFEST
from usage_assets.workspace import Workspace, WorkspaceError
from usage_assets_tests.s3_server import create_bucket, use_dummy_credentials
from usage_assets_tests.test_pipeline import REFERENCE_CHARTS

START = date(2026, 3, 1)
REPORT_DAY = START + timedelta(days=4)
SIDECARS = (
    *[
        f"{name}-{REPORT_DAY}.json"
        for name in ("metrics", "liveness", "ltv-spend", "install-forecast", "prod-internal")
    ],
    *[
        f"{name}-{REPORT_DAY}.csv"
        for name in ("ltv-spend", "active-instances", "lifetime-buckets", "daily-reporters", "detection-by-version")
    ],
    "github_stats.json",
)


def build(settings: Settings, dagster_home: Path) -> PipelineRunner:
    """Ingest START .. REPORT_DAY-1 and build the report of REPORT_DAY; returns the runner."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        runner = PipelineRunner(settings, instance)
        for day in day_range(START, REPORT_DAY - timedelta(days=1)):
            runner.ingest(day)
        runner.report(REPORT_DAY)
    return runner


def demo_settings(**folders) -> Settings:
    return Settings(demo_start=START.isoformat(), demo_daily_new_installs=1.0, **folders)


@pytest.fixture(scope="module")
def built(moto_endpoint, tmp_path_factory):
    """The report of REPORT_DAY built once for this module with the lake in
    ``s3://<bucket>/demo/data`` and the reports in ``.../demo/reports``."""
    folder = tmp_path_factory.mktemp("object_storage")
    with pytest.MonkeyPatch.context() as patch:
        use_dummy_credentials(patch, folder)
        patch.setenv("DAGSTER_HOME", str(folder / "dagster_home"))
        bucket = create_bucket(moto_endpoint)
        settings = demo_settings(
            data_dir=f"s3://{bucket}/demo/data",
            reports_dir=f"s3://{bucket}/demo/reports/",
            s3=S3Settings(endpoint_url=moto_endpoint),
        )
        runner = build(settings, folder / "dagster_home")
        yield SimpleNamespace(settings=settings, runner=runner, bucket=bucket, endpoint=moto_endpoint, folder=folder)


def objects(built, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix`` of the bucket, read with a plain boto3 client."""
    client = boto3.client("s3", endpoint_url=built.endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=built.bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key[len(prefix) :]: client.get_object(Bucket=built.bucket, Key=key)["Body"].read() for key in keys}


def test_a_report_is_built_with_the_lake_and_reports_in_s3_and_matches_local_disk(built):
    reports = objects(built, f"demo/reports/{REPORT_DAY}/")
    manifest = json.loads(reports.pop(FOLDER_MANIFEST))
    generation = manifest["generation"]
    expected = sorted(
        [
            f"usage-report-{REPORT_DAY}.md",
            f"usage-report-{REPORT_DAY}.html",
            *SIDECARS,
            *[f"{chart}-{REPORT_DAY}.png" for chart in REFERENCE_CHARTS],
        ]
    )
    assert manifest["files"] == expected
    assert sorted(key for key in reports if key.startswith(f"{generation}/")) == [f"{generation}/{n}" for n in expected]
    assert built.runner.report_path(REPORT_DAY) == (
        f"s3://{built.bucket}/demo/reports/{REPORT_DAY}/{generation}/usage-report-{REPORT_DAY}.html"
    )
    assert built.runner.existing_reports(START) == [REPORT_DAY] and built.runner.has_report(REPORT_DAY)
    # The lake is hive style in the bucket, with the workspace's manifest beside it.
    lake = Lake(built.settings.data_dir, built.runner.workspace.s3)
    assert lake.days("raw_events") == day_range(START, REPORT_DAY)
    assert lake.days("instance_days") == day_range(START, REPORT_DAY)
    assert json.loads(objects(built, "demo/data/")["workspace.json"])["source"] == "demo"
    # Nothing of the lake or the reports was written to local disk.
    workspace = built.runner.workspace.root
    assert not (workspace / "data").exists() and not (workspace / "reports").exists()

    # The same fleet on local disk: the same report, byte for byte.
    local = build(
        demo_settings(data_dir=str(built.folder / "data"), reports_dir=str(built.folder / "reports")),
        built.folder / "local_dagster_home",
    )
    folder = local.report_path(REPORT_DAY).parent
    for name in (*SIDECARS, f"usage-report-{REPORT_DAY}.md"):
        assert reports[f"{generation}/{name}"] == (folder / name).read_bytes(), name


def test_a_rebuilt_report_is_a_new_generation_that_keeps_the_commentary(built):
    reports = built.runner.reports
    first = reports.folder_key(REPORT_DAY.isoformat())
    reports.write_bytes(f"{first}/commentary.json", json.dumps({"liveness": "Quiet | week."}).encode())
    # Rebuilt by the command, as a maintainer would, with the settings in the environment.
    environment = {
        "USAGE_S3_ENDPOINT_URL": built.endpoint,
        "USAGE_DEMO_START": START.isoformat(),
        "USAGE_DEMO_DAILY_NEW_INSTALLS": "1.0",
    }
    result = CliRunner(env=environment).invoke(
        main,
        [
            "run",
            "--date",
            REPORT_DAY.isoformat(),
            "--no-prometheus",
            "--data-dir",
            built.settings.data_dir,
            "--reports-dir",
            built.settings.reports_dir,
        ],
    )
    assert result.exit_code == 0, result.output
    second = reports.folder_key(REPORT_DAY.isoformat())
    assert second != first
    assert f"HTML      {reports.location(second)}/usage-report-{REPORT_DAY}.html" in result.output
    markdown = reports.read_bytes(f"{second}/usage-report-{REPORT_DAY}.md").decode()
    assert "_Commentary: Quiet \\| week._" in markdown
    assert json.loads(reports.read_bytes(f"{second}/commentary.json")) == {"liveness": "Quiet | week."}
    # Re-materializing is deterministic; the old generation stays until it is cleaned up.
    metrics = f"metrics-{REPORT_DAY}.json"
    assert reports.read_bytes(f"{second}/{metrics}") == reports.read_bytes(f"{first}/{metrics}")
    assert {key.rsplit("/", 1)[1] for key in (first, second)} <= set(reports.folders(REPORT_DAY.isoformat()))


def test_the_summary_reads_the_lake_from_s3_and_another_source_is_refused(built):
    result = CliRunner(env={"USAGE_S3_ENDPOINT_URL": built.endpoint}).invoke(
        main, ["summary", "--date", REPORT_DAY.isoformat(), "--format", "json", "--data-dir", built.settings.data_dir]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["report_date"] == REPORT_DAY.isoformat()
    other = Settings(demo_seed=8, data_dir=built.settings.data_dir, s3=built.settings.s3)
    with pytest.raises(
        WorkspaceError, match=f"s3://{built.bucket}/demo/data .* holds the workspace of the demo source"
    ):
        Workspace.of(other).open()


def test_s3_settings_are_checked_and_name_their_variable(monkeypatch):
    monkeypatch.setenv("USAGE_DATA_DIR", "s3:///no-bucket")
    monkeypatch.setenv("USAGE_S3_ENDPOINT_URL", "http://key:secret@minio:9000")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    message = str(caught.value)
    assert "USAGE_DATA_DIR: must name a bucket: s3://bucket or s3://bucket/prefix" in message
    assert "USAGE_S3_ENDPOINT_URL: must not carry credentials" in message and "secret" not in message
    monkeypatch.setenv("USAGE_DATA_DIR", "s3://bucket/lake/")
    monkeypatch.setenv("USAGE_S3_ENDPOINT_URL", "http://minio:9000")
    workspace = Workspace.of(Settings.from_env())
    assert workspace.data_dir == "s3://bucket/lake" and workspace.s3.endpoint_url == "http://minio:9000"
    assert isinstance(workspace.reports_dir, Path) and workspace.local_data_dir == workspace.root / "data"
