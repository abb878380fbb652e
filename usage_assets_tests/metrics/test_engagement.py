"""Engagement series (DAI, MA7, streak, reach) against hand-computed days."""

from datetime import date, timedelta

import polars as pl

from usage_assets.daily.activity import instance_days_from_events
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.engagement import SCHEMA, engagement_series
from usage_assets_tests.conftest import ID_A, ID_B, ID_C, event, export_rows

ID_INTERNAL = "dddddddd-0000-4000-8000-00000000000d"
D1 = date(2026, 5, 1)


def d(n: int) -> date:
    """Day n of the fixtures (d(1) = 2026-05-01)."""
    return D1 + timedelta(days=n - 1)


def history(active: dict[str | None, list[int]]) -> pl.LazyFrame:
    """instance_days of installs, each with one heartbeat on each of its listed days."""
    rows_by_day: dict[date, list[dict]] = {}
    for registry_id, days in active.items():
        for n in days:
            rows_by_day.setdefault(d(n), []).append(event("heartbeat", registry_id, f"{d(n)}T08:00:00.000Z"))
    frames = [
        instance_days_from_events(validate_events(export_rows(rows), day).events, day)
        for day, rows in sorted(rows_by_day.items())
    ]
    return pl.concat(frames).lazy()


def test_day_seven_of_three_customers():
    # Reference T13: A and B on d1..d7, C on d7 only. An internal install active every day
    # and the unidentified row are not customers.
    every_day = list(range(1, 8))
    layer = history({ID_A: every_day, ID_B: every_day, ID_C: [7], ID_INTERNAL: every_day, None: every_day})
    series = engagement_series(layer, [ID_A, ID_B, ID_C], d(1), d(7))
    assert series.columns == list(SCHEMA) and series.schema == pl.Schema(SCHEMA)
    assert series["date"].to_list() == [d(n) for n in every_day]
    assert series["daily_active"].to_list() == [2, 2, 2, 2, 2, 2, 3]
    # The first six days have no full 7-day window.
    assert series["ma7"].to_list()[:6] == [None] * 6 and series["streak7"].to_list()[:6] == [None] * 6
    seventh = series.row(6, named=True)
    assert seventh == {
        "date": d(7),
        "daily_active": 3,
        "ma7": 2.14,  # (2 * 6 + 3) / 7 = 2.142...
        "streak7": 2,  # A and B on all of d1..d7; C only on d7
        "cumulative_installs": 3,
        "dai_pct_of_total": 100.0,  # 3 / 3
        "likely_alive_7d": 3,
        "dai_pct_of_likely_alive": 100.0,  # 3 / 3
    }
    # Before C: 2 of 2 customers seen, 2 of 2 likely alive.
    assert series.row(5, named=True)["cumulative_installs"] == 2
    assert series.row(5, named=True)["likely_alive_7d"] == 2


def test_quiet_days_are_zero_rows_and_windows_run_out():
    # A on d1..d7, then nobody until the report day d14.
    layer = history({ID_A: list(range(1, 8))})
    series = engagement_series(layer, {ID_A}, d(1), d(14))
    assert series.height == 14
    assert series["daily_active"].to_list() == [1] * 7 + [0] * 7
    day_13, day_14 = series.row(12, named=True), series.row(13, named=True)
    # d13's window d7..d13 still holds A's d7: likely alive 1, DAI 0 -> 0.0 %.
    assert (day_13["likely_alive_7d"], day_13["dai_pct_of_likely_alive"]) == (1, 0.0)
    assert day_13["ma7"] == 0.14  # 1 / 7 (A on d7 only within d7..d13)
    # d14's window d8..d14 is empty: the percentage has no denominator.
    assert (day_14["likely_alive_7d"], day_14["dai_pct_of_likely_alive"]) == (0, None)
    assert (day_14["cumulative_installs"], day_14["dai_pct_of_total"]) == (1, 0.0)
    assert (day_14["ma7"], day_14["streak7"]) == (0.0, 0)


def test_a_missing_day_breaks_the_streak_until_it_leaves_the_window():
    # A on d1..d11 except d4: no 7-day run until d5..d11.
    layer = history({ID_A: [1, 2, 3, 5, 6, 7, 8, 9, 10, 11]})
    series = engagement_series(layer, [ID_A], d(1), d(11))
    assert series["streak7"].to_list() == [None] * 6 + [0, 0, 0, 0, 1]
    assert series["likely_alive_7d"].to_list() == [1] * 11


def test_the_series_starts_at_the_first_customer_day():
    # The internal install reports on day 1, the first customer on day 2: like the
    # reference, whose dates start at its first customer row, the series starts on day 2
    # and its 7-day measures on day 8 (DAI 1, 1, 0, 0, 0, 0, 0 over days 2..8).
    layer = history({ID_INTERNAL: [1, 2], ID_A: [2, 3]})
    series = engagement_series(layer, [ID_A], d(1), d(8))
    assert series["date"].to_list() == [d(n) for n in range(2, 9)]
    assert series["ma7"].to_list() == [None] * 6 + [round(2 / 7, 2)]


def test_without_customers_the_series_is_empty():
    series = engagement_series(history({ID_INTERNAL: [1, 2]}), [], d(1), d(7))
    assert series.is_empty() and series.schema == pl.Schema(SCHEMA)


def test_a_series_that_ends_before_it_starts_is_empty():
    series = engagement_series(history({ID_A: [1]}), [ID_A], d(2), d(1))
    assert series.is_empty() and series.schema == pl.Schema(SCHEMA)


def test_series_carried_forward_a_day_at_a_time_equal_the_full_series():
    """Engagement and lifetime buckets of D from D-1's series plus day D equal the series
    computed over all history, on a generated fleet with gaps, restarts and upgrades."""
    from datetime import timedelta

    from usage_assets.daily.activity import instances_as_of
    from usage_assets.daily.internal import InternalAllowlist, customer_ids, customers
    from usage_assets.metrics.engagement import WINDOW_DAYS, engagement_extended
    from usage_assets.metrics.retention import retention_extended, retention_series
    from usage_assets.sources.demo_fleet import DEMO_INTERNAL_ALLOWLIST
    from usage_assets_tests.daily.test_activity import generated_days

    allowlist = InternalAllowlist.from_file(DEMO_INTERNAL_ALLOWLIST)
    layer = generated_days(24)
    days = sorted(layer)
    first = days[0]
    history = pl.concat(layer.values()).lazy()
    previous_engagement = previous_retention = None
    carried = 0
    for day in days:
        up_to_day = history.filter(pl.col("date") <= day)
        table = instances_as_of(up_to_day, allowlist)
        ids = customer_ids(table)
        engagement = engagement_series(up_to_day, ids, first, day)
        retention = retention_series(up_to_day, ids, first, day)
        if previous_engagement is not None and not previous_engagement.is_empty():
            window = up_to_day.filter(pl.col("date") >= day - timedelta(days=WINDOW_DAYS - 1))
            new = customers(table).filter(pl.col("first_seen") == day).height
            assert engagement_extended(previous_engagement, window, ids, new, day).equals(engagement), day
            assert retention_extended(previous_retention, customers(table), day).equals(retention), day
            carried += 1
        previous_engagement, previous_retention = engagement, retention
    assert carried >= len(days) - 2
    assert engagement["streak7"].drop_nulls().max() > 0 and engagement["ma7"].null_count() == WINDOW_DAYS - 1
