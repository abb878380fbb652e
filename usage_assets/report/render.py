"""Render the usage report (Markdown and self-contained HTML) from computed values only.

The report is written once, as Markdown, by the jinja2 template ``report.md.j2`` from one
context dict; the HTML page is that Markdown rendered by markdown-it (CommonMark plus
tables, raw HTML disabled) inside the ``report.html.j2`` shell, with every chart embedded
as a ``data:`` URI. So the two formats cannot say different things. No number is typed
into a template: every figure is a value of the context, built from the metric assets.
Every string that came from telemetry goes through :func:`escape_markdown` (pipes,
emphasis, brackets and HTML made inert), which also keeps it inert in the HTML.
"""

from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin

from usage_assets.common.formatting import format_pct, plural, printable
from usage_assets.storage.store import LocalStore, Store

# Characters that can start Markdown syntax inside a line. "(" and "!" only act after
# "]" or before "[", which are escaped; "#" and "+" only at a line start, and escaped
# text never starts a line.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
#: Telemetry strings longer than this are cut in tables (junk can be 200 characters long).
MAX_CELL_CHARS = 60


def clean_text(value: Any, limit: int | None = MAX_CELL_CHARS) -> str:
    """:func:`usage_assets.common.formatting.printable` with the report's cell length as default."""
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


def format_decimals(value: float | None, places: int = 2) -> str:
    """A number with ``places`` decimals and thousands separators; None as an em dash."""
    return "—" if value is None else f"{value:,.{places}f}"


def format_usd(value: float | None, places: int = 2) -> str:
    """US dollars: ``$1,234.56`` (``places`` decimals); None as an em dash."""
    return "—" if value is None else f"${value:,.{places}f}"


def format_musd(value: float | None) -> str:
    """Millions of US dollars: ``$1.23M``; under $10,000 in whole dollars (``$833``), where
    two decimals of millions would print ``$0.00M``; None as an em dash."""
    if value is None:
        return "—"
    return f"${value:,.2f}M" if value >= 0.01 else f"${value * 1e6:,.0f}"


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return jinja2.FileSystemBytecodeCache()
    except RuntimeError:  # no safe per-user temporary folder: compile every time
        return None


@functools.cache
def _environment(templates_dir: Path) -> jinja2.Environment:
    # One per process (a range run renders a report per day), and the compiled templates
    # kept in jinja's per-user cache folder, so a process does not compile them again
    # (a tenth of a second); a template edited on disk is compiled again.
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        bytecode_cache=_bytecode_cache(),
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
        num2=format_decimals,
        usd0=lambda value: format_usd(value, 0),
        usd2=format_usd,
        usd6=lambda value: format_usd(value, 6),
        musd=format_musd,
        plural=plural,
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


def markdown_to_html(markdown: str, images: Mapping[str, str]) -> str:
    """HTML body of the report's Markdown.

    ``images`` maps each image file name the Markdown refers to (``chart.png``) to the
    ``src`` the page uses instead (a ``data:`` URI), so the page needs no other file and
    makes no request. Raw HTML in the Markdown is shown as text, never interpreted.
    Level-2 and level-3 headings get ``id`` anchors (slugs of their text).
    Raises ``KeyError`` naming an image the mapping lacks.
    """
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    anchors_plugin(renderer, min_level=2, max_level=3)

    def embedded_image(self, tokens, index, options, env):
        token = tokens[index]
        name = str(token.attrGet("src"))
        if name not in images:
            raise KeyError(f"the report refers to image {name!r}, which was not drawn")
        token.attrSet("src", images[name])
        return self.image(tokens, index, options, env)

    renderer.add_render_rule("image", embedded_image)
    return renderer.render(markdown)


def render_report(templates_dir: Path, context: Mapping[str, Any]) -> tuple[str, str]:
    """(Markdown, HTML) of the report.

    ``context["charts"]`` maps chart stems to ``{"file", "caption", "uri"}``; the HTML
    embeds each ``file`` as its ``uri``. Raises ``jinja2.UndefinedError`` when the
    context lacks a value a template uses, instead of printing a placeholder.
    """
    environment = _environment(templates_dir)
    markdown = environment.get_template("report.md.j2").render(context)
    images = {chart["file"]: chart["uri"] for chart in context["charts"].values()}
    body = markdown_to_html(markdown, images)
    page = environment.get_template("report.html.j2").render({**context, "body": markupsafe.Markup(body)})
    return markdown, page


def write_report_folder(
    reports: Path | Store,
    day: date,
    markdown: str,
    page: str,
    charts: list[Chart],
    sidecars: Mapping[str, bytes],
) -> Path | str:
    """Write ``<reports>/<day>/`` as a whole, replacing any previous folder; returns where
    its files are (a folder, or an ``s3://`` URL prefix when ``reports`` is in S3).

    ``reports``: the reports folder, or the store holding the report folders
    (:class:`usage_assets.storage.store.Store`). Files: ``usage-report-D.md``,
    ``usage-report-D.html``, every chart PNG under its reference name, and each
    ``sidecars`` entry (file name -> bytes). Written all or nothing
    (:meth:`usage_assets.storage.store.Store.write_folder`: on local disk assembled beside
    the target and renamed into place, in S3 published by a manifest), so a failure
    leaves the previous report untouched and never a partial one. Raises
    :class:`usage_assets.storage.disk.LocalDiskError` naming the folder when the disk
    refuses the write (full, read-only, ...).
    """
    store = reports if isinstance(reports, Store) else LocalStore(reports)
    stamp = day.isoformat()
    files = {
        f"usage-report-{stamp}.md": markdown.encode("utf-8"),
        f"usage-report-{stamp}.html": page.encode("utf-8"),
        **{chart.filename(day): chart.png for chart in charts},
        **sidecars,
    }
    return store.write_folder(stamp, files)
