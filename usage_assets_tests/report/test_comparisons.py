"""Day-over-day and week-over-week changes carry their own sign (reference quirk 10)."""

from usage_assets.report.comparisons import comparison_rows, count_change, headline_values, new_values, point_change


def test_count_changes_are_signed_with_the_relative_change():
    assert count_change(1_234, 1_000) == "+234 (+23.4%)"
    assert count_change(95, 100) == "-5 (-5.0%)"
    assert count_change(7, 7) == "0"
    assert count_change(3, 0) == "+3"  # no percentage of zero
    assert count_change(3, None) == "—" and count_change(None, 3) == "—"


def test_percentage_point_changes_never_print_plus_minus():
    # The reference printed "+-1.2pp" for a decline.
    assert point_change(48.8, 50.0) == "-1.2 pp"
    assert point_change(50.0, 48.8) == "+1.2 pp"
    assert point_change(50.0, 50.0) == "0.0 pp"
    assert point_change(50.0, None) == "—"


def fleet(installs: int, odw_pct: float) -> dict:
    return {
        "key_metrics": {"total_events": 10, "startup_events": 4, "heartbeat_events": 6, "identified_instances": installs},
        "stickiness": {"total_non_internal": installs - 1, "sticky_3plus_days": 2, "one_day_wonder_pct": odw_pct},
    }


def liveness(confirmed: int) -> dict:
    return {"counts": {"confirmed": confirmed, "stronger": 1, "likely": 5}}


def test_rows_compare_with_d1_and_d7_and_say_when_a_day_is_missing():
    today = headline_values(fleet(12, 40.0), liveness(6), daily_active=4, stars=None)
    day_before = headline_values(fleet(10, 42.5), liveness(7), daily_active=5)
    week_before = headline_values(None, None)
    rows = {row["label"]: row for row in comparison_rows(today, day_before, week_before)}
    assert "GitHub stars" not in rows  # not fetched today: no row rather than a zero
    assert rows["Identified installs"]["day_change"] == "+2 (+20.0%)"
    assert rows["Confirmed Alive"]["day_change"] == "-1 (-14.3%)"
    assert rows["One-day-wonder share of customers"]["day_change"] == "-2.5 pp"
    assert rows["Identified installs"]["week_change"] == "—" and rows["Identified installs"]["week_before"] is None


def test_totals_to_date_are_marked_and_states_of_the_day_are_not():
    rows = comparison_rows(headline_values(fleet(12, 40.0), liveness(6), daily_active=4, stars=3), {}, {})
    assert [row["label"] for row in rows if row["to_date"]] == [
        "Events (startup + heartbeat)", "Startup events", "Heartbeat events", "Identified installs",
        "Customer installs", "Customer installs over 3+ days", "One-day-wonder share of customers",
    ]
    assert [row["label"] for row in rows if not row["to_date"]] == [
        "Confirmed Alive", "Stronger Alive", "Likely Alive", "Daily active customer installs (DAI)", "GitHub stars",
    ]


def test_new_values_need_a_previous_day():
    assert new_values({"aws": 3, "gcp": 1}, {"aws": 2}) == ["gcp"]
    assert new_values({"aws": 3}, None) == []
