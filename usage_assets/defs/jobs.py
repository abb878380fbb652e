"""Jobs. What launches them by itself (the daily report, catch-up after downtime) is in
``usage_assets/defs/automation/``."""

from __future__ import annotations

import dagster as dg

from usage_assets.defs.automation.freshness import REPORT_ON_TIME_KEY
from usage_assets.defs.ingest.checks import RECONCILIATION_CHECK_KEY
from usage_assets.storage.datasets import FLEET_METRICS, INSTANCE_DAYS, INSTANCES, LIVENESS, LIVENESS_BY_INSTALL

# Every asset takes a range of days in one run (BackfillPolicy.single_run(), each day its
# own partition: defs/materialize.py), so each job runs one day or a range of days.

INGEST_JOB = "daily_ingest"
METRICS_JOB = "daily_fleet_metrics"
REPORT_JOB = "daily_usage_report"

# Ingest only: what filling earlier days needs (history-wide assets read this layer).
ingest_job = dg.define_asset_job(
    INGEST_JOB,
    # Without the source reconciliation check: filling a year of history would recount
    # three days per day ingested. The report job of day D runs it.
    selection=(dg.AssetSelection.groups("ingest") | dg.AssetSelection.assets(INSTANCE_DAYS))
    - dg.AssetSelection.checks(RECONCILIATION_CHECK_KEY),
    executor_def=dg.in_process_executor,
    description="Fetch, validate and summarize one UTC day or a range of days in one run (raw_events, "
    "rejected_events, field_quarantine, ingest_stats, instance_days; one partition per day).",
)

# A day's fleet metrics without its charts and report: what a later report compares with
# (day D's insights read the metrics of D-R).
metrics_job = dg.define_asset_job(
    METRICS_JOB,
    selection=dg.AssetSelection.assets(INSTANCES, FLEET_METRICS, LIVENESS, LIVENESS_BY_INSTALL),
    executor_def=dg.in_process_executor,
    description="The install table, fleet summary and liveness of one UTC day or a range of days "
    "(their ingest must exist).",
)

# Everything for the report of day D, in one process: spawning a process per step
# would cost more than the steps themselves on a small machine.
report_job = dg.define_asset_job(
    REPORT_JOB,
    # Without the report deadline check: it judges the newest day, not the run's.
    selection=dg.AssetSelection.all() - dg.AssetSelection.checks(REPORT_ON_TIME_KEY),
    executor_def=dg.in_process_executor,
    description="Every asset of day D (or of each day of a range, oldest first), from raw events to the usage report.",
)
