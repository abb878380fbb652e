"""Who counts as a customer: the one internal-install rule used everywhere.

An install is **internal** when its registry_id is in the allowlist file
(``known-internal-instances.md``: every backticked UUID on any line; a truncated id such
as ``1a2b3c4d-5e...`` matches every id that starts with it) or when its latest non-empty
``internal_only_deployment`` is true. Everything else is a customer. The reference parses
the allowlist three different ways and ignores the telemetry flag (quirks 20, 21); this
module is the single rule that replaces them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

_BACKTICKED = re.compile(r"`([^`\n]+)`")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# A truncated id must keep at least the first 8 hex digits, so it cannot match half the fleet.
_UUID_PREFIX = re.compile(r"^[0-9a-f]{8}(-[0-9a-f-]{0,27})?$")

REASON_ALLOWLIST = "allowlist"
REASON_FLAG = "internal_only_deployment flag"


@dataclass(frozen=True)
class InternalAllowlist:
    """Parsed allowlist: full ids (exact match) and truncated ids (prefix match)."""

    full_ids: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, text: str) -> "InternalAllowlist":
        """Every backticked UUID or truncated UUID on any line; other backticked text is ignored."""
        full, prefixes = set(), set()
        for token in _BACKTICKED.findall(text):
            token = token.strip().lower().rstrip(".…")
            if _UUID.match(token):
                full.add(token)
            elif _UUID_PREFIX.match(token):
                prefixes.add(token)
        return cls(frozenset(full), tuple(sorted(prefixes)))

    @classmethod
    def from_file(cls, path: Path | str | None) -> "InternalAllowlist":
        """Read an allowlist file; ``None`` gives an empty list.

        Raises ``FileNotFoundError`` with the path when a given file does not exist
        (a mistyped path must not silently count internal installs as customers).
        """
        if path is None:
            return cls()
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"internal-instances allowlist not found: {path}")
        return cls.from_text(path.read_text(encoding="utf-8"))

    def matches(self) -> pl.Expr:
        """Boolean expression: ``registry_id`` is on the allowlist."""
        registry_id = pl.col("registry_id").str.to_lowercase()
        matched = registry_id.is_in(list(self.full_ids))
        for prefix in self.prefixes:
            matched = matched | registry_id.str.starts_with(prefix)
        return matched.fill_null(False)

    def __len__(self) -> int:
        return len(self.full_ids) + len(self.prefixes)


def classify_internal(instances: pl.DataFrame, allowlist: InternalAllowlist) -> pl.DataFrame:
    """Add ``is_internal`` (Boolean) and ``internal_reason`` to a one-row-per-install frame.

    Needs columns ``registry_id`` and ``internal_only_deployment`` (latest non-empty
    value, Boolean or null). ``internal_reason`` is ``"allowlist"``,
    ``"internal_only_deployment flag"``, both joined by ``"; "``, or null for customers.
    """
    listed = allowlist.matches()
    flagged = pl.col("internal_only_deployment").fill_null(False)
    reason = pl.concat_str(
        [pl.when(listed).then(pl.lit(REASON_ALLOWLIST)), pl.when(flagged).then(pl.lit(REASON_FLAG))],
        separator="; ",
        ignore_nulls=True,
    )
    return instances.with_columns(
        (listed | flagged).alias("is_internal"),
        pl.when(listed | flagged).then(reason).alias("internal_reason"),
    )


def customers(instances: pl.DataFrame) -> pl.DataFrame:
    """The customer rows (not internal) of an ``instances`` table."""
    return instances.filter(~pl.col("is_internal"))


def customer_ids(instances: pl.DataFrame) -> list[str]:
    """registry_ids of the customer installs (not internal) of an ``instances`` table."""
    return customers(instances)["registry_id"].to_list()
