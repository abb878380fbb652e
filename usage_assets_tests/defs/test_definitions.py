"""The Dagster definitions load, with the sensors that build, alert and deliver."""

import dagster as dg

from usage_assets.definitions import defs as load_definitions
from usage_assets.defs.jobs import INGEST_JOB, REPORT_JOB


def test_definitions_load_with_every_job_and_schedule():
    defs = load_definitions()
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def(INGEST_JOB) is not None
    assert defs.resolve_job_def(REPORT_JOB) is not None
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"raw_events", "rejected_events", "instance_days", "instances", "fleet_metrics", "liveness",
            "usage_report", "charts/registry_installs_timeseries"} <= keys


def test_the_report_is_built_alerted_and_delivered_by_sensors_running_by_default():
    # Their behaviour is tested in usage_assets_tests/automation.
    defs = load_definitions()
    sensors = {name: defs.resolve_sensor_def(name) for name in (
        "daily_usage_report_sensor", "run_failure_alerts", "check_failure_alerts", "report_deadline_sensor",
        "report_delivery_sensor")}
    assert all(sensor.default_status == dg.DefaultSensorStatus.RUNNING for sensor in sensors.values())
    assert sensors["daily_usage_report_sensor"].job_name == REPORT_JOB
    assert not list(defs.schedules or [])  # the sensor replaced the schedule: one thing launches the report


def test_runs_launched_for_an_asset_selection_execute_in_one_process():
    # What the UI's "Materialize" and asset backfills run: the implicit asset job.
    defs = load_definitions()
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor
    assert all(job.executor_def is dg.in_process_executor for job in defs.resolve_all_job_defs())
