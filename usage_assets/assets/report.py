"""Charts and the report for day D: drawn from the metric assets, written as files."""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from usage_assets.lib import charts as chart_builders
from usage_assets.lib import charts_fleet, charts_growth
from usage_assets.lib.commentary import COMMENTARY_FILE, load_commentary
from usage_assets.lib.lake import Lake, atomic_write_bytes, canonical_json
from usage_assets.lib.retention import adoption_funnel
from usage_assets.lib.report import Chart, render_report, write_report_folder
from usage_assets.lib.report_sections import DayMetrics, ReportInputs, build_report_context
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


def _customers(lake: Lake, day: date) -> pl.DataFrame:
    return lake.read_frame("instances", day).filter(~pl.col("is_internal"))


def _funnel(lake: Lake, day: date) -> bytes:
    rows = adoption_funnel(lake.read_json("fleet_summary", day)["stickiness"], lake.read_json("liveness", day)["counts"]["confirmed"])
    return charts_fleet.adoption_funnel_chart(rows, day)


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
        lambda lake, day: chart_builders.lifetime_chart(_customers(lake, day)["age_days"].to_list(), day),
    ),
    ChartSpec(
        "instance-lifetime-box-by-compute",
        "Customer install lifetime by compute platform (latest reported platform).",
        lambda lake, day: charts_fleet.lifetime_box_by_compute_chart(_customers(lake, day).select("compute", "age_days"), day),
    ),
    ChartSpec(
        "lifetime-buckets",
        "Customer lifetime retention over time: one-day wonders and installs reporting over 3+/7+/14+/30+ days, ages as of each day.",
        lambda lake, day: charts_growth.lifetime_buckets_chart(lake.read_frame("retention", day), day),
    ),
    ChartSpec(
        "active-instances",
        "Customer engagement per UTC day: daily active installs (DAI), 7-day mean, 7-day streak and Likely Alive.",
        lambda lake, day: charts_growth.active_instances_chart(lake.read_frame("engagement", day), day),
    ),
    ChartSpec(
        "compute-installs-timeseries",
        "Installs by compute platform over time: cumulative and active per day (all installs, UTC days).",
        lambda lake, day: charts_growth.compute_installs_timeseries_chart(lake.read_frame("compute_timeseries", day), day),
    ),
    ChartSpec(
        "install-forecast",
        "Cumulative identified installs with the 14-day least-squares trend, its 95% band and the 7-day pace.",
        lambda lake, day: charts_growth.install_forecast_chart(
            lake.read_frame("cumulative_installs", day), lake.read_json("install_forecast", day), day
        ),
    ),
    ChartSpec(
        "daily-reporters",
        "AWS customer installs reporting each UTC day: all, with at least 2 events, with at least 2 days.",
        lambda lake, day: charts_growth.daily_reporters_chart(lake.read_frame("daily_reporters", day), day),
    ),
    ChartSpec(
        "ltv-spend",
        "Hypothetical AWS spend of customer installs at list price, cumulative and per day, under the three counting rules.",
        lambda lake, day: charts_growth.ltv_spend_chart(lake.read_frame("infra_spend_by_day", day), day),
    ),
    ChartSpec(
        "adoption-funnel",
        "Adoption funnel of customer installs, from every install to Confirmed Alive.",
        _funnel,
    ),
    ChartSpec(
        "detection-by-version",
        "How customer installs detected their cloud, by latest version (every detection method).",
        lambda lake, day: charts_fleet.detection_by_version_chart(lake.read_frame("cloud_detection", day), day),
    ),
    ChartSpec(
        "prod-internal-timeseries",
        "Community builds (release tags) and internal builds over time: cumulative and active per UTC day.",
        lambda lake, day: charts_fleet.prod_internal_timeseries_chart(lake.read_json("build_kinds", day)["timeseries"], day),
    ),
    ChartSpec(
        "auth-path-mix",
        "Authentication paths in use (schema v6 heartbeats, weighted by request volume) and how many installs report them.",
        lambda lake, day: charts_fleet.auth_path_mix_chart(lake.read_json("fleet_summary", day)["auth_path"], day),
    ),
)

#: Lake datasets the charts are drawn from (the charts step's upstream assets).
CHART_INPUTS = [
    "install_timeseries", "fleet_summary", "instances", "liveness", "retention", "engagement", "compute_timeseries",
    "install_forecast", "daily_reporters", "infra_spend", "cloud_detection", "build_kinds",
]


# The one chart whose thumbnail goes into the asset's metadata (shown in the Dagster UI).
HEADLINE_CHART = CHARTS[0]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            spec.key,
            description=spec.caption,
            deps=CHART_INPUTS,
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


# D-1 and D-7 metrics are read when they exist, for the comparisons.
WEEK_BEFORE = dg.TimeWindowPartitionMapping(start_offset=-7)
REPORT_INPUTS = [
    "raw_events", "instances", "engagement", "retention", "compute_timeseries", "install_forecast", "infra_spend",
    "daily_reporters", "build_kinds", "cloud_detection", "recommendations", "prometheus_trends", "usage_insights",
]


def read_report_inputs(lake: Lake, day: date, source: str, charts: list[Chart], commentary: dict[str, str]) -> ReportInputs:
    """Everything the report of ``day`` shows, read from the lake (D-1/D-7 metrics if present)."""
    def day_metrics(when: date) -> DayMetrics:
        return DayMetrics(
            when, lake.read_json_if_present("fleet_summary", when), lake.read_json_if_present("liveness", when),
            lake.read_json_if_present("github_stats", when),
        )

    return ReportInputs(
        day=day,
        source=source,
        today=day_metrics(day),
        day_before=day_metrics(day - timedelta(days=1)),
        week_before=day_metrics(day - timedelta(days=7)),
        ingest_stats=lake.read_json("ingest_stats", day),
        instances=lake.read_frame("instances", day),
        engagement=lake.read_frame("engagement", day),
        retention=lake.read_frame("retention", day),
        compute_timeseries=lake.read_frame("compute_timeseries", day),
        forecast=lake.read_json("install_forecast", day),
        spend=lake.read_json("infra_spend", day),
        daily_reporters=lake.read_frame("daily_reporters", day),
        builds=lake.read_json("build_kinds", day),
        detection=lake.read_frame("cloud_detection", day),
        recommendations=lake.read_json("recommendations", day),
        trends=lake.read_json("prometheus_trends", day),
        insights=lake.read_json("usage_insights", day),
        commentary=commentary,
        charts=charts,
    )


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d")).write_csv().encode("utf-8")


@dg.asset(
    partitions_def=daily_partitions,
    deps=[spec.key for spec in CHARTS]
    + [dg.AssetDep(name, partition_mapping=WEEK_BEFORE) for name in ("fleet_summary", "liveness", "github_stats")]
    + REPORT_INPUTS,
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
    folder = Path(report_config.reports_dir) / day.isoformat()
    commentary_path = folder / COMMENTARY_FILE
    commentary = load_commentary(commentary_path)
    drawn = [
        Chart(spec.stem, spec.caption, lake.path("charts", day, f"{spec.stem}.png").read_bytes()) for spec in CHARTS
    ]
    inputs = read_report_inputs(lake, day, telemetry.describe(), drawn, commentary)
    markdown, page = render_report(Path(report_config.templates_dir), build_report_context(inputs))
    sidecars = {
        f"metrics-{day}.json": canonical_json(inputs.today.fleet),
        f"liveness-{day}.json": canonical_json(inputs.today.liveness),
        f"ltv-spend-{day}.json": canonical_json(inputs.spend),
        f"ltv-spend-{day}.csv": _csv(lake.read_frame("infra_spend_by_day", day)),
        f"install-forecast-{day}.json": canonical_json(inputs.forecast),
        f"prod-internal-{day}.json": canonical_json(inputs.builds),
        f"active-instances-{day}.csv": _csv(inputs.engagement),
        f"lifetime-buckets-{day}.csv": _csv(inputs.retention),
        f"daily-reporters-{day}.csv": _csv(inputs.daily_reporters),
        f"detection-by-version-{day}.csv": _csv(inputs.detection),
        "github_stats.json": canonical_json(inputs.today.github or {}),
    }
    if commentary_path.exists():
        sidecars[COMMENTARY_FILE] = commentary_path.read_bytes()
    folder = write_report_folder(Path(report_config.reports_dir), day, markdown, page, drawn, sidecars)
    return dg.MaterializeResult(
        metadata={
            "report_html": dg.MetadataValue.path(str(folder / f"usage-report-{day}.html")),
            "report_markdown": dg.MetadataValue.path(str(folder / f"usage-report-{day}.md")),
            "identified_instances": inputs.today.fleet["key_metrics"]["identified_instances"],
            "confirmed_alive": inputs.today.liveness["counts"]["confirmed"],
            "commentary_sections": len(commentary),
        }
    )
