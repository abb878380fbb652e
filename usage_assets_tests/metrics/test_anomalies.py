"""The anomaly checks (metrics/anomalies.py) on generated series, with and without an
injected anomaly, and on a plain 90-day run of the demo fleet, where none may fire.

Series are generated with a seeded RNG; each injected anomaly is far outside the noise,
and each clean series stays inside it, so the expectations do not depend on the seed.
"""

import random
from datetime import date, timedelta

import polars as pl
import pytest

from usage_assets.daily.activity import instance_days_from_events, instances_as_of
from usage_assets.daily.internal import InternalAllowlist
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.anomalies import (
    CHECK_NAMES,
    SERIES_CHECKS,
    AnomalyRule,
    check_entry,
    detect_anomalies,
    dimension_check,
    robust_baseline,
    robust_check,
    v6_fields_check,
)
from usage_assets.sources.demo_fleet import DEMO_INTERNAL_ALLOWLIST, DemoFleetParams, demo_events_for_day

FIRST = date(2026, 5, 1)
RULE = AnomalyRule()
DAILY_ACTIVE = SERIES_CHECKS[0]


def series(values: list[float | None], column: str = "daily_active") -> pl.DataFrame:
    return pl.DataFrame(
        {"date": [FIRST + timedelta(days=n) for n in range(len(values))], column: values},
        schema={"date": pl.Date, column: pl.Float64},
    )


def noisy(days: int, level: float, slope: float = 0.0, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [round(level + slope * n + rng.gauss(0, level**0.5)) for n in range(days)]


def test_the_robust_baseline_of_a_line_is_the_line_and_of_a_flat_series_its_median():
    assert robust_baseline([(-3, 4.0), (-2, 6.0), (-1, 8.0)]) == (10.0, 0.0)
    # One outlier: 6 of the 10 pairwise slopes are 0, so the slope is 0, the median 5 and
    # the residuals 0, 0, 0, 0, 15 have MAD 0: the outlier moves neither.
    assert robust_baseline([(-5, 5.0), (-4, 5.0), (-3, 5.0), (-2, 5.0), (-1, 20.0)]) == (5.0, 0.0)


@pytest.mark.parametrize("slope", [0.0, 1.5])
def test_a_clean_series_does_not_fire_and_an_injected_spike_or_drop_does(slope):
    values = noisy(40, 50, slope)
    day = FIRST + timedelta(days=39)
    clean = robust_check(DAILY_ACTIVE, series(values), day, RULE)
    assert clean["evaluated"] and not clean["fired"]
    expected = 50 + slope * 39
    assert abs(clean["baseline"] - expected) < 8
    for injected, word in ((expected * 2, "above"), (expected / 4, "below")):
        entry = robust_check(DAILY_ACTIVE, series([*values[:-1], injected]), day, RULE)
        assert entry["fired"] and entry["value"] == injected and word in entry["reason"]
        assert abs(entry["value"] - entry["baseline"]) > entry["threshold"]


def test_no_check_is_evaluated_before_28_days_of_history():
    values = [10.0] * 28 + [100.0]
    # 27 days before the spike: one too few.
    entry = robust_check(DAILY_ACTIVE, series(values[1:]), FIRST + timedelta(days=27), RULE)
    assert not entry["evaluated"] and not entry["fired"] and "28 days" in entry["reason"]
    entry = robust_check(DAILY_ACTIVE, series(values), FIRST + timedelta(days=28), RULE)
    assert entry["fired"] and entry["baseline"] == 10.0 and entry["threshold"] == 3.0  # the floor: MAD 0, 25% of 10


def test_a_dimension_that_halves_or_doubles_in_a_day_fires_and_small_ones_are_ignored():
    day = FIRST + timedelta(days=40)
    entry = dimension_check("cloud_shift", "cloud", {"aws": 19, "gcp": 1}, {"aws": 40, "gcp": 10}, day, RULE)
    # aws: (19 - 40) / 40 = -0.525; gcp never reaches 20 installs.
    assert entry["fired"] and entry["value"] == -0.525 and entry["baseline"] == 40 and entry["threshold"] == 0.5
    assert "aws 40 → 19" in entry["reason"] and "gcp" not in entry["reason"]
    calm = dimension_check("cloud_shift", "cloud", {"aws": 30}, {"aws": 40}, day, RULE)
    assert not calm["fired"] and calm["value"] == -0.25
    new = dimension_check("version_shift", "version", {"9.9.9": 25}, {}, day, RULE)
    assert new["fired"] and new["value"] == 1.0
    assert not dimension_check("cloud_shift", "cloud", {"aws": 19}, {"aws": 5}, day, RULE)["fired"]


def test_the_v6_health_check_fires_when_schema_6_installs_stop_carrying_the_fields():
    day = FIRST + timedelta(days=40)
    assert not v6_fields_check(10, 10, True, day, RULE)["fired"]
    dropped = v6_fields_check(10, 2, True, day, RULE)
    assert dropped["fired"] and dropped["value"] == 0.2 and dropped["threshold"] == 0.9
    assert not v6_fields_check(0, 0, False, day, RULE)["evaluated"]
    assert not v6_fields_check(3, 0, True, day, RULE)["evaluated"]


def fleet_history(days: int, installs: int = 40, *, silent_on_last: int = 0, v6_dropped_on_last: bool = False):
    """instance_days of ``installs`` customer installs that each send one heartbeat a day
    with schema 6, and the install table; on the last day, ``silent_on_last`` of them are
    silent and, with ``v6_dropped_on_last``, the rest lose ``schema_version``."""
    rows = []
    for n in range(days):
        day = FIRST + timedelta(days=n)
        last = n == days - 1
        for k in range(installs - (silent_on_last if last else 0)):
            rows.append(
                {
                    "date": day,
                    "registry_id": f"id-{k:03d}",
                    "heartbeat_events": 1,
                    "v": "1.31.0",
                    "schema_version": None if (last and v6_dropped_on_last) else 6,
                }
            )
    history = pl.DataFrame(
        rows,
        schema={
            "date": pl.Date,
            "registry_id": pl.String,
            "heartbeat_events": pl.Int64,
            "v": pl.String,
            "schema_version": pl.Int64,
        },
    )
    instances = pl.DataFrame(
        {
            "registry_id": [f"id-{k:03d}" for k in range(installs)],
            "is_internal": [False] * installs,
            "first_seen": [FIRST] * installs,
            "cloud": ["aws"] * installs,
            "compute": ["ecs"] * installs,
        }
    )
    return history.lazy(), instances, FIRST + timedelta(days=days - 1)


def test_detect_anomalies_names_what_fired_and_is_quiet_otherwise():
    history, instances, day = fleet_history(35)
    quiet = detect_anomalies(history, instances, FIRST, day)
    assert [entry["name"] for entry in quiet["checks"]] == list(CHECK_NAMES)
    assert quiet["fired"] == [] and all(entry["evaluated"] for entry in quiet["checks"])
    history, instances, day = fleet_history(35, silent_on_last=25, v6_dropped_on_last=True)
    loud = detect_anomalies(history, instances, FIRST, day)
    assert {"daily_active_customers", "cloud_shift", "compute_shift", "version_shift", "v6_fields_stored"} <= set(
        loud["fired"]
    )
    active = check_entry(loud, "daily_active_customers")
    assert (active["value"], active["baseline"]) == (15, 40)
    assert check_entry(loud, "v6_fields_stored")["value"] == 0.0
    with pytest.raises(KeyError, match="re-materialize"):
        check_entry(loud, "no_such_check")


def test_a_day_gives_the_same_findings_whatever_later_days_the_history_holds():
    history, instances, _day = fleet_history(40, silent_on_last=25)
    day = FIRST + timedelta(days=34)
    up_to_day = history.filter(pl.col("date") <= day)
    assert detect_anomalies(history, instances, FIRST, day) == detect_anomalies(up_to_day, instances, FIRST, day)


def test_no_check_fires_on_a_plain_90_day_demo_run():
    params = DemoFleetParams()
    allowlist = InternalAllowlist.from_file(DEMO_INTERNAL_ALLOWLIST)
    daily = []
    for n in range(90):
        day = params.start + timedelta(days=n)
        daily.append(instance_days_from_events(validate_events(demo_events_for_day(params, day), day).events, day))
    history = pl.concat(daily)
    evaluated = set()
    for n in range(RULE.baseline_days, 90):
        day = params.start + timedelta(days=n)
        upto = history.filter(pl.col("date") <= day).lazy()
        findings = detect_anomalies(upto, instances_as_of(upto, allowlist), params.start, day)
        assert findings["fired"] == [], (day, [check_entry(findings, name)["reason"] for name in findings["fired"]])
        evaluated |= {entry["name"] for entry in findings["checks"] if entry["evaluated"]}
    # Every check was really evaluated on some day, not skipped throughout.
    assert evaluated == set(CHECK_NAMES)
