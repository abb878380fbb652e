"""Template values of the report's "Trends (Prometheus)" and "Insights" sections.

Turns the ``prometheus_trends`` and ``usage_insights`` documents into rows the two
templates print as they are. Label values from Prometheus (tool names, server names,
statuses) stay raw strings here: the templates escape them (``md`` / ``text`` filters).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from usage_assets.common.formatting import format_pct
from usage_assets.enrichment.prometheus_trends import BREAKDOWN_TITLES, history_note
from usage_assets.enrichment.trend_arithmetic import change_label

NOT_MATERIALIZED = "the prometheus_trends asset was not materialized for this day"


def sources_text(sources: list[str]) -> str:
    """``["prometheus", "telemetry"]`` -> ``"prometheus + telemetry"``."""
    return " + ".join(sources)


def count(value: float | None) -> int | None:
    """A count as a whole number (``140.0`` and ``139.98`` print as ``140``): Prometheus'
    ``increase()`` extrapolates, so its counts carry fractions no reader should compare."""
    return None if value is None else round(value)


def _trend_row(item: Mapping[str, Any]) -> dict:
    return {
        "current": count(item["current"]),
        "previous": count(item["previous"]),
        "change": change_label(item),
        "arrow": item["arrow"] or "",
    }


def prometheus_section(trends: Mapping[str, Any] | None) -> dict:
    """``{"used", "reason", "endpoint", "range_days", "current_days", "previous_days",
    "evaluated_at", "threshold_pct", "selector", "series": [row], "history_notes": [str],
    "tables": [{"title", "series", "label", "distinct", "rows"}]}``; ``used`` False with
    the reason when Prometheus was not used (or the asset is absent for this day).
    ``history_notes``: "not enough history (Prometheus holds ... from ...)" per series
    whose previous window Prometheus does not fully hold (its rows have no trend)."""
    if trends is None:
        return {"used": False, "reason": NOT_MATERIALIZED, "series": [], "tables": [], "history_notes": []}
    section = {
        "used": trends["status"] == "used",
        "reason": trends["reason"],
        "endpoint": trends["endpoint"],
        "range_days": trends["range_days"],
        "current_days": trends["windows"]["current"]["days"],
        "previous_days": trends["windows"]["previous"]["days"],
        "evaluated_at": trends["windows"]["evaluated_at"],
        "threshold_pct": trends["trend_threshold_pct"],
        "selector": trends.get("selector"),
        "series": [],
        "tables": [],
        "history_notes": [note for note in map(history_note, trends["series"]) if note],
    }
    for entry in trends["series"]:
        if entry["status"] != "found":
            section["series"].append({"name": entry["name"], "found": False, "hint": entry["hint"]})
            continue
        success = entry["success"]
        section["series"].append({
            "name": entry["name"],
            "found": True,
            **_trend_row(entry["increase"]),
            "success_now": format_pct(success["current"]["success_pct"]) if success else "—",
            "success_before": format_pct(success["previous"]["success_pct"]) if success else "—",
        })
        for label, title in BREAKDOWN_TITLES.items():
            breakdown = entry["breakdowns"].get(label)
            if breakdown and breakdown["top"]:
                section["tables"].append({
                    "title": title,
                    "series": entry["name"],
                    "label": label,
                    "distinct": breakdown["distinct_values"],
                    "rows": [{"value": row["value"], **_trend_row(row)} for row in breakdown["top"]],
                })
    return section


def insights_section(insights: Mapping[str, Any] | None) -> dict:
    """``{"available", "comparison_date", "comparison_reason", "telemetry": [row],
    "items": [insight with "sources_text"], "rules": [rule with "sources_text"]}``."""
    if insights is None:
        return {"available": False, "items": [], "rules": [], "telemetry": [],
                "comparison_date": None, "comparison_reason": "the usage_insights asset was not materialized"}
    # The Trends section says once why Prometheus was not used; the rules refer to it.
    unused = insights.get("prometheus", {}).get("reason")

    def rule_reason(reason: str) -> str:
        return reason.replace(unused, "see Trends (Prometheus)") if unused else reason

    return {
        "available": True,
        "range_days": insights["range_days"],
        "comparison_date": insights["comparison_date"],
        "comparison_reason": insights["comparison"]["reason"],
        "telemetry": [
            {"label": figure["label"], **_trend_row(insights["telemetry"][figure["key"]])}
            for figure in insights["telemetry_figures"]
        ],
        "items": [{**item, "sources_text": sources_text(item["sources"])} for item in insights["insights"]],
        "rules": [{**rule, "reason": rule_reason(rule["reason"]), "sources_text": sources_text(rule["sources"])}
                  for rule in insights["rules"]],
    }
