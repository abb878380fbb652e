"""The Dagster definitions load, and the schedule asks for the day that just ended."""

from datetime import datetime, timezone

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


def test_schedule_requests_the_previous_utc_day():
    schedule = load_definitions().resolve_schedule_def(f"{REPORT_JOB}_schedule")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 11, 21, 1, 30, tzinfo=timezone.utc)
        )
        requests = schedule.evaluate_tick(context).run_requests
    assert [request.partition_key for request in requests] == ["2026-11-20"]


def test_runs_launched_for_an_asset_selection_execute_in_one_process():
    # What the UI's "Materialize" and asset backfills run: the implicit asset job.
    defs = load_definitions()
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor
    assert all(job.executor_def is dg.in_process_executor for job in defs.resolve_all_job_defs())
