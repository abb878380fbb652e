"""Terminal views of a usage summary (:mod:`usage_assets.terminal.summary`): table and dashboard.

Both return rich renderables (the CLI prints them with its console). Every value that can come from outside - Prometheus label values
(tool and server names), telemetry strings, reasons - is put in a ``rich.text.Text``
after :func:`usage_assets.report.render.clean_text`, so rich markup in it (``[red]``) is
shown literally and control characters cannot reach the terminal. Only fixed strings of
this module are ever parsed as markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from usage_assets.common.formatting import format_count, format_pct, short_count
from usage_assets.enrichment.prometheus_trends import BREAKDOWN_LABELS, BREAKDOWN_TITLES, history_note
from usage_assets.enrichment.trend_arithmetic import DOWN, NOT_ENOUGH_HISTORY, UP, change_label
from usage_assets.report.render import clean_text

#: The dashboard fits an 80-column terminal.
DASHBOARD_WIDTH = 80
BAR_WIDTH = 24
#: Rows per breakdown without --verbose.
SHORT_TOP = 5
_TIER_LABELS = (
    ("confirmed", "Confirmed alive"),
    ("stronger", "Stronger alive"),
    ("likely", "Likely alive (7 d)"),
    ("silent_but_recent", "Silent but recent"),
    ("dormant", "Dormant (14 d)"),
)


def plain(value: Any, limit: int | None = 60, style: str = "") -> Text:
    """``value`` as inert text: control characters removed, cut to ``limit``, no markup."""
    return Text(clean_text(value, limit), style=style)


def arrow(item: Mapping[str, Any] | None) -> Text:
    glyph = (item or {}).get("arrow") or ""
    return Text(glyph, style="green" if glyph == UP else "red" if glyph == DOWN else "dim")


def change(item: Mapping[str, Any]) -> Text:
    style = "yellow" if item.get("not_enough_history") else "dim" if item["previous"] is None else ""
    return Text(change_label(item), style=style)


def bar(fraction: float, width: int = BAR_WIDTH) -> Text:
    """A gauge of ``width`` cells, ``fraction`` (0..1) of them filled."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return Text("█" * filled, style="cyan") + Text("░" * (width - filled), style="dim")



def _title(summary: Mapping[str, Any]) -> Text:
    return plain(f"Usage summary for {summary['report_date']} (UTC days) · range {summary['range']} · "
                 f"compared with {summary['comparison_date']}", None, "bold")


def _not_used(trends: Mapping[str, Any]) -> Text:
    return plain(f"Prometheus: not used ({trends['reason']})", 300, "yellow")


def _history_notes(trends: Mapping[str, Any], limit: int | None = 300) -> list[Text]:
    """One line per series whose previous window Prometheus does not fully hold."""
    return [plain(note, limit, "yellow") for note in map(history_note, trends["series"]) if note]


def _window_text(trends: Mapping[str, Any]) -> str:
    current, previous = trends["windows"]["current"]["days"], trends["windows"]["previous"]["days"]
    return f"{current[0]}..{current[1]} vs {previous[0]}..{previous[1]}"


# ----------------------------------------------------------------------------- table


def _table(*columns: tuple[str, str]) -> Table:
    """A compact table (fits 80 columns for the default series): (header, justify) per column."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for header, justify in columns:
        table.add_column(plain(header), justify=justify)
    return table


def _section(title: str, *body: RenderableType) -> Group:
    """A blank line, a bold heading (never parsed as markup), then ``body``."""
    return Group(Text(""), plain(title, None, "bold"), *body)


def _fleet_table(summary: Mapping[str, Any]) -> RenderableType:
    telemetry = summary["telemetry"]
    table = _table(("Figure", "left"), ("Now", "right"), ("Then", "right"), ("Change", "right"), ("Trend", "center"))
    for figure in telemetry["figures"]:
        table.add_row(plain(figure["label"]), plain(format_count(figure["current"])),
                      plain(format_count(figure["previous"])),
                      change(figure), arrow(figure))
    notes = [] if telemetry["comparison"]["available"] else [plain(telemetry["comparison"]["reason"], 300, "yellow")]
    return _section(f"Fleet · source: telemetry · {summary['report_date']} (now) vs {summary['comparison_date']} "
                    "(then)", table, *notes)


def _breakdown_table(entry: Mapping[str, Any], label: str, rows: list[dict], verbose: bool) -> Group:
    table = _table((label, "left"), ("Now", "right"), ("Before", "right"), ("Change", "right"), ("Trend", "center"))
    for column, header, key in ((table.columns[1], "Now", "current"), (table.columns[2], "Before", "previous")):
        column.no_wrap = True  # counts are never cut; a long change label wraps
        column.min_width = max([len(header), *(len(format_count(row[key])) for row in rows)])
    table.columns[3].min_width = 10
    for row in rows:
        table.add_row(plain(row["value"] or "(empty)", None if verbose else 40), plain(format_count(row["current"])),
                      plain(format_count(row["previous"])), change(row), arrow(row))
    title = BREAKDOWN_TITLES.get(label, f"By {label}")
    shown = f"top {len(rows)} of {entry['breakdowns'][label]['distinct_values']}"
    return _section(f"{title} · source: prometheus · {entry['name']} by {label}, {shown}", table)


def _breakdown_order(breakdowns: Mapping[str, Any]) -> list[str]:
    """Labels in the order of :data:`BREAKDOWN_LABELS` (the JSON's keys are sorted)."""
    known = [label for label in BREAKDOWN_LABELS if label in breakdowns]
    return known + sorted(set(breakdowns) - set(known))


def _prometheus_tables(summary: Mapping[str, Any], verbose: bool) -> RenderableType:
    trends = summary["prometheus"]
    if trends["status"] != "used":
        return _section("Prometheus", _not_used(trends))
    days = trends["range_days"]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    table.add_column(plain("Series"), no_wrap=True, min_width=max(len(entry["name"]) for entry in trends["series"]))
    found = [entry["increase"] for entry in trends["series"] if entry["status"] == "found"]
    # Numbers and headers are never cut (a cut "1,848" reads "1,8…"); a long change label
    # ("not enough history") wraps instead.
    for header, justify, values in (("Now", "right", [item["current"] for item in found]),
                                    ("Before", "right", [item["previous"] for item in found])):
        table.add_column(plain(header), justify=justify, no_wrap=True,
                         min_width=max([len(header), *(len(format_count(value)) for value in values)]))
    table.add_column(plain("Change"), justify="right", min_width=10)
    table.add_column(plain("Trend"), justify="center", no_wrap=True, min_width=5)
    table.add_column(plain("Success"), justify="right", no_wrap=True, min_width=7)
    notes = []
    for entry in trends["series"]:
        if entry["status"] != "found":
            table.add_row(plain(entry["name"]), plain("—"), plain("—"), plain("missing", style="yellow"), plain(""),
                          plain(""))
            hint = f" ({entry['hint']})" if entry["hint"] else ""
            notes.append(plain(f"{entry['name']}: no such series{hint}", 300, "yellow"))
            continue
        success = entry["success"]
        table.add_row(plain(entry["name"]), plain(format_count(entry["increase"]["current"])),
                      plain(format_count(entry["increase"]["previous"])), change(entry["increase"]), arrow(entry["increase"]),
                      plain(format_pct(success["current"]["success_pct"]) if success else "—"))
    parts: list[RenderableType] = [
        _section(f"Prometheus · source: prometheus · last {days} days vs the {days} before "
                 f"({_window_text(trends)})", table, *notes, *_history_notes(trends))
    ]
    for entry in trends["series"]:
        for label in _breakdown_order(entry["breakdowns"]):
            breakdown = entry["breakdowns"][label]
            if (label in BREAKDOWN_TITLES or verbose) and breakdown["top"]:
                rows = breakdown["top"] if verbose else breakdown["top"][:SHORT_TOP]
                parts.append(_breakdown_table(entry, label, rows, verbose))
    return Group(*parts)


def _insights_table(summary: Mapping[str, Any], verbose: bool) -> RenderableType:
    insights = summary["insights"]
    parts: list[RenderableType] = []
    if insights["insights"]:
        table = _table(("Severity", "left"), ("Insight", "left"), ("Sources", "left"))
        for item in insights["insights"]:
            body = plain(item["title"], None, "bold") + Text("\n") + plain(item["detail"], None)
            if verbose:
                body += Text("\n") + plain(f"Recommendation: {item['recommendation']}", None, "italic")
            table.add_row(plain(item["severity"], style="red" if item["severity"] == "warning" else ""), body,
                          plain(" + ".join(item["sources"])))
        parts.append(table)
    else:
        parts.append(plain(f"No rule fired for {summary['report_date']}."))
    sections = [_section("Insights · each names its sources", *parts)]
    if verbose:
        rules = _table(("Rule", "left"), ("Sources", "left"), ("Outcome", "left"), ("Details", "left"))
        rules.columns[0].no_wrap = True
        for rule in insights["rules"]:
            rules.add_row(plain(rule["id"]), plain(" + ".join(rule["sources"])),
                          plain(rule["status"].replace("_", " ")), plain(rule["reason"], None))
        sections.append(_section("Rules (thresholds: usage-report summary --format json)", rules))
    else:
        skipped = sum(rule["status"] == "not_evaluated" for rule in insights["rules"])
        if skipped:
            sections.append(plain(f"{skipped} of {len(insights['rules'])} rules not evaluated (--verbose says why).",
                                  None, "dim"))
    return Group(*sections)


def table_view(summary: Mapping[str, Any], verbose: bool = False) -> RenderableType:
    """Sections with trend arrows: fleet (telemetry), Prometheus, insights. ``verbose``
    adds every breakdown row, the recommendations and the outcome of every rule."""
    return Group(_title(summary), _fleet_table(summary), _prometheus_tables(summary, verbose),
                 _insights_table(summary, verbose))


# ----------------------------------------------------------------------------- dashboard


def _grid(label_width: int, bar_width: int, trend_width: int = 11, note_width: int = 6) -> Table:
    """label | gauge | value | note | trend; widths chosen so a row fits in a panel of 80.
    Values are :func:`short_count` (at most 6 characters), so the value column never cuts one."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=label_width, no_wrap=True, overflow="ellipsis")
    grid.add_column(width=bar_width, no_wrap=True)
    grid.add_column(width=6, justify="right", no_wrap=True)
    grid.add_column(width=note_width, justify="right", no_wrap=True)
    grid.add_column(width=trend_width, no_wrap=True, overflow="ellipsis")
    return grid


def _trend_cell(item: Mapping[str, Any]) -> Text:
    if item.get("not_enough_history"):
        return Text(NOT_ENOUGH_HISTORY, style="yellow")
    if item["previous"] is None:
        return Text("")
    return arrow(item) + Text(" ") + change(item)


def _panel(body: RenderableType, title: str) -> Panel:
    return Panel(body, title=plain(title, 70), title_align="left", width=DASHBOARD_WIDTH, box=box.ROUNDED)


def _share(part: float, whole: float) -> Text:
    return plain(format_pct(100.0 * part / whole if whole else None), style="dim")


def _fleet_panel(summary: Mapping[str, Any]) -> Panel:
    telemetry = summary["telemetry"]
    figures = {figure["key"]: figure for figure in telemetry["figures"]}
    total = telemetry["liveness"]["customer_total"]
    grid = _grid(29, 16)
    for key in ("installs_seen", "customer_installs"):
        figure = figures[key]
        grid.add_row(plain(figure["label"]), Text(""), plain(short_count(figure["current"])), Text(""),
                     _trend_cell(figure))
    for tier, label in _TIER_LABELS:
        count = telemetry["liveness"][tier]
        key = {"confirmed": "confirmed_alive", "likely": "active_customers_7d"}.get(tier, tier)
        grid.add_row(plain(label), bar(count / total if total else 0.0, 16), plain(short_count(count)),
                     _share(count, total), _trend_cell(figures[key]) if key in figures else Text(""))
    active = telemetry["active_on_report_date"]
    parts: list[RenderableType] = [grid, plain(f"On {summary['report_date']}: {format_count(active['customers'])} "
                                              f"customer installs reported in, {format_count(active['new_installs'])} new.",
                                              76)]
    if not telemetry["comparison"]["available"]:
        parts.append(plain(f"No comparison: {summary['comparison_date']} was never materialized.", 76, "yellow"))
    else:
        parts.append(plain(f"Trends: {summary['report_date']} against {summary['comparison_date']}.", 76, "dim"))
    return _panel(Group(*parts), "Fleet · source: telemetry · gauges: share of customers")


def _prometheus_panels(summary: Mapping[str, Any], verbose: bool) -> list[Panel]:
    trends = summary["prometheus"]
    if trends["status"] != "used":
        return [_panel(_not_used(trends), "Prometheus · not used")]
    found = [entry for entry in trends["series"] if entry["status"] == "found"]
    largest = max([entry["increase"]["current"] for entry in found] + [1.0])
    # Value 6 + an empty note column of 1: room for "not enough history" (18) in the trend column.
    grid = _grid(35, 9, 18, note_width=1)
    for entry in trends["series"]:
        if entry["status"] != "found":
            grid.add_row(plain(entry["name"], 35), Text(""), plain("—"), Text(""),
                         plain("no such series", style="yellow"))
            continue
        grid.add_row(plain(entry["name"], 35), bar(entry["increase"]["current"] / largest, 9),
                     plain(short_count(entry["increase"]["current"])), Text(""), _trend_cell(entry["increase"]))
        if entry["success"] and entry["success"]["current"]["success_pct"] is not None:
            rate = entry["success"]["current"]["success_pct"]
            before = entry["success"]["previous"]["success_pct"]
            grid.add_row(plain("  success rate", style="dim"), bar(rate / 100.0, 9), plain(format_pct(rate)), Text(""),
                         plain(f"was {format_pct(before)}", style="dim"))
    days = trends["range_days"]
    body = Group(grid, *_history_notes(trends)) if _history_notes(trends) else grid
    panels = [_panel(body, f"Prometheus · last {days} d vs the {days} d before · source: prometheus")]
    for entry in found:
        for label in ("tool_name", "server_name"):
            breakdown = entry["breakdowns"].get(label)
            if not breakdown or not breakdown["top"]:
                continue
            rows = breakdown["top"] if verbose else breakdown["top"][:SHORT_TOP]
            top = max([row["current"] for row in rows] + [1.0])
            grid = _grid(30, 14)
            for row in rows:
                grid.add_row(plain(row["value"] or "(empty)", 30), bar(row["current"] / top, 14),
                             plain(short_count(row["current"])), _share(row["current"], entry["increase"]["current"]),
                             _trend_cell(row))
            panels.append(_panel(grid, f"{BREAKDOWN_TITLES[label]} · source: prometheus · {entry['name']}"))
    return panels


def _insights_panel(summary: Mapping[str, Any], verbose: bool) -> Panel:
    insights = summary["insights"]
    lines: list[RenderableType] = []
    for item in insights["insights"]:
        mark = "▲" if item["severity"] == "warning" else "•"
        lines.append(Text(mark + " ", style="red" if mark == "▲" else "") + plain(item["title"], 48, "bold")
                     + plain(f"  [{' + '.join(item['sources'])}]", None, "dim"))
        if verbose:
            lines.append(plain("  " + item["detail"], None))
    if not lines:
        lines.append(plain(f"No rule fired for {summary['report_date']}."))
    not_evaluated = sum(rule["status"] == "not_evaluated" for rule in insights["rules"])
    if not_evaluated:
        lines.append(plain(f"{not_evaluated} of {len(insights['rules'])} rules not evaluated "
                           "(--verbose with --format table says why).", None, "dim"))
    return _panel(Group(*lines), "Insights · sources in brackets")


def dashboard_view(summary: Mapping[str, Any], verbose: bool = False) -> RenderableType:
    """Boxes with bar gauges, :data:`DASHBOARD_WIDTH` columns wide: fleet liveness
    (telemetry), Prometheus counters with success-rate gauges, top tools and servers,
    insights with their sources."""
    return Group(_title(summary), _fleet_panel(summary), *_prometheus_panels(summary, verbose),
                 _insights_panel(summary, verbose))
