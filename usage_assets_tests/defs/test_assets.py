"""Single assets materialized with ``dg.materialize`` over a hand-made lake.

Each test writes exactly the upstream datasets an asset declares, materializes that one
asset for one partition, and checks what it wrote: an asset that read anything it does
not declare would fail here.
"""

import shutil
from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from usage_assets.charts.catalog import CHARTS
from usage_assets.cli.runner import failure_summary
from usage_assets.definitions import build_resources
from usage_assets.defs.daily.assets import instance_days, instances
from usage_assets.defs.metrics.engagement import lifetime_buckets
from usage_assets.defs.metrics.fleet import fleet_metrics
from usage_assets.defs.report.charts import charts
from usage_assets.defs.report.report import usage_report
from usage_assets.ingest.validation import validate_events
from usage_assets.settings import Settings
from usage_assets.storage.datasets import CHARTS as CHARTS_DATASET
from usage_assets.storage.datasets import FLEET_METRICS, INSTANCE_DAYS, INSTANCES, LIFETIME_BUCKETS, RAW_EVENTS
from usage_assets.storage.lake import Lake
from usage_assets_tests.conftest import ID_A, ID_B, event, export_rows
from usage_assets_tests.test_pipeline import START, build_reports, demo_runner  # noqa: F401

DAY = date(2026, 5, 20)


def resources(tmp_path, data_dir=None, **settings) -> dict:
    """The pipeline's own resources for the default settings (or ``settings``), with the
    lake in ``data_dir`` (default ``tmp_path/data``) and the reports in ``tmp_path``."""
    return build_resources(
        Settings(data_dir=str(data_dir or tmp_path / "data"), reports_dir=str(tmp_path / "reports"), **settings)
    )


def write_raw_events(lake: Lake, day: date, rows: list[dict]) -> None:
    lake.write_frame(RAW_EVENTS, day, validate_events(export_rows(rows), day).events)


def materialize(asset, tmp_path, day: date) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return dg.materialize([asset], partition_key=day.isoformat(), resources=resources(tmp_path), instance=instance)


def test_instance_days_summarizes_each_install_of_the_day(tmp_path):
    lake = Lake(tmp_path / "data")
    write_raw_events(lake, DAY, [
        event("startup", ID_A, f"{DAY}T08:00:00Z"),
        event("heartbeat", ID_A, f"{DAY}T09:00:00Z"),
        event("heartbeat", ID_A, f"{DAY}T21:00:00Z"),
        event("heartbeat", ID_B, f"{DAY}T10:00:00Z"),
    ])
    result = materialize(instance_days, tmp_path, DAY)
    assert result.success
    table = lake.read_frame(INSTANCE_DAYS, DAY).sort("registry_id")
    assert table["registry_id"].to_list() == [ID_A, ID_B]
    assert table["heartbeat_events"].to_list() == [2, 1] and table["startup_events"].to_list() == [1, 0]
    assert table["events"].to_list() == [3, 1]
    (materialization,) = result.asset_materializations_for_node("instance_days")
    assert materialization.metadata["dagster/row_count"].value == 2


def test_history_starts_at_the_first_ingested_day_and_a_hole_fails_naming_it(tmp_path):
    lake = Lake(tmp_path / "data")
    for offset in (0, 1, 3):  # day 2 was never ingested
        day = DAY + timedelta(days=offset)
        write_raw_events(lake, day, [event("heartbeat", ID_A, f"{day}T09:00:00Z")])
        assert materialize(instance_days, tmp_path, day).success
    assert materialize(instances, tmp_path, DAY + timedelta(days=1)).success
    table = lake.read_frame(INSTANCES, DAY + timedelta(days=1))
    assert table.select("registry_id", "first_seen", "age_days").rows() == [(ID_A, DAY, 1)]
    with dg.instance_for_test() as instance:
        failed = dg.materialize(
            [instances], partition_key=(DAY + timedelta(days=3)).isoformat(), resources=resources(tmp_path),
            instance=instance, raise_on_error=False,
        )
    assert not failed.success
    (failure,) = [event for event in failed.all_events if event.is_step_failure]
    assert f"instance_days is missing 1 day(s): {DAY + timedelta(days=2)}" in str(failure.step_failure_data.error)


def test_lifetime_buckets_count_and_share_customers_per_day(tmp_path):
    lake = Lake(tmp_path / "data")
    last = DAY + timedelta(days=3)
    for offset in range(4):
        day = DAY + timedelta(days=offset)
        # A reports on days 0 and 3 (age 3 on day 3); B only on day 0 (a one-day wonder).
        rows = [event("heartbeat", ID_A, f"{day}T09:00:00Z")] if offset in (0, 3) else []
        rows += [event("heartbeat", ID_B, f"{day}T10:00:00Z")] if offset == 0 else []
        write_raw_events(lake, day, rows)
        assert materialize(instance_days, tmp_path, day).success
    assert materialize(instances, tmp_path, last).success
    assert materialize(lifetime_buckets, tmp_path, last).success
    frame = lake.read_frame(LIFETIME_BUCKETS, last)
    assert frame["date"].to_list() == [DAY + timedelta(days=n) for n in range(4)]
    final = frame.row(-1, named=True)
    assert (final["total"], final["one_day_wonders"], final["ge_3d"], final["ge_7d"]) == (2, 1, 1, 0)
    assert (final["one_day_wonder_pct"], final["pct_ge_3d"]) == (50.0, 50.0)


@pytest.fixture
def demo_lake(demo_runner) -> tuple[Lake, date]:  # noqa: F811
    day = START + timedelta(days=9)
    build_reports(demo_runner, day, day)
    return demo_runner.lake, day


def test_each_chart_is_drawn_from_its_declared_inputs_alone(demo_lake, tmp_path):
    lake, day = demo_lake
    for spec in CHARTS:
        only_inputs = Lake(tmp_path / spec.name)
        for dataset in spec.inputs:
            shutil.copytree(lake.root / dataset / f"date={day}", only_inputs.root / dataset / f"date={day}")
        assert spec.draw(only_inputs, day).startswith(b"\x89PNG"), spec.name
    assert pl.read_parquet(lake.path(INSTANCES, day)).height > 0


@pytest.mark.parametrize(("asset", "removed", "names"), [
    # The UI's "materialize this asset" on usage_report of a day whose charts were never drawn.
    (usage_report, CHARTS_DATASET, "charts (15 of 15 not drawn: charts/registry_installs_timeseries, "
                                   "charts/instance_distribution, charts/instance_distribution_active and 12 more)"),
    (charts, FLEET_METRICS, FLEET_METRICS),
    (fleet_metrics, INSTANCES, INSTANCES),
])
def test_an_asset_whose_upstream_day_is_missing_fails_in_one_line_naming_it_and_the_fix(
    demo_lake, tmp_path, asset, removed, names
):
    lake, day = demo_lake
    shutil.rmtree(lake.root / removed / f"date={day}")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [asset], partition_key=day.isoformat(), instance=instance, raise_on_error=False,
            resources=resources(tmp_path, data_dir=lake.root, demo_start=START.isoformat()),
        )
    assert not result.success
    message = failure_summary(result)  # what the CLI prints
    # A dg.Failure: the UI shows its description, the step is not retried.
    (failure,) = [event.step_failure_data for event in result.all_events if event.is_step_failure]
    assert failure.user_failure_data.description == message.split(": ", 1)[1]
    assert "\n" not in message and "Error" not in message
    assert f"{names} is missing 1 day(s): {day}." in message
    assert f"`usage-report backfill --start {day} --end {day} --force`" in message
    assert "in the Dagster UI (`usage-report ui`) select the asset with its upstream assets and materialize" in message
