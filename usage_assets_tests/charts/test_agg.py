"""The chart canvas draws the very pixels of matplotlib's stock Agg canvas, from a cold
cache and a warm one, whatever the text: sizes, weights, angles, sub-pixel positions,
several lines, glyphs from a fallback font, aliased text."""

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from usage_assets.charts import agg
from usage_assets.charts.agg import ChartCanvas
from usage_assets.charts.style import STYLE


def text_figure() -> Figure:
    """A figure of text at awkward places, with the constrained layout the charts use."""
    fig = Figure(figsize=(5, 3.3), dpi=100, layout="constrained")
    fig.suptitle("Installs by cloud, 2026-01-05 to 2026-04-04 (UTC days)", x=0.01, ha="left")
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [3, 1, 2], label="aws\ngcp")
    ax.set_title("Daily active installs (any event that UTC day)")
    ax.set_xlabel("lifetime in days", fontsize=8.3)
    ax.set_ylabel("customer installs", fontweight="bold")
    rng = np.random.default_rng(11)
    for n, (x, y) in enumerate(rng.uniform(0.05, 0.95, size=(14, 2))):
        # The same strings at many sub-pixel offsets: cache hits and misses alike.
        ax.text(x, y, f"{1234 * (n % 3):,} (42%)", transform=ax.transAxes, fontsize=7 + n % 4)
    ax.text(0.2, 0.5, "rotated 30°", rotation=30, transform=ax.transAxes)
    ax.text(0.6, 0.4, "upright ↑ 90", rotation=90, transform=ax.transAxes)
    ax.text(0.4, 0.2, "aliased", antialiased=False, transform=ax.transAxes)
    ax.text(0.1, 0.9, "two lines\nof text", transform=ax.transAxes, linespacing=1.6)
    ax.legend(title="cloud", loc="upper right")
    return fig


def pixels(canvas_class) -> bytes:
    with matplotlib.rc_context(STYLE):
        fig = text_figure()
        canvas = canvas_class(fig)
        canvas.draw()
        return bytes(canvas.buffer_rgba())


@pytest.fixture
def empty_caches():
    # Emptying is all it takes: whatever a cache holds is valid for the whole process.
    agg.clear_caches()
    assert not (agg._metrics or agg._line_metrics or agg._runs or agg._glyphs)


def test_the_chart_canvas_draws_the_stock_pixels_cold_and_warm(empty_caches):
    stock = pixels(FigureCanvasAgg)
    assert pixels(ChartCanvas) == stock  # every string and glyph new
    assert agg._glyphs and agg._metrics
    assert pixels(ChartCanvas) == stock  # every one from the caches


def test_a_glyph_is_rasterised_once_per_sub_pixel_offset(empty_caches):
    pixels(ChartCanvas)
    drawn = len(agg._glyphs)
    pixels(ChartCanvas)
    assert len(agg._glyphs) == drawn  # the second drawing rasterised nothing new


def test_full_caches_are_emptied_and_the_pixels_stay(empty_caches, monkeypatch):
    monkeypatch.setattr(agg, "CACHE_LIMIT", 5)
    stock = pixels(FigureCanvasAgg)
    assert pixels(ChartCanvas) == stock
    assert all(len(cache) <= 5 for cache in (agg._metrics, agg._runs, agg._glyphs))
