"""No crash from any key sequence: a seeded, bounded key fuzz of the real App, live on the demo platform (two kube
contexts, one of them read-only), started with --read-only, and replaying the bundled recording.

Keys go in the way the terminal driver sends them: in bursts, without waiting for the app between them (a held
key, a paste, a laggy SSH link), with the command palette opened, typed into, paged and closed inside a burst
(ctrl+p then PageDown in one burst once gave a KeyError in Textual's command list; a second ctrl+p a DuplicateIds;
a selection while the screen changed a ScreenStackError; a queued key while quitting NoMatches ``#contexts``).

Each run fails on any traceback: the app's own exception (re-raised by run_test), an exception logged by a
worker or a thread (the logging records of level ERROR, ``threading.excepthook``), and, in read-only and replay,
on any write request the emulator saw.  The seed is printed on failure; COCKPIT_FUZZ_SEED reproduces a run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import threading
import time
from pathlib import Path

import pytest
from textual import events

from cockpit.cli import replay_app
from cockpit.clock import FixedClock
from cockpit.config import ContextSettings, build_settings
from cockpit.demo import scenario
from cockpit.demo.platform import DemoPlatform, demo_settings
from cockpit.replay import open_player
from cockpit.session import connect
from tests.plugins.actions import writes
from tests.ui.harness import T0, build_app, wait_for

BUNDLED = Path(__file__).resolve().parents[2] / "recordings" / "demo-incident-drill.cockpit"
SEED = int(os.environ.get("COCKPIT_FUZZ_SEED", "20261202"))
SECONDS = float(os.environ.get("COCKPIT_FUZZ_SECONDS", "10"))  # per run; three runs stay within a minute

# every key the cockpit binds, the keys Textual's widgets bind, and some that nothing binds
SCREEN_KEYS = [*"123456", "tab", "shift+tab", "z", "c", "w", "t", "y", "n", "enter", "escape", "up", "down",
               "left", "right", "pageup", "pagedown", "home", "end", "space", "question_mark", *"aupPr", *"sexb",
               "left_square_bracket", "right_square_bracket", "backspace", "f1", "ctrl+l", "0", "9", "j", "k"]
# in the palette: paging, moving, typing (the letters of "Quit" left out: selecting it ends the run
# legitimately; the quit path is fuzzed on its own at the end), choosing, closing
PALETTE_KEYS = ["pagedown", "pageup", "down", "up", "end", "home", "enter", "escape", "backspace", "tab",
                *"zoomrecdafbhwkyslv", "ctrl+p"]


class Failures:
    """Everything that went wrong while the app ran: ERROR log records and uncaught thread exceptions."""

    def __init__(self) -> None:
        self.records: list[str] = []
        self._handler = _ListHandler(self.records)
        self._old_hook = threading.excepthook

    def __enter__(self) -> Failures:
        logging.getLogger().addHandler(self._handler)

        def hook(args: threading.ExceptHookArgs) -> None:
            self.records.append(f"thread {args.thread.name if args.thread else '?'}: "
                                f"{args.exc_type.__name__}: {args.exc_value}")

        threading.excepthook = hook
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self._handler)
        threading.excepthook = self._old_hook


class _ListHandler(logging.Handler):
    def __init__(self, out: list[str]) -> None:
        super().__init__(level=logging.ERROR)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.out.append(text)


def send(app, key: str) -> None:
    """One key as the terminal driver delivers it (queued; the app handles it when it gets to it)."""
    character = key if len(key) == 1 else {"space": " ", "question_mark": "?", "left_square_bracket": "[",
                                           "right_square_bracket": "]"}.get(key)
    event = events.Key(key, character)
    event.set_sender(app)
    app._driver.send_message(event)


async def drain(app, limit: float = 10.0) -> None:
    """Let the app work through what is queued (without Pilot's wait for a quiet screen)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and app.is_running and not app._message_queue.empty():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)


def burst(rng: random.Random) -> list[str]:
    """One burst: mostly screen keys; one in four opens the palette and works it inside the same burst."""
    if rng.random() < 0.25:
        keys = ["ctrl+p"]
        if rng.random() < 0.5:
            keys.append("pagedown")  # the KeyError: a page before the list had any item
        keys += [rng.choice(PALETTE_KEYS) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.7:
            keys.append("escape")
        return keys
    return [rng.choice(SCREEN_KEYS) for _ in range(rng.randint(1, 40))]


async def fuzz(pilot, rng: random.Random, seconds: float) -> int:
    """Bursts until ``seconds`` have passed or the app ended (a palette command may legitimately quit)."""
    app = pilot.app
    sent = 0
    until = time.monotonic() + seconds
    while time.monotonic() < until and app.is_running:
        keys = burst(rng)
        for key in keys:
            send(app, key)
        sent += len(keys)
        await drain(app)
        if len(app.screen_stack) > 4:  # back towards the dashboard now and then, so every screen is reached
            for _ in range(3):
                send(app, "escape")
            await drain(app)
    return sent


async def quit_burst(pilot, rng: random.Random) -> None:
    """Quit with keys still queued behind it (the palette open, a context switch, more keys)."""
    app = pilot.app
    for _ in range(3):
        send(app, "escape")
    await drain(app)
    for key in ["ctrl+p", "pagedown", "escape", "c", "q", *[rng.choice(SCREEN_KEYS) for _ in range(20)], "y",
                "ctrl+c"]:
        send(app, key)
    for _ in range(300):
        if not app.is_running:
            break
        await asyncio.sleep(0.02)


def check(failures: Failures, seed: int, sent: int) -> None:
    assert not failures.records, f"seed {seed}, {sent} keys: " + "\n".join(failures.records[:20])


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


async def test_fuzz_live_two_contexts(platform, tmp_path):
    platform.kube.add_context(platform.kubeconfig, context="demo-eu-west", namespace=scenario.APP_NAMESPACE)
    base = demo_settings(build_settings({}), platform)
    settings = dataclasses.replace(base, contexts=("demo-us-east", "demo-eu-west"), context_settings={
        "demo-eu-west": ContextSettings("demo-eu-west", production=True, read_only=True)})
    app = build_app(settings, connect(settings), clock=FixedClock(T0), tick=True,
                    audit_path=str(tmp_path / "audit.jsonl"))
    rng = random.Random(SEED)
    with Failures() as failures:
        async with app.run_test(size=(200, 50)) as pilot:
            await wait_for(pilot, lambda: all(d.pane("rollout").snapshot is not None
                                              for d in app.dashboard.dashboards()), what="both contexts")
            sent = await fuzz(pilot, rng, SECONDS)
            await quit_burst(pilot, rng)
    check(failures, SEED, sent)


async def test_fuzz_read_only_sends_nothing(platform, tmp_path):
    settings = demo_settings(build_settings({"read_only": True}), platform)
    app = build_app(settings, connect(settings), clock=FixedClock(T0), tick=True,
                    audit_path=str(tmp_path / "audit.jsonl"))
    rng = random.Random(SEED + 1)
    with Failures() as failures:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.dashboard.active().pane("rollout").snapshot is not None,
                           what="the rollout pane")
            platform.kube.clear_requests()
            sent = await fuzz(pilot, rng, SECONDS)
            await quit_burst(pilot, rng)
    check(failures, SEED + 1, sent)
    # (the audit log may hold a skipped runbook step: the cockpit's own file, not a write to a backend)
    assert writes(platform.kube) == [], f"seed {SEED + 1}: read-only sent {writes(platform.kube)[:3]}"


async def test_fuzz_replay_sends_nothing(platform):
    platform.kube.clear_requests()
    player = open_player(str(BUNDLED))
    rng = random.Random(SEED + 2)
    try:
        app = replay_app(build_settings({}), player)
        with Failures() as failures:
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause(0.2)
                sent = await fuzz(pilot, rng, SECONDS)
                await quit_burst(pilot, rng)
        check(failures, SEED + 2, sent)
    finally:
        player.close()
    assert platform.kube.requests == []


async def test_palette_bursts_named_in_the_issue():
    """The bursts that crashed Textual 8.2.8's palette, each on its own (deterministic)."""
    player = open_player(str(BUNDLED))
    try:
        app = replay_app(build_settings({}), player)
        with Failures() as failures:
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause(0.2)
                base = len(app.screen_stack)
                for keys in (["ctrl+p", "pagedown"], ["ctrl+p", "pageup", "pagedown", "escape", "escape"],
                             ["ctrl+p", "ctrl+p", "escape", "escape", "escape"],
                             ["ctrl+p", *"zoom", "enter", "enter", "escape"],
                             ["ctrl+p", "escape", "ctrl+p", "escape", "ctrl+p"]):  # reopened while closing
                    for key in keys:
                        send(app, key)
                    await drain(app)
                    for _ in range(3):
                        send(app, "escape")
                    await drain(app)
                    assert app.is_running and len(app.screen_stack) == base, (keys, app.screen_stack)
                app.search_themes()  # the palette's "Theme" command: a second palette
                send(app, "pagedown")
                send(app, "escape")
                send(app, "escape")
                await drain(app)
                assert app.is_running and len(app.screen_stack) == base
        check(failures, 0, 0)
    finally:
        player.close()
