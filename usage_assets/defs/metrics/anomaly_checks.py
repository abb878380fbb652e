"""Anomalies of report day D, flagged as asset checks before anyone reads the report.

The ``anomalies`` asset evaluates every check of D once (:mod:`usage_assets.metrics.anomalies`)
and stores the findings; each asset check below reads its own entry from that document, and
so does the report's first section, so the UI and the report always show the same numbers.
The checks warn and never block: an anomaly is news, not a broken pipeline. A check can be
re-run on its own for any day; it gives the result stored for that day.
"""

import warnings

import dagster as dg
from pydantic import Field

from usage_assets.daily.history import scan_history
from usage_assets.defs.daily.assets import HISTORY_UP_TO_D
from usage_assets.defs.materialize import daily_asset, json_result
from usage_assets.defs.partitions import checked_day, daily_partitions, partition_day
from usage_assets.defs.resources.storage import DataLake
from usage_assets.metrics.anomalies import (
    CHECK_DESCRIPTIONS,
    CHECK_NAMES,
    AnomalyRule,
    check_entry,
    detect_anomalies,
    window_start,
)
from usage_assets.storage.datasets import ANOMALIES, INSTANCE_DAYS, INSTANCES

_DEFAULT = AnomalyRule()


class AnomalyConfig(dg.Config):
    """The checks' parameters (docs/anomalies.md); defaults as in ``AnomalyRule``."""

    baseline_days: int = Field(default=_DEFAULT.baseline_days, ge=7, description="Trailing days of the baseline.")
    threshold_mads: float = Field(default=_DEFAULT.threshold_mads, gt=0, description="Allowed deviation in robust SDs.")
    min_relative_change: float = Field(
        default=_DEFAULT.min_relative_change,
        ge=0,
        description="Smallest allowed deviation, as a share of the baseline.",
    )
    dimension_change_share: float = Field(
        default=_DEFAULT.dimension_change_share,
        gt=0,
        le=1,
        description="Day-over-day change of a cloud/compute/version that fires.",
    )
    dimension_min_installs: int = Field(
        default=_DEFAULT.dimension_min_installs,
        ge=1,
        description="Fewest active installs of a value for its change to count.",
    )
    v6_min_share: float = Field(
        default=_DEFAULT.v6_min_share,
        ge=0,
        le=1,
        description="Lowest share of schema-6 installs whose heartbeats carry the v6 fields.",
    )
    v6_min_installs: int = Field(
        default=_DEFAULT.v6_min_installs,
        ge=1,
        description="Fewest schema-6 installs with heartbeats on D to evaluate the health check.",
    )


@daily_asset(
    name=ANOMALIES,
    deps=[INSTANCES, HISTORY_UP_TO_D],
    group_name="metrics",
    kinds={"json"},
)
def anomalies(context: dg.AssetExecutionContext, config: AnomalyConfig, data_lake: DataLake) -> dg.MaterializeResult:
    """What changed abnormally on day D: daily active customer installs, heartbeats per
    active install, new installs and the share on the newest releases against their own
    trailing 28 days (robust line and MAD); clouds, compute platforms and versions whose
    installs doubled or halved in a day; and whether schema-6 installs' heartbeats still
    carry the v6 fields. Each finding has its value, baseline, threshold and reason; the
    asset checks and the report's first section read them from here."""
    day = partition_day(context)
    lake = data_lake.lake()
    first, history = scan_history(lake, day)
    rule = AnomalyRule(**config.model_dump())
    window = lake.scan_days(INSTANCE_DAYS, window_start(first, day, rule), day)
    findings = detect_anomalies(history, lake.read_frame(INSTANCES, day), first, day, rule, window)
    return json_result(lake, ANOMALIES, day, findings, fired=dg.MetadataValue.json(findings["fired"]))


def _anomaly_result(name: str, document: dict) -> dg.AssetCheckResult:
    entry = check_entry(document, name)
    return dg.AssetCheckResult(
        asset_key=ANOMALIES,
        check_name=name,
        passed=not entry["fired"],
        severity=dg.AssetCheckSeverity.WARN,
        description=entry["reason"],
        metadata={
            "value": entry["value"],
            "baseline": entry["baseline"],
            "threshold": entry["threshold"],
            "evaluated": entry["evaluated"],
            "reason": entry["reason"],
        },
    )


# Partitioned checks are a preview feature in dagster 1.13 (see defs/ingest/checks.py).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")
    ANOMALY_CHECK_SPECS = [
        dg.AssetCheckSpec(
            name,
            asset=ANOMALIES,
            partitions_def=daily_partitions,
            blocking=False,
            description=f"{CHECK_DESCRIPTIONS[name]} Warns, never blocks; the metadata gives the value, baseline, "
            "threshold and a one-line reason (docs/anomalies.md).",
        )
        for name in CHECK_NAMES
    ]


# One step evaluates the eight checks: each reads the same document, and a step per check
# would cost more in run bookkeeping than the reading.
@dg.multi_asset_check(specs=ANOMALY_CHECK_SPECS, can_subset=True)
def anomaly_checks(context: dg.AssetCheckExecutionContext, data_lake: DataLake):
    """The anomaly checks of the day checked (the newest of a range), read from the
    ``anomalies`` document of that day."""
    document = data_lake.lake().read_json(ANOMALIES, checked_day(context))
    for name in CHECK_NAMES:
        if dg.AssetCheckKey(dg.AssetKey(ANOMALIES), name) in context.selected_asset_check_keys:
            yield _anomaly_result(name, document)
