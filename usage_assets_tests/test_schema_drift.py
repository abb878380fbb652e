"""Schema drift (issue 10, item 2): the exports a newer registry and collector leave count
the same installs as the old ones and name what is new.

From one day on, a quarter of the installs of a demo fleet report a compute platform and an
os this project has never seen, their auth-path shares become decimals and the export gains
a column. Before field-level quarantine every such row was rejected, and the report counted
fewer installs and fewer Confirmed Alive ones than the same fleet's clean export.
"""

import json
from datetime import date, timedelta

import dagster as dg
import polars as pl

from usage_assets.cli.runner import PipelineRunner
from usage_assets.common.days import day_range
from usage_assets.settings import Settings
from usage_assets.sources.demo_fleet import DemoFleetParams, demo_events_for_day

START = date(2026, 6, 1)
REPORT_DAY = START + timedelta(days=13)
DRIFT_FROM = START + timedelta(days=5)
NEW_COMPUTE, NEW_OS = "nomad<b>", "freebsd"


def reference_export(params: DemoFleetParams) -> pl.DataFrame:
    """Every demo event up to the export's own day, startups first (the reference's order)."""
    rows = pl.concat([demo_events_for_day(params, day) for day in day_range(START, REPORT_DAY + timedelta(days=1))])
    return pl.concat([rows.filter(pl.col("event") == "startup"), rows.filter(pl.col("event") == "heartbeat")])


def _decimal_share(cell: str | None) -> str | None:
    if cell is None:
        return None
    return json.dumps({path: value - 0.5 if value >= 1 else value for path, value in json.loads(cell).items()})


def drifted(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` as a newer registry and collector would export them (see the module docstring)."""
    newer = pl.col("registry_id").str.slice(0, 1).is_in(list("0123")) & (pl.col("ts").str.slice(0, 10) >= str(DRIFT_FROM))
    return rows.with_columns(
        pl.when(newer).then(pl.lit(NEW_COMPUTE)).otherwise(pl.col("compute")).alias("compute"),
        pl.when(newer & pl.col("os").is_not_null()).then(pl.lit(NEW_OS)).otherwise(pl.col("os")).alias("os"),
        pl.when(newer).then(pl.col("auth_path_share_24h").map_elements(_decimal_share, return_dtype=pl.String))
        .otherwise(pl.col("auth_path_share_24h")).alias("auth_path_share_24h"),
        pl.lit("none").alias("accelerator"),
    )


def build_report(folder, rows: pl.DataFrame) -> tuple[dict, dict, str]:
    """(metrics, liveness, Markdown) of the report for REPORT_DAY from ``rows`` as one CSV export."""
    export = folder / "exports" / str(REPORT_DAY + timedelta(days=1)) / "registry_metrics.csv"
    export.parent.mkdir(parents=True)
    rows.write_csv(export)
    settings = Settings(source="csv", csv_path=str(folder / "exports"),
                        data_dir=str(folder / "data"), reports_dir=str(folder / "reports"))
    (folder / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(folder / "dagster_home")) as instance:
        runner = PipelineRunner(settings, instance)
        runner.prepare_source()
        for day in day_range(START, REPORT_DAY - timedelta(days=1)):
            runner.ingest(day)
        report = runner.report(REPORT_DAY)
    read = lambda name: json.loads((report.parent / f"{name}-{REPORT_DAY}.json").read_text())  # noqa: E731
    return read("metrics"), read("liveness"), report.with_suffix(".md").read_text()


def test_a_newer_registrys_export_counts_the_same_installs_and_names_its_new_values(tmp_path):
    clean = reference_export(DemoFleetParams(start=START, daily_new_installs=4.0))
    newer = drifted(clean)
    assert newer.filter(pl.col("compute") == NEW_COMPUTE).height > 100  # the drift is not marginal

    metrics, liveness, _ = build_report(tmp_path / "clean", clean)
    drift_metrics, drift_liveness, markdown = build_report(tmp_path / "drift", newer)

    assert drift_metrics["key_metrics"]["identified_instances"] == metrics["key_metrics"]["identified_instances"]
    assert drift_metrics["key_metrics"]["total_events"] == metrics["key_metrics"]["total_events"]
    assert drift_liveness["counts"] == liveness["counts"]
    assert liveness["counts"]["confirmed"] > 10
    # The new platform is a category of its own, shown escaped.
    compute = drift_metrics["install_distributions"]["all_installs"]["compute"]
    assert compute[NEW_COMPUTE] > 0
    assert "<b>" not in markdown and "nomad&lt;b&gt;" in markdown
    quality = markdown[markdown.index("## Data quality"):]
    new_values = quality[quality.index("### New values seen"):quality.index("### Fields cleared")]
    assert "| compute | nomad&lt;b&gt; |" in new_values and f"| os | {NEW_OS} |" in new_values
    assert f"| {DRIFT_FROM} |" in new_values  # first seen
    assert "None: no field" in quality  # decimal shares are not a broken field
    # The extra column is ignored and named once.
    assert quality.count("accelerator") == 1
    assert f"Columns ignored (the export format does not have them): accelerator (first in {REPORT_DAY + timedelta(days=1)}/" \
        in quality
