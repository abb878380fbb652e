"""Matplotlib's Agg canvas, with the text work remembered from one chart to the next.

Text is most of a chart's cost. For every string, stock Agg measures it once per renderer
(each figure gets its own renderer, so the same tick label is measured again in every
chart), shapes it again to draw it, and rasterises each of its glyphs with FreeType at its
exact position. :class:`ChartCanvas` draws the same pixels while keeping, for the life of
the process:

- a string's measured size (width, height, descent in pixels) per font and DPI;
- a string's shaped glyph run (glyph and offset per character) per font and DPI;
- a glyph's bitmap per font, size, glyph and *sub-pixel* offset: FreeType rasterises an
  outline moved by a whole pixel into the same bitmap moved by that pixel, so a glyph
  needs rasterising once per fraction of a pixel it lands on (half the glyphs of the
  15 charts are repeats);
- a font's line metrics (ascent, descent and gap from its OS/2 table), which every text
  layout otherwise reads from the font file's tables again.

Everything cached is a pure function of its key (the font file, size, DPI, hinting and
the string or glyph), so the PNG is byte for byte the one stock Agg draws
(``usage_assets_tests/charts/test_agg.py`` compares them). The glyph cache follows the
per-glyph drawing of matplotlib 3.11 (``RendererAgg._draw_text_glyphs_and_boxes``); with
an older matplotlib, which draws a string in one piece, only the measurements are kept.
Matplotlib's Agg is not thread-safe, and neither is this: draw one figure at a time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import FontProperties, fontManager, get_font
from matplotlib.ft2font import FT2Font

#: Entries per cache before it is emptied: far more than the 15 charts need (about 500
#: strings and 3,500 distinct glyph positions), a bound for a long-lived process.
CACHE_LIMIT = 50_000

#: Whether matplotlib draws a string glyph by glyph (3.11 and later), which the glyph
#: cache stands in for.
GLYPH_BY_GLYPH = all(
    hasattr(owner, name)
    for owner, name in (
        (RendererAgg, "_draw_text_glyphs_and_boxes"),
        (FT2Font, "_layout"),
        (FT2Font, "_render_glyph"),
        (FT2Font, "_set_transform"),
    )
)

_metrics: dict[tuple, tuple[float, float, float]] = {}
_line_metrics: dict[tuple, tuple[float, float, float]] = {}
_runs: dict[tuple, list[tuple[FT2Font, int, float, float]]] = {}
_glyphs: dict[tuple, tuple[np.ndarray, int, int]] = {}


def clear_caches() -> None:
    """Forget every string and glyph: the next drawing starts cold, as a new process's does."""
    for cache in (_metrics, _line_metrics, _runs, _glyphs):
        cache.clear()


def _remember(cache: dict, key: tuple, value: Any) -> Any:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _font_key(prop: FontProperties, dpi: float) -> tuple:
    """What a string's metrics depend on besides the string: the font files the
    properties resolve to (under the current rcParams), the size, DPI and hinting."""
    return (tuple(fontManager._find_fonts_by_props(prop)), prop.get_size_in_points(), dpi, get_hinting_flag())


class ChartRenderer(RendererAgg):
    """:class:`~matplotlib.backends.backend_agg.RendererAgg` with the process-wide text
    caches described in the module docstring; pixels identical to its parent's."""

    def get_text_width_height_descent(self, s: str, prop: FontProperties, ismath: Any) -> tuple[float, float, float]:
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (s, *_font_key(prop, self.dpi))
        found = _metrics.get(key)
        if found is None:
            found = _remember(_metrics, key, super().get_text_width_height_descent(s, prop, ismath))
        return found

    def _get_font_height_metrics(self, prop: FontProperties) -> tuple[float | None, float | None, float | None]:
        # The hook ``Text._get_layout`` asks a renderer for before reading the font's tables
        # itself; the same reading and arithmetic, done once per font and size.
        key = _font_key(prop, self.dpi)
        found = _line_metrics.get(key)
        if found is None:
            found = _remember(_line_metrics, key, _read_line_metrics(prop, self.dpi))
        return found

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath or not GLYPH_BY_GLYPH:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        flags = get_hinting_flag()
        key = (s, *_font_key(prop, self.dpi), None if features is None else tuple(features), language)
        run = _runs.get(key)
        if run is None:
            font = self._prepare_font(prop)
            items = font._layout(s, flags=flags, features=features, language=language)
            run = _remember(_runs, key, [(item.ft_object, item.glyph_index, item.x, item.y) for item in items])
        self._draw_glyphs(gc, x, y, angle, prop.get_size_in_points(), run, flags)

    def _draw_glyphs(self, gc, x, y, angle, size, run, flags) -> None:
        """``RendererAgg._draw_text_glyphs_and_boxes`` for a shaped run, with each glyph's
        bitmap taken from the cache when it was rasterised at the same sub-pixel offset."""
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        # The glyph transform as FreeType's 16.16 fixed-point matrix (no slant, no stretch).
        matrix = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)
        matrix_key = tuple(matrix.ravel().tolist())
        antialiased = gc.get_antialiased()
        mode = _render_mode(antialiased)
        height = self.height
        for font, glyph_index, dx, dy in run:  # dy is upwards
            # The pen position in FreeType's 26.6 fixed point (y upwards): whole pixels
            # move the bitmap, the 1/64 fraction shapes it.
            px = round(0x40 * (x + dx * cos - dy * sin))
            py = round(0x40 * (height - y + dx * sin + dy * cos))
            key = (font.fname, size, self.dpi, glyph_index, flags, antialiased, matrix_key, px & 63, py & 63)
            glyph = _glyphs.get(key)
            if glyph is None:
                font.set_size(size, self.dpi)
                font._set_transform(matrix, [px & 63, py & 63])
                bitmap = font._render_glyph(glyph_index, flags, mode)
                buffer = bitmap.buffer
                if not antialiased:
                    buffer *= 0xFF
                glyph = _remember(_glyphs, key, (buffer, bitmap.left, bitmap.top))
            buffer, left, top = glyph
            # draw_text_image's y is downwards and names the bitmap's bottom row.
            self._renderer.draw_text_image(
                buffer, left + (px >> 6), int(height) - (top + (py >> 6)) + buffer.shape[0], 0, gc
            )


def _render_mode(antialiased: bool):
    # Imported here: RenderMode exists from matplotlib 3.11 on, like the glyph-by-glyph drawing.
    from matplotlib.ft2font import RenderMode

    return RenderMode.NORMAL if antialiased else RenderMode.MONO


def _read_line_metrics(prop: FontProperties, dpi: float) -> tuple[float | None, float | None, float | None]:
    """(ascent, descent, line gap) in pixels from the font's OS/2 table, else its hhea
    table, as ``matplotlib.text.Text._get_layout`` reads them; (None, None, None) lets
    matplotlib measure instead when the font has neither."""
    font = get_font(fontManager._find_fonts_by_props(prop))
    for table_name, gap_key, ascent_key, descent_key in (
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * prop.get_size_in_points() * dpi / 72
        return table[ascent_key] * scale, -table[descent_key] * scale, table[gap_key] * scale
    return None, None, None


class ChartCanvas(FigureCanvasAgg):
    """A :class:`~matplotlib.backends.backend_agg.FigureCanvasAgg` that draws with
    :class:`ChartRenderer`."""

    def get_renderer(self) -> ChartRenderer:
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = ChartRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer
