"""install_lineage, deployments, anomalies and the anomaly checks, materialized with
``dg.materialize`` over a hand-made lake of 31 days.

Thirty customer installs send one heartbeat a day; on the last day half of them are
silent. Install A runs on the day before and B, from the same IP hash with the same
shape, starts on the last day: one recreated deployment.
"""

from datetime import date, timedelta
from types import SimpleNamespace

import dagster as dg
import polars as pl

from usage_assets.daily.activity import instance_days_from_events
from usage_assets.definitions import build_resources
from usage_assets.defs.daily.assets import instances
from usage_assets.defs.metrics.anomaly_checks import anomalies, anomaly_checks
from usage_assets.defs.metrics.lineage import deployments, install_lineage
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.anomalies import CHECK_NAMES
from usage_assets.report.sections import anomalies_section
from usage_assets.settings import Settings
from usage_assets.storage.datasets import ANOMALIES, DEPLOYMENTS, INSTALL_LINEAGE, INSTANCE_DAYS
from usage_assets.storage.lake import Lake
from usage_assets_tests.conftest import ID_A, ID_B, event, export_rows

DAY = date(2026, 5, 31)
FIRST = DAY - timedelta(days=30)
SHAPE = {
    "cloud": "aws",
    "compute": "ecs",
    "storage": "documentdb",
    "auth": "cognito",
    "mode": "with-gateway",
    "registry_mode": "full",
    "v": "1.31.0",
    "source_ip_hash": "5e1f00d0c0ffee00",
}
FILLERS = [f"00000000-0000-4000-8000-{k:012d}" for k in range(30)]


def write_days(lake: Lake) -> None:
    for n in range(31):
        day = FIRST + timedelta(days=n)
        active = FILLERS[:15] if day == DAY else FILLERS
        rows = [event("heartbeat", registry_id, f"{day}T06:00:00.000Z", v="1.31.0") for registry_id in active]
        if day == DAY - timedelta(days=1):
            rows += [
                event("startup", ID_A, f"{day}T08:00:00.000Z", **SHAPE),
                event("heartbeat", ID_A, f"{day}T09:00:00.000Z", **SHAPE),
            ]
        if day == DAY:
            rows += [event("startup", ID_B, f"{day}T10:00:00.000Z", **SHAPE)]
        events = validate_events(export_rows(rows), day).events
        lake.write_frame(INSTANCE_DAYS, day, instance_days_from_events(events, day))


def test_lineage_deployments_and_anomaly_checks_of_a_day(tmp_path):
    lake = Lake(tmp_path / "data")
    write_days(lake)
    resources = build_resources(Settings(data_dir=str(tmp_path / "data"), reports_dir=str(tmp_path / "reports")))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [instances, install_lineage, deployments, anomalies, anomaly_checks],
            partition_key=DAY.isoformat(),
            resources=resources,
            instance=instance,
        )
    assert result.success  # a fired WARN check never fails the run

    lineage = lake.read_frame(INSTALL_LINEAGE, DAY)
    assert lineage.select("predecessor", "successor", "status").rows() == [(ID_A, ID_B, "linked")]
    chains = lake.read_frame(DEPLOYMENTS, DAY).filter(pl.col("installs") > 1)
    assert chains["registry_ids"].to_list() == [[ID_A, ID_B]]

    evaluations = {each.check_name: each for each in result.get_asset_check_evaluations()}
    assert set(evaluations) == set(CHECK_NAMES)
    fired = {name for name, each in evaluations.items() if not each.passed}
    assert "daily_active_customers" in fired and "v6_fields_stored" not in fired
    for each in evaluations.values():
        assert each.severity == dg.AssetCheckSeverity.WARN
    active = evaluations["daily_active_customers"].metadata
    # 15 fillers + B on D, against 30 (+ A on D-1) before.
    assert active["value"].value == 16 and active["baseline"].value == 30

    # The report's first section shows the same entries, numbers and reasons as the checks.
    section = anomalies_section(SimpleNamespace(anomalies=lake.read_json(ANOMALIES, DAY)))
    assert {entry["name"] for entry in section["fired"]} == fired
    for entry in section["fired"]:
        metadata = evaluations[entry["name"]].metadata
        assert (entry["value"], entry["baseline"], entry["threshold"], entry["reason"]) == (
            metadata["value"].value,
            metadata["baseline"].value,
            metadata["threshold"].value,
            metadata["reason"].value,
        )
