"""Liveness tiers at their calendar-day boundaries (windows end at the report day)."""

from datetime import date, timedelta

import polars as pl

from usage_assets.metrics.liveness import liveness_summary, liveness_table

D = date(2026, 5, 20)


def recent(rows: list[tuple[str, date, int, int]]) -> pl.LazyFrame:
    """instance_days rows (registry_id, date, events, heartbeat_events)."""
    return pl.DataFrame(
        rows, schema={"registry_id": pl.String, "date": pl.Date, "events": pl.Int64, "heartbeat_events": pl.Int64},
        orient="row",
    ).lazy()


def tiers(rows, last_seen: dict[str, date]) -> dict[str, dict]:
    customers = pl.DataFrame({"registry_id": list(last_seen), "last_seen": list(last_seen.values())})
    table = liveness_table(customers, recent(rows), D)
    return {row["registry_id"]: row for row in table.iter_rows(named=True)}


def test_seven_day_window_includes_d_minus_6_and_excludes_d_minus_7():
    inside = [("in", D - timedelta(days=6), 5, 5)]
    outside = [("out", D - timedelta(days=7), 5, 5)]
    result = tiers(inside + outside, {"in": D - timedelta(days=6), "out": D - timedelta(days=7)})
    assert result["in"]["confirmed"] and result["in"]["likely"]
    assert not result["out"]["confirmed"] and not result["out"]["likely"]
    assert result["out"]["heartbeats_14d"] == 5


def test_fourteen_day_window_and_dormancy_boundaries():
    rows = [("edge", D - timedelta(days=13), 10, 10), ("gone", D - timedelta(days=14), 10, 10)]
    result = tiers(rows, {"edge": D - timedelta(days=13), "gone": D - timedelta(days=14)})
    assert result["edge"]["stronger"] and not result["edge"]["dormant"]
    assert not result["gone"]["stronger"] and result["gone"]["dormant"]
    assert result["gone"]["days_since_last_event"] == 14


def test_thresholds_are_inclusive_and_silent_but_recent_is_likely_minus_confirmed():
    rows = [("four", D, 4, 4), ("five", D, 5, 5), ("startup_only", D, 1, 0)]
    result = tiers(rows, {"four": D, "five": D, "startup_only": D})
    assert [result[k]["confirmed"] for k in ("four", "five", "startup_only")] == [False, True, False]
    assert [result[k]["silent_but_recent"] for k in ("four", "five", "startup_only")] == [True, False, True]


def test_summary_uses_reference_key_names():
    customers = pl.DataFrame({"registry_id": ["b", "a"], "last_seen": [D, D - timedelta(days=20)]})
    table = liveness_table(customers, recent([("b", D, 6, 6)]), D)
    summary = liveness_summary(table, D)
    assert summary["counts"] == {
        "customer_total": 2, "confirmed": 1, "stronger": 0, "likely": 1, "silent_but_recent": 0, "dormant": 1,
    }
    assert summary["confirmed_instance_ids"] == ["b"] and summary["stronger_instance_ids"] == []
    assert summary["windows"]["last_7_days"] == ["2026-05-14", "2026-05-20"]
