"""A Rich ``Table`` of one-line cells drawn a line at a time: the same output at a fraction of the cost.

Rich renders every cell of a table through ``Padding`` and ``render_lines`` (a few thousand segments and
generators for the Velero pane's nine rows: 5 to 10 ms on the bastion's kind of CPU, at every change of a pane
holding ten thousand backups).  :class:`LineTable` lets Rich size the columns exactly as the table would
(``Table._calculate_column_widths``) and then cuts each cell's text to its column with Rich's own ``Text.wrap``,
so the lines are the table's own (``tests/ui/test_line_table.py`` compares them, segment for segment).  A table
it cannot draw so (a box, a title, wrapping or folding columns, multi-line cells, other renderables) is drawn by
Rich as before.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from cockpit.textsafe import MiddleText, middle_ellipsis


class LineTable:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.by_rich = False  # the last draw was Rich's own (a table this cannot draw line by line)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)

    def _simple(self) -> bool:
        table = self.table
        top, _, bottom, _ = table.padding
        if (table.box or table.title or table.caption or table.show_footer or table.show_lines or table.leading
                or table.row_styles or table.collapse_padding or table.width is not None or top or bottom):
            return False
        for column in table.columns:
            if (not column.no_wrap or column.justify != "left" or column.vertical != "top" or column.highlight
                    or column.overflow == "ignore"):
                return False
            for cell in column.cells:
                if isinstance(cell, MiddleText):
                    continue
                if not isinstance(cell, Text) or "\n" in cell.plain or "\t" in cell.plain or cell.overflow == "ignore":
                    return False
        return all(row.style is None for row in table.rows) and all(
            isinstance(column.header, (str, Text)) and "\n" not in str(column.header) for column in table.columns)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table
        self.by_rich = True
        if not table.columns or not self._simple():
            yield table
            return
        widths = table._calculate_column_widths(console, options.update_width(options.max_width))
        get_style = console.get_style
        _, right, _, left = table.padding
        last = len(table.columns) - 1
        pads = [(0 if index == 0 and not table.pad_edge else left, 0 if index == last and not table.pad_edge
                 else right) for index in range(len(table.columns))]
        for column, width, (pad_left, pad_right) in zip(table.columns, widths, pads):
            inner = width - pad_left - pad_right
            # a Text that may wrap (no_wrap=False beats the column's no_wrap) and does not fit: lines of its own
            if any(isinstance(cell, Text) and cell.no_wrap is False and cell.cell_len > inner for cell in column.cells):
                yield table
                return
        rows: list[list[tuple[Style, Any]]] = []
        if table.show_header:
            header_style = get_style(table.header_style or "")
            rows.append([(header_style + get_style(column.header_style), column.header) for column in table.columns])
        cells = [list(column.cells) for column in table.columns]
        for index in range(table.row_count):
            rows.append([(get_style(column.style or ""), cells[number][index])
                         for number, column in enumerate(table.columns)])
        self.by_rich = False
        new_line = Segment.line()
        for row in rows:
            for (style, cell), column, width, (pad_left, pad_right) in zip(row, table.columns, widths, pads):
                yield from self._cell(console, style, cell, column, width, pad_left, pad_right)
            yield new_line

    @staticmethod
    def _cell(console: Console, style: Style, cell: Any, column: Any, width: int, pad_left: int,
              pad_right: int) -> RenderResult:
        inner = max(0, width - pad_left - pad_right)
        if isinstance(cell, MiddleText):
            text = Text(middle_ellipsis(cell.text, inner, keep_tail=cell.keep_tail), style=cell.style, no_wrap=True)
        elif isinstance(cell, Text):
            text = cell
        else:
            text = console.render_str(str(cell), highlight=False)
        overflow = text.overflow or column.overflow or "fold"
        lines = text.wrap(console, inner, justify=text.justify or "left", overflow=overflow,
                          tab_size=text.tab_size or console.tab_size or 8, no_wrap=True)
        # joined as Text.__rich_console__ joins its lines: the base style becomes a span (render() drops it)
        line = Text("\n").join(lines[:1])
        if width <= 0:
            return
        if pad_left:
            yield Segment(" " * min(pad_left, width), style)
        if inner:
            used = 0
            for segment in line.render(console):
                if not segment.text:
                    continue
                used += segment.cell_length
                # as Segment.apply_style: a null cell style leaves the text's own (None stays None)
                yield Segment(segment.text, (style + segment.style) if style else segment.style)
            if used < inner:
                yield Segment(" " * (inner - used), style)
        if pad_right and width - pad_left - inner > 0:
            yield Segment(" " * pad_right, style)
