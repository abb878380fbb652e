"""Written commentary for report sections, read from a JSON file (reference section 8).

A maintainer (or a language model working from the report) may add a short paragraph to any
of the report's :data:`COMMENTARY_SECTIONS`; the report shows it as one italic line
``_Commentary: ..._`` in that section, and nothing where there is none. The ids are the
reference's 23 commentary anchors (reference 7.3), in template order.

Differences from the reference, and why: the reference pastes the text into the rendered
Markdown as is; here it is untrusted input like telemetry, so it is escaped
(:func:`usage_assets.report.render.escape_markdown`) and cannot add HTML, links or table
cells. An unknown section id, or a value that is not a string, is an error instead of
being ignored, so a misspelt id cannot drop a paragraph silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from usage_assets.storage.store import Store

COMMENTARY_SECTIONS = (
    "executive_summary",
    "cloud_installs",
    "deployment_distribution",
    "lifetime_by_compute",
    "lifetime_retention",
    "liveness",
    "engagement",
    "compute_platform",
    "version_adoption",
    "prod_internal",
    "upgrade_trajectories",
    "feature_adoption",
    "auth_path",
    "sticky_breakdown",
    "most_active",
    "install_forecast",
    "daily_reporters",
    "ltv_arr",
    "adoption_funnel",
    "cloud_detection",
    "github",
    "architecture",
    "recommendations",
)
#: Name of the commentary file in a report's folder.
COMMENTARY_FILE = "commentary.json"
#: The key of the wrapped form ``{"commentary": {...}}``.
WRAPPER_KEY = "commentary"


class CommentaryError(ValueError):
    """The commentary file cannot be used; the message names the file and the problem."""


def load_commentary(path: Path) -> dict[str, str]:
    """Commentary by section id from the JSON file at ``path``, in :data:`COMMENTARY_SECTIONS` order.

    The file holds either ``{section_id: text}`` or ``{"commentary": {section_id: text}}``.
    Texts are stripped; empty ones are dropped. A missing file gives ``{}``. Raises
    :class:`CommentaryError` when the file cannot be read, is not UTF-8 JSON, is not an
    object of that shape, has a value that is not a string, or names a section id not in
    :data:`COMMENTARY_SECTIONS` (the message lists the valid ids).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise CommentaryError(f"{path}: cannot be read as UTF-8 text ({type(error).__name__})") from None
    return parse_commentary(raw, path)


def read_commentary(reports: Store, day: date) -> tuple[dict[str, str], bytes | None]:
    """The commentary of the report folder of ``day`` in ``reports`` (the folder the last
    report of that day was written to, local or in S3), parsed as :func:`load_commentary`
    does, and the file's bytes, to keep it in the next folder; ``({}, None)`` without one."""
    folder = reports.folder_key(day.isoformat())
    key = f"{folder}/{COMMENTARY_FILE}" if folder else None
    if key is None or not reports.exists(key):
        return {}, None
    raw = reports.read_bytes(key)
    return parse_commentary(raw, reports.location(key)), raw


def parse_commentary(raw: bytes, path: Path | str) -> dict[str, str]:
    """Commentary by section id from the bytes of a commentary file (``path`` names it in
    errors); raises :class:`CommentaryError` as :func:`load_commentary` does."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CommentaryError(f"{path}: cannot be read as UTF-8 text ({type(error).__name__})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise CommentaryError(f"{path}: not valid JSON ({error.msg} at {where})") from None
    if isinstance(document, dict) and WRAPPER_KEY in document:
        extra = sorted(key for key in document if key != WRAPPER_KEY)
        if extra:
            raise CommentaryError(f"{path}: keys next to {WRAPPER_KEY!r} are not allowed: {', '.join(extra)}")
        document = document[WRAPPER_KEY]
    if not isinstance(document, dict):
        raise CommentaryError(
            f"{path}: expected a JSON object {{section_id: text}} or {{{WRAPPER_KEY!r}: {{section_id: text}}}}"
        )
    unknown = sorted(key for key in document if key not in COMMENTARY_SECTIONS)
    if unknown:
        raise CommentaryError(
            f"{path}: unknown section id(s) {', '.join(map(repr, unknown))}; "
            f"valid ids: {', '.join(COMMENTARY_SECTIONS)}"
        )
    not_text = [key for key in COMMENTARY_SECTIONS if key in document and not isinstance(document[key], str)]
    if not_text:
        raise CommentaryError(f"{path}: the commentary of {', '.join(not_text)} is not a string")
    texts = {key: document[key].strip() for key in COMMENTARY_SECTIONS if key in document}
    return {key: text for key, text in texts.items() if text}


def commentary_markdown(commentary: Mapping[str, str], section_id: str) -> str:
    """The Markdown line of ``section_id``'s commentary, ``_Commentary: <escaped text>_``, or
    ``""`` when it has none. Raises ``ValueError`` for an id not in :data:`COMMENTARY_SECTIONS`
    (a template error)."""
    # Imported here so that report.py can use this module without an import cycle.
    from usage_assets.report.render import escape_markdown

    if section_id not in COMMENTARY_SECTIONS:
        raise ValueError(f"{section_id!r} is not a commentary section; valid ids: {', '.join(COMMENTARY_SECTIONS)}")
    text = escape_markdown(commentary.get(section_id, ""), None)
    return f"_Commentary: {text}_" if text else ""
