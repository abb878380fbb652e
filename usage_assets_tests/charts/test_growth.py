"""Growth charts: valid, deterministic PNGs, empty states, and what each figure draws;
``timeseries.installs_by`` on hand-made events."""

from datetime import date, timedelta

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import polars as pl
import pytest

from usage_assets.charts import growth
from usage_assets.charts.style import STYLE, empty_chart
from usage_assets.daily.activity import instance_days_from_events
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.installs_over_time import installs_by, installs_by_cloud
from usage_assets_tests.charts import PNG, assert_deterministic_png
from usage_assets_tests.conftest import ID_A, ID_B, event, export_rows

DAY = date(2026, 11, 20)
HOSTILE = "<script>alert(1)</script>|x\x1b[31m"


def days(n: int) -> list[date]:
    """``n`` consecutive UTC days ending on DAY."""
    return [DAY - timedelta(days=n - 1 - i) for i in range(n)]


# ---------------------------------------------------------------- inputs, by the spec's columns


def engagement(n: int) -> pl.DataFrame:
    # Customers A, B every day, C on the last day only (reference T13 over n days): DAI 2
    # then 3; MA7 on the last day = (2*6 + 3)/7 = 2.14; streak 2; likely alive 3 on the last
    # day (2 before); cumulative 2 then 3.
    dai = [2] * (n - 1) + [3]
    cumulative = [2] * (n - 1) + [3]
    ma7 = [None] * min(n, 6) + [round((2 * 6 + (3 if i == n - 1 else 2)) / 7, 2) for i in range(6, n)]
    streak = [None] * min(n, 6) + [2] * max(n - 6, 0)
    return pl.DataFrame(
        {
            "date": days(n),
            "daily_active": dai,
            "ma7": ma7,
            "streak7": streak,
            "cumulative_installs": cumulative,
            "dai_pct_of_total": [100.0] * n,
            "likely_alive_7d": cumulative,
            "dai_pct_of_likely_alive": [100.0] * n,
        },
        schema={"date": pl.Date, "daily_active": pl.Int64, "ma7": pl.Float64, "streak7": pl.Int64,
                "cumulative_installs": pl.Int64, "dai_pct_of_total": pl.Float64, "likely_alive_7d": pl.Int64,
                "dai_pct_of_likely_alive": pl.Float64},
    )


def compute_frame(n: int, platforms=("docker", "ecs", "kubernetes")) -> pl.DataFrame:
    # Platform k gains k+1 installs on the first day and none after.
    rows = [
        (d, platform, k + 1, (k + 1) if i == 0 else 0, k + 1)
        for i, d in enumerate(days(n))
        for k, platform in enumerate(platforms)
    ]
    return pl.DataFrame(rows, orient="row", schema={"date": pl.Date, "compute": pl.String, "daily_active": pl.Int64,
                                                   "daily_new": pl.Int64, "cumulative_installs": pl.Int64})


def installs_series(values: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"date": days(len(values)), "installs": values}, schema={"date": pl.Date, "installs": pl.Int64})


def t17_forecast(target: int = 100) -> dict:
    # Reference T17: d0..d4 = 10, 20, 30, 40, 50 -> slope 10, intercept 10 at d0, sigma 0;
    # (100 - 10)/10 = 9 days -> ETA d9 for the line and for the pace (50 + 10*5 = 100).
    d0 = DAY - timedelta(days=4)
    eta = (d0 + timedelta(days=9)).isoformat()
    return {
        "available": True, "reason": None, "configured_target": target, "target": target,
        "today": {"date": DAY.isoformat(), "installs": 50},
        "linear": {"fit_window_days": 14, "fit_points": 5, "slope_per_day": 10.0, "intercept": 10.0,
                   "residual_std": 0.0, "base_date": d0.isoformat(), "eta": eta, "eta_lower_95": eta,
                   "eta_upper_95": eta},
        "recent_pace": {"window_days": 7, "anchor_date": d0.isoformat(), "daily_add_rate": 10.0, "eta": eta},
        "remaining": target - 50,
    }


def reporters(n: int) -> pl.DataFrame:
    return pl.DataFrame({"date": days(n), "all_reporters": [3] * n, "persisted_2events": [2] * n,
                         "persisted_2days": [1] * n}, schema_overrides={"all_reporters": pl.Int64})


SPEND_DAILY = {"": [3.9936, 7.9872], "_persistent": [0.0, 3.9936], "_persisted": [3.9936, 3.9936]}


def spend(n: int = 2) -> pl.DataFrame:
    # One docker install on both days and a second on day 2 only: all days 1 then 2
    # install-days; proven drops each first day (0, 1); persisted keeps only the 2-day
    # install (1, 1). At 3.9936 USD/day: cumulative all days 3.9936 + 7.9872 = 11.9808.
    columns: dict[str, list] = {"date": days(n)}
    for suffix, daily in SPEND_DAILY.items():
        values = daily[:n]
        columns[f"total_usd{suffix}"] = values
        columns[f"cum_total_usd{suffix}"] = [round(v, 4) for v in np.cumsum(values)]
    return pl.DataFrame(columns, schema={name: (pl.Date if name == "date" else pl.Float64) for name in columns})


def retention(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "date": days(n), "total": list(range(4, 4 + n)), "one_day_wonder_pct": [50.0] * n, "pct_ge_3d": [25.0] * n,
        "pct_ge_7d": [25.0] * n, "pct_ge_14d": [0.0] * n, "pct_ge_30d": [0.0] * n,
    }, schema_overrides={"total": pl.Int64})


CASES = {
    "active": lambda: growth.active_instances_chart(engagement(10), DAY),
    "active_long": lambda: growth.active_instances_chart(engagement(200), DAY),
    "compute": lambda: growth.compute_installs_timeseries_chart(compute_frame(10), DAY),
    "forecast": lambda: growth.install_forecast_chart(installs_series([10, 20, 30, 40, 50]), t17_forecast(), DAY),
    "reporters": lambda: growth.daily_reporters_chart(reporters(10), DAY),
    "spend": lambda: growth.ltv_spend_chart(spend(), DAY),
    "buckets": lambda: growth.lifetime_buckets_chart(retention(10), DAY),
}
EMPTY = {
    "active": lambda: growth.active_instances_chart(engagement(10).clear(), DAY),
    "active_long": lambda: growth.active_instances_chart(  # rows, but no customer yet
        engagement(10).with_columns(pl.lit(0, dtype=pl.Int64).alias("cumulative_installs")), DAY),
    "compute": lambda: growth.compute_installs_timeseries_chart(compute_frame(10).clear(), DAY),
    "forecast": lambda: growth.install_forecast_chart(installs_series([]), {"available": False}, DAY),
    "reporters": lambda: growth.daily_reporters_chart(reporters(10).clear(), DAY),
    "spend": lambda: growth.ltv_spend_chart(spend().clear(), DAY),
    "buckets": lambda: growth.lifetime_buckets_chart(retention(10).clear(), DAY),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_charts_are_byte_identical_pngs_for_equal_input(name):
    assert_deterministic_png(CASES[name])


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_input_draws_the_empty_state(name):
    empty = EMPTY[name]()
    assert empty.startswith(PNG)
    assert len(empty) < len(CASES[name]()) / 2  # a note, not a chart


@pytest.mark.parametrize(
    "draw",
    [
        lambda: growth.active_instances_chart(engagement(1), DAY),
        lambda: growth.compute_installs_timeseries_chart(compute_frame(1), DAY),
        lambda: growth.daily_reporters_chart(reporters(1), DAY),
        lambda: growth.ltv_spend_chart(spend(1), DAY),
        lambda: growth.lifetime_buckets_chart(retention(1), DAY),
    ],
)
def test_a_one_day_series_still_draws(draw):
    assert draw().startswith(PNG)


def drawn(figure) -> matplotlib.figure.Figure:
    """Draw ``figure`` under the house style, so tick labels exist."""
    with matplotlib.rc_context(STYLE):
        figure.canvas.draw()
    return figure


def lines(ax) -> dict[str, np.ndarray]:
    return {line.get_label(): np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()}


def legend_texts(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def tick_texts(ax) -> list[str]:
    return [label.get_text() for label in ax.get_xticklabels() if label.get_text()]


# ------------------------------------------------------------------------- what is drawn


def test_active_instances_draws_dai_and_the_7_day_measures_from_day_7():
    fig = drawn(growth._active_instances_figure(engagement(10)))
    ax, ax_pct = fig.axes
    drawn_lines = lines(ax)
    ma7 = drawn_lines[growth.MA7_LABEL]
    assert np.isnan(ma7[:6]).all() and ma7[-1] == 2.14  # (2*6 + 3)/7, null before day 7
    assert list(drawn_lines[growth.STREAK_LABEL][6:]) == [2, 2, 2, 2]
    assert [bar.get_height() for bar in ax.patches] == [2] * 9 + [3]  # DAI bars
    assert ax.get_ylim()[0] == 0 and ax_pct.get_ylim() == (0, 103)
    # Legend top to bottom like the lines: likely alive, mean, DAI, streak.
    assert legend_texts(ax) == [growth.LIKELY_ALIVE_LABEL, growth.MA7_LABEL, growth.DAI_LABEL, growth.STREAK_LABEL]
    assert "2026-11-11 to 2026-11-20 (UTC days)" in fig.get_suptitle()


def test_a_long_engagement_series_fills_instead_of_bars():
    fig = growth._active_instances_figure(engagement(200))
    assert not fig.axes[0].patches and fig.axes[0].collections  # one step area, no 200 bars


def test_one_day_axis_has_a_day_tick_not_a_time():
    fig = drawn(growth._daily_reporters_figure(reporters(1)))
    assert tick_texts(fig.axes[0]) == ["2026-11-20"]
    assert "on 2026-11-20 (UTC day)" in fig.get_suptitle()


def test_compute_timeseries_orders_platforms_by_installs_and_folds_the_tail():
    # Platforms p0..p9 gain 1..10 installs: the 7 largest keep a line, 3 fold together.
    platforms = [f"p{k}" for k in range(10)]
    fig = growth._compute_installs_figure(compute_frame(3, platforms).vstack(compute_frame(3, [HOSTILE])))
    cumulative = lines(fig.axes[0])
    assert list(cumulative) == ["p9", "p8", "p7", "p6", "p5", "p4", "p3", "other (4 values)"]
    # Folded: p0, p1, p2 (1 + 2 + 3 installs) and the hostile value (1 install).
    assert list(cumulative["other (4 values)"]) == [7, 7, 7]


def test_compute_labels_are_sanitised_and_known_platforms_keep_their_colour():
    fig = growth._compute_installs_figure(compute_frame(3, ["docker", HOSTILE]))
    labels = legend_texts(fig.axes[0])
    assert labels[0] == "<script>alert(1)</scrip…" and labels[1] == "docker"
    colours = {line.get_label(): line.get_color() for line in fig.axes[0].get_lines()}
    assert colours["docker"] == growth.COMPUTE_COLORS["docker"]


def test_forecast_line_band_and_pace_reach_the_target_at_the_eta():
    fig = growth._install_forecast_figure(installs_series([10, 20, 30, 40, 50]), t17_forecast())
    ax = fig.axes[0]
    d0 = DAY - timedelta(days=4)
    # History 5 days, so the lines reach max(ETA d9, D + 30) = D + 30 = d34, capped at D + 30.
    fit = next(line for line in ax.get_lines() if line.get_label().startswith("linear fit"))
    x, y = fit.get_xdata(), fit.get_ydata()
    assert x[0] == mdates.date2num(d0) and x[-1] == mdates.date2num(DAY + timedelta(days=30))
    assert y[9] == 100 and y[-1] == 10 + 10 * 34
    pace = next(line for line in ax.get_lines() if line.get_label().startswith("recent pace"))
    assert pace.get_ydata()[0] == 50 and pace.get_ydata()[5] == 100  # from (D, 50) at 10/day
    etas = [line for line in ax.get_lines() if line.get_marker() == "o" and len(line.get_xdata()) == 1]
    assert {(line.get_xdata()[0], line.get_ydata()[0]) for line in etas} == {(mdates.date2num(d0 + timedelta(days=9)), 100)}
    assert ax.get_ylim() == (0, 100 * 1.08)  # the target tops the chart
    assert not ax.collections  # sigma 0: no band
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "linear fit over the last 14 days: +10.0/day, ETA 2026-11-25" in labels  # no band to quote
    assert "target: 100 installs" in labels


def test_forecast_far_target_is_named_not_drawn_and_the_band_shows():
    forecast = t17_forecast(target=100_000)
    forecast["linear"].update(residual_std=2.0, eta="2054-01-01", eta_lower_95="2053-12-01", eta_upper_95="2054-02-01")
    forecast["recent_pace"]["eta"] = "2054-01-01"
    fig = growth._install_forecast_figure(installs_series([10, 20, 30, 40, 50]), forecast)
    ax = fig.axes[0]
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "target: 100,000 installs, above the chart" in labels
    assert ("linear fit over the last 14 days: +10.0/day, ETA 2054-01-01 (beyond the chart), "
            "95% 2053-12-01 to 2054-02-01") in labels
    # Highest drawn value: the band's top on the last day, 10 + 10*34 + 1.96*2 = 353.92.
    assert ax.get_ylim()[1] == pytest.approx(353.92 * 1.08)
    assert len(ax.collections) == 1


def test_forecast_horizon_follows_the_eta_within_the_history_length():
    first = DAY - timedelta(days=199)  # 200 days of history
    assert growth._forecast_end(first, DAY, [DAY + timedelta(days=50), None]) == DAY + timedelta(days=50)
    assert growth._forecast_end(first, DAY, [DAY + timedelta(days=5)]) == DAY + timedelta(days=30)
    assert growth._forecast_end(first, DAY, [DAY + timedelta(days=900)]) == DAY + timedelta(days=200)
    assert growth._forecast_end(DAY - timedelta(days=999), DAY, [None]) == DAY + timedelta(days=30)
    assert growth._forecast_end(DAY - timedelta(days=999), DAY, [DAY + timedelta(days=900)]) == DAY + timedelta(days=365)


def test_unavailable_forecast_states_the_reason():
    reason = {"available": False, "reason": "needs at least 5 days of data, has 3"}
    note = growth.install_forecast_chart(installs_series([1, 2, 3]), reason, DAY)
    assert note.startswith(PNG)
    assert note != empty_chart(f"Install forecast, data up to {DAY.isoformat()} (UTC days)")
    assert note != growth.install_forecast_chart(installs_series([1, 2, 3]), {"available": False, "reason": "other"}, DAY)


def test_daily_reporters_draws_the_three_nested_counts():
    fig = growth._daily_reporters_figure(reporters(3))
    assert [list(v) for v in lines(fig.axes[0]).values()] == [[3, 3, 3], [2, 2, 2], [1, 1, 1]]


def test_ltv_spend_plots_cumulative_usd_per_rule_with_the_totals_in_the_legend():
    fig = drawn(growth._ltv_spend_figure(spend()))
    ax_cum, ax_day = fig.axes
    cumulative = [list(line.get_ydata()) for line in ax_cum.get_lines()]
    # all days 3.9936, 3.9936 + 7.9872; persisted 3.9936, 7.9872; proven 0, 3.9936.
    assert cumulative == [[3.9936, 11.9808], [3.9936, 7.9872], [0.0, 3.9936]]
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels[0] == "all days: every AWS customer install-day ($11.98 to date)"
    assert labels[2] == "proven: all but each install's first day ($3.99 to date)"
    assert all(text.get_text().startswith("$") for text in ax_day.get_yticklabels() if text.get_text())
    assert ax_cum.get_ylim()[0] == 0 and "hypothetical, at list price" in ax_cum.get_title()


def test_lifetime_buckets_draw_five_shares_on_a_0_to_100_axis():
    fig = growth._lifetime_buckets_figure(retention(3))
    ax, ax_total = fig.axes
    assert list(lines(ax)) == [label for _, label, _ in growth.LIFETIME_SERIES]
    assert list(lines(ax)["one-day wonders (seen on 1 day)"]) == [50.0] * 3
    assert ax.get_ylim() == (0, 103)
    assert list(ax_total.get_lines()[0].get_ydata()) == [4, 5, 6]
    assert "(6 on 2026-11-20)" in ax_total.get_title()


# ------------------------------------------------------------------------------ installs_by


def history() -> pl.LazyFrame:
    d1, d2 = date(2026, 5, 1), date(2026, 5, 2)
    rows_by_day = {
        # A starts on docker, moves to kubernetes on d2; B starts on d2 on docker; an
        # unidentified ecs row on d1 is left out; no events on 05-03.
        d1: [event("startup", ID_A, "2026-05-01T08:00:00.000Z", compute="docker", cloud="aws"),
             event("startup", None, "2026-05-01T09:00:00.000Z", compute="ecs", cloud="aws")],
        d2: [event("startup", ID_A, "2026-05-02T08:00:00.000Z", compute="kubernetes", cloud="aws"),
             event("startup", ID_B, "2026-05-02T09:00:00.000Z", compute="docker", cloud="gcp")],
    }
    frames = [
        instance_days_from_events(validate_events(export_rows(rows), day).events, day)
        for day, rows in rows_by_day.items()
    ]
    return pl.concat(frames).lazy()


def test_installs_by_compute_counts_each_install_once_under_its_first_day_platform():
    frame = installs_by(history(), "compute", date(2026, 5, 1), date(2026, 5, 3))
    assert frame.columns == ["date", "compute", "daily_active", "daily_new", "cumulative_installs"]
    # d1: A on docker (new). d2: B new on docker, A active on kubernetes but counted once,
    # under docker. d3: no events, cumulative carried.
    assert frame.select(pl.exclude("date")).rows() == [
        ("docker", 1, 1, 1), ("kubernetes", 0, 0, 0),
        ("docker", 1, 1, 2), ("kubernetes", 1, 0, 0),
        ("docker", 0, 0, 2), ("kubernetes", 0, 0, 0),
    ]


def test_installs_by_cloud_is_the_cloud_facet():
    frame = installs_by_cloud(history(), date(2026, 5, 1), date(2026, 5, 3))
    assert frame.equals(installs_by(history(), "cloud", date(2026, 5, 1), date(2026, 5, 3)))
    # d2: A on aws (already counted), B new on gcp.
    assert frame.filter(pl.col("date") == date(2026, 5, 2)).select(pl.exclude("date")).rows() == [
        ("aws", 1, 0, 1), ("gcp", 1, 1, 1),
    ]


def test_installs_by_rejects_a_column_that_is_not_an_attribute():
    with pytest.raises(ValueError, match="registry_id"):
        installs_by(history(), "registry_id", date(2026, 5, 1), date(2026, 5, 3))
    with pytest.raises(ValueError, match="no_such"):
        installs_by(history(), "no_such", date(2026, 5, 1), date(2026, 5, 3))
