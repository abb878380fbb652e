"""Chart builders: valid, deterministic PNGs, an empty state, and safe labels."""

from datetime import date, timedelta

import polars as pl
import pytest

from usage_assets.lib.charts import install_distribution_chart, installs_timeseries_chart, lifetime_chart, safe_label

PNG = b"\x89PNG\r\n\x1a\n"
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
    first, second = CASES[name](), CASES[name]()
    assert first.startswith(PNG) and len(first) > 10_000
    assert first == second


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
    from PIL import Image
    import io

    from usage_assets.lib.charts import thumbnail_png

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
