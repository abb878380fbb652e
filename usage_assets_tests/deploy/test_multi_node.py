"""The multi-node deployment shape end to end: Dagster's instance on PostgreSQL, the lake and
the reports in an S3 bucket, nothing of either on the machine's disk.

PostgreSQL is real (Debian's package: ``initdb`` into a temporary folder, served on
loopback). S3 is moto's server on loopback, a stand-in: no S3-compatible server is packaged
in this machine's registries (usage_assets_tests/s3_server.py).
"""

import json

import boto3
from click.testing import CliRunner

from usage_assets.cli.main import main
from usage_assets.storage.s3 import FOLDER_MANIFEST

REPORT_DAY = "2026-05-02"


def test_a_report_is_built_with_the_instance_in_postgres_and_the_lake_and_reports_in_s3(
    postgres_server, s3_bucket, moto_endpoint, tmp_path, monkeypatch
):
    for name, value in postgres_server.settings_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("USAGE_WORKSPACES_DIR", str(tmp_path / "workspaces"))
    monkeypatch.setenv("USAGE_DEMO_START", "2026-05-01")
    monkeypatch.setenv("USAGE_DATA_DIR", f"s3://{s3_bucket}/demo/data")
    monkeypatch.setenv("USAGE_REPORTS_DIR", f"s3://{s3_bucket}/demo/reports")
    monkeypatch.setenv("USAGE_S3_ENDPOINT_URL", moto_endpoint)

    result = CliRunner(env={"DAGSTER_HOME": None}).invoke(main, ["run", "--date", REPORT_DAY])

    assert result.exit_code == 0, result.output
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    manifest_key = f"demo/reports/{REPORT_DAY}/{FOLDER_MANIFEST}"
    generation = json.loads(client.get_object(Bucket=s3_bucket, Key=manifest_key)["Body"].read())["generation"]
    html_key = f"demo/reports/{REPORT_DAY}/{generation}/usage-report-{REPORT_DAY}.html"
    assert b"<html" in client.get_object(Bucket=s3_bucket, Key=html_key)["Body"].read()
    assert f"s3://{s3_bucket}/{html_key}" in result.output
    lake = client.list_objects_v2(Bucket=s3_bucket, Prefix=f"demo/data/raw_events/date={REPORT_DAY}/")
    assert lake["KeyCount"] == 1
    # The runs and the report's materialization are in PostgreSQL ...
    reported = postgres_server.query(
        "SELECT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
        "AND asset_key = '[\"usage_report\"]'"
    )
    assert reported == [(REPORT_DAY,)]
    # ... and neither the instance's storage nor the lake or the reports on local disk.
    [workspace] = (tmp_path / "workspaces").glob("demo-seed7-*")
    assert not list((workspace / "dagster_home").glob("**/*.db"))
    assert not (workspace / "reports").exists()
    assert not list(workspace.glob("data/raw_events"))
