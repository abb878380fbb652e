"""Retention over time and the adoption funnel, against hand-computed expectations."""

from datetime import date, timedelta

import polars as pl

from usage_assets.daily.activity import instance_days_from_events, instances_as_of
from usage_assets.daily.internal import InternalAllowlist
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.fleet import stickiness
from usage_assets.metrics.retention import BUCKET_COUNT_COLUMNS, RETENTION_COLUMNS, adoption_funnel, retention_series
from usage_assets_tests.conftest import event, export_rows

D0 = date(2026, 5, 1)


def d(n: int) -> date:
    return D0 + timedelta(days=n)


def active_days(rows: list[tuple[str | None, int]]) -> pl.LazyFrame:
    """instance_days rows reduced to the two columns retention reads: (registry_id, day offset)."""
    return pl.DataFrame(
        {"date": [d(n) for _, n in rows], "registry_id": [rid for rid, _ in rows]},
        schema={"date": pl.Date, "registry_id": pl.String},
    ).lazy()


def by_date(frame: pl.DataFrame) -> dict[date, tuple]:
    return {row[0]: row[1:] for row in frame.select(RETENTION_COLUMNS).iter_rows()}


# A: days 0 and 3. B: day 0 only. C: days 1, 2 and 8. "internal": every day 0..8, not a
# customer. An unidentified row on day -1 is the only data that day.
HISTORY = active_days(
    [("a", 0), ("a", 3), ("b", 0), ("c", 1), ("c", 2), ("c", 8), (None, -1)]
    + [("internal", n) for n in range(9)]
)
CUSTOMERS = ["a", "b", "c"]


def test_buckets_use_the_age_each_install_had_on_that_day():
    series = retention_series(HISTORY, CUSTOMERS, d(-1), d(8))
    assert series.columns == [*RETENTION_COLUMNS, *BUCKET_COUNT_COLUMNS]
    assert series.schema["total"] == pl.Int64 and series.schema["pct_ge_30d"] == pl.Float64
    rows = by_date(series)
    # Day -1: no customer seen yet -> no row.
    assert d(-1) not in rows and min(rows) == d(0) and max(rows) == d(8) and len(rows) == 9
    # (total, one-day-wonder %, >=3, >=7, >=14, >=30)
    # Day 0: A 0, B 0 -> 2 installs, both one-day wonders.
    assert rows[d(0)] == (2, 100.0, 0.0, 0.0, 0.0, 0.0)
    # Day 1: C arrives, ages 0,0,0.
    assert rows[d(1)] == (3, 100.0, 0.0, 0.0, 0.0, 0.0)
    # Day 2: C came back (age 1): 2/3 one-day wonders = 66.7.
    assert rows[d(2)] == (3, 66.7, 0.0, 0.0, 0.0, 0.0)
    # Day 3: A returns (age 3); ages 3,0,1: wonders 1/3 = 33.3, >=3 1/3 = 33.3.
    assert rows[d(3)] == (3, 33.3, 33.3, 0.0, 0.0, 0.0)
    # Days 4..7: nobody new is active; A keeps age 3, C keeps age 1.
    assert all(rows[d(n)] == (3, 33.3, 33.3, 0.0, 0.0, 0.0) for n in range(4, 8))
    # Day 8: C returns, age 8 - 1 = 7; ages 3,0,7: >=3 2/3 = 66.7, >=7 1/3 = 33.3.
    assert rows[d(8)] == (3, 33.3, 66.7, 33.3, 0.0, 0.0)
    # The counts behind day 8's shares: B is the one-day wonder; A and C >= 3, C >= 7.
    counts = series.filter(pl.col("date") == d(8)).select(BUCKET_COUNT_COLUMNS).row(0)
    assert counts == (1, 2, 1, 0, 0)


def test_a_later_return_does_not_rewrite_earlier_days():
    # The report for day 5 (a backfill) equals the first rows of the report for day 8.
    through_5 = retention_series(HISTORY, CUSTOMERS, d(0), d(5))
    through_8 = retention_series(HISTORY, CUSTOMERS, d(0), d(8))
    assert through_5.equals(through_8.head(through_5.height))
    assert through_5["pct_ge_7d"].to_list() == [0.0] * 6


def test_no_customers_gives_an_empty_frame_with_the_columns():
    series = retention_series(HISTORY, [], d(0), d(8))
    assert series.is_empty() and series.columns == [*RETENTION_COLUMNS, *BUCKET_COUNT_COLUMNS]


def pipeline_history() -> tuple[pl.LazyFrame, pl.DataFrame]:
    """Reference T7 fleet through the real layers: ten customers aged 0,0,0,0,0,1,3,7,14,30.

    Each customer starts on day 0 and sends its last heartbeat on day 0 + age. An
    allowlisted install active on days 0 and 30 and unidentified startups are mixed in.
    """
    ages = [0, 0, 0, 0, 0, 1, 3, 7, 14, 30]
    internal = "ffffffff-0000-4000-8000-00000000000f"
    per_day: dict[date, list[dict]] = {}
    for n, age in enumerate(ages):
        rid = f"{n:08d}-0000-4000-8000-000000000000"
        per_day.setdefault(d(0), []).append(event("startup", rid, f"{d(0)}T08:00:00.000Z"))
        per_day.setdefault(d(age), []).append(event("heartbeat", rid, f"{d(age)}T09:00:00.000Z"))
    for n in (0, 30):
        per_day[d(n)] += [event("startup", internal, f"{d(n)}T10:00:00.000Z"), event("startup", None, f"{d(n)}T11:00:00.000Z")]
    history = pl.concat(
        instance_days_from_events(validate_events(export_rows(rows), day).events, day) for day, rows in sorted(per_day.items())
    ).lazy()
    instances = instances_as_of(history, InternalAllowlist(full_ids=frozenset({internal})))
    return history, instances.filter(~pl.col("is_internal"))


def test_last_row_agrees_with_fleet_stickiness_and_middle_rows_use_ages_then():
    history, customers = pipeline_history()
    assert customers.height == 10
    series = retention_series(history, customers["registry_id"].to_list(), d(0), d(30))
    rows = by_date(series)
    assert len(rows) == 31  # every day 0..30 has customers
    sticky = stickiness(customers)
    pct = sticky["lifetime_bucket_pct"]
    assert rows[d(30)] == (
        sticky["total_non_internal"], sticky["one_day_wonder_pct"], pct["3"], pct["7"], pct["14"], pct["30"]
    ) == (10, 50.0, 40.0, 30.0, 20.0, 10.0)
    # Day 0: everyone is age 0.
    assert rows[d(0)] == (10, 100.0, 0.0, 0.0, 0.0, 0.0)
    # Day 7: the installs that return on days 14 and 30 have not come back yet, so their
    # age is still 0: ages 0,0,0,0,0,1,3,7,0,0 -> wonders 7 (70.0), >=3 2 (20.0), >=7 1 (10.0).
    assert rows[d(7)] == (10, 70.0, 20.0, 10.0, 0.0, 0.0)
    # Day 29: ages 0,0,0,0,0,1,3,7,14,0 -> wonders 6 (60.0), >=3 3 (30.0), >=7 2 (20.0),
    # >=14 1 (10.0), >=30 0.
    assert rows[d(29)] == (10, 60.0, 30.0, 20.0, 10.0, 0.0)


def test_funnel_rows_come_from_the_same_customers():
    _, customers = pipeline_history()
    rows = adoption_funnel(stickiness(customers), confirmed_alive=2)
    # 10 customers (the multi-day internal install is not one); 10 - 5 one-day wonders = 5
    # came back; lifetime >= 3/7/14/30: 4, 3, 2, 1; 2 Confirmed Alive. Percent of 10.
    assert [(r["installs"], r["pct_of_customers"]) for r in rows] == [
        (10, 100.0), (5, 50.0), (4, 40.0), (3, 30.0), (2, 20.0), (1, 10.0), (2, 20.0),
    ]
    assert [r["stage"] for r in rows] == [
        "Every customer install",
        "Came back at least once",
        "Reported over 3+ days",
        "Reported over 7+ days",
        "Reported over 14+ days",
        "Reported over 30+ days",
        "Confirmed Alive (>=5 heartbeats in the last 7 days)",
    ]


def test_funnel_percentages_of_three_customers_round_to_one_decimal():
    # total 3, one wonder -> 2 came back = 66.7 %; >=3: 1 = 33.3 %.
    sticky = {"total_non_internal": 3, "one_day_wonders": 1, "lifetime_bucket_counts": {"3": 1, "7": 0, "14": 0, "30": 0}}
    assert [r["pct_of_customers"] for r in adoption_funnel(sticky, 1)] == [100.0, 66.7, 33.3, 0.0, 0.0, 0.0, 33.3]


def test_funnel_stages_nest_and_confirmed_alive_is_shown_apart():
    # The fleet: 62 Confirmed Alive after 51 over 30+ days would widen the funnel.
    sticky = {"total_non_internal": 412, "one_day_wonders": 192,
              "lifetime_bucket_counts": {"3": 160, "7": 121, "14": 90, "30": 51}}
    rows = adoption_funnel(sticky, confirmed_alive=62)
    stages = [row["installs"] for row in rows if row["in_funnel"]]
    assert stages == [412, 220, 160, 121, 90, 51] == sorted(stages, reverse=True)
    assert [(row["stage"], row["installs"]) for row in rows if not row["in_funnel"]] == [
        ("Confirmed Alive (>=5 heartbeats in the last 7 days)", 62)
    ]


def test_funnel_without_customers_is_all_zero():
    rows = adoption_funnel(stickiness(pl.DataFrame(schema={"registry_id": pl.String, "age_days": pl.Int64, "events": pl.Int64})), 0)
    assert [(r["installs"], r["pct_of_customers"]) for r in rows] == [(0, 0.0)] * 7
