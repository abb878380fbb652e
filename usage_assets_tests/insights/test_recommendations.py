"""Recommendation rules: each fires on the day its threshold or state is crossed, and only then."""

from datetime import date

import polars as pl
import pytest

from usage_assets.insights.recommendations import RULES, recommendation_inputs, recommendation_rules, recommendations
from usage_assets.report.render import escape_markdown


def forecast(rate: float, slope: float, linear_eta: str | None = "2026-08-01", recent_eta: str | None = "2026-08-04",
             available: bool = True) -> dict:
    """The install_forecast keys the rules read; default ETAs are 3 days apart (neither agree nor disagree)."""
    return {
        "available": available,
        "linear": {"slope_per_day": slope, "eta": linear_eta},
        "recent_pace": {"daily_add_rate": rate, "eta": recent_eta},
    }


STEADY = forecast(10.0, 10.0)  # recent pace = trend slope: neither acceleration nor deceleration
FASTER = forecast(12.0, 10.0)


def github(stars: int = 100, forks: int = 10, available: bool = True) -> dict:
    if not available:
        return {"available": False, "repo": "example-org/registry", "reason": "GitHub API rate limit exceeded"}
    return {"available": True, "repo": "example-org/registry", "stars": stars, "forks": forks, "watchers": 7,
            "open_issues": 3, "contributors": 12}


def values(**changes) -> dict:
    """A report's values where no rule fires against itself."""
    return {
        "total_instances": 450,
        "confirmed": 12,
        "stronger": 5,
        "longest_customer_days": 20,
        "pct_30d": 1.0,
        "monthly_count": 3,
        "ltv_all_days_usd": 1200.0,
        "arr_all_days_musd": 0.02,
        "arr_proven_musd": 0.01,
        "one_day_wonder_pct": 40.0,
        "github": github(),
        "schema_v6_instances": 0,
        "auth_reporting_instances": 0,
        "forecast": STEADY,
        **changes,
    }


def fired(current: dict, previous: dict | None, history: list[dict] | None = None) -> dict[str, dict]:
    return {bullet["rule"]: bullet for bullet in recommendations(current, previous, history or [STEADY] * 3)}


def test_an_unchanged_fleet_gives_no_bullet():
    assert recommendations(values(), values(), [STEADY] * 3) == []


def test_t22_milestone_and_confirmed_crossing_but_no_eta_bullet():
    # 995 -> 1003 crosses 1,000 only; 49 -> 51 crosses 50; ETAs 2026-08-01 / 2026-08-04 are 3 days apart.
    bullets = fired(values(total_instances=1003, confirmed=51), values(total_instances=995, confirmed=49))
    assert list(bullets) == ["install_milestone", "confirmed_alive"]
    assert bullets["install_milestone"]["numbers"] == {
        "total_instances": 1003, "previous_total_instances": 995, "milestone": 1000, "milestones_crossed": 1,
    }
    assert bullets["install_milestone"]["text"].startswith("Installs passed 1,000: 1,003 installs seen, 995 in")
    assert bullets["install_milestone"]["sources"] == ["fleet_metrics"]
    assert bullets["confirmed_alive"]["numbers"] == {"confirmed": 51, "previous_confirmed": 49, "crossed": 50}
    assert "crossed 50" in bullets["confirmed_alive"]["text"]
    assert bullets["confirmed_alive"]["sources"] == ["liveness"]


def test_without_a_previous_report_nothing_is_a_crossing():
    everything = values(total_instances=1003, confirmed=51, stronger=20, longest_customer_days=28, pct_30d=9.0,
                        monthly_count=40, ltv_all_days_usd=9000.0, schema_v6_instances=4,
                        forecast=forecast(12.0, 10.0, "2026-08-01", "2026-08-02"))
    assert recommendations(everything, None, []) == []


@pytest.mark.parametrize(
    ("before", "now", "milestone", "crossed"),
    [
        (480, 730, 700, 3),  # 500, 600, 700
        (999, 1000, 1000, 1),  # reaching a milestone counts
        (1995, 2105, 2000, 1),  # nothing above 2,000
        (1000, 1000, None, 0),
        (2000, 2200, None, 0),
        (1010, 990, None, 0),  # a drop crosses nothing upwards
    ],
)
def test_install_milestones(before, now, milestone, crossed):
    bullet = fired(values(total_instances=now), values(total_instances=before)).get("install_milestone")
    if milestone is None:
        assert bullet is None
    else:
        assert bullet["numbers"]["milestone"] == milestone and bullet["numbers"]["milestones_crossed"] == crossed


@pytest.mark.parametrize(
    ("before", "now", "numbers"),
    [
        (40, 51, {"confirmed": 51, "previous_confirmed": 40, "crossed": 50}),
        (55, 57, {"confirmed": 57, "previous_confirmed": 55}),  # above D-1 at 50 or more
        (50, 50, None),
        (45, 48, None),  # a rise below 50 without a multiple of 10
        (57, 55, None),
    ],
)
def test_confirmed_alive(before, now, numbers):
    bullet = fired(values(confirmed=now), values(confirmed=before)).get("confirmed_alive")
    assert (bullet and bullet["numbers"]) == numbers


@pytest.mark.parametrize(("before", "now", "crossed"), [(19, 20, 20), (8, 31, 30), (20, 21, None), (31, 29, None)])
def test_stronger_alive(before, now, crossed):
    bullet = fired(values(stronger=now), values(stronger=before)).get("stronger_alive")
    assert (bullet and bullet["numbers"]["crossed"]) == crossed


def test_sustained_acceleration_fires_when_it_starts():
    # Recent 12.0 > slope 10.0 on D, D-1 and D-2, not on D-3 (or no D-3): 3 reports in a row from D.
    assert fired(values(forecast=FASTER), values(), [FASTER, FASTER, STEADY])["install_pace"]["numbers"] == {
        "daily_add_rate": 12.0, "slope_per_day": 10.0, "consecutive_reports": 3,
    }
    assert "install_pace" in fired(values(forecast=FASTER), values(), [FASTER, FASTER])
    # Already sustained on D-1 (D-1, D-2, D-3 accelerating): not news.
    assert "install_pace" not in fired(values(forecast=FASTER), values(), [FASTER, FASTER, FASTER])
    # Only two reports in a row.
    assert "install_pace" not in fired(values(forecast=FASTER), values(), [FASTER, STEADY, FASTER])


def test_deceleration_fires_when_it_starts():
    slower = forecast(8.0, 10.0)  # 8.0 / 10.0 = 80.0 % of the slope, below 85 %
    bullet = fired(values(forecast=slower), values(), [STEADY])["install_pace"]
    assert bullet["numbers"] == {"daily_add_rate": 8.0, "slope_per_day": 10.0, "pct_of_slope": 80.0}
    assert bullet["sources"] == ["install_forecast"]
    assert "install_pace" not in fired(values(forecast=slower), values(), [slower])
    assert "install_pace" not in recommendations(values(forecast=slower), values(), [])
    assert "install_pace" not in fired(values(forecast=forecast(8.6, 10.0)), values(), [STEADY])  # 86 %
    assert "install_pace" not in fired(values(forecast=forecast(12.0, 10.0, available=False)), values(), [STEADY])


@pytest.mark.parametrize(
    ("today", "yesterday", "expected"),
    [
        (forecast(10, 10, "2026-08-01", "2026-08-02"), STEADY, ("converged", 1)),
        (forecast(10, 10, "2026-08-03", "2026-08-01"), STEADY, ("converged", 2)),
        (forecast(10, 10, "2026-08-01", "2026-08-10"), STEADY, ("diverged", 9)),
        (forecast(10, 10, "2026-08-01", "2026-08-08"), forecast(10, 10, available=False), ("diverged", 7)),
        (forecast(10, 10, "2026-08-01", "2026-08-02"), forecast(10, 10, "2026-08-05", "2026-08-05"), None),
        (forecast(10, 10, "2026-08-01", "2026-08-07"), STEADY, None),  # 6 days
        (forecast(10, 10, "2026-08-01", None), STEADY, None),  # no recent-pace ETA (rate <= 0)
    ],
)
def test_forecast_etas(today, yesterday, expected):
    bullet = fired(values(forecast=today), values(forecast=yesterday)).get("forecast_eta")
    if expected is None:
        assert bullet is None
    else:
        state, gap = expected
        assert bullet["numbers"]["gap_days"] == gap
        assert ("now agree" if state == "converged" else "now disagree") in bullet["text"]


@pytest.mark.parametrize(
    ("before", "now", "crossed"), [(27, 28, 28), (33, 36, 35), (28, 29, None), (20, 21, None), (None, 30, None)],
)
def test_longest_customer(before, now, crossed):
    bullet = fired(values(longest_customer_days=now), values(longest_customer_days=before)).get("longest_customer")
    assert (bullet and bullet["numbers"]["crossed_days"]) == crossed


def test_30_day_cohort_fires_on_the_crossing_day_only():
    d_minus_1 = values(pct_30d=4.9, monthly_count=26)
    d = values(pct_30d=5.0, monthly_count=26)  # 5.0 >= 5.0 and 26 >= 25, D-1 had 4.9 < 5.0
    d_plus_1 = values(pct_30d=5.2, monthly_count=27)
    assert fired(d, d_minus_1)["cohort_30d"]["numbers"] == {
        "pct_30d": 5.0, "monthly_count": 26, "previous_pct_30d": 4.9, "previous_monthly_count": 26,
    }
    assert "cohort_30d" not in fired(d_plus_1, d)
    # The install count is the threshold that was missing: 24 -> 25 installs at 6.0 %.
    assert "cohort_30d" in fired(values(pct_30d=6.0, monthly_count=25), values(pct_30d=6.0, monthly_count=24))


def test_ltv_fires_on_the_crossing_day_only_and_quotes_the_arr_range():
    d_minus_1 = values(ltv_all_days_usd=4950.0)
    d = values(ltv_all_days_usd=5123.4, arr_proven_musd=0.11, arr_all_days_musd=0.13)
    bullet = fired(d, d_minus_1)["ltv_all_days"]
    assert bullet["numbers"]["crossed_usd"] == 5000
    assert "passed $5,000: $5,123, $4,950 in the previous report" in bullet["text"]
    assert "$0.11M (proven) to $0.13M (all days)" in bullet["text"]
    assert bullet["sources"] == ["ltv_spend"]
    assert "ltv_all_days" not in fired(values(ltv_all_days_usd=5400.0), d)
    # 9,999 -> 15,001 names the highest multiple, 15,000.
    assert fired(values(ltv_all_days_usd=15001.0), values(ltv_all_days_usd=9999.0))["ltv_all_days"]["numbers"][
        "crossed_usd"] == 15000


@pytest.mark.parametrize(
    ("before", "now", "move"),
    [(50.0, 48.7, -1.3), (12.3, 11.3, -1.0), (40.0, 41.5, 1.5), (50.0, 49.1, None), (40.0, 40.0, None)],
)
def test_one_day_wonder_moves(before, now, move):
    bullet = fired(values(one_day_wonder_pct=now), values(one_day_wonder_pct=before)).get("one_day_wonders")
    assert (bullet and bullet["numbers"]["change_pp"]) == move
    if move is not None:
        assert ("fell" if move < 0 else "rose") in bullet["text"]


@pytest.mark.parametrize(
    ("before", "now", "changes"),
    [
        (github(100, 10), github(107, 11), (7, 1)),
        (github(100, 10), github(101, 15), (1, 5)),
        (github(100, 10), github(104, 14), None),
        (github(available=False), github(150, 30), None),  # no fake delta against a failed fetch
        (github(100, 10), None, None),
    ],
)
def test_github_growth(before, now, changes):
    bullet = fired(values(github=now), values(github=before)).get("github_growth")
    assert (bullet and (bullet["numbers"]["stars_change"], bullet["numbers"]["forks_change"])) == changes


def test_auth_path_not_landing_fires_when_it_starts():
    d = values(schema_v6_instances=12, auth_reporting_instances=0)
    bullet = fired(d, values())["auth_path_not_landing"]
    assert bullet["numbers"] == {"schema_v6_instances": 12, "auth_reporting_instances": 0}
    assert "0 of the 12 schema v6 installs report" in bullet["text"]
    assert bullet["sources"] == ["fleet_metrics"]
    assert "auth_path_not_landing" not in fired(values(schema_v6_instances=13, auth_reporting_instances=0), d)
    assert "auth_path_not_landing" not in fired(values(schema_v6_instances=12, auth_reporting_instances=3), values())


def test_every_rule_at_once_in_rule_order_with_markdown_safe_text():
    previous = values(total_instances=995, confirmed=49, stronger=19, longest_customer_days=27, pct_30d=4.9,
                      monthly_count=26, ltv_all_days_usd=4950.0, one_day_wonder_pct=50.0, github=github(100, 10))
    current = values(total_instances=1003, confirmed=51, stronger=20, longest_customer_days=28, pct_30d=5.0,
                     monthly_count=26, ltv_all_days_usd=5123.4, one_day_wonder_pct=48.7, github=github(107, 10),
                     schema_v6_instances=12, forecast=forecast(12.0, 10.0, "2026-08-01", "2026-08-02"))
    bullets = recommendations(current, previous, [FASTER, FASTER, STEADY])
    assert [bullet["rule"] for bullet in bullets] == [rule.id for rule in RULES]
    for bullet in bullets:
        assert escape_markdown(bullet["text"], None) == bullet["text"], bullet["rule"]
        assert bullet["sources"] and bullet["numbers"]


def test_rule_list_for_the_appendix():
    rules = recommendation_rules()
    assert [rule["rule"] for rule in rules] == [
        "install_milestone", "confirmed_alive", "stronger_alive", "install_pace", "forecast_eta",
        "longest_customer", "cohort_30d", "ltv_all_days", "one_day_wonders", "github_growth", "auth_path_not_landing",
    ]
    assert rules[0]["fires_when"].startswith("installs passed one of 500, 600, ..., 2,000 since D-1")
    assert all(rule["title"] and rule["sources"] for rule in rules)


def test_inputs_from_the_asset_documents():
    fleet = {
        "key_metrics": {"identified_instances": 1003},
        "stickiness": {"longest_non_internal_days": 41, "lifetime_bucket_pct": {"30": 5.2},
                       "lifetime_bucket_counts": {"30": 26}, "one_day_wonder_pct": 48.7},
        "auth_path": {"schema_v6_instances": 12, "reporting_instances": 0},
    }
    liveness = {"counts": {"confirmed": 51, "stronger": 20}}
    # 2026-05-01 costs 500 USD (nothing proven yet), every later day 2,000 USD (600 proven).
    days = [date(2026, 5, d) for d in range(1, 10)]
    totals = [500.0] + [2000.0] * 8
    spend = pl.DataFrame({
        "date": days,
        "total_usd": totals,
        "total_usd_persistent": [0.0] + [600.0] * 8,
        "cum_total_usd": [sum(totals[: i + 1]) for i in range(len(totals))],
    })
    inputs = recommendation_inputs(fleet, liveness, spend, date(2026, 5, 9), FASTER, github())
    assert inputs == {
        "total_instances": 1003, "confirmed": 51, "stronger": 20, "longest_customer_days": 41, "pct_30d": 5.2,
        "monthly_count": 26, "one_day_wonder_pct": 48.7, "github": github(), "schema_v6_instances": 12,
        "auth_reporting_instances": 0, "forecast": FASTER,
        "ltv_all_days_usd": 16500.0,  # 500 + 8 x 2,000
        "arr_all_days_musd": 0.73,  # 05-03..05-09: 7 x 2,000 = 14,000 / 7 x 365 = 730,000 USD
        "arr_proven_musd": 0.219,  # 7 x 600 = 4,200 / 7 x 365 = 219,000 USD
    }
    # D's frame cut at an earlier day: 05-05 has 500 + 4 x 2,000 = 8,500 cumulative, and its
    # week holds only 5 days: 8,500 / 5 x 365 = 620,500 USD.
    earlier = recommendation_inputs(fleet, liveness, spend, date(2026, 5, 5), FASTER, None)
    assert (earlier["ltv_all_days_usd"], earlier["arr_all_days_musd"]) == (8500.0, 0.6205)
    empty = recommendation_inputs(fleet, liveness, spend.clear(), date(2026, 5, 9), None, None)
    assert (empty["ltv_all_days_usd"], empty["arr_all_days_musd"], empty["arr_proven_musd"]) == (0.0, 0.0, 0.0)
