"""Chart builders: valid, deterministic PNGs, an empty state, and safe labels."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from usage_assets.charts import growth
from usage_assets.charts import style as charts
from usage_assets.charts.fleet import install_distribution_chart, lifetime_chart
from usage_assets.charts.growth import installs_timeseries_chart
from usage_assets.charts.style import safe_label
from usage_assets_tests.charts import PNG, assert_deterministic_png, hbar_lengths

DAY = date(2026, 5, 20)
HOSTILE = "<script>alert(1)</script>|x"


def timeseries(days: int = 10) -> pl.DataFrame:
    rows = []
    for offset in range(days):
        for index, cloud in enumerate(["aws", "gcp", HOSTILE * 5, "weird\x1bcloud"]):
            rows.append((DAY - timedelta(days=days - 1 - offset), cloud, offset + index, 1, offset + 1))
    return pl.DataFrame(
        rows, orient="row",
        schema={"date": pl.Date, "cloud": pl.String, "daily_active": pl.Int64, "daily_new": pl.Int64,
                "cumulative_installs": pl.Int64},
    )


DISTRIBUTIONS = {
    "cloud": {"aws": 5, "unknown": 2},
    "compute": {f"platform-{n}": n + 1 for n in range(12)},  # more values than bars
    "storage": {"documentdb": 3},
    "auth": {HOSTILE: 1, "x" * 200: 2},
    "arch": {},
    "mode": {"with-gateway": 4},
}

CASES = {
    "timeseries": lambda: installs_timeseries_chart(timeseries(), DAY),
    "distribution": lambda: install_distribution_chart(DISTRIBUTIONS, "Unique installs, all installs up to 2026-05-20"),
    "lifetime": lambda: lifetime_chart([0, 0, 0, 1, 3, 7, 14, 30, 45], DAY),
}
EMPTY = {
    "timeseries": lambda: installs_timeseries_chart(timeseries().clear(), DAY),
    "distribution": lambda: install_distribution_chart({}, "Nothing yet"),
    "lifetime": lambda: lifetime_chart([], DAY),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_charts_are_byte_identical_pngs_for_equal_input(name):
    assert_deterministic_png(CASES[name])


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_input_draws_the_empty_state(name):
    empty = EMPTY[name]()
    assert empty.startswith(PNG)
    assert len(empty) < len(CASES[name]())  # a note, not a chart


def test_safe_label_strips_controls_and_cuts_long_text():
    assert safe_label("a\x00b\x1b[31mc\nd") == "ab[31mc d"
    assert safe_label(HOSTILE) == "<script>alert(1)</scrip…"
    assert len(safe_label("y" * 200)) == 24
    assert safe_label("short") == "short"


def test_thumbnail_is_small_and_keeps_the_aspect_ratio():
    import io

    from PIL import Image

    from usage_assets.charts.style import thumbnail_png

    full = CASES["timeseries"]()
    small = thumbnail_png(full, width=300)
    with Image.open(io.BytesIO(full)) as big, Image.open(io.BytesIO(small)) as thumb:
        assert thumb.width == 300
        assert abs(thumb.height / thumb.width - big.height / big.width) < 0.01
    assert small.startswith(PNG) and len(small) < len(full) / 3


def test_hostile_labels_and_many_values_never_raise():
    # "$" would start mathtext if it were parsed; it is drawn as text instead.
    weird = {"$\\frac{": 3, "\u202eevil": 2, "a\x00" * 150: 1, **{f"v{n}": 1 for n in range(30)}}
    png = install_distribution_chart({facet: weird for facet in ("cloud", "compute", "auth")}, "Hostile $x$")
    assert png.startswith(PNG)
    clouds = timeseries(3).vstack(timeseries(3).with_columns(pl.col("cloud") + "-more"))
    assert installs_timeseries_chart(clouds, DAY).startswith(PNG)  # > 8 clouds fold into "other"
    assert lifetime_chart([0], DAY).startswith(PNG)


# ------------------------------------------------------------------------ shared helpers


def drawn_ticks(fig: Figure, ax) -> list[str]:
    """The x tick labels and offset of ``ax`` once ``fig`` is drawn under the house style."""
    with charts.matplotlib.rc_context(charts.STYLE):
        FigureCanvasAgg(fig).draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()] + [ax.xaxis.get_offset_text().get_text()]


def test_one_day_timeseries_labels_its_tick_with_the_date_not_a_time(monkeypatch):
    figures: list[Figure] = []
    monkeypatch.setattr(growth, "render_png", lambda fig: figures.append(fig) or b"")
    installs_timeseries_chart(timeseries(1), DAY)
    # Was "00:00" with "2026-May-20 00:00" as the offset.
    assert drawn_ticks(figures[0], figures[0].axes[2]) == ["2026-05-20", ""]


@pytest.mark.parametrize(("days", "expected"), [(3, ["18", "19", "20", "2026-May"]), (1, ["2026-05-20", ""])])
def test_date_axis_labels_whole_days(days, expected):
    with charts.matplotlib.rc_context(charts.STYLE):
        fig = charts.figure(3, "t")
        ax = fig.add_subplot()
        first = DAY - timedelta(days=days - 1)
        ax.plot(charts.date_nums([first, DAY]), [1, 2])
        charts.date_axis(ax, first, DAY)
    assert drawn_ticks(fig, ax) == expected
    low, high = ax.get_xlim()
    assert (low, high) == pytest.approx(tuple(charts.date_nums([first, DAY]) + [-0.7, 0.7]))


def test_empty_chart_takes_a_note():
    assert charts.empty_chart("t") == charts.empty_chart("t", charts.NO_DATA)
    assert charts.empty_chart("t", "No forecast: not enough data") != charts.empty_chart("t")


def test_hbars_annotate_n_and_percent_or_the_given_notes():
    fig = Figure()
    default, noted = fig.subplots(1, 2)
    charts.hbars(default, ["a", "b"], [3, 1], 4, ["red", "blue"])
    charts.hbars(noted, ["a", "b"], [55.5, 4.5], None, ["red", "blue"], notes=["55.5%", "4.5%"])
    assert [t.get_text() for t in default.texts] == ["3 (75%)", "1 (25%)"]
    assert [t.get_text() for t in noted.texts] == ["55.5%", "4.5%"]
    assert hbar_lengths(noted) == [55.5, 4.5]


def test_category_colors_use_the_fixed_map_then_spare_colours():
    clouds = charts.category_colors(["aws", "zeta", "other (3 values)", "alpha"])
    assert clouds == {"aws": charts.CLOUD_COLORS["aws"], "other (3 values)": charts.FOLDED_GREY,
                      "alpha": charts.EXTRA_COLORS[0], "zeta": charts.EXTRA_COLORS[1]}
    computes = charts.category_colors(["docker", "eks", "alpha"], charts.COMPUTE_COLORS)
    # Vermillion and black belong to eks and vm, so an extra platform never takes them.
    assert computes == {"docker": charts.COMPUTE_COLORS["docker"], "eks": charts.COMPUTE_COLORS["eks"],
                        "alpha": "#7F6A93"}


def test_fold_series_folds_the_smallest_values_of_any_facet_column():
    # Platforms p0..p9 gain 0..9 installs on one day: the 7 largest keep a series, the
    # 3 smallest (and a null, counted as "unknown" with the fewest) fold together.
    rows = [(DAY, f"p{k}", k, k, k) for k in range(10)] + [(DAY, None, 1, 0, 0)]
    frame = pl.DataFrame(rows, orient="row", schema={"date": pl.Date, "compute": pl.String, "daily_active": pl.Int64,
                                                    "daily_new": pl.Int64, "cumulative_installs": pl.Int64})
    data, order = charts.fold_series(frame, "compute")
    assert order == ["p9", "p8", "p7", "p6", "p5", "p4", "p3", "other (4 values)"]
    assert data.columns == ["date", "compute", "daily_active", "daily_new", "cumulative_installs"]
    assert data.filter(pl.col("compute") == "other (4 values)").row(0)[2:] == (0 + 1 + 2 + 1, 0 + 1 + 2, 0 + 1 + 2)


def agg_pixels(fig: Figure) -> bytes:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return bytes(canvas.buffer_rgba())


@pytest.mark.parametrize("horizontal", [False, True])
def test_bar_collection_draws_what_bar_draws(horizontal):
    x = np.arange(40, dtype=float)
    rng = np.random.default_rng(3)
    lower, upper = rng.integers(0, 50, 40), rng.integers(0, 50, 40)
    figures = []
    for as_collection in (False, True):
        fig = Figure(figsize=(4, 3), dpi=100)
        ax = fig.add_subplot()
        for heights, bottom, color in ((lower, np.zeros(40), "#E69F00"), (upper, lower, "#56B4E9")):
            if as_collection:
                charts.bar_collection(ax, x, heights, bottom, 0.85, horizontal=horizontal, facecolors=color,
                                      label=color)
            elif horizontal:
                ax.barh(x, heights, left=bottom, height=0.85, color=color, linewidth=0, label=color)
            else:
                ax.bar(x, heights, bottom=bottom, width=0.85, color=color, linewidth=0, label=color)
        ax.legend()
        figures.append(fig)
    bars, collection = figures
    assert bars.axes[0].get_xlim() == pytest.approx(collection.axes[0].get_xlim())
    assert bars.axes[0].get_ylim() == pytest.approx(collection.axes[0].get_ylim())  # 0 stays the hard edge
    assert agg_pixels(bars) == agg_pixels(collection)


def test_render_png_draws_what_savefig_draws():
    import io

    from PIL import Image

    def build() -> Figure:
        with charts.matplotlib.rc_context(charts.STYLE):
            fig = charts.figure(3, "Installs by cloud, a title long enough to matter")
            ax = fig.add_subplot()
            ax.plot(charts.date_nums([DAY - timedelta(days=9), DAY]), [3, 1400], label="aws")
            charts.count_axis(ax)
            charts.date_axis(ax, DAY - timedelta(days=9), DAY)
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
        return fig

    saved = io.BytesIO()
    with charts.matplotlib.rc_context(charts.STYLE):
        build().savefig(saved, format="png", dpi=charts.CHART_DPI)
        rendered = charts.render_png(build())
    with Image.open(saved) as expected, Image.open(io.BytesIO(rendered)) as actual:
        assert np.array_equal(np.asarray(actual), np.asarray(expected.convert("RGB")))
