"""Record a scripted session against the emulator, replay it read-only; a drill in the demo writes its report."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from textual import events

from cockpit.session import connect
from tests.ui.harness import build_app
from cockpit.clock import FixedClock
from cockpit.config import build_settings
from cockpit.demo.platform import DemoPlatform, demo_settings
from cockpit.models import PANES
from cockpit.cli import replay_app
from cockpit.replay import open_player
from cockpit.runbooks.executor import StepState
from cockpit.session import start_recording
from tests.ui.harness import T0, settle, wait_for


def pane_text(app, pane: str) -> str:
    widget = app.dashboard.active().pane(pane)
    console = Console(width=120, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(widget.render_state(widget.entry, app.clock.now()))
    return console.export_text()


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


@pytest.fixture
def recorded(platform, tmp_path):
    """A session recorded against the demo platform: all six panes, then an abort through the modal."""
    path = tmp_path / "session.cockpit"
    settings = demo_settings(build_settings({}), platform)
    targets = connect(settings, note="demo")
    sink, _ = start_recording(settings, targets, path=str(path), now=T0)
    clock = FixedClock(T0)
    app = build_app(settings, targets, clock=clock, tick=False, recorder=sink,
                     audit_path=str(tmp_path / "audit.jsonl"))
    live: dict[str, str] = {}

    async def script():
        async with app.run_test(size=(200, 50)) as pilot:
            await settle(pilot)
            for pane in PANES:
                live[pane] = pane_text(app, pane)
            clock.set(T0 + timedelta(seconds=30))
            await pilot.press("2", "a")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="modal")
            await wait_for(pilot, lambda: app.screen.preflight is not None, what="pre-checks")
            await pilot.press("y")
            await wait_for(pilot, lambda: app.dashboard.active().pane("rollout").snapshot.data.aborted,
                           what="aborted")
            await pilot.pause(0.3)

    return path, live, script, sink  # the test awaits script() on its own event loop


async def test_replay_matches_live_and_refuses_actions(recorded, platform):
    path, live, script, sink = recorded
    await script()
    sink.close()
    player = open_player(str(path))
    app = replay_app(build_settings({}), player)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: hasattr(app.dashboard, "at"), what="replay start")
        app.dashboard.seek(T0)
        await pilot.pause()
        for pane in PANES:
            if pane == "latency":  # polled: its recorded time is the poll's, the data identical
                assert app.dashboard.active().pane(pane).snapshot.data == \
                    app.dashboard.active().pane(pane).snapshot.data
            assert pane_text(app, pane) == live[pane], pane
        # the abort is a marker; ] jumps to it and the Rollout shows it aborted
        await pilot.press("right_square_bracket")
        await pilot.pause(0.2)
        assert app.dashboard.at == T0 + timedelta(seconds=30)
        await wait_for(pilot, lambda: app.dashboard.active().pane("rollout").snapshot.data.aborted, what="aborted")
        platform.kube.clear_requests()
        await pilot.press("2", "a")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ != "ConfirmScreen"
        assert platform.kube.requests == []
    player.close()


async def test_random_keystrokes_in_replay_send_nothing(recorded, platform, monkeypatch):
    path, _, script, sink = recorded
    await script()
    sink.close()
    platform.kube.clear_requests()
    platform.prom.clear_requests()
    attempts: list = []
    real_connect = socket.socket.connect
    # threads left behind by earlier tests (a watch still retrying its stopped emulator) are not the replay's
    earlier = {thread.ident for thread in threading.enumerate()} - {threading.main_thread().ident}

    def guarded(self, address):  # any connection attempt from the replaying app is a failure
        if threading.get_ident() not in earlier:
            attempts.append((threading.current_thread().name, address))
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    player = open_player(str(path))
    app = replay_app(build_settings({}), player)
    keys = [*"abcdefghijklmnoprstuvwxyz0123456789", "A", "P", "space", "enter", "escape", "tab", "left", "right",
            "up", "down", "left_square_bracket", "right_square_bracket", "question_mark", "backspace"]
    # (not ctrl+p: random typing in the command palette can pick "Quit", which ends the replay legitimately)
    rng = random.Random(20261128)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        driver = app._driver
        pressed = 0
        while pressed < 10_000:  # sent the way the terminal driver sends them, 250 at a time
            for _ in range(250):
                key = rng.choice(keys)
                event = events.Key(key, key if len(key) == 1 else None)
                event.set_sender(app)
                driver.send_message(event)
            pressed += 250
            while not app._message_queue.empty():
                await asyncio.sleep(0.01)  # let the app work through them (Pilot.pause waits for a quiet screen)
            for _ in range(3 if len(app.screen_stack) > 3 else 0):
                event = events.Key("escape", None)
                event.set_sender(app)
                driver.send_message(event)
        for _ in range(200):  # every queued key handled before the test leaves the app
            if app._message_queue.empty():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert app.is_running
    player.close()
    assert attempts == []
    assert platform.kube.requests == [] and platform.prom.requests == []


def test_replay_cli_refuses_bad_files(tmp_path):
    junk = tmp_path / "junk.cockpit"
    junk.write_bytes(b"not a recording at all" * 100)
    out = subprocess.run([sys.executable, "-m", "cockpit", "replay", str(junk)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("cockpit: cannot replay") and "Traceback" not in out.stderr
    out = subprocess.run([sys.executable, "-m", "cockpit", "replay", str(tmp_path / "missing.cockpit")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_drill_next_names_the_rotation(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cockpit", "drill", "--next", "--drill-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.startswith("next month's drill: code-rollback-argocd")


async def test_demo_drill_writes_its_report(tmp_path):
    demo = DemoPlatform(recovery_seconds=1.0).start()
    try:
        settings = demo_settings(build_settings({"prometheus_interval": 0.3, "drill_dir": str(tmp_path / "drills")}),
                                 demo)
        targets = connect(settings, note="demo")
        sink, _ = start_recording(settings, targets, path=str(tmp_path / "drill.cockpit"))
        app = build_app(settings, targets, tick=False, recorder=sink, audit_path=str(tmp_path / "audit.jsonl"))
        async with app.run_test(size=(200, 50)) as pilot:
            await settle(pilot)
            app.start_drill("code-rollback-rollouts")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "RunbookScreen", what="executor")
            screen = app.screen
            run = lambda: screen.run  # noqa: E731
            await wait_for(pilot, lambda: run().current.state is StepState.FAILED, what="pre-flight stop")
            await pilot.press("s")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "AskScreen", what="reason")
            await pilot.press(*"drill override", "enter")
            await wait_for(pilot, lambda: run().current.state is StepState.NEEDS_CONFIRMATION, what="abort")
            await pilot.press("enter")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="modal")
            await wait_for(pilot, lambda: app.screen.preflight is not None, what="pre-checks")
            await pilot.press("y")
            pressed: set[str] = set()
            for _ in range(2):  # the two manual steps at the end (each pressed once, however fast the UI is)
                await wait_for(pilot, lambda: run().current is not None and run().current.step.id not in pressed
                               and run().current.state is StepState.NEEDS_PERSON, timeout=30, what="manual step")
                pressed.add(run().current.step.id)
                await pilot.press("enter")
            await wait_for(pilot, lambda: run().current is None, what="run done")
            reports = tmp_path / "drills"
            await wait_for(pilot, lambda: reports.exists() and list(reports.glob("dr-drill-*.md")), timeout=20,
                           what="the drill report")
        text = next(reports.glob("dr-drill-*.md")).read_text()
        assert "code-rollback-rollouts" in text
        for words in ("RTO", "RPO", "uman action time"):
            assert words in text
        assert list(tmp_path.glob("drill.postmortem.md"))
    finally:
        sink.close()
        demo.stop()
