"""Repainting only the cells that changed: for the ages that tick every second.

Textual sends a partial repaint of a widget from the widget's left edge up to the right end of the region marked
dirty (``ChopsUpdate`` crops only on the right).  So a line whose age changed is cheapest when only the cells up to
the last changed one are marked: :func:`changed_cells` finds that cell, :class:`TickingLine` is a one-line widget
that repaints just that much, :class:`LineBody` does it for every line of a pane's body, and
:class:`cockpit.widgets.pane.Pane` for the freshness line in its bottom border.  Nothing else on the screen is
touched by the once-a-second tick, and a pane whose data changed repaints only the cells that look different.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.console import RenderableType
from rich.segment import Segment
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


def _cells(segments: Iterable[Segment]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for segment in segments:
        if segment.control:
            continue
        style = segment.style
        for char in segment.text:
            width = cell_len(char)
            if width == 0 and out:  # a combining mark belongs to the cell before it
                out[-1] = (out[-1][0] + char, out[-1][1])
                continue
            out.append((char, style))
            if width == 2:
                out.append(("", style))
    return out


def changed_cells(old: Iterable[Segment], new: Iterable[Segment]) -> int:
    """How many cells, from the left edge, must be repainted to turn line ``old`` into ``new`` (0: none)."""
    before, after = _cells(old), _cells(new)
    if len(before) != len(after):  # the cells past the shorter line change either way
        return max(len(before), len(after))
    for index in range(len(after) - 1, -1, -1):
        if before[index] != after[index]:
            return index + 1
    return 0


class TickingLine(Widget):
    """One line of text (a summary with ages in it) that repaints only up to its last changed cell."""

    DEFAULT_CSS = """
    TickingLine { height: 1; }
    """

    def __init__(self, text: Text | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text = text if text is not None else Text()

    @property
    def text(self) -> Text:
        return self._text

    def render(self) -> Text:
        return self._text

    def show(self, text: Text) -> bool:
        """Show ``text``; True when something was repainted."""
        old = self._text
        if text == old:
            return False
        self._text = text
        width = self.content_region.width
        if not self.is_mounted or width <= 0:
            self.refresh()
            return True
        console = self.app.console
        cells = changed_cells(old.render(console), text.render(console))
        if cells:
            self.refresh(Region(0, 0, min(cells, width), 1))
        return bool(cells)


class LineBody(Widget):
    """A pane's body: a Rich renderable drawn as strips this widget keeps, so that a new renderable repaints only
    the lines that changed (each up to its last changed cell), and an equal one repaints nothing.  A change of
    height lays the pane out again, as a ``Static`` would; a change of width renders again.

    It renders once per update (a ``Static`` renders a Rich renderable twice: once to measure its height, once
    to draw it) and never on a repaint."""

    DEFAULT_CSS = """
    LineBody { height: auto; }
    """

    def __init__(self, renderable: RenderableType = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._renderable = renderable
        self._strips: list[Strip] | None = None  # rendered at self._width
        self._width = -1
        self.renders = 0  # how many times the renderable was rendered (tests count them)

    @property
    def renderable(self) -> RenderableType:
        return self._renderable

    def _render_at(self, width: int) -> list[Strip]:
        from textual.visual import Visual, visualize

        self.renders += 1
        visual = visualize(self, self._renderable, markup=False)
        return Visual.to_strips(self, visual, width, None, self.visual_style)

    def _strips_at(self, width: int) -> list[Strip]:
        if self._strips is None or width != self._width:
            self._strips, self._width = self._render_at(width), width
        return self._strips

    def update(self, renderable: RenderableType) -> int:
        """Show ``renderable``; returns how many lines were marked for repaint (-1: the whole widget)."""
        self._renderable = renderable
        width = self._width
        old = self._strips
        if old is None or width <= 0 or not self.is_mounted or width != self.content_region.width:
            self._strips = None
            self.refresh(layout=True)
            return -1
        new = self._render_at(width)
        self._strips = new
        if len(new) != len(old):
            self.refresh(layout=True)
            return -1
        marked = 0
        for y, (before, after) in enumerate(zip(old, new)):
            if before == after:  # the same segments (compared in C): nothing to find cell by cell
                continue
            cells = changed_cells(before, after)
            if cells:
                self.refresh(Region(0, y, min(cells, width), 1))
                marked += 1
        return marked

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._strips_at(width)) if width > 0 else 0

    def render_line(self, y: int) -> Strip:
        self._dirty_regions.clear()  # Widget.render_line's flag to render again: this widget keeps its strips
        width = self.size.width
        strips = self._strips_at(width)
        return strips[y] if 0 <= y < len(strips) else Strip.blank(width, self.visual_style.rich_style)

    def on_resize(self) -> None:
        if self.size.width != self._width:
            self.refresh()
