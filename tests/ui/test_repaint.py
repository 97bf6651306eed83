"""Only what changed is repainted: the once-a-second age tick writes the ages' cells and nothing else, an update
that draws the same is not written at all, and one that changes a line writes only that line.

What Textual would send to the terminal is taken where it is sent (``App._display``, which a headless app calls
too): the partial updates' spans (screen rows and columns) and their bytes.  No timing is asserted here (the
bytes per second on a real pty are measured by ``python -m bench.terminal``).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rich.text import Text
from textual._compositor import ChopsUpdate, CompositorUpdate

from cockpit.clock import FixedClock
from cockpit.demo.platform import DemoPlatform
from cockpit.models import PANES
from cockpit.widgets.repaint import LineBody, TickingLine, changed_cells
from tests.ui.harness import T0, make_app, settle

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


class Sent:
    """Every update the app hands to its terminal driver, rendered as the driver would write it."""

    def __init__(self, app) -> None:
        self.app = app
        self.updates: list[CompositorUpdate] = []
        original = app._display

        def display(screen, renderable) -> None:
            if isinstance(renderable, CompositorUpdate):
                self.updates.append(renderable)
            original(screen, renderable)

        app._display = display

    def spans(self) -> list[tuple[int, int, int]]:
        return [span for update in self.updates for span in getattr(update, "spans", [(-1, 0, 0)])]

    def text(self) -> str:
        return "".join(update.render_segments(self.app.console) for update in self.updates)


def versions(app) -> dict[str, int]:
    context = app.targets[0].name
    return {pane: app.session.store.entry(context, pane).version for pane in PANES}


async def _quiet_ticks(pilot, clock: FixedClock, sent: Sent, ticks: int = 3) -> dict[str, int]:
    """``ticks`` age ticks (the clock moved a second each) in a window where no pane's data changed; the demo
    platform keeps running, so a window in which it did change is taken again.  Returns how many times each
    pane's body had been rendered when the quiet window began."""
    app = pilot.app
    panes = app.dashboard.active().panes()
    for _ in range(5):
        before = versions(app)
        for _ in range(20):  # every change so far drawn (its message may still be on its way)
            if all(pane._drawn == before[pane.pane_id] for pane in panes):
                break
            await pilot.pause(0.05)
            before = versions(app)
        renders = {pane.pane_id: pane.query_one("#body", LineBody).renders for pane in panes}
        sent.updates.clear()
        for _ in range(ticks):
            clock.set(clock.now() + timedelta(seconds=1))
            app.dashboard.tick()
            await pilot.pause(0.05)
        if versions(app) == before:
            return renders
    raise AssertionError("the demo's data changed in every window")


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (200, 50)], ids=["120x40", "80x24", "200x50"])
async def test_an_age_tick_repaints_only_the_ages(platform, size):
    clock = FixedClock(platform.now)
    app = make_app(platform, clock=clock)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)
        dash = app.dashboard.active()
        bodies = {pane.pane_id: pane.query_one("#body", LineBody) for pane in dash.panes()}
        sent = Sent(app)
        renders = await _quiet_ticks(pilot, clock, sent)

        assert sent.updates, "the ages did not tick"
        assert all(isinstance(update, ChopsUpdate) for update in sent.updates), "a full-screen repaint"
        # the rows written: the summary strip and the panes' bottom borders (their freshness line), nothing else
        summary = app.dashboard.query_one("#summary")
        borders: dict[int, list] = {}
        for pane in dash.panes():
            if pane.region.height:
                borders.setdefault(pane.region.bottom - 1, []).append(pane.region)
        rows = {y for y, _, _ in sent.spans()}
        assert rows <= {summary.region.y} | set(borders), (rows, summary.region.y, sorted(borders))
        for y, x1, x2 in sent.spans():
            if y in borders:  # a pane's freshness: its bottom border row, inside that pane
                assert any(region.x <= x1 and x2 <= region.right for region in borders[y]), (y, x1, x2)
        # no pane body rendered again, and what went out is the ages
        assert {name: body.renders for name, body in bodies.items()} == renders
        written = ANSI.sub("", sent.text())
        assert "updated" in written and "1 #42" in written
        assert "Argo CD history" not in written and "will send" not in written


async def test_an_equal_update_writes_nothing_and_a_changed_line_only_that_line(platform):
    app = make_app(platform)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)
        pane = app.dashboard.active().pane("velero")
        body = pane.query_one("#body", LineBody)
        sent = Sent(app)
        same = body.renderable
        assert body.update(same) == 0  # the same lines: nothing is marked
        await pilot.pause(0.05)
        assert not [span for span in sent.spans() if pane.region.contains(span[1], span[0])]
        lines = [Text(f"line {index}") for index in range(4)]
        from rich.console import Group

        body.update(Group(*lines))
        await pilot.pause(0.05)  # a new height: laid out and drawn whole
        sent.updates.clear()
        lines[2] = Text("line 2 changed")
        assert body.update(Group(*lines)) == 1
        await pilot.pause(0.05)
        assert {y for y, _, _ in sent.spans()} == {body.region.y + 2}
        assert "line 2 changed" in ANSI.sub("", sent.text())


def test_changed_cells_counts_from_the_left_edge_to_the_last_difference():
    from rich.segment import Segment
    from rich.style import Style

    red = Style(color="red")

    def line(*parts):
        return [Segment(text, style) for text, style in parts]

    assert changed_cells(line(("updated 5s ago", None)), line(("updated 5s ago", None))) == 0
    assert changed_cells(line(("updated 5s ago", None)), line(("updated 6s ago", None))) == 9
    assert changed_cells(line(("5m9s │ x", None)), line(("5m10s │ x", None))) == 9  # a longer line: to its end
    assert changed_cells(line(("ab", None)), line(("a", None), ("b", red))) == 2  # a style is a change too
    assert changed_cells(line(("全a", None)), line(("全b", None))) == 3  # wide characters take two cells


async def test_a_ticking_line_marks_only_up_to_its_last_changed_cell(platform):
    from textual.app import App

    class One(App):
        def compose(self):
            yield TickingLine(Text("1 #42 5m8s │ 2 Paused"), id="line")

    app = One()
    async with app.run_test(size=(60, 3)) as pilot:
        line = app.query_one("#line", TickingLine)
        await pilot.pause()
        sent = Sent(app)
        assert line.show(Text("1 #42 5m9s │ 2 Paused"))
        assert not line.show(Text("1 #42 5m9s │ 2 Paused"))  # the same: nothing
        await pilot.pause()
        assert sent.spans() == [(0, 0, 9)]
