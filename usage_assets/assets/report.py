"""Charts and the report for day D: drawn from the metric assets, written as files."""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from usage_assets.lib import charts as chart_builders
from usage_assets.lib.lake import Lake, atomic_write_bytes
from usage_assets.lib.report import Chart, build_report_context, render_report, write_report_folder
from usage_assets.partitions import daily_partitions, partition_day
from usage_assets.resources.storage import DataLake, ReportConfig
from usage_assets.resources.telemetry import TelemetrySource


@dataclass(frozen=True)
class ChartSpec:
    """One chart: reference file stem, what it shows, and how to draw it from the lake."""

    stem: str
    caption: str
    draw: Callable[[Lake, date], bytes]

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(["charts", self.stem.replace("-", "_")])


def _distribution(lake: Lake, day: date, which: str, title: str) -> bytes:
    distributions = lake.read_json("fleet_summary", day)["install_distributions"][which]
    return chart_builders.install_distribution_chart(distributions, title)


CHARTS = (
    ChartSpec(
        "registry-installs-timeseries",
        "Installs by cloud over time: cumulative, active per day and new per day (all installs, UTC days).",
        lambda lake, day: chart_builders.installs_timeseries_chart(lake.read_frame("install_timeseries", day), day),
    ),
    ChartSpec(
        "instance-distribution",
        "Unique installs by deployment profile, every install seen up to the report date (latest reported values).",
        lambda lake, day: _distribution(
            lake, day, "all_installs", f"Unique installs by deployment profile, all installs up to {day} (UTC)"
        ),
    ),
    ChartSpec(
        "instance-distribution-active",
        "Unique installs by deployment profile, installs with at least one event on the report date.",
        lambda lake, day: _distribution(
            lake, day, "active_on_report_date", f"Unique installs by deployment profile, active on {day} (UTC)"
        ),
    ),
    ChartSpec(
        "instance-lifetime",
        "Customer install lifetime in days between first and last UTC day seen: histogram, spread and buckets.",
        lambda lake, day: chart_builders.lifetime_chart(
            lake.read_frame("instances", day).filter(~pl.col("is_internal"))["age_days"].to_list(), day
        ),
    ),
)


# The one chart whose thumbnail goes into the asset's metadata (shown in the Dagster UI).
HEADLINE_CHART = CHARTS[0]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            spec.key,
            description=spec.caption,
            deps=["install_timeseries", "fleet_summary", "instances"],
            group_name="report",
            kinds={"matplotlib", "png"},
        )
        for spec in CHARTS
    ],
    partitions_def=daily_partitions,
)
def charts(context: dg.AssetExecutionContext, data_lake: DataLake):
    """Draw every chart of day D from the metric assets into the lake (PNG per chart)."""
    # One step draws every chart: matplotlib's import and figure setup are paid once,
    # not once per chart in its own process.
    day = partition_day(context)
    lake = data_lake.lake()
    for spec in CHARTS:
        path = lake.path("charts", day, f"{spec.stem}.png")
        png = spec.draw(lake, day)
        atomic_write_bytes(path, png)
        metadata = {"path": dg.MetadataValue.path(str(path))}
        if spec is HEADLINE_CHART:
            preview = base64.b64encode(chart_builders.thumbnail_png(png)).decode("ascii")
            metadata["preview"] = dg.MetadataValue.md(f"![{spec.stem}](data:image/png;base64,{preview})")
        yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)


@dg.asset(
    partitions_def=daily_partitions,
    deps=[spec.key for spec in CHARTS] + ["fleet_summary", "liveness", "raw_events"]
    + ["prometheus_trends", "usage_insights"],
    group_name="report",
    kinds={"jinja", "html", "markdown"},
)
def usage_report(
    context: dg.AssetExecutionContext, telemetry: TelemetrySource, data_lake: DataLake, report_config: ReportConfig
) -> dg.MaterializeResult:
    """The report for day D: ``reports/<D>/usage-report-<D>.md`` and a self-contained
    ``.html`` (charts embedded), plus ``metrics-<D>.json``, ``liveness-<D>.json`` and the
    chart PNGs under the reference's file names. Written as a whole or not at all."""
    day = partition_day(context)
    lake = data_lake.lake()
    fleet = lake.read_json("fleet_summary", day)
    liveness = lake.read_json("liveness", day)
    drawn = [
        Chart(spec.stem, spec.caption, lake.path("charts", day, f"{spec.stem}.png").read_bytes()) for spec in CHARTS
    ]
    context_values = build_report_context(
        day, telemetry.describe(), fleet, liveness, lake.read_json("ingest_stats", day), drawn,
        trends=lake.read_json("prometheus_trends", day), insights=lake.read_json("usage_insights", day),
    )
    markdown, page = render_report(Path(report_config.templates_dir), context_values)
    folder = write_report_folder(
        Path(report_config.reports_dir),
        day,
        markdown,
        page,
        drawn,
        {f"metrics-{day}.json": fleet, f"liveness-{day}.json": liveness},
    )
    html_path = folder / f"usage-report-{day}.html"
    return dg.MaterializeResult(
        metadata={
            "report_html": dg.MetadataValue.path(str(html_path)),
            "report_markdown": dg.MetadataValue.path(str(folder / f"usage-report-{day}.md")),
            "identified_instances": fleet["key_metrics"]["identified_instances"],
            "confirmed_alive": liveness["counts"]["confirmed"],
        }
    )
