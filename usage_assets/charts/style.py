"""The charts' house style and the helpers every chart module shares: palette, figure
and PNG rendering, bars, axes, empty states and series folding.

Only matplotlib's object API is used (``Figure`` + ``FigureCanvasAgg``, never pyplot), with
the style applied through :func:`matplotlib.rc_context`, so nothing here touches global
state or needs a backend setting. Equal input gives byte-equal PNGs: the font is the
DejaVu Sans bundled with matplotlib, and the PNG carries no Software/time metadata.

Telemetry values are untrusted: every label drawn from them goes through
:func:`safe_label` (control characters stripped, length capped) and mathtext parsing is
off (``text.parse_math``), so a ``$`` in a value is drawn as a dollar sign.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, Formatter, MaxNLocator
from PIL import Image

from usage_assets.charts.agg import ChartCanvas
from usage_assets.common.formatting import printable

#: Resolution of every chart; a 9-inch-wide figure is 900 px, the report's content width.
CHART_DPI = 100
FIG_WIDTH = 9.0

NO_DATA = "No data for this period"

#: The one house style, applied with ``matplotlib.rc_context`` around figure building
#: *and* rendering (tick labels are created lazily at draw time).
STYLE: dict[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 6,
    # A fixed title height: the automatic one measures every axis again at each layout
    # pass to dodge tick labels on top or an offset text, which no chart has (count
    # axes print plain numbers, see count_axis).
    "axes.titley": 1.0,
    "axes.labelsize": 9.5,
    "axes.labelcolor": "#333333",
    "axes.edgecolor": "#888888",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "lines.linewidth": 1.6,
    "patch.linewidth": 0,
    "text.parse_math": False,
    "text.usetex": False,
    "timezone": "UTC",
    "date.converter": "concise",
    "figure.constrained_layout.h_pad": 0.08,
    "figure.constrained_layout.w_pad": 0.08,
}

# Okabe-Ito, the colour-blind-safe qualitative palette (yellow left out: unreadable as a
# thin line on white).
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
GREY = "#999999"
#: The folded "other (K values)" series/bar: lighter than the grey of "unknown".
FOLDED_GREY = "#C4C4C4"
BAR_COLOR = OKABE_ITO["blue"]
TEXT_COLOR = "#333333"
MUTED_TEXT = "#666666"

#: A fixed colour per known cloud value (export_format.CLOUDS), the same in every chart.
CLOUD_COLORS: dict[str, str] = {
    "aws": OKABE_ITO["orange"],
    "azure": OKABE_ITO["sky_blue"],
    "gcp": OKABE_ITO["blue"],
    "on_premises": OKABE_ITO["green"],
    "other": OKABE_ITO["purple"],
    "unknown": GREY,
}
#: A fixed colour per known compute value (export_format.COMPUTES), the same in every chart.
COMPUTE_COLORS: dict[str, str] = {
    "docker": OKABE_ITO["blue"],
    "kubernetes": OKABE_ITO["sky_blue"],
    "ecs": OKABE_ITO["orange"],
    "eks": OKABE_ITO["vermillion"],
    "ec2": OKABE_ITO["green"],
    "podman": OKABE_ITO["purple"],
    "vm": OKABE_ITO["black"],
    "unknown": GREY,
}
#: Colours handed, in order, to values outside the fixed map of a chart (sorted by name).
EXTRA_COLORS = (OKABE_ITO["vermillion"], OKABE_ITO["black"], "#7F6A93", "#8C6D31", "#5F9E8F")
#: The box plot's look, the same in every lifetime chart: a light box outlined in the bar
#: colour, the median in vermillion, outliers as hollow grey rings.
BOX_STYLE: dict[str, dict[str, object]] = {
    "boxprops": {"facecolor": "#cfe3f1", "edgecolor": BAR_COLOR, "linewidth": 1.0},
    "medianprops": {"color": OKABE_ITO["vermillion"], "linewidth": 1.8},
    "whiskerprops": {"color": BAR_COLOR, "linewidth": 1.0},
    "capprops": {"color": BAR_COLOR, "linewidth": 1.0},
    "flierprops": {"marker": "o", "markersize": 3, "markerfacecolor": "none", "markeredgecolor": GREY},
}

#: Panel titles of the distribution chart, per facet of ``fleet.DISTRIBUTION_FACETS``.
FACET_TITLES: dict[str, str] = {
    "cloud": "Cloud provider",
    "compute": "Compute platform",
    "storage": "Storage backend",
    "auth": "Auth provider",
    "arch": "Architecture",
    "mode": "Deployment mode",
}
#: Bars per distribution panel, the folded "other (K values)" bar included.
MAX_BARS = 8
#: Series in a timeseries chart before the smallest values are folded together.
MAX_SERIES = 8
#: Series of up to this many days get point markers, so a one-day series is visible.
MARKER_MAX_DAYS = 14
#: Bar annotations take about this share of the axis width per character; used to
#: reserve room on the right so the longest note is never clipped.
NOTE_WIDTH_PER_CHAR = 0.022

#: Lifetime buckets: (label, lowest age, highest age or None), in days.
LIFETIME_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0 days (one-day wonder)", 0, 0),
    ("1-2 days", 1, 2),
    ("3-6 days", 3, 6),
    ("7-13 days", 7, 13),
    ("14-29 days", 14, 29),
    ("30+ days", 30, None),
)

def safe_label(text: str, limit: int = 24) -> str:
    """``text`` made safe to draw (see :func:`usage_assets.common.formatting.printable`), at most ``limit`` characters."""
    return printable(text, limit)


def safe_labels(values: pl.Series, limit: int = 24) -> pl.Series:
    """:func:`safe_label` of every value of a String ``values`` (null as ``""``), computed
    once per distinct value rather than once per row: a column of 20,000 installs holds a
    handful of values."""
    values = values.fill_null("")
    distinct = values.unique().to_list()
    return values.replace_strict(distinct, [safe_label(v, limit) for v in distinct], return_dtype=pl.String)


def category_colors(values: Iterable[str], fixed: Mapping[str, str] = CLOUD_COLORS) -> dict[str, str]:
    """Colour per category value: ``fixed`` for known values (clouds by default,
    :data:`COMPUTE_COLORS` for compute platforms), the lighter grey for a folded
    ``other (K values)``, then EXTRA_COLORS by name."""
    colors: dict[str, str] = {}
    values = list(values)
    for value in values:
        if value in fixed:
            colors[value] = fixed[value]
        elif value.startswith("other ("):
            colors[value] = FOLDED_GREY
    # Extras skip the colours ``fixed`` already hands out, so no two series share one.
    spare = [c for c in EXTRA_COLORS if c not in fixed.values()]
    extras = sorted({v for v in values if v not in colors})
    for index, value in enumerate(extras):
        colors[value] = spare[index % len(spare)]
    return colors


# ------------------------------------------------------- helpers shared by chart modules


def render_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` (RGB, 8 bits per channel), with no Software/creation-time metadata.

    Equal to ``fig.savefig(format="png")`` pixel for pixel, at about half the cost:
    ``savefig`` draws a figure with a layout engine twice (a dry run that places the axes,
    then the real drawing), while here the layout is run once and the figure drawn once,
    on :class:`usage_assets.charts.agg.ChartCanvas` (stock Agg's pixels, with the text
    measured, shaped and rasterised once per process rather than once per chart).
    """
    canvas = ChartCanvas(fig)
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        # Placed for good: drawing must not run the layout a second time.
        fig.set_layout_engine("none")
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    # Opaque charts: the alpha channel is dropped. zlib level 3 compresses about as well as
    # the default 6 in two thirds of the time.
    image.convert("RGB").save(buf, format="PNG", dpi=(CHART_DPI, CHART_DPI), compress_level=3)
    return buf.getvalue()


def thumbnail_png(png: bytes, width: int = 360) -> bytes:
    """A PNG scaled down to ``width`` pixels wide (aspect kept), for Dagster's metadata.

    Metadata lives in the event log, so a preview must stay small: a few kilobytes
    instead of the report chart's ~100 KB. A 64-colour palette keeps flat chart colours
    and cuts the size about threefold; the fast octree quantizer keeps a thin line's own
    hue (median cut greys it) in a tenth of the time, and zlib's default level gets within
    6 % of ``optimize`` at a sixth of its cost. Deterministic: equal input, equal bytes.
    """
    with Image.open(io.BytesIO(png)) as image:
        height = max(1, round(image.height * width / image.width))
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        # reducing_gap: a box reduction first, then Lanczos over the last factor of two.
        small = rgb.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=2.0)
    buf = io.BytesIO()
    small.quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG")
    return buf.getvalue()


def styled_png(build: Callable[..., Figure], *args: object) -> bytes:
    """PNG of ``build(*args)``, built and rendered under :data:`STYLE` (tick labels are
    made at draw time, so the style must cover rendering too)."""
    with matplotlib.rc_context(STYLE):
        return render_png(build(*args))


def figure(height: float, title: str) -> Figure:
    """A report-width figure ``height`` inches tall, ``title`` as its suptitle at the left.

    Call it under :data:`STYLE` (as :func:`styled_png` does): the layout reads its pads
    from there.
    """
    fig = Figure(figsize=(FIG_WIDTH, height), dpi=CHART_DPI, layout="constrained")
    fig.suptitle(title, x=0.01, ha="left")
    return fig


def _empty_figure(title: str, note: str) -> Figure:
    fig = figure(2.6, title)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, note, ha="center", va="center", fontsize=12, color=MUTED_TEXT, transform=ax.transAxes,
            wrap=True)
    return fig


def empty_chart(title: str, note: str = NO_DATA) -> bytes:
    """The empty state: the title and a centred note, nothing else.

    ``note`` says why there is no chart when that is more than :data:`NO_DATA` (a
    forecast that cannot be made, say); a long one wraps.
    """
    return styled_png(_empty_figure, title, note)


def panel_no_data(ax: Axes) -> None:
    """Blank out one panel of a multi-panel chart and say it has no data."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", color=MUTED_TEXT, transform=ax.transAxes)


def count_pct(count: int, total: int) -> str:
    """``"N (P%)"`` with P the integer percentage of ``total`` (0 when total is 0)."""
    share = round(100 * count / total) if total else 0
    return f"{count:,} ({share}%)"


def bar_notes(ax: Axes, values: Sequence[float], notes: Sequence[str]) -> None:
    """``notes[i]`` just past the end of horizontal bar ``i`` (at y = i, ``values[i]``
    long); x from 0, with room on the right for the longest note."""
    peak = max(values, default=0)
    # Room on the right for the annotations: their width is in points, not data units,
    # so reserve a share of the axis proportional to the longest annotation.
    longest = max((len(n) for n in notes), default=0)
    ax.set_xlim(0, max(peak, 1) * (1 + NOTE_WIDTH_PER_CHAR * longest + 0.04))
    for pos, (value, note) in enumerate(zip(values, notes)):
        ax.annotate(
            note,
            xy=(value, pos),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize=9,
            color=TEXT_COLOR,
        )


def hbars(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float],
    total: float | None,
    colors: Sequence[str],
    notes: Sequence[str] | None = None,
) -> None:
    """Horizontal bars top-to-bottom in the given order, x from 0, annotated ``N (P%)``
    of ``total`` or, where given, with ``notes`` (one per bar; ``total`` is then unused).
    The bars are one collection (:func:`bar_collection`), not a patch per bar."""
    positions = np.arange(len(values))
    lengths, starts = np.asarray(values, dtype=float), np.zeros(len(values))
    bar_collection(ax, positions, lengths, starts, 0.68, horizontal=True, facecolors=list(colors), label="_nolegend_")
    ax.set_yticks(positions, labels=list(labels))
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0, pad=4)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.spines["left"].set_color("#bbbbbb")
    if notes is None:
        notes = [count_pct(value, total or 0) for value in values]
    bar_notes(ax, values, notes)


def bar_collection(
    ax: Axes,
    positions: np.ndarray,
    lengths: np.ndarray,
    starts: np.ndarray,
    thickness: float,
    *,
    horizontal: bool = False,
    label: str,
    **props: object,
) -> PolyCollection:
    """Bars as one collection: what ``ax.bar`` (``ax.barh`` when ``horizontal``) draws,
    pixel for pixel, without one Rectangle artist per bar (hundreds of patches cost a
    second to build, lay out and draw).

    Bar ``i`` is centred on ``positions[i]``, ``thickness`` across, and runs from
    ``starts[i]`` to ``starts[i] + lengths[i]`` (data units). ``props`` are collection
    properties (``facecolors``, ``edgecolors``, ``linewidths``); the value axis keeps 0 as
    a hard edge, as ``ax.bar`` does. The collection carries ``label`` for the legend.
    """
    low, high = positions - thickness / 2, positions + thickness / 2
    end = starts + lengths
    corners = ((starts, low), (starts, high), (end, high), (end, low))
    if not horizontal:
        corners = tuple((across, along) for along, across in corners)
    verts = np.stack([np.column_stack(corner) for corner in corners], axis=1)
    bars = PolyCollection(verts, label=label, **{"linewidths": 0, **props})
    (bars.sticky_edges.x if horizontal else bars.sticky_edges.y).append(0)
    ax.add_collection(bars)
    return bars


def count_axis(ax: Axes, formatter: Formatter | None = None, nbins: int = 5) -> None:
    """y from zero with a light grid; whole numbers unless a formatter is given."""
    if formatter is None:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=nbins, integer=True, min_n_ticks=1))
        # Never "1e6" above the axis: the title sits where such an offset text would go.
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    else:
        # Steps of 1, 2 or 5 (never 2.5), so rounded tick labels stay exact.
        ax.yaxis.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 5, 10], min_n_ticks=1))
        ax.yaxis.set_major_formatter(formatter)
    ax.yaxis.grid(True)
    # A flat zero series still needs a visible axis.
    ax.set_ylim(0, max(ax.get_ylim()[1], 1))


def as_datetime(day: date) -> datetime:
    """Midnight of ``day`` as a naive datetime (matplotlib's date axis, UTC by STYLE)."""
    return datetime(day.year, day.month, day.day)


def date_nums(days: Sequence[date]) -> np.ndarray:
    """Matplotlib date numbers of ``days`` (midnight UTC of each), for x values."""
    return mdates.date2num([as_datetime(d) for d in days])


def day_marker(days: Sequence[date]) -> str | None:
    """The point marker of a daily series: dots up to :data:`MARKER_MAX_DAYS` days, none beyond."""
    return "o" if len(days) <= MARKER_MAX_DAYS else None


def date_axis(ax: Axes, first: date, last: date, pad: float = 0.7) -> None:
    """Whole-UTC-day ticks over ``first..last`` with ``pad`` days of room at each end
    (0.7 clears a bar of 0.85 days centred on the first and last day)."""
    low, high = date_nums([first, last])
    ax.set_xlim(low - pad, high + pad)
    if first == last:
        # A lone day has no range for a date locator to split; label it in full.
        ax.set_xticks([low], labels=[first.isoformat()])
        return
    span = (last - first).days + 1
    # A short range would otherwise get 12:00 ticks.
    locator = (
        mdates.DayLocator(interval=max(1, span // 7))
        if span <= 21
        else mdates.AutoDateLocator(minticks=4, maxticks=10)
    )
    ax.xaxis.set_major_locator(locator)
    # The view is final here (every chart sets its dates last), so the ticks are worked out
    # once: a date locator redoes its calendar arithmetic at each layout and drawing of
    # every panel sharing the axis.
    fixed = FixedLocator(locator())
    ax.xaxis.set_major_locator(fixed)
    # Whole days only: where all ticks share a day, the concise defaults label "00:00".
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(
            fixed,
            formats=["%Y", "%b", "%d", "%d", "%d", "%d"],
            offset_formats=["", "%Y", "%Y-%b", "%Y-%b", "%Y-%b", "%Y-%b"],
        )
    )


# ---------------------------------------------- series helpers shared by timeseries charts


def fold_series(frame: pl.DataFrame, facet: str) -> tuple[pl.DataFrame, list[str]]:
    """A :func:`usage_assets.metrics.installs_over_time.installs_by` frame by (date, ``facet``) value,
    sorted, and the value order (most installs first); beyond MAX_SERIES the smallest fold
    into one ``other (K values)`` series."""
    frame = frame.select(
        pl.col("date"),
        safe_labels(frame[facet].cast(pl.String).fill_null("unknown")),
        pl.col("daily_active", "daily_new", "cumulative_installs").cast(pl.Int64).fill_null(0),
    )
    totals = frame.group_by(facet).agg(pl.col("daily_new").sum(), pl.col("daily_active").sum())
    order = totals.sort(["daily_new", "daily_active", facet], descending=[True, True, False])[facet].to_list()
    if len(order) > MAX_SERIES:
        kept, folded = order[: MAX_SERIES - 1], order[MAX_SERIES - 1 :]
        other = f"other ({len(folded)} values)"
        frame = frame.with_columns(
            pl.when(pl.col(facet).is_in(kept)).then(pl.col(facet)).otherwise(pl.lit(other)).alias(facet)
        )
        order = [*kept, other]
    # safe_label can map two raw values to one label; summing merges them honestly.
    frame = (
        frame.group_by("date", facet)
        .agg(pl.col("daily_active", "daily_new", "cumulative_installs").sum())
        .sort("date", facet)
    )
    return frame, list(dict.fromkeys(order))


def facet_series(
    data: pl.DataFrame, facet: str, values: Sequence[str], days: Sequence[date], column: str
) -> dict[str, np.ndarray]:
    """``column`` of a :func:`fold_series` frame per ``facet`` value, one count per day of
    ``days`` (0 on a day without a row)."""
    index = {d: i for i, d in enumerate(days)}
    out = {v: np.zeros(len(days), dtype=np.int64) for v in values}
    for d, v, n in data.select("date", facet, column).iter_rows():
        out[v][index[d]] = n
    return out
