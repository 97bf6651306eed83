"""The decision tree beside the panes: the seed's scenario, answering and overriding nodes, opening a runbook."""

from __future__ import annotations

import pytest

from cockpit.decide import Answer
from cockpit.demo.platform import DemoPlatform
from tests.ui.harness import T0, make_app, settle, wait_for
from cockpit.widgets.decision_tree import DecisionTree


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


async def _evaluated(pilot):
    await settle(pilot)
    context = pilot.app.targets[0].name
    await wait_for(pilot, lambda: pilot.app.session.gathered(context) is not None, what="the decision evidence")
    await pilot.pause(0.1)
    return context


async def test_seed_scenario_recommends_data_first_with_evidence(platform):
    """The demo's default incident (a forward-only migration, no flag to flip): DATA rollback first, then code."""
    app = make_app(platform)
    async with app.run_test(size=(200, 50)) as pilot:
        context = await _evaluated(pilot)
        evaluation = app.session.evaluation(context)
        assert evaluation.path == ("recent_deploy", "flag_flip", "what_changed", "migration")
        assert evaluation.results["flag_flip"].answer is Answer.NO  # the flag is already off
        assert evaluation.leaf.id == "data-rollback-postgres-pitr"
        assert evaluation.leaf.then_runbook == "code-rollback-rollouts"  # the canary is still mid-way
        facts = " ".join(e.fact for e in evaluation.results["recent_deploy"].evidence)
        assert "#42 deployed 5m ago" in facts and platform.revisions[42][:7] in facts
        assert evaluation.results["what_changed"].answer is Answer.YES  # an image bump
        migration = evaluation.results["migration"]
        assert migration.answer is Answer.YES and "DROP COLUMN legacy_status" in migration.explain
        assert "DATA rollback first" in migration.explain
        assert app.session.gathered(context).problems == ()


async def test_answers_reroute_and_clear(platform):
    app = make_app(platform)
    async with app.run_test(size=(200, 50)) as pilot:
        context = await _evaluated(pilot)
        await pilot.press("t")
        tree = app.dashboard.active().decision.query_one(DecisionTree)
        assert app.focused is tree
        tree._move_to(("node", "flag_flip"))
        await pilot.pause()
        await pilot.press("y")  # "a flag covers it" (the person knows one the provider does not show)
        await pilot.pause()
        evaluation = app.session.evaluation(context)
        assert evaluation.results["flag_flip"].overridden
        assert evaluation.leaf.id == "flag-flip"
        await pilot.press("x")
        await pilot.pause()
        assert app.session.evaluation(context).leaf.id == "data-rollback-postgres-pitr"
        tree._move_to(("node", "migration"))
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert app.session.evaluation(context).leaf.id == "code-rollback-rollouts"
        await pilot.press("x")
        await pilot.pause()
        assert app.session.evaluation(context).leaf.id == "data-rollback-postgres-pitr"


async def test_explain_and_open_leaf(platform):
    app = make_app(platform)
    async with app.run_test(size=(200, 50)) as pilot:
        await _evaluated(pilot)
        await pilot.press("t")
        tree = app.dashboard.active().decision.query_one(DecisionTree)
        tree._move_to(("node", "migration"))
        await pilot.pause()
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "ExplainScreen"
        await pilot.press("escape")
        tree._move_to(("leaf", "data-rollback-postgres-pitr"))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "RunbookScreen"
        assert app.screen.runbook_id == "data-rollback-postgres-pitr"
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_narrow_terminal_opens_tree_with_t(platform):
    app = make_app(platform)
    async with app.run_test(size=(80, 24)) as pilot:
        await _evaluated(pilot)
        assert not app.dashboard.active().tree_visible
        await pilot.press("t")
        await pilot.pause()
        assert type(app.screen).__name__ == "DecisionScreen"
        panel_tree = app.screen.query_one(DecisionTree)
        assert panel_tree.evaluation is not None and panel_tree.evaluation.leaf.id == "data-rollback-postgres-pitr"
        panel_tree._move_to(("node", "flag_flip"))
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert panel_tree.evaluation.leaf.id == "flag-flip"
        await pilot.press("escape")
        assert app.screen is app.dashboard


@pytest.mark.parametrize("size", [(200, 50), (80, 24)], ids=["200x50", "80x24"])
def test_tree_snapshot(snap_compare, platform, size):
    app = make_app(platform)
    app.animation_level = "none"

    async def run(pilot):
        await settle(pilot, complete=True)
        await _evaluated(pilot)
        await pilot.press("t")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run)
