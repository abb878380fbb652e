"""The history-wide assets of day D write the same bytes whether they extend D-1's outputs
(materialized day after day, as the daily schedule does) or compute over all history (a
lake holding only the daily layer), on a generated fleet with gaps, restarts, respelled
versions and internal installs."""

from datetime import date

import dagster as dg

from usage_assets.defs.daily.assets import instances
from usage_assets.defs.metrics import engagement as engagement_module
from usage_assets.defs.metrics import fleet as fleet_module
from usage_assets.defs.metrics import installs_over_time as installs_module
from usage_assets.defs.metrics.anomaly_checks import anomalies
from usage_assets.defs.metrics.engagement import install_forecast
from usage_assets.defs.metrics.fleet import build_kinds, fleet_metrics
from usage_assets.defs.metrics.installs_over_time import compute_timeseries, install_timeseries
from usage_assets.storage.datasets import (
    ANOMALIES,
    BUILD_KINDS,
    COMPUTE_TIMESERIES,
    CUMULATIVE_INSTALLS,
    FLEET_METRICS,
    INSTALL_FORECAST,
    INSTALL_TIMESERIES,
    INSTANCE_DAYS,
)
from usage_assets.storage.lake import Lake
from usage_assets_tests.daily.test_activity import generated_days
from usage_assets_tests.defs.test_assets import resources

ASSETS = [instances, install_timeseries, compute_timeseries, install_forecast, fleet_metrics, build_kinds, anomalies]
OUTPUTS = {
    INSTALL_TIMESERIES: "part-0.parquet",
    COMPUTE_TIMESERIES: "part-0.parquet",
    CUMULATIVE_INSTALLS: "part-0.parquet",
    INSTALL_FORECAST: "data.json",
    FLEET_METRICS: "data.json",
    BUILD_KINDS: "data.json",
    ANOMALIES: "data.json",
}


def materialize_days(tmp_path, name: str, days: list[date]) -> Lake:
    with dg.instance_for_test() as instance:
        for day in days:
            result = dg.materialize(
                ASSETS, partition_key=day.isoformat(), resources=resources(tmp_path / name), instance=instance
            )
            assert result.success, day
    return Lake(tmp_path / name / "data")


def test_history_wide_assets_extended_day_by_day_equal_those_computed_over_all_history(tmp_path, monkeypatch):
    layer = generated_days(6)
    days = sorted(layer)
    for name in ("daily", "whole"):
        lake = Lake(tmp_path / name / "data")
        for day, frame in layer.items():
            lake.write_frame(INSTANCE_DAYS, day, frame)
    carried = materialize_days(tmp_path, "daily", days[:-1])

    # On the last day the extending assets read no history (anomalies still read a narrow
    # summary of it; build kinds fall back when an install changed class).
    scans: list[str] = []
    for module in (installs_module, engagement_module, fleet_module):
        original = module.scan_history
        monkeypatch.setattr(
            module, "scan_history", lambda *args, _o=original, _m=module: scans.append(_m.__name__) or _o(*args)
        )
    materialize_days(tmp_path, "daily", days[-1:])
    assert "usage_assets.defs.metrics.installs_over_time" not in scans
    assert "usage_assets.defs.metrics.engagement" not in scans
    assert scans.count("usage_assets.defs.metrics.fleet") <= 1  # build kinds only, if a class changed

    monkeypatch.undo()
    whole = materialize_days(tmp_path, "whole", days[-1:])
    for dataset, filename in OUTPUTS.items():
        assert carried.read_bytes(dataset, days[-1], filename) == whole.read_bytes(dataset, days[-1], filename), dataset


def test_outputs_written_before_their_history_was_ingested_again_are_not_extended(tmp_path):
    """A day of the daily layer written again after D-1's outputs (a re-ingest) makes D
    computed over all history, with the re-ingested day's rows."""
    import os

    layer = generated_days(4)
    days = sorted(layer)
    first = days[0]
    # Day 1 ingested again without one identified install: D's totals and series must lose it.
    again = {**layer, first: layer[first].head(-1)}
    lake = Lake(tmp_path / "daily" / "data")
    for day, frame in layer.items():
        lake.write_frame(INSTANCE_DAYS, day, frame)
    materialize_days(tmp_path, "daily", days[:-1])
    lake.write_frame(INSTANCE_DAYS, first, again[first])
    later = max(lake.written_ns(dataset, days[-2], name) for dataset, name in OUTPUTS.items()) + 1_000_000
    os.utime(lake.path(INSTANCE_DAYS, first), ns=(later, later))
    materialize_days(tmp_path, "daily", days[-1:])

    whole = Lake(tmp_path / "whole" / "data")
    for day, frame in again.items():
        whole.write_frame(INSTANCE_DAYS, day, frame)
    materialize_days(tmp_path, "whole", days[-1:])
    for dataset, filename in OUTPUTS.items():
        assert lake.read_bytes(dataset, days[-1], filename) == whole.read_bytes(dataset, days[-1], filename), dataset
