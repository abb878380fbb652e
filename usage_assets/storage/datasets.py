"""The name of every dataset in the data lake: one constant per dataset.

Each name is both the Dagster asset key that produces the dataset and the folder the lake
keeps it in (``<data_dir>/<name>/date=YYYY-MM-DD/``), so an asset's declared dependency
and its read of the lake can never name two different things. Chart PNGs are the one
exception to one-file-per-day: every chart of day D lives in :data:`CHARTS`' day folder,
under the reference's file name, and each is its own asset (``charts/<stem>``).
"""

from __future__ import annotations

# Ingest (Parquet / JSON, one file per UTC day).
RAW_EVENTS = "raw_events"
REJECTED_EVENTS = "rejected_events"
FIELD_QUARANTINE = "field_quarantine"
INGEST_STATS = "ingest_stats"
# Daily layer.
INSTANCE_DAYS = "instance_days"
INSTANCES = "instances"
# Metrics.
INSTALL_TIMESERIES = "install_timeseries"
COMPUTE_TIMESERIES = "compute_timeseries"
FLEET_METRICS = "fleet_metrics"
LIVENESS = "liveness"
LIVENESS_BY_INSTALL = "liveness_by_install"
BUILD_KINDS = "build_kinds"
CLOUD_DETECTION = "cloud_detection"
ENGAGEMENT = "engagement"
LIFETIME_BUCKETS = "lifetime_buckets"
CUMULATIVE_INSTALLS = "cumulative_installs"
INSTALL_FORECAST = "install_forecast"
LTV_SPEND = "ltv_spend"
LTV_SPEND_BY_DAY = "ltv_spend_by_day"
DAILY_REPORTERS = "daily_reporters"
# Estimated deployments (recreated installs stitched together) and the anomaly checks' findings.
INSTALL_LINEAGE = "install_lineage"
DEPLOYMENTS = "deployments"
ANOMALIES = "anomalies"
# Enrichment and insights.
PROMETHEUS_TRENDS = "prometheus_trends"
GITHUB_STATS = "github_stats"
USAGE_INSIGHTS = "usage_insights"
RECOMMENDATIONS = "recommendations"
# Report.
CHARTS = "charts"
USAGE_REPORT = "usage_report"
