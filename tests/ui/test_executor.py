"""The runbook executor: from the decision tree's CODE leaf, the Rollouts runbook aborts the canary via the modal."""

from __future__ import annotations

import json

import pytest

from cockpit.demo.platform import DemoPlatform
from cockpit.runbooks.executor import StepState
from tests.ui.harness import T0, make_app, settle, wait_for


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


def current(app):
    return app.screen.run.current


async def _open_code_leaf(pilot):
    await settle(pilot)
    await pilot.press("t")
    await pilot.pause()
    host = pilot.app.screen if type(pilot.app.screen).__name__ == "DecisionScreen" else pilot.app.dashboard.active()
    tree = host.query_one("#tree")
    tree._move_to(("leaf", "code-rollback"))
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "RunbookScreen", what="the executor")
    assert pilot.app.screen.runbook_id == "code-rollback-rollouts"


async def test_code_leaf_runbook_aborts_through_the_modal(platform, tmp_path):
    audit = tmp_path / "audit.jsonl"
    app = make_app(platform, audit_path=str(audit))
    async with app.run_test(size=(200, 50)) as pilot:
        await _open_code_leaf(pilot)
        screen = app.screen
        # the demo release dropped a column: the runbook's first check stops the code rollback
        await wait_for(pilot, lambda: current(app).step.id == "migration-preflight"
                       and current(app).state is StepState.FAILED, what="the pre-flight stop")
        assert screen.run.next_runbook == "data-rollback-postgres-pitr", current(app).detail
        # the on-call overrides it on purpose, with a reason
        await pilot.press("s")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AskScreen", what="the reason prompt")
        await pilot.press(*"drill: abort is status-only")
        await pilot.press("enter")
        await wait_for(pilot, lambda: current(app).step.id == "abort"
                       and current(app).state is StepState.NEEDS_CONFIRMATION, what="the abort to confirm")
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="the modal")
        await wait_for(pilot, lambda: app.screen.preflight is not None, what="the pre-checks")
        assert any("migration pre-flight" in w for w in app.screen.extra_warnings)
        platform.kube.clear_requests()
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the executor")
        await wait_for(pilot, lambda: screen.run.steps[2].state is StepState.DONE, what="abort done")
        sent = [r for r in platform.kube.requests if r.method == "PATCH" and "dryRun" not in r.query]
        assert [r.path.rsplit("/", 2)[-2:] for r in sent] == [["catalog", "status"]]
        assert json.loads(sent[0].body)["status"]["abort"] is True
        await wait_for(pilot, lambda: screen.run.steps[3].state is StepState.DONE, timeout=20,
                       what="the wait step: canary gone")
        timeline = screen.run.timeline()
        assert timeline[2]["started_at"] and timeline[2]["finished_at"]
        records = [json.loads(line) for line in audit.read_text().splitlines()]
        assert [r["event"] for r in records if r.get("event") in ("before", "after")][:2] == ["before", "after"]
        await pilot.press("escape")
        assert app.screen is not screen


async def test_executor_read_only_sends_nothing(platform, tmp_path):
    app = make_app(platform, read_only=True, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        await _open_code_leaf(pilot)
        await wait_for(pilot, lambda: current(app).state is StepState.FAILED, what="the pre-flight stop")
        await pilot.press("s")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AskScreen", what="the reason prompt")
        await pilot.press(*"testing", "enter")
        await wait_for(pilot, lambda: current(app).state is StepState.NEEDS_CONFIRMATION, what="the abort")
        platform.kube.clear_requests()
        # Enter on the action step is shown as read-only and disabled: no modal, nothing sent
        shown = {binding.description: enabled for _, binding, enabled, _ in app.screen.active_bindings.values()}
        assert shown.get("Proceed (read-only: nothing is sent)") is False and "Proceed" not in shown
        await pilot.press("enter", "y", "enter")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "RunbookScreen"
        assert current(app).state is StepState.NEEDS_CONFIRMATION
        writes = [r for r in platform.kube.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]
        assert writes == []


def test_executor_snapshot(snap_compare, platform):
    app = make_app(platform)
    app.animation_level = "none"

    async def run(pilot):
        await _open_code_leaf(pilot)
        await wait_for(pilot, lambda: current(pilot.app).state is StepState.FAILED, what="the pre-flight stop")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run)


def test_modal_snapshot(snap_compare, platform):
    app = make_app(platform)
    app.animation_level = "none"

    async def run(pilot):
        await settle(pilot, complete=True)
        await pilot.press("2", "a")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmScreen", what="the modal")
        await wait_for(pilot, lambda: pilot.app.screen.preflight is not None, what="the pre-checks")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run)


async def test_q_asks_first_while_a_run_is_in_progress(platform, tmp_path):
    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_code_leaf(pilot)
        await wait_for(pilot, lambda: app.screen.run is not None and app.screen.run.started_at is not None,
                       what="the run started")
        await pilot.press("q")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "YesNoScreen", what="the question")
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.is_running and type(app.screen).__name__ == "RunbookScreen"
        await pilot.press("q")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "YesNoScreen", what="the question again")
        await pilot.press("y")
        await pilot.pause(0.3)
        assert not app.is_running
