"""``usage-report summary`` and the Prometheus options of ``run`` / ``backfill``.

Kept apart from :mod:`usage_assets.cli.main` because the summary never starts Dagster: it reads
the JSON the pipeline materialized in the data lake (and, when asked, queries Prometheus),
so it answers in well under a second.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import click
from rich.console import Console

from usage_assets.common.formatting import printable
from usage_assets.settings import Settings, SettingsError

RANGE_CHOICES = ("7d", "14d", "30d")
FORMATS = ("table", "dashboard", "json")


def prometheus_options(command):
    """``--prometheus-endpoint``, ``--no-prometheus`` and ``--prometheus-range`` (run, backfill)."""
    options = [
        click.option("--prometheus-endpoint", help="Prometheus base URL for the report's trends, e.g. "
                     "http://prometheus:9090 [env USAGE_PROMETHEUS_ENDPOINT; default: Prometheus not used]."),
        click.option("--no-prometheus", "no_prometheus", is_flag=True, default=None,
                     help="Leave Prometheus out even when an endpoint is set; the report says so "
                     "[env USAGE_NO_PROMETHEUS]."),
        click.option("--prometheus-range", type=click.Choice(RANGE_CHOICES),
                     help="Length of the compared windows: the last R days against the R days before, "
                     "and telemetry of D against D-R [env USAGE_PROMETHEUS_RANGE; default 7d]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


#: The CLI's day option type; ``_day`` turns its datetime into a date.
DATE = click.DateTime(formats=["%Y-%m-%d"])


def _day(_ctx, _param, value: datetime | None) -> date | None:
    return value.date() if value else None


@click.command()
@click.option("--date", "report_date", type=DATE, callback=_day,
              help="Report day YYYY-MM-DD (UTC) [default: the newest day materialized in the data lake].")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: sections with trend arrows; dashboard: boxes with bar gauges, 80 columns wide; "
              "json: the full structured summary on stdout and nothing else.")
@click.option("--range", "range_label", type=click.Choice(RANGE_CHOICES),
              help="Window to show [default: the range day D was built with]. A range other than the stored "
              "one queries Prometheus now for that window and re-evaluates the insights, with telemetry "
              "compared against D minus the range.")
@click.option("--no-prometheus", "no_prometheus", is_flag=True,
              help="Leave Prometheus out: no query, stored trends ignored, insights re-evaluated from "
              "telemetry alone.")
@click.option("--prometheus-endpoint",
              help="Query this Prometheus now instead of showing the stored trends [default: "
              "USAGE_PROMETHEUS_ENDPOINT, used only when a fresh query is needed].")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The data lake to read [env USAGE_DATA_DIR; default: the source's workspace, "
              "workspaces/<source>/data].")
@click.option("--verbose", "-v", is_flag=True,
              help="Every breakdown row, the recommendations and every rule's outcome; progress on stderr.")
def summary(report_date, output_format, range_label, no_prometheus, prometheus_endpoint, data_dir, verbose):
    """Print day D's headline numbers from the materialized assets.

    \b
    Reads the JSON the pipeline wrote for D (fleet_metrics, liveness,
    prometheus_trends, usage_insights) from the data lake; nothing is
    recomputed from events. If D was never built, says which command
    builds it. Prometheus: by default the trends stored with D are shown;
    --range with another window, or --prometheus-endpoint, queries
    Prometheus now (shown only, the lake is not changed); --no-prometheus
    leaves it out. Every figure names its source (telemetry, prometheus).
    """
    from usage_assets.enrichment.prometheus_trends import SWITCHED_OFF, trends_or_reason
    from usage_assets.enrichment.trend_arithmetic import parse_range
    from usage_assets.storage.lake import Lake
    from usage_assets.storage.store import S3Options
    from usage_assets.terminal.summary import SummaryUnavailable, default_day, load_summary
    from usage_assets.terminal.views import DASHBOARD_WIDTH, dashboard_view, table_view
    from usage_assets.workspace import Workspace

    errors = Console(stderr=True, highlight=False)
    try:
        # The summary reads the lake: the telemetry source need not be configured when the
        # lake's folder is given, only to find its workspace's.
        settings = Settings.from_env(data_dir=data_dir, prometheus_endpoint=prometheus_endpoint, need_source=False)
        lake = Lake(settings.data_dir or Workspace.of(settings).data_dir, S3Options(**settings.s3.model_dump()))
    except SettingsError as error:
        raise click.UsageError(str(error)) from error
    prometheus = settings.prometheus
    try:
        day = report_date or default_day(lake)
        mode = "off" if no_prometheus else "fresh" if prometheus_endpoint else "stored"
        if verbose:
            errors.log(f"Summary of {day} from {lake.root}; Prometheus: {mode}", markup=False)

        def fresh_trends(range_days: int) -> dict:
            if verbose:
                errors.log(f"Querying Prometheus for the {range_days}-day windows ending {day}", markup=False)
            return trends_or_reason(
                prometheus.endpoint, day, range_days, prometheus.series_names, prometheus.timeout,
                SWITCHED_OFF if settings.no_prometheus else None, selector=prometheus.selector or "",
                auth=prometheus.requests_auth(),
            )

        document = load_summary(
            lake, day, parse_range(range_label) if range_label else None, mode, fresh_trends,
        )
    except SummaryUnavailable as error:
        raise click.ClickException(str(error)) from error
    trends = document["prometheus"]
    if document["prometheus_mode"] == "fresh" and trends["status"] != "used":
        errors.print(f"Prometheus not used: {printable(trends['reason'])}", markup=False, highlight=False)
    if output_format == "json":
        click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    elif output_format == "dashboard":
        Console(width=DASHBOARD_WIDTH, highlight=False).print(dashboard_view(document, verbose))
    else:
        Console(highlight=False).print(table_view(document, verbose))
