"""Render the usage report (Markdown and self-contained HTML) from computed values only.

Both formats come from one context dict and two jinja2 templates (``report.md.j2``,
``report.html.j2``). No number is typed into a template: every figure is a value of the
context, which is built from the metric assets. Every string that came from telemetry
is escaped for its format: HTML by jinja2's autoescape (plus control characters removed),
Markdown by :func:`escape_markdown` (pipes, emphasis, brackets, raw HTML).
"""

from __future__ import annotations

import base64
import html
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from usage_assets.lib.fleet import pct
from usage_assets.lib.lake import canonical_json
from usage_assets.lib.text import format_pct, printable
from usage_assets.lib.report_trends import insights_section, prometheus_section

# Characters that can start Markdown syntax inside a line. "(" and "!" only act after
# "]" or before "[", which are escaped; "#" and "+" only at a line start, and escaped
# text never starts a line.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
#: Telemetry strings longer than this are cut in tables (junk can be 200 characters long).
MAX_CELL_CHARS = 60


def clean_text(value: Any, limit: int | None = MAX_CELL_CHARS) -> str:
    """:func:`usage_assets.lib.text.printable` with the report's cell length as default."""
    return printable(value, limit)


def escape_markdown(value: Any, limit: int | None = MAX_CELL_CHARS) -> str:
    """Make an untrusted string inert in Markdown, table cells included.

    HTML special characters become entities (so ``<script>`` shows as text in any
    renderer), Markdown punctuation is backslash-escaped (``|`` cannot split a table
    cell), control characters and newlines become spaces.
    """
    text = html.escape(clean_text(value, limit), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def format_number(value: Any) -> str:
    """Integers with thousands separators; floats with one decimal; None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _environment(templates_dir: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        md=escape_markdown,
        text=clean_text,
        num=format_number,
        pct=format_pct,
    )
    return environment


@dataclass(frozen=True)
class Chart:
    """One chart of the report: reference file stem, caption, PNG bytes."""

    stem: str
    caption: str
    png: bytes

    def filename(self, day: date) -> str:
        return f"{self.stem}-{day.isoformat()}.png"

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def render_report(templates_dir: Path, context: Mapping[str, Any]) -> tuple[str, str]:
    """(Markdown, HTML) of the report. Raises ``jinja2.UndefinedError`` when the
    context lacks a value a template uses, instead of printing a placeholder."""
    environment = _environment(templates_dir)
    markdown = environment.get_template("report.md.j2").render(context)
    page = environment.get_template("report.html.j2").render(context)
    return markdown, page


def write_report_folder(
    reports_dir: Path,
    day: date,
    markdown: str,
    page: str,
    charts: list[Chart],
    json_files: Mapping[str, Any],
) -> Path:
    """Write ``<reports_dir>/<day>/`` as a whole, replacing any previous folder.

    Files: ``usage-report-D.md``, ``usage-report-D.html``, every chart PNG under its
    reference name, and each ``json_files`` entry (name -> payload) as canonical JSON.
    The folder is assembled beside the target and renamed into place, so a failure
    leaves the previous report untouched and never a partial one.
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    target = reports_dir / day.isoformat()
    staging = Path(tempfile.mkdtemp(prefix=f".{day.isoformat()}.", dir=reports_dir))
    try:
        stamp = day.isoformat()
        (staging / f"usage-report-{stamp}.md").write_text(markdown, encoding="utf-8")
        (staging / f"usage-report-{stamp}.html").write_text(page, encoding="utf-8")
        for chart in charts:
            (staging / chart.filename(day)).write_bytes(chart.png)
        for name, payload in json_files.items():
            (staging / name).write_bytes(canonical_json(payload))
        staging.chmod(0o755)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _swap_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is moved aside first and put
    back if the rename fails, so there is always either the old or the new folder."""
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    target.rename(retired / "report")
    try:
        staging.rename(target)
    except BaseException:
        (retired / "report").rename(target)
        shutil.rmtree(retired, ignore_errors=True)
        raise
    shutil.rmtree(retired)


LIVENESS_TIERS = (
    ("confirmed", "Confirmed Alive", "at least 5 heartbeats in the last 7 days"),
    ("stronger", "Stronger Alive", "at least 10 heartbeats in the last 14 days"),
    ("likely", "Likely Alive", "any event in the last 7 days"),
    ("silent_but_recent", "Silent but recent", "Likely Alive but not Confirmed"),
    ("dormant", "Dormant", "no event in the last 14 days"),
)
#: Version rows shown in the report table; the JSON sidecar keeps all of them.
VERSION_ROWS = 15


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def summary_sentences(fleet: Mapping[str, Any], liveness: Mapping[str, Any]) -> list[str]:
    """The executive summary, generated from the numbers (no fixed prose to go stale).

    Only counts, percentages, dates and ids in :func:`usage_assets.lib.fleet.short_id`
    form (hex digits and dashes only) appear, so the sentences are safe to print in
    either format without escaping.
    """
    key = fleet["key_metrics"]
    sticky = fleet["stickiness"]
    active = fleet["active_on_report_date"]
    internal = len(fleet["internal_instance_ids"])
    counts = liveness["counts"]
    sentences = [
        f"{_plural(key['identified_instances'], 'install')} reported telemetry up to {fleet['report_date']} "
        f"({_plural(sticky['total_non_internal'], 'customer install')}, {internal:,} internal).",
        f"On {fleet['report_date']}, {_plural(active['customers'], 'customer install')} reported in and "
        f"{_plural(active['new_installs'], 'install')} appeared for the first time.",
    ]
    if counts["customer_total"]:
        sentences.append(
            f"{counts['confirmed']:,} customer installs are Confirmed Alive "
            f"({format_pct(100.0 * counts['confirmed'] / counts['customer_total'])} of customers) and "
            f"{counts['likely']:,} reported in the last 7 days."
        )
    if sticky["total_non_internal"]:
        sentences.append(
            f"{format_pct(sticky['one_day_wonder_pct'])} of customer installs were one-day wonders; "
            f"{sticky['sticky_3plus_days']:,} stayed 3 days or more, and the longest-lived customer "
            f"({sticky['longest_non_internal_id']}) has reported for {sticky['longest_non_internal_days']:,} days."
        )
    return sentences


def build_report_context(
    day: date,
    source: str,
    fleet: Mapping[str, Any],
    liveness: Mapping[str, Any],
    ingest_stats: Mapping[str, Any],
    charts: list[Chart],
    trends: Mapping[str, Any] | None = None,
    insights: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context: every value the report shows, computed, never typed.

    ``fleet``: ``fleet_summary`` JSON; ``liveness``: ``liveness`` JSON; ``ingest_stats``:
    day D's ingest counts (fetched, valid, duplicates, rejected, rejects_by_reason);
    ``charts``: the rendered charts; ``trends``: ``prometheus_trends`` JSON and
    ``insights``: ``usage_insights`` JSON (None: the section says they are absent).
    """
    key = fleet["key_metrics"]
    sticky = fleet["stickiness"]
    customers = liveness["counts"]["customer_total"]
    identified = key["identified_instances"]
    earliest, latest = key["earliest_ts"], key["latest_ts"]
    period_days = (
        (date.fromisoformat(latest[:10]) - date.fromisoformat(earliest[:10])).days if earliest != "N/A" else 0
    )
    versions = fleet["version_adoption"]
    return {
        "report_date": day.isoformat(),
        "source": source,
        "period": {"earliest": earliest, "latest": latest, "days": period_days},
        "summary_sentences": summary_sentences(fleet, liveness),
        "key_metrics": [
            ("Events (startup + heartbeat)", key["total_events"]),
            ("Startup events", key["startup_events"]),
            ("Heartbeat events", key["heartbeat_events"]),
            ("Identified installs", identified),
            ("Customer installs", sticky["total_non_internal"]),
            ("Internal installs", len(fleet["internal_instance_ids"])),
            ("Events without registry_id", key["null_registry_id_count"]),
        ],
        "clouds": [
            {"cloud": cloud, "installs": n, "pct": pct(n, identified)}
            for cloud, n in sorted(fleet["per_cloud_unique_installs"].items(), key=lambda item: (-item[1], item[0]))
        ],
        "liveness": [
            {
                "tier": label,
                "definition": definition,
                "count": liveness["counts"][name],
                "pct": pct(liveness["counts"][name], customers),
            }
            for name, label, definition in LIVENESS_TIERS
        ],
        "customer_total": customers,
        "liveness_windows": liveness["windows"],
        "stickiness": [
            {"label": "One-day wonders (all events on one UTC day)", "count": sticky["one_day_wonders"],
             "pct": sticky["one_day_wonder_pct"]},
            *[
                {"label": f"Reported over {threshold}+ days", "count": count,
                 "pct": sticky["lifetime_bucket_pct"][threshold]}
                for threshold, count in sorted(sticky["lifetime_bucket_counts"].items(), key=lambda item: int(item[0]))
            ],
        ],
        "lifetime": fleet["customer_lifetime"],
        "versions": versions[:VERSION_ROWS],
        "versions_more": max(0, len(versions) - VERSION_ROWS),
        "internal": fleet["internal_instances"],
        "quality": {
            **ingest_stats,
            "rejects_by_reason": sorted(ingest_stats["rejects_by_reason"].items(), key=lambda item: (-item[1], item[0])),
            "unidentified_events": key["null_registry_id_count"],
        },
        "charts": {chart.stem: {"file": chart.filename(day), "caption": chart.caption, "uri": chart.data_uri()}
                   for chart in charts},
        "prometheus": prometheus_section(trends),
        "insights": insights_section(insights),
    }
