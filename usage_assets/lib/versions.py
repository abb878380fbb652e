"""Version strings: release tags versus internal builds, and a semantic sort key."""

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


def semver_key(version: str) -> tuple[tuple[int, ...], str]:
    """Sort key: numeric ``MAJOR.MINOR.PATCH`` of the part before any ``-``, then the string.

    Leading ``v`` is ignored and non-numeric parts count as 0, so ``v1.10.0`` sorts
    after ``1.9.3`` and ``dev`` sorts first.
    """
    core = version.lstrip("vV").split("-", 1)[0]
    numbers = tuple(int(part) if part.isdigit() else 0 for part in core.split("."))
    return numbers, version
