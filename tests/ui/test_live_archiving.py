"""Pilot: WAL archiving failing, as the demo's Prometheus reports it, on the CNPG pane and in the "is T
recoverable?" answer (key ``w``); and a Velero pane with the Schedule API absent still listing its backups."""

from __future__ import annotations

import os

from rich.console import Console

from cockpit.demo import scenario
from cockpit.demo.platform import DemoPlatform
from cockpit.models import FeedState
from tests.ui.harness import T0, make_app, settle, wait_for


def _text(pane, now) -> str:
    with open(os.devnull, "w") as sink:
        console = Console(width=120, record=True, file=sink, color_system=None)
        console.print(pane.render_state(pane.entry, now))
    return console.export_text()


async def test_archiving_failing_on_the_pane_and_in_the_answer():
    platform = DemoPlatform(now=T0).start()
    try:
        platform.archiving_broken[scenario.CNPG_CLUSTER] = T0.timestamp() - 600  # failing for ten minutes
        app = make_app(platform)
        async with app.run_test(size=(200, 50)) as pilot:
            await settle(pilot)
            pane = app.dashboard.active().pane("cnpg")
            shown = _text(pane, T0)
            assert "Failing" in shown and "last failed" in shown, shown
            await pilot.press("w")
            await pilot.pause()
            from textual.widgets import Input, Static

            screen = app.screen
            screen.query_one("#when", Input).value = "-3m"
            await pilot.press("enter")
            await pilot.pause()
            answer = str(screen.query_one("#answer", Static).render())
            assert answer.startswith("NO") and "after the last archived WAL" in answer
            assert "failing since" in answer
            screen.query_one("#when", Input).value = "-30m"
            await pilot.press("enter")
            await pilot.pause()
            answer = str(screen.query_one("#answer", Static).render())
            assert answer.startswith("YES") and "WAL archived up to" in answer
    finally:
        platform.stop()


async def test_velero_without_the_schedule_api_lists_its_backups_and_says_why_no_schedules():
    platform = DemoPlatform(now=T0, absent_apis=("schedules.velero.io",)).start()
    try:
        app = make_app(platform)
        async with app.run_test(size=(200, 50)) as pilot:
            await settle(pilot)
            pane = app.dashboard.active().pane("velero")
            await wait_for(pilot, lambda: pane.entry.state is FeedState.OK and pane.entry.status.error,
                           what="the Velero note")
            shown = _text(pane, T0)
            assert "no schedules.velero.io API in this cluster: Velero schedules not shown" in shown
            assert "6 backups" in shown and "not installed" not in shown and "reconnecting" not in shown
            assert not pane.has_class("-error") and not pane.has_class("-stale")
    finally:
        platform.stop()
