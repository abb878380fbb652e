"""What one daily run leaves in Dagster's event log, measured on the demo: the numbers
the UI plots, every chart's preview, the report's summary, the Parquet assets' schemas
and row counts, and the size bounds the README states."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl
from dagster._serdes import serialize_value

from usage_assets.charts.catalog import CHARTS
from usage_assets.defs.report.charts import chart_key
from usage_assets.storage.datasets import USAGE_REPORT
from usage_assets_tests.ui.conftest import REPORT_DAY

#: README, "The Dagster UI": the bounds per daily run and per usage_report materialization.
RUN_EVENT_LOG_BOUND = 1_000_000
REPORT_METADATA_BOUND = 100_000
HEADLINE_KEYS = {
    "installs",
    "customer_installs",
    "confirmed_alive_installs",
    "likely_alive_installs",
    "dai",
    "new_installs",
    "one_day_wonder_share_pct",
    "spend_yesterday_usd",
    "rows_rejected",
    "fields_cleared",
}


def materializations(demo_instance) -> dict[str, dg.AssetMaterialization]:
    with dg.DagsterInstance.from_config(str(demo_instance.dagster_home)) as instance:
        records = instance.all_logs(demo_instance.report_run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    return {
        record.dagster_event.asset_key.to_user_string(): record.dagster_event.step_materialization_data.materialization
        for record in records
    }


def test_a_daily_run_stays_within_the_event_log_bounds(demo_instance):
    with dg.DagsterInstance.from_config(str(demo_instance.dagster_home)) as instance:
        run_bytes = sum(len(serialize_value(record)) for record in instance.all_logs(demo_instance.report_run_id))
    report = materializations(demo_instance)[USAGE_REPORT]
    assert len(serialize_value(report.metadata)) < REPORT_METADATA_BOUND
    assert run_bytes < RUN_EVENT_LOG_BOUND


def test_the_report_shows_its_summary_and_the_numbers_of_its_sidecars(demo_instance):
    metadata = materializations(demo_instance)[USAGE_REPORT].metadata
    summary = metadata["summary"].value
    assert summary.startswith(f"### Usage report — {REPORT_DAY} (UTC)")
    assert summary.count("](data:image/png;base64,") == 1 and "| Identified installs, to date |" in summary
    numbers = {
        key for key, value in metadata.items() if isinstance(value, (dg.IntMetadataValue, dg.FloatMetadataValue))
    }
    assert HEADLINE_KEYS <= numbers
    folder = demo_instance.reports_dir / REPORT_DAY.isoformat()
    fleet = json.loads((folder / f"metrics-{REPORT_DAY}.json").read_text())
    liveness = json.loads((folder / f"liveness-{REPORT_DAY}.json").read_text())
    assert metadata["installs"].value == fleet["key_metrics"]["identified_instances"]
    assert metadata["customer_installs"].value == fleet["stickiness"]["total_non_internal"]
    assert metadata["one_day_wonder_share_pct"].value == fleet["stickiness"]["one_day_wonder_pct"]
    assert metadata["confirmed_alive_installs"].value == liveness["counts"]["confirmed"]
    assert metadata["likely_alive_installs"].value == liveness["counts"]["likely"]


def test_every_chart_has_its_preview_and_every_parquet_dataset_its_schema_and_rows(demo_instance):
    found = materializations(demo_instance)
    for spec in CHARTS:
        preview = found[chart_key(spec).to_user_string()].metadata["preview"].value
        assert preview.startswith("![") and preview.count("](data:image/png;base64,") == 1
    parquet = {
        key: m for key, m in found.items() if "path" in m.metadata and m.metadata["path"].value.endswith(".parquet")
    }
    assert {"raw_events", "instance_days", "instances", "engagement", "liveness_by_install"} <= parquet.keys()
    for key, materialization in parquet.items():
        frame = pl.read_parquet(materialization.metadata["path"].value)
        schema = materialization.metadata["dagster/column_schema"].value
        assert [column.name for column in schema.columns] == frame.columns, key
        assert materialization.metadata["dagster/row_count"].value == frame.height, key
