"""Growth charts of the daily usage report: data in, PNG bytes out.

Charts (reference 6.5, 6.6, 6.7, 6.8, 6.9 and 6.12, redrawn in the house style of
:mod:`usage_assets.charts.style`):

- :func:`installs_timeseries_chart`: cumulative / daily active / daily new installs by
  cloud, from :func:`usage_assets.metrics.installs_over_time.installs_by_cloud`;
- :func:`active_instances_chart`: customer engagement (DAI, its 7-day mean, the 7-day
  streak and the likely-alive count), from :func:`usage_assets.metrics.engagement.engagement_series`;
- :func:`compute_installs_timeseries_chart`: cumulative and daily active installs by
  compute platform, from :func:`usage_assets.metrics.installs_over_time.installs_by` (facet ``compute``);
- :func:`install_forecast_chart`: identified installs, the linear fit with its 95 % band
  and the recent pace towards the target, from :mod:`usage_assets.metrics.forecast`;
- :func:`daily_reporters_chart`: AWS customer installs reporting per day, from
  :func:`usage_assets.metrics.spend.daily_reporters`;
- :func:`ltv_spend_chart`: hypothetical AWS spend under the three counting rules, from
  :func:`usage_assets.metrics.spend.spend_by_day`;
- :func:`lifetime_buckets_chart`: lifetime-bucket shares of customers over time, from
  :func:`usage_assets.metrics.retention.retention_series`.

Where we differ from the reference: every series runs over whole UTC days up to and
including the report day (its inputs already do), so there is no "exclude the incomplete
day" step; the forecast's lines stop at the latest ETA (but reach no further ahead than
the history reaches back, so the history stays readable) instead of a fixed horizon; the
engagement chart also draws DAI as a share of every install seen so far, which the
reference only writes to its CSV; the lifetime-bucket chart adds a small panel with the
number of customers behind each day's percentages, because a share over a growing fleet
reads differently from a share over a fixed one.

Each builder is split into ``_xxx_figure(...) -> Figure`` (non-empty input only, so tests
can read what is drawn) and the public ``xxx_chart(...) -> bytes``, which handles the
empty state and renders under :data:`usage_assets.charts.style.STYLE` (with
:func:`usage_assets.charts.style.styled_png`). Only the ``Figure`` API is used; equal input
gives byte-equal PNGs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import matplotlib
import numpy as np
import polars as pl
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, PercentFormatter

from usage_assets.charts.style import (
    COMPUTE_COLORS,
    GREY,
    MUTED_TEXT,
    OKABE_ITO,
    STYLE,
    TEXT_COLOR,
    bar_collection,
    category_colors,
    count_axis,
    date_axis,
    date_nums,
    day_marker,
    empty_chart,
    facet_series,
    figure,
    fold_series,
    render_png,
    safe_label,
    styled_png,
)

#: The forecast's lines stop at the latest ETA, but never further ahead than the history
#: reaches back nor beyond this many days: a target years away would squeeze the history
#: into a sliver.
FORECAST_MAX_DAYS = 365
#: ... and reach at least this far, so a near ETA or a missing one still shows a direction.
FORECAST_MIN_DAYS = 30
#: DAI is drawn as one bar per day up to this many days, as a filled step area beyond.
BAR_MAX_DAYS = 60
DAI_FILL = "#cfe3f1"

#: Counting rules of the spend frame: (column suffix, legend name, colour), drawn top to
#: bottom as they stack up (all days >= persisted >= proven).
SPEND_RULES: tuple[tuple[str, str, str], ...] = (
    ("", "all days: every AWS customer install-day", OKABE_ITO["blue"]),
    ("_persisted", "persisted: installs seen on 2+ AWS days", OKABE_ITO["green"]),
    ("_persistent", "proven: all but each install's first day", OKABE_ITO["orange"]),
)

#: Lifetime buckets of the retention frame: (column, legend label, colour). Shares of
#: longer lifetimes in darker blues, one-day wonders apart in vermillion.
LIFETIME_SERIES: tuple[tuple[str, str, str], ...] = (
    ("one_day_wonder_pct", "one-day wonders (seen on 1 day)", OKABE_ITO["vermillion"]),
    ("pct_ge_3d", "lifetime 3+ days", "#74a9cf"),
    ("pct_ge_7d", "lifetime 7+ days", "#3690c0"),
    ("pct_ge_14d", "lifetime 14+ days", "#0570b0"),
    ("pct_ge_30d", "lifetime 30+ days", "#023858"),
)


# ------------------------------------------------------------------------ shared helpers


def _span(days: Sequence[date]) -> str:
    """``"A to B (UTC days)"``, or ``"on A (UTC day)"`` for a single day."""
    if days[0] == days[-1]:
        return f"on {days[0].isoformat()} (UTC day)"
    return f"{days[0].isoformat()} to {days[-1].isoformat()} (UTC days)"


def _values(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A column as floats, null as NaN (a gap in a line)."""
    return frame[column].cast(pl.Float64).fill_null(float("nan")).to_numpy()


def _percent_axis(ax: Axes) -> None:
    # A little room above 100 % so a line at 100 % is not cut in half by the frame.
    ax.set_ylim(0, 103)
    ax.yaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.yaxis.grid(True)


def _legend_right(
    ax: Axes, handles: Sequence[Artist] | None = None, labels: Sequence[str] | None = None, title: str | None = None
) -> None:
    """A legend right of ``ax``, level with its top: above the panels it would hit the
    title, and a figure legend at the top right collides with a long title."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, title=title,
              alignment="left", handlelength=1.8)


def _usd(peak: float) -> FuncFormatter:
    """``$1,234`` ticks; cents while the whole axis stays under $10."""
    decimals = 2 if peak < 10 else 0
    return FuncFormatter(lambda value, _pos: f"${value:,.{decimals}f}")


# ------------------------------------------------------------ installs by cloud (6.4)


def installs_timeseries_chart(frame: pl.DataFrame, day: date) -> bytes:
    """Cumulative, daily active and daily new installs by cloud, three stacked panels.

    ``frame``: :func:`usage_assets.metrics.installs_over_time.installs_by_cloud` output (``date,
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
            bar_collection(ax_new, x, new[cloud], bottom, 0.85, facecolors=colors[cloud], label=cloud)
            bottom = bottom + new[cloud]
        ax_new.set_title("Daily new installs (first UTC day seen), stacked")

        for ax in axes:
            count_axis(ax)
        date_axis(ax_new, first, last)

        handles, labels = axes[0].get_legend_handles_labels()
        # To the right of the panels: above them it would collide with the title.
        fig.legend(handles, labels, loc="outside right upper", title="cloud", alignment="left", handlelength=1.6)
        return render_png(fig)


# ------------------------------------------------------------------ active instances (6.6)


#: Legend labels of the engagement panel, also used to order its legend.
DAI_LABEL = "DAI: active that day"
MA7_LABEL = "DAI, mean of the\nlast 7 days"
LIKELY_ALIVE_LABEL = "likely alive: active on\nany of the last 7 days"
STREAK_LABEL = "streak: active on every\none of the last 7 days"


def _active_instances_figure(engagement: pl.DataFrame) -> Figure:
    frame = engagement.sort("date")
    days = frame["date"].to_list()
    x, marker = date_nums(days), day_marker(days)
    fig = figure(7.0, f"Customer engagement: daily active installs (DAI), {_span(days)}")
    ax, ax_pct = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])

    dai = _values(frame, "daily_active")
    # Separate bars while they are wide enough to read; beyond that one filled step area
    # (hundreds of 2-px bars alias into stripes).
    if len(days) <= BAR_MAX_DAYS:
        ax.bar(x, dai, width=0.8, color=DAI_FILL, label=DAI_LABEL)
    else:
        ax.fill_between(x, dai, step="mid", color=DAI_FILL, linewidth=0, label=DAI_LABEL)
    ax.plot(x, _values(frame, "likely_alive_7d"), color=OKABE_ITO["orange"], marker=marker, markersize=3,
            label=LIKELY_ALIVE_LABEL)
    ax.plot(x, _values(frame, "ma7"), color=OKABE_ITO["blue"], marker=marker, markersize=3, label=MA7_LABEL)
    ax.plot(x, _values(frame, "streak7"), color=OKABE_ITO["green"], marker=marker, markersize=3, label=STREAK_LABEL)
    ax.set_title("Customer installs (7-day measures start on the 7th day)")
    ax.set_ylabel("customer installs")
    count_axis(ax)

    ax_pct.plot(x, _values(frame, "dai_pct_of_likely_alive"), color=OKABE_ITO["orange"], marker=marker,
                markersize=3, label="DAI as % of likely alive")
    ax_pct.plot(x, _values(frame, "dai_pct_of_total"), color=GREY, linewidth=1.2, marker=marker,
                markersize=3, label="DAI as % of all seen so far")
    ax_pct.set_title("DAI as a share of likely-alive installs (and of all seen so far)")
    _percent_axis(ax_pct)
    date_axis(ax_pct, days[0], days[-1])

    # Legend order follows the lines top to bottom: likely alive, mean, DAI, streak
    # (matplotlib lists bars after lines, whatever the drawing order).
    handles = dict(zip(*reversed(ax.get_legend_handles_labels())))
    order = [label for label in (LIKELY_ALIVE_LABEL, MA7_LABEL, DAI_LABEL, STREAK_LABEL) if label in handles]
    _legend_right(ax, [handles[label] for label in order], order)
    _legend_right(ax_pct)
    return fig


def active_instances_chart(engagement: pl.DataFrame, day: date) -> bytes:
    """DAI bars (a filled step area beyond :data:`BAR_MAX_DAYS` days) with the 7-day mean,
    streak and likely-alive lines; a panel of DAI % of likely alive (and of all installs
    seen so far), y 0..100 %.

    ``engagement``: :func:`usage_assets.metrics.engagement.engagement_series` output
    (``date`` Date; ``daily_active, streak7, cumulative_installs, likely_alive_7d`` Int64;
    ``ma7, dai_pct_of_total, dai_pct_of_likely_alive`` Float64; 7-day measures null for
    the first 6 days). ``day``: the report day, in the empty state's title. No rows, or
    no customer seen yet, gives the empty state.
    """
    if engagement.height == 0 or not (engagement["cumulative_installs"].max() or 0):
        return empty_chart(f"Customer engagement: daily active installs, up to {day.isoformat()} (UTC days)")
    return styled_png(_active_instances_figure, engagement)


# ------------------------------------------------------------ compute timeseries (6.5)


def _compute_installs_figure(frame: pl.DataFrame) -> Figure:
    data, platforms = fold_series(frame, "compute")
    days = sorted(set(data["date"].to_list()))
    x, marker = date_nums(days), day_marker(days)
    colors = category_colors(platforms, COMPUTE_COLORS)

    fig = figure(6.6, f"Installs by compute platform, {_span(days)}, all installs")
    axes = fig.subplots(2, 1, sharex=True)
    panels = (
        (axes[0], facet_series(data, "compute", platforms, days, "cumulative_installs"),
         "Cumulative installs (each counted once, under its first-day platform)"),
        (axes[1], facet_series(data, "compute", platforms, days, "daily_active"),
         "Daily active installs (any event that UTC day)"),
    )
    for ax, values, panel_title in panels:
        for platform in platforms:
            ax.plot(x, values[platform], color=colors[platform], label=platform, marker=marker, markersize=3)
        ax.set_title(panel_title)
        ax.set_ylabel("installs")
        count_axis(ax)
    date_axis(axes[1], days[0], days[-1])
    _legend_right(axes[0], title="compute")
    return fig


def compute_installs_timeseries_chart(frame: pl.DataFrame, day: date) -> bytes:
    """Cumulative and daily active installs by compute platform, two stacked panels.

    ``frame``: :func:`usage_assets.metrics.installs_over_time.installs_by` output with facet
    ``compute`` (``date`` Date, ``compute`` String, ``daily_active, daily_new,
    cumulative_installs`` Int64). Platforms are ordered by installs; beyond
    :data:`usage_assets.charts.style.MAX_SERIES` the smallest fold into ``other (K
    values)``. No rows gives the empty state (``day`` in its title).
    """
    if frame.height == 0:
        return empty_chart(f"Installs by compute platform, up to {day.isoformat()} (UTC days, all installs)")
    return styled_png(_compute_installs_figure, frame)


# ------------------------------------------------------------------ install forecast (6.9)


def _parse_day(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _forecast_end(first: date, day: date, etas: Sequence[date | None]) -> date:
    """Last day drawn: the latest ETA, at least FORECAST_MIN_DAYS after ``day`` and at most
    as far ahead as the history reaches back (FORECAST_MAX_DAYS at most), so the history
    keeps at least half of the width."""
    known = [eta for eta in etas if eta is not None]
    ahead = max(known) if known else day
    reach = min(max((day - first).days + 1, FORECAST_MIN_DAYS), FORECAST_MAX_DAYS)
    return min(max(ahead, day + timedelta(days=FORECAST_MIN_DAYS)), day + timedelta(days=reach))


def _eta_text(eta: date | None, end: date) -> str:
    if eta is None:
        return "no ETA (not growing)"
    return f"ETA {eta.isoformat()}" + (" (beyond the chart)" if eta > end else "")


def _install_forecast_figure(series: pl.DataFrame, forecast: Mapping) -> Figure:
    frame = series.sort("date")
    days = frame["date"].to_list()
    installs = _values(frame, "installs")
    day = days[-1]
    today = int(installs[-1])
    target = int(forecast["target"])
    configured = int(forecast.get("configured_target") or target)
    linear = forecast.get("linear") or {}
    pace = forecast.get("recent_pace") or {}
    linear_eta, pace_eta = _parse_day(linear.get("eta")), _parse_day(pace.get("eta"))
    end = _forecast_end(days[0], day, [linear_eta, pace_eta])

    target_label = f"target: {target:,} installs"
    if target != configured:
        target_label += f" (the configured {configured:,} is already reached)"
    fig = figure(5.6, f"Identified installs and forecast to {target:,}, data {_span(days)}")
    ax = fig.add_subplot()
    ax.plot(date_nums(days), installs, color=TEXT_COLOR, marker=day_marker(days), markersize=3,
            label=f"identified installs, internal included ({today:,} on {day.isoformat()})")
    peak = float(np.nanmax(installs))

    slope, intercept = linear.get("slope_per_day"), linear.get("intercept")
    base = _parse_day(linear.get("base_date"))
    if slope is not None and intercept is not None and base is not None:
        fit_days = [base + timedelta(days=n) for n in range((end - base).days + 1)]
        fitted = float(intercept) + float(slope) * np.arange(len(fit_days), dtype=float)
        sigma = float(linear.get("residual_std") or 0.0)
        band = ""
        if sigma > 0:
            ax.fill_between(date_nums(fit_days), fitted - 1.96 * sigma, fitted + 1.96 * sigma, color=OKABE_ITO["blue"],
                            alpha=0.15, linewidth=0, label="95% band of the linear fit (±1.96 σ)")
            low, high = _parse_day(linear.get("eta_lower_95")), _parse_day(linear.get("eta_upper_95"))
            if linear_eta is not None and low is not None and high is not None:
                band = f", 95% {low.isoformat()} to {high.isoformat()}"
        ax.plot(date_nums(fit_days), fitted, color=OKABE_ITO["blue"], linestyle="--",
                label=f"linear fit over the last {linear.get('fit_window_days')} days: {float(slope):+,.1f}/day, "
                      f"{_eta_text(linear_eta, end)}{band}")
        peak = max(peak, float(fitted.max()) + 1.96 * sigma)

    rate = pace.get("daily_add_rate")
    if rate is not None:
        ahead = [day + timedelta(days=n) for n in range((end - day).days + 1)]
        paced = today + float(rate) * np.arange(len(ahead), dtype=float)
        ax.plot(date_nums(ahead), paced, color=OKABE_ITO["vermillion"], linestyle=":", linewidth=2.0,
                label=f"recent pace over {pace.get('window_days')} days: {float(rate):+,.1f}/day, "
                      f"{_eta_text(pace_eta, end)}")
        peak = max(peak, float(paced.max()))

    # The target is drawn while the lines get at least halfway to it; a target far above
    # them would flatten every line against the axis, so it is only named then.
    if peak >= target / 2:
        ax.axhline(target, color=MUTED_TEXT, linewidth=1.0, label=target_label)
        for eta, color in ((linear_eta, OKABE_ITO["blue"]), (pace_eta, OKABE_ITO["vermillion"])):
            if eta is not None and eta <= end:
                ax.plot(date_nums([eta]), [target], marker="o", markersize=6, color=color, linestyle="none",
                        clip_on=False)
        # Past the target the lines say nothing new.
        top = target
    else:
        ax.plot([], [], " ", label=f"{target_label}, above the chart")
        top = peak
    ax.set_ylim(0, max(top, 1) * 1.08)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, min_n_ticks=1))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
    ax.yaxis.grid(True)
    ax.set_ylabel("identified installs")
    date_axis(ax, days[0], end)
    handles, labels = ax.get_legend_handles_labels()
    # Below the plot: the labels carry the numbers and need the full width.
    fig.legend(handles, labels, loc="outside lower left", handlelength=2.2)
    return fig


def install_forecast_chart(series: pl.DataFrame, forecast: Mapping, day: date) -> bytes:
    """Identified installs to date, the linear fit extended to its ETA with the 95 % band,
    the recent-pace line and the target.

    ``series``: :func:`usage_assets.metrics.forecast.cumulative_installs` output (``date``
    Date, ``installs`` Int64, every day up to ``day``). ``forecast``:
    :func:`usage_assets.metrics.forecast.install_forecast` output (ISO date strings, ``linear``
    and ``recent_pace`` parts). Lines run to the latest ETA, at least
    :data:`FORECAST_MIN_DAYS` days after the last data day and at most as far ahead as
    the history reaches back (:data:`FORECAST_MAX_DAYS` at most); an ETA beyond that is
    named in the legend, and so is a target less than half reached by the lines (drawn
    otherwise). An empty series gives the empty
    state; ``forecast["available"]`` False gives an empty state that states
    ``forecast["reason"]``.
    """
    title = f"Install forecast, data up to {day.isoformat()} (UTC days)"
    if series.height == 0:
        return empty_chart(title)
    if not forecast.get("available"):
        reason = safe_label(forecast.get("reason") or "not enough data", 120)
        return empty_chart(title, f"No forecast: {reason}")
    return styled_png(_install_forecast_figure, series, forecast)


# ------------------------------------------------------------------ daily reporters (6.8)


def _daily_reporters_figure(frame: pl.DataFrame) -> Figure:
    frame = frame.sort("date")
    days = frame["date"].to_list()
    x, marker = date_nums(days), day_marker(days)
    fig = figure(4.8, f"AWS customer installs reporting each day, {_span(days)}")
    ax = fig.add_subplot()
    # Drawn widest first: the nested counts often coincide and the dashes let the
    # line underneath show through.
    lines = (
        ("all_reporters", "all: any event that day", OKABE_ITO["blue"], "-", 2.2),
        ("persisted_2events", "of which 2+ events on AWS days\nup to the report day", OKABE_ITO["orange"], "--", 1.6),
        ("persisted_2days", "of which 2+ AWS install-days\nup to the report day", OKABE_ITO["green"], ":", 2.0),
    )
    for column, label, color, style, width in lines:
        ax.plot(x, _values(frame, column), color=color, linestyle=style, linewidth=width, marker=marker,
                markersize=3, label=label)
    ax.set_ylabel("customer installs on AWS")
    count_axis(ax)
    date_axis(ax, days[0], days[-1])
    _legend_right(ax)
    return fig


def daily_reporters_chart(frame: pl.DataFrame, day: date) -> bytes:
    """AWS customer installs active each day: all, those with 2+ events, those with 2+
    AWS install-days, three lines.

    ``frame``: :func:`usage_assets.metrics.spend.daily_reporters` output (``date`` Date;
    ``all_reporters, persisted_2events, persisted_2days`` Int64). No rows gives the
    empty state (``day`` in its title).
    """
    if frame.height == 0:
        return empty_chart(f"AWS customer installs reporting each day, up to {day.isoformat()} (UTC days)")
    return styled_png(_daily_reporters_figure, frame)


# --------------------------------------------------------------------- LTV spend (6.7)


def _ltv_spend_figure(by_day: pl.DataFrame) -> Figure:
    frame = by_day.sort("date")
    days = frame["date"].to_list()
    x, marker = date_nums(days), day_marker(days)
    fig = figure(7.0, f"Customer infra spend on AWS, {_span(days)}")
    ax_cum, ax_day = fig.subplots(2, 1, sharex=True, height_ratios=[1.3, 1])
    for suffix, label, color in SPEND_RULES:
        cumulative = _values(frame, f"cum_total_usd{suffix}")
        to_date = float(np.nan_to_num(cumulative[-1]))
        ax_cum.plot(x, cumulative, color=color, marker=marker, markersize=3, label=f"{label} (${to_date:,.2f} to date)")
        ax_day.plot(x, _values(frame, f"total_usd{suffix}"), color=color, marker=marker, markersize=3, linewidth=1.3)
    ax_cum.set_title("Cumulative spend, USD (hypothetical, at list price)")
    ax_day.set_title("Spend per UTC day, USD/day")
    for ax in (ax_cum, ax_day):
        peak = max(float(np.nanmax(line.get_ydata())) for line in ax.get_lines())
        count_axis(ax, _usd(peak))
    date_axis(ax_day, days[0], days[-1])
    handles, labels = ax_cum.get_legend_handles_labels()
    # Below the panels: the rules are sentences and need the full width.
    fig.legend(handles, labels, loc="outside lower left", title="counting rule", alignment="left", handlelength=1.8)
    return fig


def ltv_spend_chart(by_day: pl.DataFrame, day: date) -> bytes:
    """Hypothetical AWS infra spend of customer installs: cumulative USD per counting rule
    (all days, persisted, proven) and USD per day, two panels, y in USD from $0.

    ``by_day``: :func:`usage_assets.metrics.spend.spend_by_day` output; reads ``date`` and
    ``total_usd``, ``cum_total_usd`` with the suffixes "" (all days), ``_persistent``
    (proven) and ``_persisted`` (Float64, USD). No rows gives the empty state (``day``
    in its title).
    """
    if by_day.height == 0:
        return empty_chart(f"Customer infra spend on AWS, up to {day.isoformat()} (UTC days)")
    return styled_png(_ltv_spend_figure, by_day)


# ---------------------------------------------------------------- lifetime buckets (6.12)


def _lifetime_buckets_figure(retention: pl.DataFrame) -> Figure:
    frame = retention.sort("date")
    days = frame["date"].to_list()
    x, marker = date_nums(days), day_marker(days)
    customers = int(frame["total"][-1])
    fig = figure(6.4, f"Customer install lifetimes over time, {_span(days)}")
    ax, ax_total = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    for column, label, color in LIFETIME_SERIES:
        ax.plot(x, _values(frame, column), color=color, marker=marker, markersize=3, label=label)
    ax.set_title("Share of customer installs by lifetime so far (first to last UTC day seen)")
    _percent_axis(ax)
    ax_total.plot(x, _values(frame, "total"), color=GREY, marker=marker, markersize=3)
    ax_total.set_title(f"Customer installs behind the shares ({customers:,} on {days[-1].isoformat()})")
    count_axis(ax_total, nbins=3)
    date_axis(ax_total, days[0], days[-1])
    _legend_right(ax)
    return fig


def lifetime_buckets_chart(retention: pl.DataFrame, day: date) -> bytes:
    """One-day-wonder % and lifetime 3+/7+/14+/30+ days % of customer installs over time
    (y 0..100 %), with a small panel of the customer count behind each day.

    ``retention``: :func:`usage_assets.metrics.retention.retention_series` output (``date``
    Date, ``total`` Int64, ``one_day_wonder_pct, pct_ge_3d, pct_ge_7d, pct_ge_14d,
    pct_ge_30d`` Float64 percentages; rows only for days with customers). No rows gives
    the empty state (``day`` in its title).
    """
    if retention.height == 0:
        return empty_chart(f"Customer install lifetimes over time, up to {day.isoformat()} (UTC days)")
    return styled_png(_lifetime_buckets_figure, retention)
