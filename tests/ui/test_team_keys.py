"""The write keys of the dashboard that act on the whole incident: F freezes automation into the blast radius (and
F again lifts it), D takes the driver lease over from another cockpit, and the tree's recommended leaf carries
the pre-mortem's verdict -- all through the person's confirmation, all read back from the cluster."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from cockpit.demo import scenario
from cockpit.demo.platform import DemoPlatform
from cockpit.session import connect, open_session
from tests.ui.harness import T0, make_app, settle, wait_for


def text(renderable) -> str:
    console = Console(width=400, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(renderable)
    return console.export_text()


def bar(app) -> str:
    return text(app.dashboard.query_one("#context-bar").render())


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


async def _confirm(pilot, app) -> None:
    """Say yes as the person would: ``y``, or for a destructive write the confirm word typed, then Confirm."""
    from textual.widgets import Input

    from cockpit.screens.confirm import ConfirmScreen

    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.query("#confirm"),
                   timeout=20, what="the confirmation")
    modal = app.screen
    await wait_for(pilot, lambda: modal.planned is not None, timeout=20, what="the plan in the modal")
    if modal.destructive:  # the cursor is in the name field: the person just types it, then Enter
        await wait_for(pilot, lambda: isinstance(modal.focused, Input) and modal.focused.id == "typed",
                       what="the focus in the name field")
        await wait_for(pilot, lambda: not modal.query("#confirm") or modal.ready, timeout=20, what="the answers")
        await pilot.press(*modal.planned.confirm_word, "enter")
        return await wait_for(pilot, lambda: app.screen is app.dashboard, what="back on the dashboard")
    await wait_for(pilot, lambda: not modal.query_one("#confirm").disabled, timeout=20, what="the pre-checks")
    await pilot.press("y")
    await wait_for(pilot, lambda: app.screen is app.dashboard, what="back on the dashboard")


async def test_f_freezes_and_lifts_the_freeze(platform, tmp_path):
    from cockpit.screens.runbook import AskScreen

    audit = tmp_path / "audit.jsonl"
    app = make_app(platform, audit_path=str(audit))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        assert "FROZEN" not in bar(app)
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen), what="the reason prompt")
        await pilot.press(*"p99 burning", "enter", "enter")
        await _confirm(pilot, app)
        await wait_for(pilot, lambda: "FROZEN" in bar(app), what="the freeze on the context bar")
        shown = bar(app)
        assert "FREEZE bookstore-platform" in shown and "automation held, manual syncs allowed" in shown
        project = platform.kube.get_object("argoproj.io/v1alpha1", "appprojects", "argocd", "bookstore-platform")
        window = next(w for w in project["spec"]["syncWindows"] if w["description"].startswith("cockpit-freeze"))
        assert window["kind"] == "deny" and window["manualSync"] is True and "p99 burning" in window["description"]

        await pilot.press("F")  # frozen: F lifts it (confirmed)
        await _confirm(pilot, app)
        await wait_for(pilot, lambda: "FROZEN" not in bar(app), what="the freeze gone from the bar")
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    done = [(r["action"], r["event"]) for r in records if r.get("action", "").startswith("argocd.")]
    assert done == [("argocd.freeze", "before"), ("argocd.freeze", "after"),
                    ("argocd.unfreeze", "before"), ("argocd.unfreeze", "after")]


async def test_another_driver_disables_the_write_keys_and_d_takes_over(platform, tmp_path):
    from cockpit.clock import FixedClock

    app = make_app(platform, audit_path=str(tmp_path / "audit-bob.jsonl"))
    alice = None
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        context = app.targets[0].name
        session = app.session
        await wait_for(pilot, lambda: session.driver(context).state == "free", what="bob sees no driver")
        assert app.dashboard.check_action("take_over", ()) is False  # nobody to take over from: hidden

        alice = open_session(session.settings, connect(session.settings), clock=FixedClock(platform.now),
                             audit_path=str(tmp_path / "audit-alice.jsonl"), person="alice")
        alice.start()
        assert alice.wait_connected(context, 20)
        await wait_for(pilot, lambda: alice.driver(context).state == "free", what="alice's lease watch")
        result = alice.execute(alice.plan_rollout_verb(context, "abort"), "y")
        assert result.ok, result.message
        await wait_for(pilot, lambda: session.driver(context).blocks_writes, what="bob sees alice driving")
        await wait_for(pilot, lambda: "driven by alice@" in bar(app), what="the driver on bob's bar")
        rollout_pane = app.dashboard.active().pane("rollout")
        assert rollout_pane.check_action("rollout", ("abort",)) is None  # shown, disabled
        assert app.dashboard.check_action("freeze", ()) is None
        assert app.dashboard.check_action("take_over", ()) is True

        await pilot.press("D")
        await _confirm(pilot, app)
        await wait_for(pilot, lambda: session.driver(context).state == "mine", what="bob drives")
        await wait_for(pilot, lambda: alice.driver(context).blocks_writes, what="alice sees it at once")
        assert "you drive since" in bar(app)
        assert rollout_pane.check_action("rollout", ("abort",)) is True
    if alice is not None:
        alice.stop()
    bob_audit = [json.loads(line) for line in (tmp_path / "audit-bob.jsonl").read_text().splitlines()]
    assert any(r.get("action", "").startswith("lease.") and r.get("event") == "after" for r in bob_audit)


@pytest.fixture
def argocd_platform():
    demo = DemoPlatform("argocd-rollback", now=T0).start()
    yield demo
    demo.stop()


async def test_the_recommended_leaf_carries_the_premortem_verdict(argocd_platform, tmp_path):
    from cockpit.widgets.decision_tree import DecisionPanel, DecisionTree

    app = make_app(argocd_platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        context = app.targets[0].name
        await wait_for(pilot, lambda: app.session.decision(context).premortem is not None, timeout=20,
                       what="the leaf's pre-mortem")
        panel = app.dashboard.active().decision
        assert isinstance(panel, DecisionPanel)
        tree = panel.query_one(DecisionTree)
        await wait_for(pilot, lambda: tree.premortem is not None, what="the tree redrawn with the verdict")
        labels = []

        def walk(node):
            labels.append(text(node.label))
            for child in node.children:
                walk(child)

        walk(tree.root)
        leaf = next(label for label in labels if "★" in label)
        assert " RISKY " in leaf  # auto-sync is on: it would fight the rollback
        assert "pre-mortem  RISKY" in text(panel.query_one("#recommendation").render())
        assert scenario.APP_NAME  # the scenario's app is the one assessed


async def test_a_running_runbook_shows_its_elapsed_time_against_the_forecast(platform, tmp_path):
    """With past drills of the runbook the line compares with their p50/p90; without, it says there are none."""
    from cockpit.forecast import Forecast, Sample
    from cockpit.screens.runbook import RunbookScreen

    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"), tick=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        context = app.targets[0].name
        # the drills below stand in for what the files would give: after the session's own read at start
        await wait_for(pilot, lambda: not app.session.scheduler.pending("forecasts"), what="the forecast read")
        await pilot.pause(0.2)
        samples = (Sample("drill", "data-rollback-postgres-pitr", 600.0, None, "a.md"),)
        app.session.forecasts = {"data-rollback-postgres-pitr": Forecast("data-rollback-postgres-pitr", samples,
                                                                        600.0, 600.0)}
        app.dashboard.open_runbook(context, "data-rollback-postgres-pitr", "PITR")
        await wait_for(pilot, lambda: isinstance(app.screen, RunbookScreen), what="the runbook")
        line = app.screen.query_one("#elapsed")
        await wait_for(pilot, lambda: "elapsed" in getattr(line, "_shown", ""), what="the elapsed line")
        assert "within the p50 (p50 10m, p90 10m; 1 drill)" in line._shown
