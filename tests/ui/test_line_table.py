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
    assert not any(by_rich.values())  # drawn line by line at every width


@pytest.mark.parametrize("rows", [1, 8])
def test_folded_and_wrapped_cells_as_rich_draws_them(rows):
    """Multi-line rows: a folding column (the zoomed pane's whole names), words folded by hand ("Partially\nFailed"),
    a header over two lines, text wider than its column that wraps (safe_text may wrap)."""
    def table(zoomed: bool) -> Table:
        built = velero_like(rows, zoomed=zoomed)
        built.add_column("STATE\nNOW", min_width=5, max_width=11, overflow="fold")
        built.columns[-1]._cells = [Text("Partially\nFailed" if index % 2 else "WaitingForPluginOperations",
                                         style="bold yellow") for index in range(rows)]
        return built

    for zoomed in (False, True):
        for width in list(range(1, 60)) + list(range(60, 220, 9)):
            drawn = LineTable(table(zoomed))
            assert lines(drawn, width) == lines(table(zoomed), width), (zoomed, width)
            assert not drawn.by_rich


def test_what_it_cannot_draw_is_rich_s():
    boxed = Table("a", "b")
    boxed.add_row("x", "y")
    assert not LineTable(boxed)._simple()
    assert lines(LineTable(boxed), 30) == lines(boxed, 30)
    styled = velero_like(2)
    styled.row_styles = ["dim", ""]
    assert not LineTable(styled)._simple()
    other = Table.grid(padding=(0, 1))
    other.add_column()
    other.add_row(Table.grid())  # a renderable that is not text
    assert not LineTable(other)._simple()


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
