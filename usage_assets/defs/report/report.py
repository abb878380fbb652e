"""The usage report of day D: Markdown, self-contained HTML, charts and sidecars."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from usage_assets.charts.catalog import CHARTS, HEADLINE_CHART
from usage_assets.defs.materialize import daily_asset
from usage_assets.defs.metadata import report_metadata
from usage_assets.defs.partitions import ALL_DAYS_UP_TO_D, DAY_OVER_DAY, WEEK_BEFORE, WEEK_OVER_WEEK, partition_day
from usage_assets.defs.report.charts import chart_key
from usage_assets.defs.resources.storage import DataLake, ReportConfig
from usage_assets.defs.resources.telemetry import TelemetrySource
from usage_assets.ingest.freshness import stale_ingested_days, stale_message
from usage_assets.report.commentary import read_commentary
from usage_assets.report.inputs import COMPARED_DATASETS, REPORT_INPUTS, read_report_inputs, report_sidecars
from usage_assets.report.render import Chart, render_report, write_report_folder
from usage_assets.report.sections import build_report_context
from usage_assets.storage.datasets import CHARTS as CHARTS_DATASET
from usage_assets.storage.datasets import FIELD_QUARANTINE, INGEST_STATS, USAGE_REPORT
from usage_assets.storage.lake import Lake


def read_charts(lake: Lake, day: date) -> list[Chart]:
    """The drawn charts of ``day``, in :data:`CHARTS` order.

    Raises :meth:`Lake.missing` (a :class:`usage_assets.storage.lake.MissingPartitionsError`)
    naming every chart asset not drawn for ``day``, e.g. when only the report was selected
    for materialization.
    """
    missing = [chart_key(spec).to_user_string() for spec in CHARTS if not lake.has_day(CHARTS_DATASET, day, spec.filename)]
    if missing:
        named = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise lake.missing(f"{CHARTS_DATASET} ({len(missing)} of {len(CHARTS)} not drawn: {named})", [day])
    return [Chart(spec.stem, spec.caption, lake.read_bytes(CHARTS_DATASET, day, spec.filename)) for spec in CHARTS]


def refuse_stale_days(lake: Lake, telemetry: TelemetrySource, day: date) -> None:
    """Raise ``dg.Failure`` naming the fix when the source changed an ingested day up to
    ``day`` after it was ingested (:mod:`usage_assets.ingest.freshness`). Sources without
    day versions (demo, documentdb) are not checked."""
    if telemetry.day_version(day) is None:
        return
    stale = stale_ingested_days(lake, telemetry.day_version, day)
    if stale:
        raise dg.Failure(description=stale_message(stale, day), allow_retries=False)


#: Logged once per report written (``"<REPORT_BUILT> YYYY-MM-DD"``): the CLI's progress over a range.
REPORT_BUILT = "Built the report of"


@daily_asset(
    name=USAGE_REPORT,
    # D-1 and D-7 metrics are read when they exist, for the comparisons.
    deps=[chart_key(spec) for spec in CHARTS]
    + [dg.AssetDep(name, partition_mapping=WEEK_BEFORE) for name in COMPARED_DATASETS]
    # Every earlier day's field quarantine, for the day each new value was first seen, and
    # ingest record, to refuse days the source changed after they were ingested.
    + [dg.AssetDep(name, partition_mapping=ALL_DAYS_UP_TO_D) for name in (FIELD_QUARANTINE, INGEST_STATS)]
    + list(REPORT_INPUTS),
    group_name="report",
    kinds={"jinja", "html", "markdown"},
)
def usage_report(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake, report_config: ReportConfig
) -> dg.MaterializeResult:
    """The report for day D in ``reports/<D>/``: ``usage-report-<D>.md`` and a
    self-contained ``.html`` (charts embedded), the 15 chart PNGs and the sidecars under
    the reference's file names (``metrics``, ``liveness``, ``ltv-spend`` JSON and CSV,
    ``install-forecast``, ``prod-internal``, ``active-instances``, ``lifetime-buckets``,
    ``daily-reporters``, ``detection-by-version``, ``github_stats.json``). A
    ``commentary.json`` already in the folder (section id -> paragraph) is merged at its
    sections and kept. Written as a whole or not at all."""
    day = partition_day(context)
    lake = data_lake.lake()
    refuse_stale_days(lake, telemetry, day)
    reports = report_config.reports()
    commentary, commentary_file = read_commentary(reports, day)
    drawn = read_charts(lake, day)
    inputs = read_report_inputs(
        lake, day, telemetry.describe(), drawn, commentary,
        day_before=day - timedelta(days=DAY_OVER_DAY), week_before=day - timedelta(days=WEEK_OVER_WEEK),
    )
    report_context = build_report_context(inputs)
    markdown, page = render_report(Path(report_config.templates_dir), report_context)
    folder = write_report_folder(reports, day, markdown, page, drawn, report_sidecars(inputs, commentary_file))
    headline = drawn[CHARTS.index(HEADLINE_CHART)]
    context.log.info(f"{REPORT_BUILT} {day}")
    return dg.MaterializeResult(
        metadata={
            **report_metadata(inputs, report_context, headline.png, headline.caption),
            "report_html": dg.MetadataValue.path(f"{folder}/usage-report-{day}.html"),
            "report_markdown": dg.MetadataValue.path(f"{folder}/usage-report-{day}.md"),
            "commentary_sections": len(commentary),
        }
    )
