"""Write keys are hidden or disabled in read-only and replay (Textual's check_action), besides the gateway's
refusal: not in the footer, and pressing them opens nothing and sends nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.cli import replay_app
from cockpit.config import build_settings
from cockpit.demo.platform import DemoPlatform
from cockpit.replay import open_player
from tests.plugins.actions import writes
from tests.ui.harness import T0, make_app, settle, wait_for

ROLLOUT_KEYS = ("a", "u", "p", "P", "r")
BUNDLED = Path(__file__).resolve().parents[2] / "recordings" / "demo-incident-drill.cockpit"


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


def shown_keys(app) -> dict[str, tuple[str, bool]]:
    """key -> (description, enabled) of the bindings the footer shows now."""
    return {key: (active.binding.description, active.enabled)
            for key, active in app.screen.active_bindings.items() if active.binding.show}


def rollout_actions(app) -> list[str]:
    return [key for key, active in app.screen.active_bindings.items() if active.binding.action.startswith("rollout(")]


async def test_live_shows_the_rollout_keys(platform, tmp_path):
    """The control: on a writable context the footer offers Abort/Undo/Promote/Retry."""
    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await pilot.pause()
        assert set(rollout_actions(app)) == set(ROLLOUT_KEYS)
        assert shown_keys(app)["a"] == ("Abort", True)


async def test_read_only_hides_the_rollout_keys(platform, tmp_path):
    app = make_app(platform, read_only=True, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await pilot.pause()
        assert rollout_actions(app) == []
        assert not {"a", "u", "p", "r"} & set(shown_keys(app))
        platform.kube.clear_requests()
        for key in ROLLOUT_KEYS:
            await pilot.press(key)
        await pilot.pause(0.5)
        assert app.screen is app.dashboard  # no modal: the key did nothing
        assert writes(platform.kube) == []
        assert not (tmp_path / "audit.jsonl").exists()


async def test_replay_hides_the_rollout_keys_and_the_drill_command():
    player = open_player(str(BUNDLED))
    try:
        app = replay_app(build_settings({}), player)
        async with app.run_test(size=(200, 50)) as pilot:
            await wait_for(pilot, lambda: app.dashboard.active().pane("rollout").snapshot is not None,
                           what="the recorded rollout pane")
            await pilot.press("2")
            await pilot.pause()
            assert rollout_actions(app) == []
            for key in ROLLOUT_KEYS:
                await pilot.press(key)
            await pilot.pause(0.3)
            assert type(app.screen).__name__ == "ReplayDashboardScreen"
            titles = [command.title for command in app.get_system_commands(app.screen)]
            assert titles and not [title for title in titles if title.startswith("Drill")]
    finally:
        player.close()


async def test_live_palette_offers_the_drill(platform, tmp_path):
    """The control for the replay case: live, the palette has the drill command."""
    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert [title for title in titles if title.startswith("Drill")]
