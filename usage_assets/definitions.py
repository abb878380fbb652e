"""The code location's entry point: everything under ``usage_assets/defs/`` plus resources.

Assets, checks, jobs and the schedule are found in the ``defs`` folder by Dagster's
``load_from_defs_folder`` (one module per stage); resources are built here from
:class:`usage_assets.settings.Settings` (environment variables), so the UI, the schedule
and the ``usage-report`` CLI read the same source.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
from pydantic import SecretStr

from usage_assets.defs.metadata import catalogued
from usage_assets.defs.resources.charts import ChartHelper
from usage_assets.defs.resources.documentdb import BastionConfig, DatabaseConfig, DocumentDBTelemetrySource
from usage_assets.defs.resources.github import GitHubRepository
from usage_assets.defs.resources.prometheus import PrometheusSource
from usage_assets.defs.resources.quality import DataQualityThresholds
from usage_assets.defs.resources.storage import DataLake, ReportConfig, S3Config
from usage_assets.defs.resources.telemetry import (
    CsvTelemetrySource,
    DemoTelemetrySource,
    TelemetrySource,
    with_secrets_resolved,
)
from usage_assets.enrichment.prometheus_trends import SWITCHED_OFF, invalid_setting
from usage_assets.settings import PROJECT_ROOT, Settings, variable
from usage_assets.sources.demo_fleet import DEMO_INTERNAL_ALLOWLIST
from usage_assets.sources.errors import SourceError
from usage_assets.workspace import Workspace

C = TypeVar("C", bound=dg.Config)


def config_from_settings(config_type: type[C], settings: Settings, group: str, **fields: Any) -> C:
    """The settings group ``group`` (``"docdb"``: ``settings.docdb``) as ``config_type``, a
    Dagster config or resource class built on that group's model, plus ``fields``.

    Each secret that is set is passed as ``dg.EnvVar`` of its variable: Dagster reads the
    value when a run starts, and the definitions, the UI and the logs hold only the name.
    So a secret always comes from its environment variable (``usage-report`` and ``dagster
    dev`` load ``.env`` into the environment).
    """
    values = {
        name: dg.EnvVar(variable(group, name)) if isinstance(value, SecretStr) else value
        for name, value in getattr(settings, group)
    }
    return config_type(**values, **fields)


def build_telemetry_source(settings: Settings) -> TelemetrySource:
    """The source resource named by ``settings.source``; the CSV source keeps its import
    cache in its workspace's lake (:class:`usage_assets.workspace.Workspace`), so two
    archives never share one (on local disk: beside the workspace when the lake is in S3)."""
    if settings.source == "documentdb":
        return DocumentDBTelemetrySource(
            database=config_from_settings(DatabaseConfig, settings, "docdb"),
            bastion=config_from_settings(BastionConfig, settings, "bastion"),
        )
    if settings.source == "csv":
        return CsvTelemetrySource(
            csv_path=str(Path(settings.csv_path).expanduser().resolve()),
            cache_dir=str(Workspace.of(settings).local_data_dir / "csv_archive"),
        )
    return DemoTelemetrySource(
        seed=settings.demo_seed, start=settings.demo_start, daily_new_installs=settings.demo_daily_new_installs
    )


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Resources for ``settings``, writing to the source's workspace; the demo source brings
    its own internal-installs list."""
    workspace = Workspace.of(settings)
    s3 = config_from_settings(S3Config, settings, "s3")
    allowlist = settings.internal_instances
    if allowlist is None and settings.source == "demo":
        allowlist = str(DEMO_INTERNAL_ALLOWLIST)
    return {
        "telemetry": build_telemetry_source(settings),
        "data_lake": DataLake(data_dir=str(workspace.data_dir), s3=s3),
        "report_config": ReportConfig(
            reports_dir=str(workspace.reports_dir),
            templates_dir=str(PROJECT_ROOT / "templates"),
            internal_instances=str(Path(allowlist).expanduser().resolve()) if allowlist else None,
            cost_model=str(Path(settings.cost_model).expanduser().resolve()),
            forecast_target=settings.forecast_target,
            s3=s3,
        ),
        "prometheus": build_prometheus_source(settings),
        "github": config_from_settings(GitHubRepository, settings, "github"),
        "quality": config_from_settings(DataQualityThresholds, settings, "quality"),
        "chart_helper": ChartHelper(),
    }


def build_prometheus_source(settings: Settings) -> PrometheusSource:
    """The optional Prometheus resource; without an endpoint (the default), switched off or
    with an invalid setting (lenient settings, see :meth:`Settings.from_env`) it is "not used"."""
    invalid = settings.invalid_group("prometheus")
    reason = SWITCHED_OFF if settings.no_prometheus else invalid_setting(invalid) if invalid else None
    return config_from_settings(PrometheusSource, settings, "prometheus", disabled_reason=reason)


def source_first_day(settings: Settings, progress: Callable[[str], None] | None = None) -> date:
    """The first UTC day of ``settings``' source: where its daily partitions start.

    Known without asking the source for the demo fleet (its start) and once recorded in the
    source's workspace (:meth:`usage_assets.workspace.Workspace.first_day`). Otherwise the
    workspace is opened, the source prepared (the CSV source imports its archive, telling
    ``progress``) and asked for its coverage, and its first day recorded for good. Raises
    :class:`SourceError` when the source holds no events,
    :class:`usage_assets.workspace.WorkspaceError` when a folder belongs to another source,
    and the source's own errors when it cannot be read.
    """
    workspace = Workspace.of(settings)
    known = workspace.first_day()
    if known is not None:
        return known
    workspace.open()  # before the CSV source writes its import cache into the lake
    source = with_secrets_resolved(build_telemetry_source(settings))
    source.prepare(progress)
    covered = source.coverage()
    if covered is None:
        raise SourceError(f"{source.describe()} holds no events", "Check it with `usage-report check-source`.",
                          stage="query")
    return workspace.record_first_day(covered[0])


@functools.cache
def pipeline_definitions() -> dg.Definitions:
    """Every asset, check, job and schedule under ``usage_assets/defs/`` (no resources), with
    the catalog's owners, tags and code references (:func:`usage_assets.defs.metadata.catalogued`)."""
    return catalogued(dg.load_from_defs_folder(path_within_project=Path(__file__).parent), PROJECT_ROOT)


def build_definitions(settings: Settings) -> dg.Definitions:
    """Every asset, check, job and schedule, with the resources for ``settings``.

    Runs the UI launches for a selection of assets (and asset backfills) execute in one
    process, as the CLI's jobs do: on a small machine a process per step costs seconds,
    more than most steps themselves.
    """
    return dg.Definitions.merge(
        pipeline_definitions(),
        dg.Definitions(resources=build_resources(settings), executor=dg.in_process_executor),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What the Dagster UI, the daemon and ``dg`` load: resources from the environment.

    Lazy, so importing this module (as the CLI does) never reads the environment; a bad
    setting, or a folder of another source's workspace, fails the code location's load
    with the message naming the variable - except a bad setting of an optional enrichment
    (Prometheus), which only switches that enrichment off: its asset says why in the run
    log and the report.
    """
    settings = Settings.from_env(lenient=True)
    # Taken before a run launched from the UI writes into the folders.
    Workspace.of(settings).open()
    return build_definitions(settings)
