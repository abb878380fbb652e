"""Fleet-shape charts of the daily usage report: data in, PNG bytes out.

Charts (reference 6.10, 6.11, 6.12 box plot, 6.13 and 6.14, redrawn in the house style of
:mod:`usage_assets.charts.style`, whose helpers they reuse):

- :func:`install_distribution_chart`: six panels of unique installs per facet value, from
  :func:`usage_assets.metrics.fleet.install_distributions`;
- :func:`lifetime_chart`: customer install lifetimes (``age_days``);
- :func:`lifetime_box_by_compute_chart`: customer install lifetimes per compute platform;
- :func:`adoption_funnel_chart`: the customer adoption funnel of
  :func:`usage_assets.metrics.retention.adoption_funnel`;
- :func:`detection_by_version_chart`: cloud detection method per version, from
  :func:`usage_assets.metrics.detection.detection_by_version`;
- :func:`prod_internal_timeseries_chart`: installs by build class (community release vs
  internal build), from :func:`usage_assets.metrics.versions.build_summary`;
- :func:`auth_path_mix_chart`: the auth-path mix, from
  :func:`usage_assets.metrics.auth_path.auth_path_summary`.

Where we differ from the reference, and why:

- The lifetime box plot is horizontal, one row per compute platform with its
  ``median X d / mean Y d (n=N)`` beside the row instead of in a legend: a row label has
  room for long values and the numbers sit next to the box they describe. It shows
  customers only (the reference's chart includes internal installs).
- The funnel annotates each bar with the row's own ``pct_of_customers`` (1 dp), so chart
  and table show the same numbers (quirk 9).
- The detection chart draws every method column, operator-provided ones included
  (quirk 18).
- The auth-path chart draws only the numbers it is given (no CSV fallback with its own
  weights, quirk 26); its empty state names the not-collected state and its counts.

Each public builder returns an empty state (:func:`usage_assets.charts.style.empty_chart`)
when there is nothing to draw; otherwise a ``_…_figure`` function builds the ``Figure``
(tests inspect it) and :func:`usage_assets.charts.style.styled_png` turns it into PNG bytes
under the house style.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from datetime import date
from statistics import mean, median
from typing import Any

import matplotlib
import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from usage_assets.charts.style import (
    BAR_COLOR,
    BOX_STYLE,
    FACET_TITLES,
    FOLDED_GREY,
    GREY,
    LIFETIME_BUCKETS,
    MAX_BARS,
    MUTED_TEXT,
    OKABE_ITO,
    STYLE,
    TEXT_COLOR,
    bar_collection,
    bar_notes,
    category_colors,
    count_axis,
    date_axis,
    date_nums,
    day_marker,
    empty_chart,
    figure,
    hbars,
    panel_no_data,
    render_png,
    safe_label,
    safe_labels,
    styled_png,
)
from usage_assets.common.formatting import ELLIPSIS, known_first
from usage_assets.sources.export_format import AUTH_VOLUME_BUCKETS, CLOUD_DETECTION_METHODS

#: Compute platforms in the order the reference draws them; any other value follows,
#: alphabetically.
COMPUTE_ORDER = ("docker", "kubernetes", "ecs", "ec2", "podman", "unknown")
#: Box-plot rows, the folded "other (K values)" row included.
MAX_BOXES = 10

#: Column of :func:`usage_assets.metrics.detection.detection_by_version` for installs whose
#: latest event carried no detection method.
FIELD_ABSENT = "(field absent)"
DETECTION_COLUMNS = (*CLOUD_DETECTION_METHODS, FIELD_ABSENT)
#: Version row labels: at most this many characters, cut from a version of at most
#: the collector's 200.
VERSION_LABEL_LIMIT = 24
VERSION_SOURCE_LIMIT = 200
#: A fixed colour per detection method, the same whichever methods a report holds.
#: Automatic probes get the saturated Okabe-Ito hues, operator-provided values the
#: remaining ones, and the two "we do not know" columns greys.
DETECTION_COLORS: dict[str, str] = {
    "env": OKABE_ITO["blue"],
    "dmi": OKABE_ITO["sky_blue"],
    "ecs_meta": OKABE_ITO["orange"],
    "k8s_heuristic": OKABE_ITO["green"],
    "imds": OKABE_ITO["vermillion"],
    "explicit": OKABE_ITO["purple"],
    # Okabe-Ito's yellow: too faint for a thin line, fine as a bar fill.
    "operator_declared": "#F0E442",
    "operator_declined": "#8C6D31",
    "unknown": GREY,
    FIELD_ABSENT: FOLDED_GREY,
}

#: Methods this project does not know yet (a newer registry's) share one dark colour.
NEW_METHOD_COLOR = "#4D4D4D"

#: Build classes of :func:`usage_assets.metrics.versions.build_kind`, with fixed colours.
BUILD_CLASSES = ("community", "internal", "unknown")
BUILD_CLASS_COLORS = {"community": OKABE_ITO["blue"], "internal": OKABE_ITO["orange"], "unknown": GREY}

#: ``state`` values of :func:`usage_assets.metrics.auth_path.auth_path_summary`.
AUTH_COLLECTED = "collected"
AUTH_NOT_REPORTING = "schema_v6_not_reporting"
AUTH_NO_V6 = "no_schema_v6"

#: Funnel stage labels wrap at this many characters (two lines at most), so a long
#: stage name does not squeeze the bars.
STAGE_LABEL_WIDTH = 32


def _day(value: date | str) -> date:
    """A date from a ``date`` or an ISO string (the JSON form of a date)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# ----------------------------------------------------------- distributions (6.3)


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
    :func:`usage_assets.metrics.fleet.install_distributions`; panels follow
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


# ---------------------------------------------------------------- lifetime (6.12)


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


# ------------------------------------------------------------ lifetime by compute platform


def _compute_groups(customers: pl.DataFrame) -> list[tuple[str, list[int]]]:
    """(label, ages) per compute platform in :data:`COMPUTE_ORDER`, then the rest by name.

    Beyond :data:`MAX_BOXES` rows the smallest of the rest fold into one
    ``other (K values)`` row at the end.
    """
    rows = customers.select("compute", "age_days").filter(pl.col("age_days") >= 0)
    # safe_label can map two raw values to one label; their ages are then pooled.
    labels = safe_labels(rows["compute"]).replace("", "unknown")
    grouped = (
        rows.select(labels.alias("label"), pl.col("age_days").cast(pl.Int64))
        .group_by("label", maintain_order=True)
        .agg("age_days")
    )
    groups: dict[str, list[int]] = dict(grouped.iter_rows())
    known = [c for c in COMPUTE_ORDER if c in groups]
    rest = sorted(c for c in groups if c not in COMPUTE_ORDER)
    room = MAX_BOXES - len(known)
    if len(rest) > room:
        by_size = sorted(rest, key=lambda c: (-len(groups[c]), c))
        kept, folded = sorted(by_size[: room - 1]), by_size[room - 1 :]
        pooled = [age for c in folded for age in groups[c]]
        return [*((c, groups[c]) for c in [*known, *kept]), (f"other ({len(folded)} values)", pooled)]
    return [(c, groups[c]) for c in [*known, *rest]]


def _lifetime_stats(ages: Sequence[int]) -> str:
    return f"median {median(ages):g} d / mean {mean(ages):.1f} d (n={len(ages):,})"


def _lifetime_box_figure(groups: list[tuple[str, list[int]]], title: str) -> Figure:
    fig = figure(1.5 + 0.42 * len(groups), title)
    ax = fig.add_subplot()
    positions = np.arange(len(groups))
    ax.boxplot([ages for _, ages in groups], positions=positions, orientation="horizontal", widths=0.55,
               patch_artist=True, **BOX_STYLE)
    ax.set_yticks(positions, labels=[label for label, _ in groups])
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0, pad=4)
    ax.spines["left"].set_visible(False)
    # The statistics form a column right of the plot, level with their box.
    for pos, (_, ages) in zip(positions, groups):
        ax.annotate(_lifetime_stats(ages), xy=(1, pos), xycoords=("axes fraction", "data"), xytext=(14, 0),
                    textcoords="offset points", va="center", ha="left", fontsize=9, color=TEXT_COLOR)
    top = max(max(ages) for _, ages in groups)
    # A little room left of zero so a box of one-day wonders is not hidden by the axis.
    ax.set_xlim(-0.5 - 0.01 * top, top + 0.5 + 0.01 * top)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True, min_n_ticks=1))
    ax.xaxis.grid(True)
    ax.set_xlabel("lifetime in days, first to last UTC day seen (box: middle half, whiskers: 1.5 IQR)")
    ax.set_title("Customer installs per compute platform (latest reported value)")
    return fig


def lifetime_box_by_compute_chart(customers: pl.DataFrame, day: date) -> bytes:
    """Box plot of customer install lifetimes, one row per compute platform.

    ``customers``: one row per customer install with ``compute`` (String, null ->
    ``"unknown"``) and ``age_days`` (Int64, days between its first and last UTC day seen;
    null or negative rows are skipped) as of the report ``day``. Rows follow
    :data:`COMPUTE_ORDER`, then other values alphabetically (beyond :data:`MAX_BOXES`
    rows the smallest fold into ``other (K values)``); each row is annotated ``median X d
    / mean Y d (n=N)``. Raises ``polars.ColumnNotFoundError`` if a column is missing.
    """
    groups = _compute_groups(customers)
    n = sum(len(ages) for _, ages in groups)
    title = f"Customer install lifetime by compute platform, up to {day.isoformat()} (UTC days, {n:,} customers)"
    if not groups:
        return empty_chart(title)
    return styled_png(_lifetime_box_figure, groups, title)


# ----------------------------------------------------------------------- adoption funnel


def _funnel_figure(rows: Sequence[Mapping[str, Any]], title: str) -> Figure:
    fig = figure(1.3 + 0.42 * len(rows), title)
    ax = fig.add_subplot()
    installs = [int(row["installs"]) for row in rows]
    apart = [not row.get("in_funnel", True) for row in rows]
    notes = [f"{n:,} ({float(row['pct_of_customers']):.1f}%)" + (", not a funnel stage" if off else "")
             for n, row, off in zip(installs, rows, apart)]
    labels = [
        textwrap.fill(safe_label(row["stage"], 2 * STAGE_LABEL_WIDTH), STAGE_LABEL_WIDTH, max_lines=2,
                      placeholder=ELLIPSIS)
        for row in rows
    ]
    hbars(ax, labels, installs, None, [GREY if off else BAR_COLOR for off in apart], notes=notes)
    if any(apart):
        # A row outside the funnel (alive now, whatever its lifetime) sits below a rule.
        ax.axhline(apart.index(True) - 0.5, color=GREY, linestyle="--", linewidth=0.8)
    ax.set_title("Customer installs reaching each stage (count and % of the first row)")
    return fig


def adoption_funnel_chart(rows: Sequence[Mapping[str, Any]], day: date) -> bytes:
    """The customer adoption funnel as horizontal bars, top stage first, annotated ``N (P%)``.

    ``rows``: :func:`usage_assets.metrics.retention.adoption_funnel` output, ``{"stage": str,
    "installs": int, "pct_of_customers": float, "in_funnel": bool}`` in funnel order; P is
    the row's own ``pct_of_customers`` (1 dp), so the chart and the report's table agree.
    Rows with ``in_funnel`` False (a missing key counts as True) are grey, below a dashed
    rule, and annotated "not a funnel stage". Empty ``rows`` or a first row of 0 installs
    give the empty state.
    """
    total = int(rows[0]["installs"]) if rows else 0
    title = f"Customer adoption funnel, up to {day.isoformat()} (UTC days, {total:,} customers)"
    if not total:
        return empty_chart(title)
    return styled_png(_funnel_figure, rows, title)


# --------------------------------------------------------------- detection by version


def _version_label(version: str | None) -> str:
    """A version cut in the middle: builds of one release differ at the end (the git hash)."""
    text = safe_label(version, VERSION_SOURCE_LIMIT) or "unknown"
    if len(text) <= VERSION_LABEL_LIMIT:
        return text
    tail = VERSION_LABEL_LIMIT // 3
    return text[: VERSION_LABEL_LIMIT - tail - 1] + ELLIPSIS + text[-tail:]


def _detection_columns(frame: pl.DataFrame) -> list[str]:
    """The method columns of a detection frame: the known ones, then any method a newer
    registry sent (:func:`usage_assets.metrics.detection.detection_by_version`)."""
    return [*DETECTION_COLUMNS, *(c for c in frame.columns if c not in (*DETECTION_COLUMNS, "version", "total"))]


def _detection_figure(frame: pl.DataFrame, title: str) -> Figure:
    labels = [_version_label(v) for v in frame["version"].to_list()]
    counts = {m: frame[m].cast(pl.Int64).fill_null(0).to_numpy() for m in _detection_columns(frame)}
    totals = sum(counts.values())
    present = [m for m in counts if counts[m].sum() > 0]

    fig = figure(1.9 + 0.36 * frame.height, title)
    ax = fig.add_subplot()
    positions = np.arange(frame.height)
    left = np.zeros(frame.height, dtype=np.int64)
    for method in present:
        # White edges keep neighbouring segments apart where two colours are close.
        bar_collection(ax, positions, counts[method], left, 0.68, horizontal=True,
                       facecolors=DETECTION_COLORS.get(method, NEW_METHOD_COLOR), edgecolors="white", linewidths=0.6,
                       label=safe_label(method) or "(blank)")
        left = left + counts[method]
    ax.set_yticks(positions, labels=labels)
    ax.set_ylim(frame.height - 0.5, -0.5)
    ax.tick_params(axis="y", length=0, pad=4)
    ax.spines["left"].set_color("#bbbbbb")
    bar_notes(ax, totals, [f"{int(total):,}" for total in totals])
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, min_n_ticks=1))
    ax.xaxis.grid(True)
    ax.set_xlabel("customer installs (latest version, latest detection method)")
    ax.set_title("Customer installs per version, split by how the cloud was detected")
    fig.legend(loc="outside lower center", ncols=min(len(present), 5), title="cloud_detection_method",
               handlelength=1.2, columnspacing=1.2)
    return fig


def detection_by_version_chart(frame: pl.DataFrame, day: date) -> bytes:
    """Stacked horizontal bars: customer installs per version row, split by detection method.

    ``frame``: :func:`usage_assets.metrics.detection.detection_by_version` output: ``version``
    (String; the last row may be ``other (K versions)``), one Int64 column per
    ``export_format.CLOUD_DETECTION_METHODS`` value, ``(field absent)``, one per method a
    newer registry sent (drawn in :data:`NEW_METHOD_COLOR`) and ``total``.
    Rows are drawn top to bottom in frame order; each method keeps its colour of
    :data:`DETECTION_COLORS` and only methods with installs enter the legend. Bar length
    is the sum of the method columns, annotated at the bar's end. A frame without rows
    or installs gives the empty state; a missing method column raises
    ``polars.ColumnNotFoundError``.
    """
    total = int(frame.select(pl.sum_horizontal(_detection_columns(frame)).sum()).item()) if frame.height else 0
    title = f"Cloud detection method by version, up to {day.isoformat()} (UTC days, {total:,} customer installs)"
    if not total:
        return empty_chart(title)
    return styled_png(_detection_figure, frame, title)


# ---------------------------------------------------------- community vs internal builds


def _prod_internal_figure(points: list[tuple[date, Mapping[str, Any]]], title: str) -> Figure:
    days = [d for d, _ in points]
    x, marker = date_nums(days), day_marker(days)
    series = {
        column: np.asarray([int(row.get(column) or 0) for _, row in points], dtype=np.int64)
        for cls in BUILD_CLASSES
        for column in (cls, f"cumulative_{cls}")
    }
    # A class with no install on any day would only draw a line along the axis.
    classes = [c for c in BUILD_CLASSES if c != "unknown" or series["cumulative_unknown"].any()]

    fig = figure(6.4, title)
    ax_cum, ax_daily = fig.subplots(2, 1, sharex=True)
    for ax, prefix, panel_title in (
        (ax_cum, "cumulative_", "Cumulative installs (class of each install's latest version)"),
        (ax_daily, "", "Daily active installs (any event that UTC day)"),
    ):
        for cls in classes:
            installs = int(series[f"cumulative_{cls}"][-1])
            plural = "" if installs == 1 else "s"
            label = f"{cls}: {installs:,} install{plural}, {series[cls][-1]:,} active on {days[-1]}"
            ax.plot(x, series[prefix + cls], color=BUILD_CLASS_COLORS[cls], marker=marker, markersize=3, label=label)
        ax.set_title(panel_title)
        count_axis(ax)
    # Lines only, no bars to clear: a narrower margin than the default.
    date_axis(ax_daily, days[0], days[-1], pad=0.3)
    handles, labels = ax_cum.get_legend_handles_labels()
    # Below the panels (beside them it would collide with the long title); two entries a
    # row, as three long labels overflow 900 px.
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(classes), 2), handlelength=1.6)
    return fig


def prod_internal_timeseries_chart(timeseries: Sequence[Mapping[str, Any]], day: date) -> bytes:
    """Installs by build class over time: cumulative and daily active, two panels.

    ``timeseries``: ``build_summary(...)["timeseries"]`` of
    :mod:`usage_assets.metrics.versions`, one dict per UTC day with ``date`` (a ``date`` or an
    ISO string), ``community``, ``internal``, ``unknown`` (installs active that day by
    class) and ``cumulative_community|internal|unknown`` (installs first seen up to that
    day). A class is decided by the version string alone (release tag = community); the
    ``unknown`` class is drawn only when it holds installs. No days, or no installs on any
    day, give the empty state.
    """
    points = sorted(((_day(row["date"]), row) for row in timeseries), key=lambda point: point[0])
    columns = (*BUILD_CLASSES, *(f"cumulative_{c}" for c in BUILD_CLASSES))
    counted = any(int(row.get(column) or 0) for _, row in points for column in columns)
    first = points[0][0].isoformat() if points else None
    span = f"{first} to {day.isoformat()}" if first and first != day.isoformat() else f"up to {day.isoformat()}"
    title = f"Community vs internal builds, {span} (UTC days, all installs)"
    if not counted:
        return empty_chart(title)
    return styled_png(_prod_internal_figure, points, title)


# --------------------------------------------------------------------------- auth paths


def _auth_number(auth_path: Mapping[str, Any], key: str) -> int:
    return int(auth_path.get(key) or 0)


def _window_text(window: Mapping[str, Any] | None) -> str:
    """``"per 24 h"`` or ``"per 24-48 h"`` from ``window_hours`` {min, median, max}."""
    if not window or window.get("min") is None or window.get("max") is None:
        return "per reported window"
    low, high = float(window["min"]), float(window["max"])
    return f"per {low:g} h" if low == high else f"per {low:g}-{high:g} h"


def _auth_state_figure(auth_path: Mapping[str, Any], title: str) -> Figure:
    total = _auth_number(auth_path, "total_instances")
    v6 = _auth_number(auth_path, "schema_v6_instances")
    reporting = _auth_number(auth_path, "reporting_instances")
    state = safe_label(auth_path.get("state") or "unknown", 40)
    since = safe_label(auth_path.get("capture_since_release") or "", 16)
    if state == AUTH_NO_V6:
        headline = "Not collected yet: no install sends telemetry schema v6"
        lines = [
            f"{v6:,} of {total:,} identified installs send schema v6, the schema that carries the auth-path mix.",
            f"It appears once installs run registry release {since} or later." if since
            else "It appears once installs upgrade to a release that sends schema v6.",
        ]
    elif state == AUTH_NOT_REPORTING:
        headline = "Not collected: schema v6 installs sent no auth-path mix"
        lines = [
            f"{v6:,} of {total:,} identified installs send schema v6; {reporting:,} of them reported an auth-path mix.",
            "Possible causes: a collector older than the schema drops the v6 fields before they are stored,",
            "or these installs served no authenticated request in their reporting window.",
        ]
    else:
        headline = f"No auth-path mix to draw (state: {state})"
        lines = [f"{v6:,} of {total:,} identified installs send schema v6; {reporting:,} reported an auth-path mix."]
    fig = figure(2.3, title)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.0, 0.85, headline, ha="left", va="top", fontsize=12, fontweight="bold", color=TEXT_COLOR,
            transform=ax.transAxes)
    ax.text(0.0, 0.55, "\n".join(lines), ha="left", va="top", fontsize=10, color=MUTED_TEXT, linespacing=1.6,
            transform=ax.transAxes)
    return fig


def _auth_mix_figure(auth_path: Mapping[str, Any], day: date, title: str) -> Figure:
    shares: dict[str, float] = {}
    for path, share in (auth_path.get("fleet_share_pct") or {}).items():
        label = safe_label(path) or "(blank)"
        shares[label] = shares.get(label, 0.0) + float(share)
    share_rows = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
    total = _auth_number(auth_path, "total_instances")
    reporting = _auth_number(auth_path, "reporting_instances")
    funnel = [
        ("All identified installs", total),
        ("On telemetry schema v6", _auth_number(auth_path, "schema_v6_instances")),
        ("Reported an auth-path mix", reporting),
        (f"Reported one on {day.isoformat()}", _auth_number(auth_path, "reporting_instances_yesterday")),
    ]
    counts = auth_path.get("volume_bucket_counts") or {}
    buckets = [(safe_label(b) or "(blank)", int(counts[b])) for b in known_first(counts, AUTH_VOLUME_BUCKETS) if counts[b]]

    slots = max(len(funnel), len(buckets), 1)
    share_height = 0.34 * len(share_rows) + 0.6
    bottom_height = 0.34 * slots + 0.6
    fig = figure(0.8 + share_height + bottom_height, title)
    grid = fig.add_gridspec(2, 2, height_ratios=[share_height, bottom_height])
    ax_share = fig.add_subplot(grid[0, :])
    ax_funnel = fig.add_subplot(grid[1, 0])
    ax_buckets = fig.add_subplot(grid[1, 1])

    hbars(ax_share, [p for p, _ in share_rows], [s for _, s in share_rows], None, [BAR_COLOR] * len(share_rows),
          notes=[f"{s:.1f}%" for _, s in share_rows])
    ax_share.set_title(f"Share of auth requests by path ({reporting:,} reporting installs, volume-weighted)")

    hbars(ax_funnel, [label for label, _ in funnel], [n for _, n in funnel], total, [BAR_COLOR] * len(funnel))
    ax_funnel.set_ylim(slots - 0.5, -0.5)
    ax_funnel.set_title("Installs reporting the mix (% of identified)")

    if buckets:
        hbars(ax_buckets, [b for b, _ in buckets], [n for _, n in buckets], sum(n for _, n in buckets),
              [BAR_COLOR] * len(buckets))
        ax_buckets.set_ylim(slots - 0.5, -0.5)
    else:
        ax_buckets.set_axis_off()
        ax_buckets.text(0.5, 0.5, "No volume bucket reported", ha="center", va="center", color=MUTED_TEXT,
                        transform=ax_buckets.transAxes)
    ax_buckets.set_title(f"Installs by requests {_window_text(auth_path.get('window_hours'))}")
    return fig


def auth_path_mix_chart(auth_path: Mapping[str, Any], day: date) -> bytes:
    """The auth-path mix of identified installs as of the report ``day``.

    ``auth_path``: :func:`usage_assets.metrics.auth_path.auth_path_summary` output. When
    ``state`` is ``"collected"`` and ``fleet_share_pct`` holds a path, three panels:
    volume-weighted fleet share per path (``fleet_share_pct``, %), the collection funnel
    (``total_instances`` -> ``schema_v6_instances`` -> ``reporting_instances`` ->
    ``reporting_instances_yesterday``, the installs that reported on ``day``) and
    reporting installs per volume bucket (``volume_bucket_counts``, bucket order). Any
    other state draws one text panel that names it with its counts; no identified
    install at all gives the plain empty state.
    """
    title = f"Auth-path mix, identified installs up to {day.isoformat()} (UTC days)"
    if not _auth_number(auth_path, "total_instances"):
        return empty_chart(title)
    if auth_path.get("state") == AUTH_COLLECTED and auth_path.get("fleet_share_pct"):
        return styled_png(_auth_mix_figure, auth_path, day, title)
    return styled_png(_auth_state_figure, auth_path, title)
