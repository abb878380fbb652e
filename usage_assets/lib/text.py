"""Text shown to people: one sanitiser for untrusted strings (report, charts, terminal) and
the shared percentage format."""

from __future__ import annotations

import unicodedata
from typing import Any

ELLIPSIS = "\u2026"
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


def format_pct(value: float | None) -> str:
    """A percentage with one decimal and a ``%`` sign; None as an em dash."""
    return "—" if value is None else f"{value:.1f}%"


def plural(count: int, noun: str) -> str:
    """``"1 install"``, ``"2,345 installs"``: a count with thousands separators and its noun."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
