"""`cockpit watch` on screen: the driver is another process (a live session on the demo platform, recording); this
process runs the mirror app at its own terminal size with every socket connection refused.  Every key a viewer can
press is refused or harmless, the driver's abort shows up, the timeline (`l`) lists it, the bar says who drives
and when the session ended."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from textual import events

from cockpit.cli import watch_app
from cockpit.config import build_settings
from cockpit.replay import open_player
from tests.ui.harness import wait_for as _unused  # noqa: F401 (the harness sets the test environment up)

ROOT = Path(__file__).resolve().parents[2]


class DriverProcess:
    def __init__(self, recording: Path, workdir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.integration.team_driver", str(recording),
                                      str(workdir)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    async def expect(self, key: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.05)
                continue
            if key in line:
                return line
        raise AssertionError(f"the driver never said {key}")

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


@pytest.fixture
def driver(tmp_path: Path):
    process = DriverProcess(tmp_path / "incident.cockpit", tmp_path / "demo")
    try:
        yield process
    finally:
        process.stop()


async def until(pilot: Any, predicate: Any, what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.05)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


def bar_text(app: Any) -> str:
    return str(app.dashboard.query_one("#mirror-bar").render())


async def test_the_mirror_app_follows_refuses_every_key_and_opens_no_connection(driver, tmp_path, monkeypatch):
    await driver.expect("ready")
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    earlier = {thread.ident for thread in threading.enumerate()} - {threading.main_thread().ident}

    def guarded(self: Any, address: Any) -> Any:  # any connection from the mirror is a failure
        if threading.get_ident() not in earlier:
            attempts.append((threading.current_thread().name, address))
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    player = open_player(str(tmp_path / "incident.cockpit"))
    app = watch_app(build_settings({}), player)
    dashboard = lambda: app.dashboard  # noqa: E731
    async with app.run_test(size=(100, 40)) as pilot:  # not the driver's size: the layout is the viewer's
        await until(pilot, lambda: dashboard().active().pane("rollout").snapshot is not None and
                    dashboard().active().pane("rollout").snapshot.data is not None, "the Rollout pane")
        assert dashboard().active().has_class("-medium")
        assert "MIRROR — READ-ONLY" in bar_text(app)
        rollout = dashboard().active().pane("rollout")
        assert rollout.snapshot.data.paused and not rollout.snapshot.data.aborted

        # every write key on the Rollout pane, the tree's answers, the take-over: refused, no modal
        for keys in (("2", "a"), ("2", "u"), ("2", "p"), ("2", "P"), ("2", "r"), ("t", "up", "y"), ("t", "up", "n")):
            await pilot.press(*keys)
            await pilot.pause(0.2)
            assert type(app.screen).__name__ not in ("ConfirmScreen", "RunbookScreen")
            if app.screen is not app.dashboard:
                await pilot.press("escape")
        messages = [str(n.message) for n in app._notifications]
        assert any("live mirror" in text for text in messages), messages

        # random keys the way a terminal sends them: nothing opens a write, nothing connects
        keys = [*"abcdefghijkmnoprstuvwxyz0123456789", "A", "P", "space", "enter", "escape", "tab", "left", "right",
                "up", "down", "question_mark", "backspace"]
        rng = random.Random(4711)
        for _ in range(8):
            for _ in range(100):
                key = rng.choice(keys)
                event = events.Key(key, key if len(key) == 1 else None)
                event.set_sender(app)
                app._driver.send_message(event)
            while not app._message_queue.empty():
                await asyncio.sleep(0.01)
            assert type(app.screen).__name__ != "ConfirmScreen"
            while app.screen is not app.dashboard:
                app.pop_screen()
                await pilot.pause(0.05)
        await pilot.pause(0.2)

        # the driver aborts the canary: the mirror shows it, and who drives
        driver.send("abort")
        await driver.expect("aborted")
        await until(pilot, lambda: dashboard().active().pane("rollout").snapshot.data.aborted, "the abort")
        await until(pilot, lambda: "driven by alice" in bar_text(app), "the driver's name")

        # l: the timeline, from the file being written, with the abort on it
        await pilot.press("l")
        await until(pilot, lambda: type(app.screen).__name__ == "TimelineScreen", "the timeline")
        screen = app.screen
        await until(pilot, lambda: screen.builder is not None and any(
            "abort Rollout catalog: ok" in e.text for e in screen.builder.entries()), "the abort on the timeline")
        await pilot.press("f")  # one layer at a time
        assert screen.layer_filter == "argocd"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "the dashboard again")

        # the driver quits: the recording ends, and the mirror says so
        driver.send("quit")
        await driver.expect("bye")
        await until(pilot, lambda: app.session.replay.ended and "ended" in bar_text(app), "the end", timeout=10)
    player.close()
    assert attempts == []


BUNDLED = ROOT / "recordings" / "demo-incident-drill.cockpit"


async def test_the_timeline_of_a_replay_filters_and_exports(tmp_path):
    import shutil

    from textual.widgets import DataTable

    from cockpit import timeline
    from cockpit.cli import replay_app

    copy = tmp_path / BUNDLED.name
    shutil.copy(BUNDLED, copy)
    player = open_player(str(copy))
    app = replay_app(build_settings({}), player)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: hasattr(app.dashboard, "at"), "the replay")
        await pilot.press("l")
        await until(pilot, lambda: type(app.screen).__name__ == "TimelineScreen", "the timeline")
        screen = app.screen
        await until(pilot, lambda: screen.builder is not None and screen.query_one(DataTable).row_count > 20,
                    "the rows")
        everything = screen.builder.entries()
        assert screen.query_one(DataTable).row_count == len(everything)
        for _ in range(4):  # all -> argocd -> rollout -> analysis -> p99
            await pilot.press("f")
        await pilot.pause(0.1)
        assert screen.layer_filter == "p99" and screen.query_one(DataTable).row_count == 2
        await pilot.press("a")
        await pilot.pause(0.1)
        assert screen.query_one(DataTable).row_count == len(everything)
        await pilot.press("e")
        exported = tmp_path / "demo-incident-drill.timeline.json"
        await until(pilot, lambda: exported.exists() and (tmp_path / "demo-incident-drill.timeline.md").exists(),
                    "the export")
        assert timeline.from_json(exported.read_text()) == everything
    player.close()


async def test_the_timeline_of_an_unrecorded_session_says_why_it_is_empty():
    from cockpit.app import CockpitApp
    from cockpit.session import ContextTarget, open_session

    session = open_session(build_settings({}), [ContextTarget("ctx", Path("/nonexistent"), "ns", False, False, None)])
    app = CockpitApp(session, start_feeds=False, tick=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        await until(pilot, lambda: type(app.screen).__name__ == "TimelineScreen", "the timeline")
        await until(pilot, lambda: "not recorded" in app.screen.error, "the reason")
