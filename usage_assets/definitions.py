"""The Dagster definitions: assets, checks, jobs, schedule and resources.

Resources are built from :class:`usage_assets.settings.Settings` (environment variables),
so the UI, the schedule and the ``usage-report`` CLI read the same source.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from usage_assets.assets.activity import compute_timeseries, install_timeseries, instance_days, instances
from usage_assets.assets.engagement import engagement, install_forecast, retention
from usage_assets.assets.github import github_stats
from usage_assets.assets.ingest import daily_events
from usage_assets.assets.insights import usage_insights
from usage_assets.assets.metrics import build_kinds, cloud_detection, fleet_summary, liveness
from usage_assets.assets.recommendations import recommendations
from usage_assets.assets.reconciliation import raw_events_match_source
from usage_assets.assets.report import charts, usage_report
from usage_assets.assets.spend import daily_reporters, infra_spend
from usage_assets.assets.trends import prometheus_trends
from usage_assets.jobs import ingest_job, metrics_job, report_job, report_schedule
from usage_assets.lib.demo_fleet import DEMO_INTERNAL_ALLOWLIST
from usage_assets.lib.prometheus_trends import DEFAULT_SERIES, SWITCHED_OFF
from usage_assets.resources.prometheus import PrometheusSource
from usage_assets.resources.documentdb import documentdb_source_from_settings
from usage_assets.resources.github import github_repository_from_settings
from usage_assets.resources.storage import DataLake, ReportConfig
from usage_assets.resources.telemetry import CsvTelemetrySource, DemoTelemetrySource, TelemetrySource
from usage_assets.settings import PROJECT_ROOT, Settings

ASSETS = [daily_events, instance_days, instances, install_timeseries, compute_timeseries, fleet_summary, liveness]
ASSETS += [build_kinds, cloud_detection, engagement, retention, install_forecast, infra_spend, daily_reporters]
ASSETS += [github_stats, recommendations, charts, usage_report, prometheus_trends, usage_insights]
ASSET_CHECKS = [raw_events_match_source]


def build_telemetry_source(settings: Settings) -> TelemetrySource:
    """The source resource named by ``settings.source``."""
    if settings.source == "documentdb":
        return documentdb_source_from_settings(settings)
    if settings.source == "csv":
        return CsvTelemetrySource(
            csv_path=str(Path(settings.csv_path).expanduser().resolve()),
            cache_dir=str(Path(settings.data_dir) / "csv_archive"),
        )
    return DemoTelemetrySource(
        seed=settings.demo_seed, start=settings.demo_start, daily_new_installs=settings.demo_daily_new_installs
    )


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Resources for ``settings``; the demo source brings its own internal-installs list."""
    allowlist = settings.internal_instances
    if allowlist is None and settings.source == "demo":
        allowlist = str(DEMO_INTERNAL_ALLOWLIST)
    return {
        "telemetry": build_telemetry_source(settings),
        "data_lake": DataLake(data_dir=settings.data_dir),
        "report_config": ReportConfig(
            reports_dir=settings.reports_dir,
            templates_dir=str(PROJECT_ROOT / "templates"),
            internal_instances=str(Path(allowlist).expanduser().resolve()) if allowlist else None,
            cost_model=str(Path(settings.cost_model).expanduser().resolve()),
            forecast_target=settings.forecast_target,
        ),
        "prometheus": build_prometheus_source(settings),
        "github": github_repository_from_settings(settings),
    }


def build_prometheus_source(settings: Settings) -> PrometheusSource:
    """The optional Prometheus resource; without an endpoint (the default) it is "not used"."""
    return PrometheusSource(
        endpoint=settings.prometheus_endpoint,
        disabled_reason=SWITCHED_OFF if settings.prometheus_disabled else None,
        range=settings.prometheus_range,
        series=settings.prometheus_series.split(",") if settings.prometheus_series else list(DEFAULT_SERIES),
        timeout_seconds=settings.prometheus_timeout,
    )


def build_definitions(settings: Settings) -> dg.Definitions:
    """Every asset, check, job and schedule, with the resources for ``settings``."""
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[ingest_job, metrics_job, report_job],
        schedules=[report_schedule],
        resources=build_resources(settings),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What the Dagster UI, the daemon and ``dg`` load: resources from the environment.

    Lazy, so importing this module (as the CLI does) never reads the environment; a bad
    setting fails the code location's load with the message naming the variable.
    """
    return build_definitions(Settings.from_env())
