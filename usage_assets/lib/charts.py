"""Pure chart builders for the daily usage report: data in, PNG bytes out.

Charts (reference 6.3, 6.4 and 6.12, redrawn with one house style):

- :func:`installs_timeseries_chart`: cumulative / daily active / daily new installs by
  cloud, from :func:`usage_assets.lib.timeseries.installs_by_cloud`;
- :func:`install_distribution_chart`: six panels of unique installs per facet value, from
  :func:`usage_assets.lib.fleet.install_distributions`;
- :func:`lifetime_chart`: customer install lifetimes (``age_days``).

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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator
from PIL import Image

from usage_assets.lib.text import printable

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
    """``text`` made safe to draw (see :func:`usage_assets.lib.text.printable`), at most ``limit`` characters."""
    return printable(text, limit)


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
    """PNG bytes of ``fig``, with no Software/creation-time metadata."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buf.getvalue()


def thumbnail_png(png: bytes, width: int = 360) -> bytes:
    """A PNG scaled down to ``width`` pixels wide (aspect kept), for Dagster's metadata.

    Metadata lives in the event log, so a preview must stay small: a few kilobytes
    instead of the report chart's ~100 KB.
    """
    with Image.open(io.BytesIO(png)) as image:
        height = max(1, round(image.height * width / image.width))
        small = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    # A 64-colour palette keeps flat chart colours and cuts the size about threefold.
    small = small.quantize(colors=64)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
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
    of ``total`` or, where given, with ``notes`` (one per bar; ``total`` is then unused)."""
    positions = np.arange(len(values))
    ax.barh(positions, values, height=0.68, color=list(colors))
    ax.set_yticks(positions, labels=list(labels))
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0, pad=4)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.spines["left"].set_color("#bbbbbb")
    if notes is None:
        notes = [count_pct(value, total or 0) for value in values]
    bar_notes(ax, values, notes)


def count_axis(ax: Axes, formatter: Formatter | None = None, nbins: int = 5) -> None:
    """y from zero with a light grid; whole numbers unless a formatter is given."""
    if formatter is None:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=nbins, integer=True, min_n_ticks=1))
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
    # Whole days only: where all ticks share a day, the concise defaults label "00:00".
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(
            locator,
            formats=["%Y", "%b", "%d", "%d", "%d", "%d"],
            offset_formats=["", "%Y", "%Y-%b", "%Y-%b", "%Y-%b", "%Y-%b"],
        )
    )


# ------------------------------------------------------------------ chart 1: timeseries


def fold_series(frame: pl.DataFrame, facet: str) -> tuple[pl.DataFrame, list[str]]:
    """A :func:`usage_assets.lib.timeseries.installs_by` frame by (date, ``facet``) value,
    sorted, and the value order (most installs first); beyond MAX_SERIES the smallest fold
    into one ``other (K values)`` series."""
    frame = frame.select(
        pl.col("date"),
        pl.col(facet).cast(pl.String).fill_null("unknown").map_elements(safe_label, return_dtype=pl.String),
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


def installs_timeseries_chart(frame: pl.DataFrame, day: date) -> bytes:
    """Cumulative, daily active and daily new installs by cloud, three stacked panels.

    ``frame``: :func:`usage_assets.lib.timeseries.installs_by_cloud` output (``date,
    cloud, daily_active, daily_new, cumulative_installs``). ``day`` is the report day,
    used in the title when the frame is empty.
    """
    if frame.height == 0:
        return empty_chart(f"Installs by cloud, up to {day.isoformat()} (UTC days, all installs)")
    data, clouds = fold_series(frame, "cloud")
    days = sorted(set(data["date"].to_list()))
    first, last = days[0], days[-1]
    title = f"Installs by cloud, {first.isoformat()} to {last.isoformat()} (UTC days, all installs)"
    colors = category_colors(clouds)
    x, marker = date_nums(days), day_marker(days)
    cumulative, active, new = (
        facet_series(data, "cloud", clouds, days, column)
        for column in ("cumulative_installs", "daily_active", "daily_new")
    )

    with matplotlib.rc_context(STYLE):
        fig = figure(8.4, title)
        axes = fig.subplots(3, 1, sharex=True, height_ratios=[1.15, 1, 1])
        panels = (
            (axes[0], cumulative, "Cumulative installs (each counted once, under its first-day cloud)"),
            (axes[1], active, "Daily active installs (any event that UTC day)"),
        )
        for ax, values, panel_title in panels:
            for cloud in clouds:
                ax.plot(x, values[cloud], color=colors[cloud], label=cloud, marker=marker, markersize=3)
            ax.set_title(panel_title)
        ax_new = axes[2]
        bottom = np.zeros(len(days), dtype=np.int64)
        for cloud in clouds:
            ax_new.bar(x, new[cloud], bottom=bottom, width=0.85, color=colors[cloud], label=cloud, align="center")
            bottom = bottom + new[cloud]
        ax_new.set_title("Daily new installs (first UTC day seen), stacked")

        for ax in axes:
            count_axis(ax)
        date_axis(ax_new, first, last)

        handles, labels = axes[0].get_legend_handles_labels()
        # To the right of the panels: above them it would collide with the title.
        fig.legend(handles, labels, loc="outside right upper", title="cloud", alignment="left", handlelength=1.6)
        return render_png(fig)


# --------------------------------------------------------------- chart 2: distributions


def _fold_values(counts: Mapping[str, int]) -> list[tuple[str, int, bool]]:
    """(label, count, folded) rows: by count desc then label; > MAX_BARS folds the tail."""
    merged: dict[str, int] = {}
    for value, count in counts.items():
        label = safe_label("unknown" if value is None else str(value)) or "(blank)"
        merged[label] = merged.get(label, 0) + int(count)
    rows = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    if len(rows) <= MAX_BARS:
        return [(label, count, False) for label, count in rows]
    kept, rest = rows[: MAX_BARS - 1], rows[MAX_BARS - 1 :]
    folded = (f"other ({len(rest)} values)", sum(c for _, c in rest), True)
    return [*((label, count, False) for label, count in kept), folded]


def install_distribution_chart(distributions: dict[str, dict[str, int]], title: str) -> bytes:
    """Six panels of unique installs per facet value, horizontal bars annotated ``N (P%)``.

    ``distributions``: facet -> {value: installs} as built by
    :func:`usage_assets.lib.fleet.install_distributions`; panels follow
    :data:`FACET_TITLES` order. ``title`` becomes the figure's suptitle.
    """
    title = " ".join(str(title).split())
    facets = list(FACET_TITLES)
    if not any(sum(int(c) for c in (distributions.get(f) or {}).values()) for f in facets):
        return empty_chart(title)
    folded = {facet: _fold_values(distributions.get(facet) or {}) for facet in facets}
    # Each row of panels is as tall as its longest panel needs, so a bar has the same
    # thickness in every panel and two-value facets leave no empty band.
    slots = [max(2, *(len(folded[f]) for f in facets[i : i + 2])) for i in range(0, len(facets), 2)]
    height = 0.7 + sum(0.34 * n + 0.55 for n in slots)
    with matplotlib.rc_context(STYLE):
        fig = figure(height, title)
        axes = fig.subplots(len(slots), 2, height_ratios=[0.34 * n + 0.55 for n in slots]).ravel()
        for index, (ax, facet) in enumerate(zip(axes, facets)):
            rows = folded[facet]
            total = sum(count for _, count, _ in rows)
            ax.set_title(f"{FACET_TITLES[facet]} (n = {total:,})")
            if not total:
                panel_no_data(ax)
                continue
            labels = [label for label, _, _ in rows]
            if facet == "cloud":
                palette = category_colors(labels)
                colors = [FOLDED_GREY if folded else palette[label] for label, _, folded in rows]
            else:
                colors = [FOLDED_GREY if folded else BAR_COLOR for _, _, folded in rows]
            hbars(ax, labels, [count for _, count, _ in rows], total, colors)
            ax.set_ylim(slots[index // 2] - 0.5, -0.5)
        return render_png(fig)


# ------------------------------------------------------------------- chart 3: lifetime


def lifetime_chart(ages: Sequence[int], day: date) -> bytes:
    """Customer install lifetimes: histogram, box plot and lifetime-bucket bars.

    ``ages``: ``age_days`` of every customer install (days between its first and last UTC
    day seen, 0 = a one-day wonder), as of the report ``day``.
    """
    values = np.asarray([int(a) for a in ages if a is not None], dtype=np.int64)
    values = values[values >= 0]
    n = len(values)
    title = f"Customer install lifetime as of {day.isoformat()} ({n:,} customers)"
    if n == 0:
        return empty_chart(title)
    top = int(values.max())
    buckets = [
        int(((values >= low) & (values <= (high if high is not None else top))).sum())
        for _, low, high in LIFETIME_BUCKETS
    ]
    stats = (
        f"median {float(np.median(values)):g} d, mean {values.mean():.1f} d, max {top:,} d; "
        f"{int((values > 0).sum()):,} seen on more than one day"
    )

    with matplotlib.rc_context(STYLE):
        fig = figure(8.4, title)
        ax_hist, ax_box, ax_buckets = fig.subplots(
            3, 1, height_ratios=[2.6, 0.9, 2.3], gridspec_kw={"hspace": 0.08}
        )
        ax_box.sharex(ax_hist)

        edges = np.arange(-0.5, top + 1.5, 1.0)
        # Separate bars while they are wide enough to read; beyond that one filled step
        # outline (thousands of 1-px bars would alias into a barcode).
        if top <= 60:
            ax_hist.hist(values, bins=edges, color=BAR_COLOR, rwidth=0.9)
        else:
            ax_hist.hist(values, bins=edges, color=BAR_COLOR, histtype="stepfilled", linewidth=0)
        ax_hist.set_title("Customer installs per lifetime (one bar per day)", loc="left")
        ax_hist.set_ylabel("customer installs")
        count_axis(ax_hist)
        ax_hist.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True, min_n_ticks=1))
        ax_hist.tick_params(axis="x", labelbottom=True)

        ax_box.boxplot(values, orientation="horizontal", widths=0.55, patch_artist=True, **BOX_STYLE)
        # The statistics sit above the box plot, where they can never cover a bar.
        ax_box.set_title(stats[0].upper() + stats[1:], loc="left")
        ax_box.set_yticks([])
        ax_box.spines["left"].set_visible(False)
        ax_box.set_xlabel(
            "lifetime in days, first to last UTC day seen (box: middle half, whiskers: 1.5 IQR)"
        )
        ax_box.set_xlim(-0.5 - 0.01 * top, top + 0.5 + 0.01 * top)

        labels = [label for label, _, _ in LIFETIME_BUCKETS]
        hbars(ax_buckets, labels, buckets, n, [BAR_COLOR] * len(buckets))
        ax_buckets.set_title("Customers per lifetime bucket (count and % of customers)", loc="left")
        return render_png(fig)
