"""Fleet-shape chart builders: deterministic PNGs, empty states, and what they draw."""

from datetime import date, timedelta

import matplotlib
import polars as pl
import pytest
from matplotlib.colors import to_hex

from usage_assets.charts.fleet import (
    DETECTION_COLORS,
    DETECTION_COLUMNS,
    _auth_mix_figure,
    _auth_state_figure,
    _compute_groups,
    _detection_figure,
    _funnel_figure,
    _lifetime_box_figure,
    _prod_internal_figure,
    adoption_funnel_chart,
    auth_path_mix_chart,
    detection_by_version_chart,
    lifetime_box_by_compute_chart,
    prod_internal_timeseries_chart,
)
from usage_assets.charts.style import BAR_COLOR, GREY, STYLE, empty_chart
from usage_assets_tests.charts import PNG, assert_deterministic_png, hbar_colors, hbar_lengths

DAY = date(2026, 5, 20)
HOSTILE = "<script>alert(1)</script>|$x$"
LONG = "v" + "9" * 199  # the longest version the collector accepts


def customers(rows: list[tuple[str | None, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={"compute": pl.String, "age_days": pl.Int64})


CUSTOMERS = customers([
    ("podman", 5), ("zeta", 1), ("docker", 0), ("docker", 2), ("docker", 3), ("docker", 7),
    (None, 0), ("ecs", 40), ("alpha", 9), ("kubernetes", 12), ("ec2", 1), (HOSTILE, 4), (LONG, 3),
])

FUNNEL = [
    {"stage": "Every customer install", "installs": 412, "pct_of_customers": 100.0},
    {"stage": "Came back at least once", "installs": 220, "pct_of_customers": 53.4},
    {"stage": "Reported over 3+ days", "installs": 160, "pct_of_customers": 38.8},
    {"stage": "Reported over 7+ days", "installs": 121, "pct_of_customers": 29.4},
    {"stage": "Reported over 14+ days", "installs": 90, "pct_of_customers": 21.8},
    {"stage": "Reported over 30+ days", "installs": 51, "pct_of_customers": 12.4},
    {"stage": "Confirmed alive (>= 5 heartbeats in the last 7 days)", "installs": 77, "pct_of_customers": 18.7},
]


def detection(rows: list[tuple[str, dict[str, int]]]) -> pl.DataFrame:
    """A detection_by_version frame: version, the nine methods, (field absent), total."""
    records = [
        {"version": version, **{m: counts.get(m, 0) for m in DETECTION_COLUMNS}, "total": sum(counts.values())}
        for version, counts in rows
    ]
    return pl.DataFrame(
        records, schema={"version": pl.String, **{m: pl.Int64 for m in DETECTION_COLUMNS}, "total": pl.Int64}
    )


DETECTION = detection([
    ("v1.31.0", {"env": 3, "explicit": 2, "(field absent)": 1}),
    ("v1.30.0", {"imds": 4, "operator_declined": 1}),
    (LONG, {"dmi": 1}),
    (HOSTILE, {"k8s_heuristic": 2, "unknown": 1}),
    ("other (5 versions)", {"ecs_meta": 2, "operator_declared": 1}),
])


def prod_timeseries(days: int = 10, unknown: int = 0) -> list[dict]:
    # Community grows by 2 a day, internal by 1; active = the day's new installs + 1.
    return [
        {
            "date": (DAY - timedelta(days=days - 1 - k)).isoformat(),
            "community": 3, "internal": 2, "unknown": unknown,
            "cumulative_community": 2 * (k + 1), "cumulative_internal": k + 1, "cumulative_unknown": unknown,
        }
        for k in range(days)
    ]


AUTH = {
    "total_instances": 412,
    "schema_v6_instances": 120,
    "reporting_instances": 64,
    "reporting_instances_yesterday": 41,
    "per_path_instances": {"keycloak": 40, "session_cookie": 50, "jwt": 9},
    "volume_bucket_counts": {"1-9": 10, "10-99": 30, "100-999": 20, "1k-9k": 3, "10k+": 1},
    "window_hours": {"min": 24, "median": 24.0, "max": 24},
    "fleet_share_pct": {"keycloak": 55.5, "session_cookie": 40.0, "jwt": 4.5},
    "coverage_pct": 15.5,
    "collected": True,
    "capture_since_release": "1.31.0",
    "state": "collected",
}
NO_V6 = {"total_instances": 412, "schema_v6_instances": 0, "reporting_instances": 0, "capture_since_release": "1.31.0",
         "state": "no_schema_v6"}
NOT_REPORTING = {"total_instances": 412, "schema_v6_instances": 37, "reporting_instances": 0,
                 "capture_since_release": "1.31.0", "state": "schema_v6_not_reporting"}

CASES = {
    "lifetime_box": lambda: lifetime_box_by_compute_chart(CUSTOMERS, DAY),
    "funnel": lambda: adoption_funnel_chart(FUNNEL, DAY),
    "detection": lambda: detection_by_version_chart(DETECTION, DAY),
    "prod_internal": lambda: prod_internal_timeseries_chart(prod_timeseries(), DAY),
    "auth_path": lambda: auth_path_mix_chart(AUTH, DAY),
}
# Each empty input and the exact empty state it must give (the title says what and when).
EMPTY = {
    "lifetime_box": (
        lambda: lifetime_box_by_compute_chart(CUSTOMERS.clear(), DAY),
        "Customer install lifetime by compute platform, up to 2026-05-20 (UTC days, 0 customers)",
    ),
    "funnel": (
        lambda: adoption_funnel_chart([], DAY),
        "Customer adoption funnel, up to 2026-05-20 (UTC days, 0 customers)",
    ),
    "funnel_zero": (
        lambda: adoption_funnel_chart([{**FUNNEL[0], "installs": 0, "pct_of_customers": 0.0}], DAY),
        "Customer adoption funnel, up to 2026-05-20 (UTC days, 0 customers)",
    ),
    "detection": (
        lambda: detection_by_version_chart(DETECTION.clear(), DAY),
        "Cloud detection method by version, up to 2026-05-20 (UTC days, 0 customer installs)",
    ),
    "prod_internal": (
        lambda: prod_internal_timeseries_chart([], DAY),
        "Community vs internal builds, up to 2026-05-20 (UTC days, all installs)",
    ),
    "auth_path": (
        lambda: auth_path_mix_chart({}, DAY),
        "Auth-path mix, identified installs up to 2026-05-20 (UTC days)",
    ),
}


def texts(fig) -> list[str]:
    """Every text drawn in the figure's axes (annotations included)."""
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def ytick_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


@pytest.mark.parametrize("name", sorted(CASES))
def test_charts_are_byte_identical_pngs_for_equal_input(name):
    assert_deterministic_png(CASES[name])


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_input_draws_the_empty_state_with_the_title(name):
    build, title = EMPTY[name]
    assert build() == empty_chart(title)


def test_lifetime_rows_follow_the_compute_order_then_names():
    groups = _compute_groups(CUSTOMERS)
    # Fixed order for the known platforms, "unknown" (the null) last of them, then the
    # rest alphabetically ("<" sorts before letters); junk labels are cut to 24 chars.
    assert [label for label, _ in groups] == [
        "docker", "kubernetes", "ecs", "ec2", "podman", "unknown",
        "<script>alert(1)</scrip…", "alpha", "v" + "9" * 22 + "…", "zeta",
    ]
    assert dict(groups)["docker"] == [0, 2, 3, 7]


def test_lifetime_rows_are_annotated_with_median_mean_and_n():
    fig = _lifetime_box_figure(_compute_groups(CUSTOMERS), "t")
    notes = texts(fig)
    # docker ages 0, 2, 3, 7: median (2 + 3) / 2 = 2.5, mean 12 / 4 = 3.0.
    assert notes[0] == "median 2.5 d / mean 3.0 d (n=4)"
    assert notes[2] == "median 40 d / mean 40.0 d (n=1)"  # ecs
    assert ytick_labels(fig.axes[0])[0] == "docker"


def test_lifetime_skips_missing_ages_and_folds_a_long_tail():
    # docker + 11 other platforms: 10 rows at most, so one for docker, 8 of the rest and
    # one folded row. o11 (3 installs) is kept first, then o01..o07 by name; o08, o09 and
    # o10 fold into "other (3 values)" with their ages 8, 9, 10 pooled.
    rows = [("docker", 1), ("docker", None), ("docker", -1)] + [(f"o{n:02d}", n) for n in range(1, 11)]
    rows += [("o11", 11)] * 3
    groups = _compute_groups(customers(rows))
    assert [label for label, _ in groups] == ["docker", *(f"o{n:02d}" for n in range(1, 8)), "o11", "other (3 values)"]
    assert groups[0][1] == [1]
    assert groups[-1][1] == [8, 9, 10]


def test_funnel_bars_carry_the_rows_own_count_and_percentage():
    fig = _funnel_figure(FUNNEL, "t")
    ax = fig.axes[0]
    assert hbar_lengths(ax) == [412, 220, 160, 121, 90, 51, 77]
    # The table's 1-dp percentage, not one recomputed and rounded differently.
    assert texts(fig)[:2] == ["412 (100.0%)", "220 (53.4%)"]
    assert texts(fig)[-1] == "77 (18.7%)"
    # A long stage name wraps onto two lines instead of squeezing the bars.
    assert ytick_labels(ax)[-1] == "Confirmed alive (>= 5 heartbeats\nin the last 7 days)"


def test_a_row_outside_the_funnel_is_grey_below_a_rule_and_says_so():
    rows = [{**row, "in_funnel": row is not FUNNEL[-1]} for row in FUNNEL]
    fig = _funnel_figure(rows, "t")
    ax = fig.axes[0]
    assert [to_hex(color) for color in hbar_colors(ax)] == [to_hex(BAR_COLOR)] * 6 + [to_hex(GREY)]
    assert texts(fig)[-1] == "77 (18.7%), not a funnel stage"
    (rule,) = ax.get_lines()
    assert rule.get_ydata()[0] == 5.5  # between the 30+ days stage and Confirmed Alive


def test_detection_stacks_every_method_in_its_fixed_colour():
    fig = _detection_figure(DETECTION, "t")
    ax = fig.axes[0]
    # Row totals at the bar ends: 3+2+1, 4+1, 1, 2+1, 2+1.
    assert texts(fig) == ["6", "5", "1", "3", "3"]
    # Long versions are cut in the middle (builds of one release differ at the end):
    # 15 leading characters, "…", the last 8.
    assert ytick_labels(ax) == ["v1.31.0", "v1.30.0", "v" + "9" * 14 + "…" + "9" * 8, "<script>alert(1…ipt>|$x$",
                                "other (5 versions)"]
    # Operator-provided methods are drawn too (quirk 18); the legend keeps the fixed
    # method order and lists only methods that have installs.
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["env", "dmi", "ecs_meta", "k8s_heuristic", "imds", "explicit", "operator_declared",
                      "operator_declined", "unknown", "(field absent)"]
    explicit = next(c for c in ax.collections if c.get_label() == "explicit")
    # explicit sits after env on the first row (y = 0 +- 0.34): from x = 3, 2 wide.
    first_row = explicit.get_paths()[0].vertices
    assert (first_row[:, 0].min(), first_row[:, 0].max(), first_row[:, 1].min()) == (3, 5, -0.34)
    assert matplotlib.colors.to_hex(explicit.get_facecolor()[0]) == DETECTION_COLORS["explicit"].lower()


def test_detection_legend_leaves_out_methods_without_installs():
    fig = _detection_figure(DETECTION.head(2), "t")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["env", "imds", "explicit", "operator_declined", "(field absent)"]


def test_prod_internal_panels_draw_cumulative_and_daily_per_class():
    points = [(date.fromisoformat(row["date"]), row) for row in prod_timeseries(3)]
    fig = _prod_internal_figure(points, "t")
    cumulative, daily = fig.axes
    assert [list(line.get_ydata()) for line in cumulative.lines] == [[2, 4, 6], [1, 2, 3]]
    assert [list(line.get_ydata()) for line in daily.lines] == [[3, 3, 3], [2, 2, 2]]
    # No unknown-class install: that class gets no line and no legend entry.
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["community: 6 installs, 3 active on 2026-05-20", "internal: 3 installs, 2 active on 2026-05-20"]
    assert cumulative.get_ylim()[0] == 0 and daily.get_ylim()[0] == 0


def test_prod_internal_draws_unknown_when_present_and_accepts_dates_or_strings():
    points = [(date.fromisoformat(row["date"]), row) for row in prod_timeseries(3, unknown=1)]
    assert len(_prod_internal_figure(points, "t").axes[0].lines) == 3
    as_dates = [{**row, "date": date.fromisoformat(row["date"])} for row in prod_timeseries()]
    shuffled = list(reversed(prod_timeseries()))
    assert prod_internal_timeseries_chart(as_dates, DAY) == CASES["prod_internal"]()
    assert prod_internal_timeseries_chart(shuffled, DAY) == CASES["prod_internal"]()


def test_auth_mix_draws_share_collection_funnel_and_buckets():
    with matplotlib.rc_context(STYLE):
        fig = _auth_mix_figure(AUTH, DAY, "t")
    share, funnel, buckets = fig.axes
    assert ytick_labels(share) == ["keycloak", "session_cookie", "jwt"]
    assert hbar_lengths(share) == [55.5, 40.0, 4.5]
    assert [t.get_text() for t in share.texts] == ["55.5%", "40.0%", "4.5%"]
    assert ytick_labels(funnel)[-1] == "Reported one on 2026-05-20"
    # Percent of the 412 identified installs: 120/412 = 29%, 64/412 = 16%, 41/412 = 10%.
    assert [t.get_text() for t in funnel.texts] == ["412 (100%)", "120 (29%)", "64 (16%)", "41 (10%)"]
    assert ytick_labels(buckets) == ["1-9", "10-99", "100-999", "1k-9k", "10k+"]
    assert buckets.get_title(loc="left") == "Installs by requests per 24 h"


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (NO_V6, "0 of 412 identified installs send schema v6"),
        (NOT_REPORTING, "37 of 412 identified installs send schema v6; 0 of them reported"),
        ({**AUTH, "fleet_share_pct": {}}, "No auth-path mix to draw (state: collected)"),
        ({**NO_V6, "state": "<b>odd</b>"}, "No auth-path mix to draw (state: <b>odd</b>)"),
    ],
)
def test_auth_not_collected_states_name_the_state_and_the_numbers(summary, expected):
    assert any(expected in text for text in texts(_auth_state_figure(summary, "t")))
    png = auth_path_mix_chart(summary, DAY)
    assert png.startswith(PNG) and png != auth_path_mix_chart({}, DAY)


def test_hostile_labels_and_many_values_never_raise():
    many = customers([(f"{HOSTILE}{n}", n) for n in range(40)] + [("a\x00" * 150, 2), ("$\\frac{", 1)])
    assert lifetime_box_by_compute_chart(many, DAY).startswith(PNG)
    junk = [{"stage": HOSTILE * 10, "installs": 3, "pct_of_customers": 100.0}]
    assert adoption_funnel_chart(junk, DAY).startswith(PNG)
    versions = detection([(f"{HOSTILE}\u202e{n}", {"env": n + 1}) for n in range(13)])
    assert detection_by_version_chart(versions, DAY).startswith(PNG)
    weird_paths = {**AUTH, "fleet_share_pct": {HOSTILE: 60.0, "x" * 200: 40.0}, "window_hours": {}}
    assert auth_path_mix_chart(weird_paths, DAY).startswith(PNG)
    one_day = prod_timeseries(1)
    assert prod_internal_timeseries_chart(one_day, DAY).startswith(PNG)
