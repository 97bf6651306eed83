"""While a context's panes first fill, their changes are drawn together (at most every ``FILL_EVERY``) and at
once when the last pane arrives; a pane still loading after ``FILL_AT_MOST`` holds nothing back.  The store is the
truth throughout: only the drawing waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.config import build_settings
from cockpit.models import PANES, FeedState, FeedStatus, PaneSnapshot
from cockpit.screens import dashboard as dashboard_module


def _app():
    from cockpit.app import CockpitApp
    from cockpit.session import ContextTarget, open_session

    session = open_session(build_settings({}), [ContextTarget("ctx", Path("/nonexistent"), "ns", False, False,
                                                              None)])
    return CockpitApp(session, start_feeds=False, tick=False)


def _failed(pane: str, why: str) -> PaneSnapshot:
    return PaneSnapshot(pane, "ctx", None, FeedStatus(FeedState.ERROR, error=why))


def _drawn(app, pane: str) -> bool:
    widget = app.dashboard.active().pane(pane)
    return widget._drawn == app.session.store.entry("ctx", pane).version


async def test_changes_while_filling_are_drawn_together_and_the_last_pane_at_once(monkeypatch):
    monkeypatch.setattr(dashboard_module, "FILL_EVERY", 0.6)  # long enough to see the wait on a slow machine
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.session.put(_failed("argocd", "first"))
        await pilot.pause(0.05)
        assert app.session.store.entry("ctx", "argocd").state is FeedState.ERROR  # the store has it at once
        assert not _drawn(app, "argocd")  # drawn with the next ones
        await pilot.pause(0.8)
        assert _drawn(app, "argocd")  # within FILL_EVERY, though nothing else came
        for pane in PANES[1:-1]:
            app.session.put(_failed(pane, "next"))
        await pilot.pause(0.05)
        assert not any(_drawn(app, pane) for pane in PANES[1:-1])
        app.session.put(_failed("velero", "last"))  # every pane has something now: all drawn at once
        await pilot.pause(0.05)
        assert all(_drawn(app, pane) for pane in PANES)
        app.session.put(_failed("argocd", "after the fill"))  # from now on every change at once
        await pilot.pause(0.05)
        assert _drawn(app, "argocd")


@pytest.mark.parametrize("hold", [0.8])
async def test_a_pane_that_never_loads_holds_nothing_back_after_fill_at_most(monkeypatch, hold):
    monkeypatch.setattr(dashboard_module, "FILL_EVERY", 30.0)
    monkeypatch.setattr(dashboard_module, "FILL_AT_MOST", hold)
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.session.put(_failed("argocd", "early"))
        await pilot.pause(hold + 0.4)
        assert _drawn(app, "argocd")  # the fill is over: what waited is drawn
        app.session.put(_failed("rollout", "late"))  # five panes still loading, and yet drawn at once
        await pilot.pause(0.05)
        assert _drawn(app, "rollout")
