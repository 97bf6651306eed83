"""The pre-mortem at the top of the confirmation modal (UNSAFE needs a typed reason before Confirm), and the hold
in pane 1 -- both drawn from what the session read, hostile text kept literal."""

from __future__ import annotations

import asyncio
import copy

import pytest
from rich.console import Console

from cockpit.actions.registry import build_action
from cockpit.demo import scenario
from cockpit.demo.platform import DemoPlatform
from tests.ui.harness import T0, make_app, settle, wait_for

HOSTILE = "[@click=app.quit]x[/] \x1b[2J"


def text(renderable) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


def _planned_rollback(session, context):
    def plan(action, **params):
        return session.plan(context, lambda env: build_action(action, params, env))

    disable = plan("argocd.disable_auto_sync", namespace="argocd", name=scenario.APP_NAME, reason=HOSTILE)
    assert session.execute(disable, "y").ok
    return session.assess(plan("argocd.rollback", namespace="argocd", name=scenario.APP_NAME, history_id="41"))


async def test_the_modal_shows_the_verdict_and_asks_for_a_reason(platform, tmp_path):
    from cockpit.screens.confirm import ConfirmScreen
    from textual.widgets import Button, Input

    from cockpit.widgets.premortem import PremortemPanel, render_premortem

    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        context = app.targets[0].name
        planned = await asyncio.to_thread(_planned_rollback, app.session, context)
        results: list = []
        modal = ConfirmScreen(planned)
        app.push_screen(modal, results.append)
        await wait_for(pilot, lambda: app.screen is modal, what="the modal")
        panel = modal.query_one("#premortem", PremortemPanel)
        shown = text(render_premortem(panel.premortem))
        assert panel.region.height > 5  # drawn at the top of the modal
        assert "pre-mortem  UNSAFE" in shown and "DROP COLUMN legacy_status" in shown
        assert "Job/catalog-migrate" in text(render_premortem(panel.premortem, evidence=9))
        assert panel.has_class("-unsafe")
        confirm = modal.query_one("#confirm", Button)
        modal.query_one("#typed", Input).value = scenario.APP_NAME
        await pilot.pause()
        assert confirm.disabled  # the name alone is not enough: UNSAFE needs a reason
        modal.query_one("#reason", Input).value = "  data restored by hand   in staging drill "
        await pilot.pause()
        assert confirm.disabled and modal.reason == "data restored by hand in staging drill"  # no pre-checks yet
        modal.show_preflight(await asyncio.to_thread(app.session.preflight, planned))
        await pilot.pause()
        assert not confirm.disabled
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: results, what="the modal's answer")
        assert results == [scenario.APP_NAME]


async def test_a_safe_write_asks_no_reason(platform, tmp_path):
    from cockpit.screens.confirm import ConfirmScreen
    from cockpit.widgets.premortem import PremortemPanel, render_premortem

    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        session, context = app.session, app.targets[0].name
        planned = await asyncio.to_thread(lambda: session.assess(session.plan(context, lambda env: build_action(
            "rollouts.abort", {"namespace": scenario.APP_NAMESPACE, "name": scenario.ROLLOUT}, env))))
        modal = ConfirmScreen(planned)
        app.push_screen(modal)
        await wait_for(pilot, lambda: app.screen is modal, what="the modal")
        assert "pre-mortem  SAFE" in text(render_premortem(modal.query_one("#premortem", PremortemPanel).premortem))
        assert not modal.query("#reason") and not modal.needs_reason


async def test_pane_one_shows_the_hold(platform, tmp_path):
    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        kube = platform.kube
        obj = copy.deepcopy(kube.get_object("argoproj.io/v1alpha1", "applications", "argocd", scenario.APP_NAME))
        obj["metadata"]["annotations"] = {"cockpit.dev/hold-by": "dana",
                                          "cockpit.dev/hold-since": "2026-05-20T14:20:00Z",
                                          "cockpit.dev/hold-reason": HOSTILE, "cockpit.dev/hold-incident": "INC-42"}
        kube.seed(obj)
        pane = app.dashboard.active().pane("argocd")
        await wait_for(pilot, lambda: pane.snapshot.data.hold is not None, what="the hold in pane 1")
        console = Console(width=200, record=True, file=open("/dev/null", "w"), color_system=None)
        console.print(pane.render_state(pane.entry, T0))
        shown = console.export_text()
        assert "held by dana since 2026-05-20 14:20Z: [@click=app.quit]x[/] \\x1b[2J (INC-42)" in shown
        assert app.is_running  # the markup stayed text
