"""Tests of the chart modules, with the check every chart shares."""

PNG = b"\x89PNG\r\n\x1a\n"


def assert_deterministic_png(build) -> None:
    """``build()`` twice gives the same PNG bytes, and a real chart (over 10 kB)."""
    first, second = build(), build()
    assert first.startswith(PNG) and len(first) > 10_000
    assert first == second


def hbar_lengths(ax) -> list[float]:
    """The lengths of the horizontal bars ``style.hbars`` drew on ``ax`` (one collection), top row first."""
    (bars,) = ax.collections
    return [float(path.vertices[:, 0].max() - path.vertices[:, 0].min()) for path in bars.get_paths()]


def hbar_colors(ax) -> list:
    """The fill colours (RGBA) of the horizontal bars ``style.hbars`` drew on ``ax``, top row first."""
    (bars,) = ax.collections
    return list(bars.get_facecolors())
