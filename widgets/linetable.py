"""A Rich ``Table`` without a box drawn a line at a time: the same output at a fraction of the cost.

Rich renders every cell of a table through ``Padding`` and ``render_lines`` (a few thousand segments and
generators for the Velero pane's nine rows: 5 to 10 ms on the bastion's kind of CPU, at every change of a pane
holding ten thousand backups).  :class:`LineTable` lets Rich size the columns exactly as the table would
(``Table._calculate_column_widths``), then breaks each cell's text into its column with Rich's own ``Text.wrap``
(wrapping, folding, ellipsis, justification as the table would), pads each cell as ``Padding`` does and each row to
its tallest cell as the table does -- so the lines are the table's own (``tests/ui/test_line_table.py`` compares
them, segment for segment, at every width).  A table it cannot draw so (a box, a title, row styles, vertical
alignment, cells that are not text) is drawn by Rich as before.
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


def _pick(*values: bool | None) -> bool:
    return next((value for value in values if value is not None), False)


class LineTable:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.by_rich = False  # the last draw was Rich's own (a table this cannot draw line by line)
        self._drawn: tuple[int, list[Segment]] | None = None  # (the width, its segments): the table is immutable
        self.draws = 0  # how many times the lines were made (tests count them)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)

    def _simple(self) -> bool:
        table = self.table
        top, _, bottom, _ = table.padding
        if (table.box or table.title or table.caption or table.show_footer or table.show_lines or table.leading
                or table.row_styles or table.collapse_padding or table.width is not None or top or bottom):
            return False
        for column in table.columns:
            if column.vertical != "top" or column.highlight or column.overflow == "ignore":
                return False
            for cell in column.cells:
                if isinstance(cell, MiddleText):
                    continue
                if not isinstance(cell, Text) or "\t" in cell.plain or cell.overflow == "ignore":
                    return False
        return all(row.style is None for row in table.rows) and all(
            isinstance(column.header, (str, Text)) for column in table.columns)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table
        self.by_rich = True
        if not table.columns or not self._simple():
            yield table
            return
        self.by_rich = False
        drawn = self._drawn
        if drawn is not None and drawn[0] == options.max_width:  # drawn again unchanged (a pane's other lines moved)
            yield from drawn[1]
            return
        segments = list(self._lines(console, options))
        self._drawn = (options.max_width, segments)
        self.draws += 1
        yield from segments

    def _lines(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table
        widths = table._calculate_column_widths(console, options.update_width(options.max_width))
        get_style = console.get_style
        _, right, _, left = table.padding
        last = len(table.columns) - 1
        pads = [(0 if index == 0 and not table.pad_edge else left, 0 if index == last and not table.pad_edge
                 else right) for index in range(len(table.columns))]
        rows: list[tuple[bool, list[tuple[Style, Any]]]] = []
        if table.show_header:
            header_style = get_style(table.header_style or "")
            rows.append((True, [(header_style + get_style(column.header_style), column.header)
                                for column in table.columns]))
        cells = [list(column.cells) for column in table.columns]
        for index in range(table.row_count):
            rows.append((False, [(get_style(column.style or ""), cells[number][index])
                                 for number, column in enumerate(table.columns)]))
        new_line = Segment.line()
        for header, row in rows:
            drawn = [self._cell(console, style, cell, column, width, pad)
                     for (style, cell), column, width, pad in zip(row, table.columns, widths, pads)]
            height = max(len(lines) for lines in drawn)
            for number, ((style, _), width, lines) in enumerate(zip(row, widths, drawn)):
                blank = [Segment(" " * width, style)]
                extra = [blank] * (height - len(lines))
                drawn[number] = extra + lines if header else lines + extra  # a header sits at the bottom
            for line_no in range(height):
                for lines in drawn:
                    yield from lines[line_no]
                yield new_line

    @staticmethod
    def _cell(console: Console, style: Style, cell: Any, column: Any, width: int,
              pad: tuple[int, int]) -> list[list[Segment]]:
        """The cell's lines, each ``width`` cells: as Rich's Padding around the cell's Text, styled as the table
        styles a cell (``Segment.apply_style``: a null style leaves the text's own)."""
        pad_left, pad_right = pad
        inner = max(0, width - pad_left - pad_right)
        if inner < 1:  # Console.render draws nothing in no room: the padding alone
            return [Segment.adjust_line_length([Segment(" " * min(width, pad_left + pad_right), style)], width, style)]
        if isinstance(cell, MiddleText):
            text = Text(middle_ellipsis(cell.text, inner, keep_tail=cell.keep_tail), style=cell.style, no_wrap=True)
        elif isinstance(cell, Text):
            text = cell
        else:
            text = console.render_str(str(cell), highlight=False)
        wrapped = text.wrap(console, inner, justify=text.justify or column.justify or "default",
                            overflow=text.overflow or column.overflow or "fold",
                            tab_size=console.tab_size if text.tab_size is None else text.tab_size,
                            no_wrap=_pick(text.no_wrap, column.no_wrap))
        lines = []
        left = [Segment(" " * pad_left, style)] if pad_left else []
        right = [Segment(" " * pad_right, style)] if pad_right else []
        for line in wrapped or [Text()]:
            # joined as Text.__rich_console__ joins its lines: the base style becomes a span (render() drops it)
            content = [Segment(segment.text, (style + segment.style) if style else segment.style)
                       for segment in Text("\n").join([line]).render(console) if segment.text]
            content = Segment.adjust_line_length(content, inner, style)  # padded or cropped as render_lines does
            lines.append(Segment.adjust_line_length(left + content + right, width, style))
        return lines
