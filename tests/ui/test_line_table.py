"""``LineTable`` draws a table of one-line cells exactly as Rich's ``Table`` does (segment for segment, once equal
neighbours are merged), at every width, for the tables the panes build; what it cannot draw so is Rich's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from cockpit.models import VeleroBackup, VeleroView
from cockpit.textsafe import MiddleText, safe_text
from cockpit.widgets.linetable import LineTable

T0 = datetime(2026, 5, 20, 14, 0, tzinfo=timezone.utc)
HOSTILE = "[@click=app.quit]x[/] \x1b[2J 全角"


def lines(renderable, width: int) -> list[list[tuple[str, object]]]:
    console = Console(width=width, file=open("/dev/null", "w"), color_system="truecolor", legacy_windows=False)
    out = []
    for line in console.render_lines(renderable, console.options.update_width(width), pad=False):
        out.append([(segment.text, segment.style) for segment in Segment.simplify(line) if segment.text])
    return out


def velero_like(rows: int = 8, *, zoomed: bool = False, spread: int = 1) -> Table:
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=True, header_style="bold dim")
    if zoomed:
        table.add_column("BACKUP", ratio=3, overflow="fold", min_width=16)
    else:
        table.add_column("BACKUP", ratio=3, no_wrap=True, min_width=17)
    table.add_column("STATUS", no_wrap=True, min_width=9, max_width=17, overflow="ellipsis")
    table.add_column("AGE", no_wrap=True, min_width=5)
    table.add_column("E/W", no_wrap=True, min_width=3)
    table.add_column("NAMESPACES", ratio=1, overflow="ellipsis", no_wrap=True)
    for index in range(rows):
        name = f"hourly-tenant-{index:03d}-2026052013{index:02d}13" if index != 3 else HOSTILE * 3
        table.add_row(MiddleText(name, "bold" if index == 1 else "", keep_tail=15 if index != 3 else 0),
                      Text("PartiallyFailed" if index == 1 else "Completed", style="bold yellow" if index == 1
                           else "green"),
                      Text(f"{index * 7}m"), Text("1/0", style="red" if index == 2 else ""),
                      safe_text("tenant-a,tenant-b" * (index * spread + 1), "dim", limit=60))
    return table


@pytest.mark.parametrize(("rows", "spread"), [(0, 1), (1, 1), (8, 0), (8, 1)])
def test_the_same_lines_as_rich_at_every_width(rows, spread):
    """spread 1: the longer namespace lists wrap (safe_text may wrap: Rich draws those); 0: every cell one line."""
    by_rich = {}
    for width in list(range(1, 60)) + list(range(60, 220, 7)):
        table = LineTable(velero_like(rows, spread=spread))
        assert lines(table, width) == lines(velero_like(rows, spread=spread), width), width
        by_rich[width] = table.by_rich
    if (rows, spread) != (8, 1):  # where every cell fits its column, it was drawn line by line
        assert not any(drawn for width, drawn in by_rich.items() if width >= 150)


def test_what_it_cannot_draw_is_rich_s():
    folded = velero_like(zoomed=True)  # a folding column: multi-line cells
    assert not LineTable(folded)._simple()
    assert lines(LineTable(folded), 50) == lines(velero_like(zoomed=True), 50)
    boxed = Table("a", "b")
    boxed.add_row("x", "y")
    assert not LineTable(boxed)._simple()
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_row(Text("two\nlines"))
    assert not LineTable(grid)._simple()


def test_the_velero_pane_draws_its_table_line_by_line():
    from cockpit.widgets.velero_pane import VeleroPane

    backups = tuple(VeleroBackup(name=f"hourly-{index}-{(T0 - timedelta(hours=index)):%Y%m%d%H%M%S}",
                                 phase="Completed", schedule="hourly", started_at=T0 - timedelta(hours=index),
                                 completed_at=None, expiration=T0 + timedelta(days=3), included_namespaces=("a",),
                                 errors=0, warnings=0, failure_reason="", storage_location="default",
                                 created_at=None) for index in range(30))
    view = VeleroView(backups, ())
    pane = VeleroPane(6)
    rendered = pane.render_data(view, T0)
    assert any(isinstance(part, LineTable) for part in rendered.renderables)
