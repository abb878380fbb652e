"""Tests of the chart modules, with the check every chart shares."""

PNG = b"\x89PNG\r\n\x1a\n"


def assert_deterministic_png(build) -> None:
    """``build()`` twice gives the same PNG bytes, and a real chart (over 10 kB)."""
    first, second = build(), build()
    assert first.startswith(PNG) and len(first) > 10_000
    assert first == second
