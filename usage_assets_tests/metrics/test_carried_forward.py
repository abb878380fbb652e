"""History-wide series of day D built from D-1's and day D alone equal those computed over
all history, on a generated fleet with gaps, restarts, respelled versions and internal
installs (``generated_days``), day after day; and the anomaly checks reading their window
and a narrow summary of earlier days equal the checks over the whole series."""

import io
from datetime import date, timedelta

import polars as pl
import pytest

from usage_assets.daily.activity import instances_as_of
from usage_assets.daily.internal import InternalAllowlist
from usage_assets.metrics.anomalies import (
    SERIES_CHECKS,
    AnomalyRule,
    daily_series,
    detect_anomalies,
    dimension_check,
    dimension_counts,
    robust_check,
    v6_fields_check,
    v6_health_counts,
    window_start,
)
from usage_assets.metrics.fleet import fleet_metrics, fleet_metrics_extended
from usage_assets.metrics.forecast import cumulative_installs, cumulative_installs_extended
from usage_assets.metrics.installs_over_time import installs_by, installs_by_extended
from usage_assets.metrics.versions import build_summary, build_summary_extended, same_build_classes
from usage_assets.sources.demo_fleet import DEMO_INTERNAL_ALLOWLIST
from usage_assets.storage.lake import canonical_json
from usage_assets_tests.daily.test_activity import generated_days


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """The bytes the lake would write for ``frame`` (equal frames must give equal files)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, statistics=True)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fleet() -> tuple[dict[date, pl.DataFrame], list[date], InternalAllowlist]:
    layer = generated_days(30)
    return layer, sorted(layer), InternalAllowlist.from_file(DEMO_INTERNAL_ALLOWLIST)


def test_series_of_all_installs_carried_forward_equal_the_full_series(fleet):
    """Installs by cloud and by compute, cumulative installs (the forecast's input), the
    build kinds and the fleet metrics' event totals and version adoption, each D from
    D-1's and day D, equal the full computation, to the byte."""
    layer, days, allowlist = fleet
    first = days[0]
    history = pl.concat(layer.values(), how="diagonal_relaxed").lazy()
    previous: dict = {}
    carried_builds = new_values = 0
    for day in days:
        up_to_day = history.filter(pl.col("date") <= day)
        table = instances_as_of(up_to_day, allowlist)
        full = {
            "cloud": installs_by(up_to_day, "cloud", first, day),
            "compute": installs_by(up_to_day, "compute", first, day),
            "installs": cumulative_installs(up_to_day, first, day),
            "builds": build_summary(table, up_to_day, first, day),
            "fleet": fleet_metrics(table, up_to_day, day),
        }
        if previous:
            seen_before = previous["table"]["registry_id"]
            for facet in ("cloud", "compute"):
                carried = installs_by_extended(previous[facet], layer[day], seen_before, facet, day)
                assert parquet_bytes(carried) == parquet_bytes(full[facet]), (facet, day)
                new_values += full[facet][facet].n_unique() > previous[facet][facet].n_unique()
            carried = cumulative_installs_extended(previous["installs"], layer[day], seen_before, day)
            assert parquet_bytes(carried) == parquet_bytes(full["installs"]), day
            if same_build_classes(previous["table"], table):
                carried = build_summary_extended(previous["builds"], table, layer[day], day)
                assert canonical_json(carried) == canonical_json(full["builds"]), day
                carried_builds += 1
            carried = fleet_metrics_extended(previous["fleet"], table, layer[day], day)
            assert canonical_json(carried) == canonical_json(full["fleet"]), day
        previous = {**full, "table": table}
    # The fleet is rich enough to exercise what makes carrying forward hard.
    # Respelling "v1.28.0" as "vv1.28.0" makes a release an internal build and back, so on some
    # days an install changes class (then the asset computes over all history) and not on others.
    assert 5 <= carried_builds < len(days) - 1
    assert new_values >= 1  # a cloud or compute value first reported after the first day
    versions = full["fleet"]["version_adoption"]
    assert any(len(row["spellings"]) > 1 for row in versions) and full["fleet"]["internal_instance_ids"]


def test_a_series_is_extended_only_from_the_day_before():
    frame = pl.DataFrame(
        {
            "date": [date(2026, 3, 1)],
            "cloud": ["aws"],
            "daily_active": [1],
            "daily_new": [1],
            "cumulative_installs": [1],
        }
    )
    layer = pl.DataFrame({"registry_id": ["a"], "cloud": ["aws"]})
    with pytest.raises(ValueError, match="ending the day before"):
        installs_by_extended(frame, layer, pl.Series([], dtype=pl.String), "cloud", date(2026, 3, 3))
    with pytest.raises(ValueError, match="ending the day before"):
        cumulative_installs_extended(
            frame.select("date", installs="cumulative_installs"),
            layer,
            pl.Series([], dtype=pl.String),
            date(2026, 3, 3),
        )
    with pytest.raises(ValueError, match="day before"):
        fleet_metrics_extended({"report_date": "2026-03-01"}, pl.DataFrame(), layer, date(2026, 3, 3))


def test_an_output_of_another_shape_is_not_extended(fleet):
    """D-1's outputs written by a release that shaped them otherwise raise ValueError (the
    assets then compute over all history) instead of a KeyError or a wrong sum."""
    layer, days, allowlist = fleet
    first, day = days[0], days[2]
    before = pl.concat([layer[each] for each in days[:2]], how="diagonal_relaxed").lazy()
    table = instances_as_of(pl.concat([layer[each] for each in days[:3]], how="diagonal_relaxed").lazy(), allowlist)
    metrics = fleet_metrics(instances_as_of(before, allowlist), before, days[1])
    for row in metrics["version_adoption"]:
        del row["spellings"]
    with pytest.raises(ValueError, match="spellings"):
        fleet_metrics_extended(metrics, table, layer[day], day)
    builds = build_summary(instances_as_of(before, allowlist), before, first, days[1])
    for row in builds["timeseries"]:
        del row["cumulative_unknown"]
    with pytest.raises(ValueError, match="cumulative"):
        build_summary_extended(builds, table, layer[day], day)
    frame = installs_by(before, "cloud", first, days[1]).rename({"daily_new": "new"})
    with pytest.raises(ValueError, match="columns"):
        installs_by_extended(frame, layer[day], table["registry_id"], "cloud", day)


def test_an_install_that_changes_build_class_is_not_carried_forward(fleet):
    layer, days, allowlist = fleet
    before = instances_as_of(pl.concat([layer[day] for day in days[:3]], how="diagonal_relaxed").lazy(), allowlist)
    assert same_build_classes(before, before)
    moved = before["registry_id"][0]
    rebuilt = before.with_columns(
        pl.when(pl.col("registry_id") == moved).then(pl.lit("1.2.3-4-gabcdef")).otherwise(pl.col("v")).alias("v")
    )
    released = before.with_columns(
        pl.when(pl.col("registry_id") == moved).then(pl.lit("1.2.3")).otherwise(pl.col("v")).alias("v")
    )
    assert not same_build_classes(released, rebuilt)


def full_window_checks(history: pl.LazyFrame, table: pl.DataFrame, first: date, day: date, rule: AnomalyRule) -> dict:
    """The checks as computed before they read a window: every series from ``first``."""
    series = daily_series(history, table, first, day)
    entries = [robust_check(check, series, day, rule) for check in SERIES_CHECKS]
    enough = (day - first).days >= rule.baseline_days
    counts = dimension_counts(history, table, [day - timedelta(days=1), day]) if enough else {}
    for name, dimension in (("cloud_shift", "cloud"), ("compute_shift", "compute"), ("version_shift", "version")):
        today = counts.get(day, {}).get(dimension, {})
        yesterday = counts.get(day - timedelta(days=1), {}).get(dimension, {})
        entries.append(dimension_check(name, dimension, today, yesterday, day, rule, evaluated=enough))
    seen, expected, carrying = v6_health_counts(history, day)
    entries.append(v6_fields_check(expected, carrying, seen, day, rule))
    return entries


def test_anomalies_from_their_window_equal_the_checks_over_all_history(fleet):
    layer, days, allowlist = fleet
    first = days[0]
    history = pl.concat(layer.values(), how="diagonal_relaxed").lazy()
    # Short baselines so that most days' windows start after the first day of history.
    rule = AnomalyRule(baseline_days=6, dimension_min_installs=3, v6_min_installs=1)
    later = 0
    for day in days[1:]:
        up_to_day = history.filter(pl.col("date") <= day)
        table = instances_as_of(up_to_day, allowlist)
        start = window_start(first, day, rule)
        window = up_to_day.filter(pl.col("date") >= start)
        findings = detect_anomalies(up_to_day, table, first, day, rule, window)
        assert findings["checks"] == full_window_checks(up_to_day, table, first, day, rule), day
        assert findings == detect_anomalies(up_to_day, table, first, day, rule)
        later += start > first
    assert later >= len(days) - 8
