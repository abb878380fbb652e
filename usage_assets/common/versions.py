"""One spelling per version: ``v1.35.0`` and ``1.35.0`` are the same release.

Collectors report the same release tag with and without a leading ``v``. Counts per
version (version adoption, builds by version, cloud detection by version) and upgrade
trajectories group by :func:`normalized_version`, and keep the original spellings beside
each version (:func:`version_spellings`), so nothing reported is hidden.
"""

from __future__ import annotations

import polars as pl

# A "v" or "V" in front of a digit is a spelling of the tag, not part of the version.
_V_PREFIX = r"^[vV](\d)"


def normalized_version(column: str | pl.Expr) -> pl.Expr:
    """The String ``column`` without a ``v``/``V`` in front of its first digit:
    ``"v1.35.0"`` -> ``"1.35.0"``; anything else (``"vdev"``, a hash, ``""``, null) is
    unchanged. Keeps the column's name."""
    expression = pl.col(column) if isinstance(column, str) else column
    return expression.str.replace(_V_PREFIX, "${1}")


def version_spellings(column: str) -> pl.Expr:
    """Aggregation: the distinct original spellings of ``column`` in a group, sorted
    (``["1.35.0", "v1.35.0"]``); use with ``group_by(normalized_version(column))``."""
    return pl.col(column).drop_nulls().unique().sort().alias("spellings")
