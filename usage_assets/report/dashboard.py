"""The report's first screen as Markdown for the Dagster UI: the executive summary, the
headline chart and the D-1 / D-7 comparison table of the ``usage_report`` asset.

Built from the same template context as the report (:func:`usage_assets.report.sections.build_report_context`),
so the UI and the report never disagree. The summary sentences hold only computed numbers,
dates and hex short ids (telemetry they quote is escaped where they are made); the source's
description is escaped here. The UI renders GitHub-flavoured Markdown (tables) and shows
``data:`` images.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from usage_assets.common.formatting import format_pct
from usage_assets.report.render import escape_markdown, format_number


def _cell(kind: str, value: Any) -> str:
    return format_pct(value) if kind == "pct" else format_number(value)


def comparison_table(comparison: Mapping[str, Any], report_date: str) -> list[str]:
    """The comparison table's Markdown lines (``comparison``: the context's ``comparison``)."""
    day_before, week_before = comparison["day_before"], comparison["week_before"]
    lines = [
        f"| Metric | {report_date} | {day_before} (D-1) | Change | {week_before} (D-7) | Change |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in comparison["rows"]:
        label = escape_markdown(row["label"] + (", to date" if row["to_date"] else ""), None)
        kind = row["kind"]
        lines.append(
            f"| {label} | {_cell(kind, row['current'])} | {_cell(kind, row['day_before'])} | {row['day_change']} "
            f"| {_cell(kind, row['week_before'])} | {row['week_change']} |"
        )
    return lines


def summary_markdown(context: Mapping[str, Any], headline_png: bytes | None, headline_caption: str) -> str:
    """Markdown of the report's executive summary for ``context`` (the report's template
    context): a title, the source, the summary sentences, ``headline_png`` as an inline
    ``data:`` image (left out when None) and the comparison table with D-1 and D-7.

    Its size is the image's base64 plus about 2 KB of text: pass a thumbnail, not the
    report's chart, since Dagster keeps metadata in its event log.
    """
    report_date = context["report_date"]
    comparison = context["comparison"]
    lines = [
        f"### Usage report — {report_date} (UTC)",
        "",
        f"Source: {escape_markdown(context['source'], None)}",
        "",
        *[line for sentence in context["summary_sentences"] for line in (sentence, "")],
    ]
    if headline_png is not None:
        encoded = base64.b64encode(headline_png).decode("ascii")
        lines += [f"![{escape_markdown(headline_caption, None)}](data:image/png;base64,{encoded})", ""]
    lines += [f"#### Compared with {comparison['day_before']} (D-1) and {comparison['week_before']} (D-7)", ""]
    for day, change in (("day_before", "day-over-day"), ("week_before", "week-over-week")):
        if not comparison[f"has_{day}"]:
            lines += [f"No metrics exist for {comparison[day]}, so there is no {change} change.", ""]
    lines += comparison_table(comparison, report_date)
    return "\n".join(lines) + "\n"
