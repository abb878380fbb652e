"""The production instance on a real PostgreSQL (usage_assets_tests/postgres_server.py):
``usage-report instance-config`` selects PostgreSQL from the settings, and a materialization,
a schedule tick evaluated by the real daemon (``usage-report daemon``, Dagster's own with a
5 s backfill interval), the failure alert it sends and a backfill it executes are all
recorded in the database."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from usage_assets.instance_config import instance_config, postgres_storage
from usage_assets.settings import PROJECT_ROOT, PostgresSettings
from usage_assets_tests.channels import WebhookServer
from usage_assets_tests.deploy.daemon_location import SCHEDULED_DAY, daily_numbers
from usage_assets_tests.postgres_server import PASSWORD

LOCATION = Path(__file__).with_name("daemon_location.py")
BIN = Path(sys.executable).parent


def test_sqlite_stays_the_default_and_postgres_is_chosen_by_settings():
    assert "storage" not in yaml.safe_load(instance_config(PostgresSettings()))
    config = yaml.safe_load(instance_config(PostgresSettings(host="db.internal", password="not-written")))
    assert config["storage"] == postgres_storage(PostgresSettings(host="db.internal", password="x"))["storage"]
    database = config["storage"]["postgres"]["postgres_db"]
    assert database["password"] == {"env": "USAGE_POSTGRES_PASSWORD"} and database["hostname"] == "db.internal"
    assert "not-written" not in instance_config(PostgresSettings(host="db.internal", password="not-written"))
    # The rest of the project's instance settings are kept.
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == [{"key": "usage/report_queue", "limit": 1}]


def test_the_instance_config_command_prints_the_postgres_storage(postgres_server):
    env = {**os.environ, **postgres_server.settings_env()}
    printed = subprocess.run(
        [str(BIN / "usage-report"), "instance-config"], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    database = yaml.safe_load(printed)["storage"]["postgres"]["postgres_db"]
    assert (database["hostname"], database["port"], database["params"]) == (
        "127.0.0.1",
        postgres_server.port,
        {"sslmode": "disable"},
    )
    assert PASSWORD not in printed


@pytest.fixture
def postgres_home(tmp_path, postgres_server, monkeypatch):
    """A DAGSTER_HOME whose dagster.yaml is the one printed for the server's settings."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    for name, value in postgres_server.settings_env().items():
        monkeypatch.setenv(name, value)
    settings = PostgresSettings(
        **{
            name.removeprefix("USAGE_POSTGRES_").lower(): value
            for name, value in postgres_server.settings_env().items()
        }
    )
    (home / "dagster.yaml").write_text(instance_config(settings))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def wait_for(condition, what: str, timeout_s: float = 300.0, daemon: subprocess.Popen | None = None, log=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        if daemon is not None and daemon.poll() is not None:
            pytest.fail(f"the daemon exited while waiting for {what}: {log.read_text()[-3000:]}")
        time.sleep(2)
    pytest.fail(f"no {what} within {timeout_s:.0f} s" + (f"; daemon log: {log.read_text()[-3000:]}" if log else ""))


def test_runs_ticks_alerts_and_backfills_are_recorded_in_postgres(postgres_server, postgres_home, tmp_path):
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        # A materialization, in process.
        assert dg.materialize([daily_numbers], partition_key="2026-11-05", instance=instance).success
    assert postgres_server.query(
        "SELECT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
    ) == [("2026-11-05",)]

    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_file": {
                            "relative_path": str(LOCATION),
                            "working_directory": str(PROJECT_ROOT),
                            "location_name": "numbers",
                        }
                    }
                ]
            }
        )
    )
    log = tmp_path / "daemon.log"
    with WebhookServer() as webhook, open(log, "wb") as output:
        env = {
            **os.environ,
            "USAGE_ALERTS_SLACK_WEBHOOK_URL": webhook.url,
            "USAGE_ALERTS_UI_URL": "http://dagster.example:3000",
        }
        daemon = subprocess.Popen(
            [str(BIN / "usage-report"), "daemon", "-w", str(workspace)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # A backfill of two days, executed by the daemon's backfill loop.
            subprocess.run(
                [
                    str(BIN / "dagster"),
                    "job",
                    "backfill",
                    "-w",
                    str(workspace),
                    "-j",
                    "backfill_job",
                    "--partitions",
                    "2026-11-10,2026-11-11",
                    "--noprompt",
                ],
                env=env,
                check=True,
                capture_output=True,
                timeout=180,
            )
            # The schedule's first tick (at the next minute) launches a run that fails;
            # the run-failure sensor alerts on it.
            wait_for(lambda: webhook.posts, "failure alert", daemon=daemon, log=log)
            sensor_ticks = count_ticks(postgres_server, "SENSOR")
            wait_for(lambda: backfill_done(postgres_server), "finished backfill", daemon=daemon, log=log)
            # Another evaluation of the alert sensor after the alert: it does not alert the same run again.
            wait_for(
                lambda: count_ticks(postgres_server, "SENSOR") > sensor_ticks,
                "later sensor tick",
                daemon=daemon,
                log=log,
            )
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)

    # The schedule's tick, evaluated by the daemon, is in the schedule storage.
    schedule_ticks = postgres_server.query(
        "SELECT t.status FROM job_ticks t JOIN jobs j ON j.job_origin_id = t.job_origin_id "
        "WHERE j.job_type = 'SCHEDULE' AND t.status = 'SUCCESS'"
    )
    assert schedule_ticks
    # Its runs failed on broken_numbers and materialized daily_numbers of the day asked for.
    with dg.DagsterInstance.get() as instance:
        scheduled = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/schedule_name": "every_minute"}))
        # (Later ticks' runs may still have been running when the daemon was stopped.)
        failed = {run.run_id for run in scheduled if run.status == dg.DagsterRunStatus.FAILURE}
        assert failed and {run.tags["dagster/partition"] for run in scheduled} == {SCHEDULED_DAY}
        backfills = instance.get_backfills()
    assert (SCHEDULED_DAY,) in postgres_server.query(
        "SELECT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
    )
    # Exactly one alert per failed run, naming the failed asset, partition, reason and run.
    alerted = [text.split("*Run:* ")[1].split("\n")[0] for text in webhook.texts()]
    assert alerted and sorted(alerted) == sorted(set(alerted)) and set(alerted) <= failed
    text = webhook.texts()[0]
    assert text.startswith(f"*usage-assets: broken_numbers failed for {SCHEDULED_DAY}*\n*Asset:* broken_numbers\n")
    assert "*Reason:* the source answered &lt;500&gt; &amp; gave up\n" in text
    assert f"<http://dagster.example:3000/runs/{alerted[0]}|Open the run in Dagster>" in text
    # The backfill: its record and its two runs' materializations.
    [backfill] = backfills
    assert backfill.status.value.startswith("COMPLETED")
    days = postgres_server.query(
        "SELECT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
        "AND partition IN ('2026-11-10', '2026-11-11') ORDER BY partition"
    )
    assert days == [("2026-11-10",), ("2026-11-11",)]
    print("alert:", json.dumps(webhook.posts[0][1], indent=2))


def count_ticks(server, job_type: str) -> int:
    return server.query(
        f"SELECT count(*) FROM job_ticks t JOIN jobs j ON j.job_origin_id = t.job_origin_id WHERE j.job_type = '{job_type}'"
    )[0][0]


def backfill_done(server) -> bool:
    return any(status.startswith("COMPLETED") for (status,) in server.query("SELECT status FROM bulk_actions"))


def test_a_report_is_built_end_to_end_with_its_runs_in_postgres(postgres_server, tmp_path, monkeypatch):
    """``usage-report run`` on the demo fleet with USAGE_POSTGRES_* set and no DAGSTER_HOME:
    the workspace's Dagster home gets the PostgreSQL instance config, and the report's
    runs and materializations land in the database."""
    from click.testing import CliRunner

    from usage_assets.cli.main import main

    for name, value in postgres_server.settings_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("USAGE_WORKSPACES_DIR", str(tmp_path / "workspaces"))
    monkeypatch.setenv("USAGE_DEMO_START", "2026-05-01")
    result = CliRunner(env={"DAGSTER_HOME": None}).invoke(main, ["run", "--date", "2026-05-02"])
    assert result.exit_code == 0, result.output
    [workspace] = (tmp_path / "workspaces").glob("demo-seed7-*")
    assert (workspace / "reports/2026-05-02/usage-report-2026-05-02.html").is_file()
    config = yaml.safe_load((workspace / "dagster_home/dagster.yaml").read_text())
    assert config["storage"]["postgres"]["postgres_db"]["port"] == postgres_server.port
    assert not list((workspace / "dagster_home").glob("**/*.db"))  # no SQLite storage beside it
    reported = postgres_server.query(
        "SELECT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
        "AND asset_key = '[\"usage_report\"]'"
    )
    assert reported == [("2026-05-02",)]
    statuses = postgres_server.query("SELECT DISTINCT status FROM runs WHERE pipeline_name = 'daily_usage_report'")
    assert statuses == [("SUCCESS",)]
