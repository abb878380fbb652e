"""Version strings: release tags versus internal builds."""

from __future__ import annotations

import re

# A release tag as published (optionally "v"-prefixed, optionally a "-pN" patch suffix);
# git-describe output, bare hashes and "dev" are internal builds (reference 6.11).
_RELEASE_TAG = re.compile(r"^v?\d+\.\d+\.\d+(-p\d+)?$")


def build_kind(version: str | None) -> str:
    """``"community"`` for a release tag, ``"internal"`` for any other build, ``"unknown"`` if empty."""
    if not version:
        return "unknown"
    return "community" if _RELEASE_TAG.match(version) else "internal"
