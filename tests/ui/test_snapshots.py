"""Snapshot tests of the dashboard at 80x24 and 200x50: fixed clock, fixed data, no animation."""

from __future__ import annotations

import pytest

from cockpit.demo.platform import DemoPlatform
from tests.ui.harness import T0, make_app, settle


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


def _app(platform):
    app = make_app(platform)
    app.animation_level = "none"
    return app


async def _ready(pilot):
    await settle(pilot, complete=True)
    pilot.app.dashboard.refresh_summary(pilot.app.clock.now())
    await pilot.pause()


@pytest.mark.parametrize("size", [(200, 50), (80, 24)], ids=["200x50", "80x24"])
def test_dashboard(snap_compare, platform, size):
    assert snap_compare(_app(platform), terminal_size=size, run_before=_ready)


def test_dashboard_zoomed_rollout(snap_compare, platform):
    async def zoom(pilot):
        await _ready(pilot)
        await pilot.press("2", "z")
        await pilot.pause()

    assert snap_compare(_app(platform), terminal_size=(80, 24), run_before=zoom)


def test_help(snap_compare, platform):
    async def help_screen(pilot):
        await _ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(platform), terminal_size=(100, 30), run_before=help_screen)
