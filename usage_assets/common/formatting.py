"""Text and numbers shown to people: one sanitiser for untrusted strings (report, charts,
terminal), the display form of an install id, and the shared percentage formats."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

ELLIPSIS = "\u2026"
#: How a missing facet value (cloud, compute, ...) is shown and counted.
UNKNOWN = "unknown"
# Line and tab-like characters become spaces; every other control is dropped.
_WHITESPACE_CONTROLS = dict.fromkeys(map(ord, "\t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029"), " ")


def printable(value: Any, limit: int | None = None) -> str:
    """``value`` as text with no control or format characters, at most ``limit`` characters.

    Every character of Unicode category C (controls such as ANSI escapes, format
    characters such as bidi overrides and zero-width spaces, surrogates, private use,
    unassigned) is removed, line breaks and tabs become spaces, runs of white space
    collapse to one and the ends are trimmed. A longer result is cut to ``limit - 1``
    characters plus ``"…"``. ``None`` gives an empty string.
    """
    text = ("" if value is None else str(value)).translate(_WHITESPACE_CONTROLS)
    text = " ".join("".join(ch for ch in text if not unicodedata.category(ch).startswith("C")).split())
    if limit is not None and len(text) > limit:
        return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    return text


def known_first(values: Iterable[str], known: Sequence[str]) -> list[str]:
    """The distinct ``values`` in the order of ``known``, then any other value by name.

    For breakdowns over a list of known categories (volume buckets, compute platforms,
    detection methods) that must still show a value a newer registry sends.
    """
    distinct = set(values)
    return [name for name in known if name in distinct] + sorted(distinct - set(known))


def format_pct(value: float | None) -> str:
    """A percentage with one decimal and a ``%`` sign; None as an em dash."""
    return "—" if value is None else f"{value:.1f}%"


def format_count(value: float | None) -> str:
    """A count as a whole number with thousands separators (``65,281``); None as an em dash.

    Prometheus' ``increase()`` extrapolates to the window edges, so its counts carry
    fractions (``16.98`` for 17 events); every count is shown rounded, so one table never
    mixes ``11.0`` and ``2``.
    """
    return "—" if value is None else f"{round(value):,}"


def short_count(value: float | None) -> str:
    """A count in at most 6 characters (below a trillion) for narrow columns: whole numbers below 10,000
    (``9,999``), then thousands, millions and billions with one decimal (``65.3k``,
    ``6.5M``, ``1.2B``); None as an em dash. Never cut: a cut ``65,281`` reads as ``65,2``."""
    if value is None:
        return "—"
    whole = round(value)
    if abs(whole) < 10_000:
        return f"{whole:,}"
    for divisor, suffix in ((1e3, "k"), (1e6, "M")):
        if round(abs(whole) / divisor, 1) < 1000:  # 999,950 is 1.0M, not 1000.0k
            return f"{whole / divisor:.1f}{suffix}"
    return f"{whole / 1e9:,.1f}B"


def plural(count: int, noun: str) -> str:
    """``"1 install"``, ``"2,345 installs"``: a count with thousands separators and its noun."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"

def short_id(registry_id: str | None) -> str | None:
    """The reference's display form of an id: first 12 characters and ``...``.

    Ids are untrusted (the collector only caps them at 36 characters), so any character
    other than a hex digit or ``-`` is shown as ``?``: the result is safe in Markdown,
    HTML and a terminal without further escaping.
    """
    return None if registry_id is None else re.sub(r"[^0-9A-Fa-f-]", "?", registry_id[:12]) + "..."


def pct(part: int, whole: int) -> float:
    """``100 * part / whole`` rounded to one decimal; 0.0 when ``whole`` is 0."""
    return round(100.0 * part / whole, 1) if whole else 0.0
