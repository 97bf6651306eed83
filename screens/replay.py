"""Replay: the dashboard fed by a recording, a timeline bar, and the recorded runbook steps.

Keys: space play/pause · f speed 1×/10×/60× · ←/→ previous/next event · [ / ] previous/next action ·
g go to a time.  The banner says REPLAY — READ-ONLY for as long as the screen is up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from cockpit.textsafe import safe_text
from cockpit.timefmt import parse_when
from cockpit.screens.base import ReportsWorkerErrors, notify_untrusted
from cockpit.screens.dashboard import DashboardScreen

SPEEDS = (1, 10, 60)
TICK = 0.25  # seconds of wall time between frames while playing


class TimelineBar(Static):
    DEFAULT_CSS = """
    TimelineBar { height: 2; padding: 0 1; background: $warning-darken-3; color: $text; }
    """


class ReplayDashboardScreen(DashboardScreen):
    BINDINGS = DashboardScreen.BINDINGS + [
        Binding("space", "play", "Play/pause", priority=True),
        Binding("f", "speed", "Speed", priority=True),
        Binding("left", "step(-1)", "◀ event", priority=True),
        Binding("right", "step(1)", "event ▶", priority=True),
        Binding("left_square_bracket", "action_jump(-1)", "◀ action", key_display="[", priority=True),
        Binding("right_square_bracket", "action_jump(1)", "action ▶", key_display="]", priority=True),
        Binding("g", "goto", "Go to time", priority=True),
    ]

    def compose(self) -> ComposeResult:
        yield TimelineBar(id="timeline")
        yield from super().compose()

    # -- state -------------------------------------------------------------------------------------------

    @property
    def player(self) -> Any:
        return self.session.replay.player

    def start_replay(self) -> None:
        self.at: datetime = self.player.start
        self.playing = False
        self.speed = SPEEDS[0]
        self.markers = self.player.markers()
        self._timer = None
        if self.player.damage:
            notify_untrusted(self, f"damaged recording: {self.player.damage}", severity="warning", timeout=12)
        self.seek(self.session.replay.first_data_time())

    def seek(self, when: datetime) -> None:
        """The replay feed writes the recording's state at ``when`` into the store; the panes draw it."""
        self.at = self.session.replay.seek(when)
        self.refresh_summary(self.at)
        self.refresh_timeline()

    def refresh_timeline(self) -> None:
        player = self.player
        total = max(1.0, (player.end - player.start).total_seconds())
        width = max(20, self.size.width - 4)
        position = int((self.at - player.start).total_seconds() / total * (width - 1))
        line = ["─"] * width
        for event in self.markers:
            index = int((event.at - player.start).total_seconds() / total * (width - 1))
            if 0 <= index < width:
                line[index] = "┼"
        bar = Text()
        for index, char in enumerate(line):
            if index == position:
                bar.append("●", style="bold yellow")
            else:
                bar.append(char, style="yellow" if char == "┼" else "dim")
        head = Text.assemble(
            ("REPLAY — READ-ONLY  ", "bold reverse"),
            ("▶ playing " if self.playing else "❚❚ paused ", "bold"), (f"{self.speed}×  ", "bold"),
            (f"{self.at:%Y-%m-%d %H:%M:%S}Z", "bold"),
            (f"  ({player.start:%H:%M:%S} → {player.end:%H:%M:%S}, {player.count()} events)", "dim"),
        )
        nearby = player.prev_action(self.at + timedelta(microseconds=1))
        if nearby is not None:
            head.append("  last: ", style="dim")
            head.append_text(safe_text(nearby.label, limit=80))
        if player.damage:
            head.append("  ⚠ ", style="bold red")
            head.append_text(safe_text(player.damage, "red", limit=80))
        self.query_one("#timeline", TimelineBar).update(Text("\n").join([head, bar]))

    # -- keys --------------------------------------------------------------------------------------------

    def action_play(self) -> None:
        self.playing = not self.playing
        if self.playing and self.at >= self.player.end:
            self.at = self.player.start
        if self._timer is None:
            self._timer = self.set_interval(TICK, self._tick_replay)
        self.refresh_timeline()

    def _tick_replay(self) -> None:
        if not self.playing:
            return
        target = self.at + timedelta(seconds=TICK * self.speed)
        if target >= self.player.end:
            target = self.player.end
            self.playing = False
        self.seek(target)

    def action_speed(self) -> None:
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        self.refresh_timeline()

    def action_step(self, direction: int) -> None:
        event = (self.player.next_event(self.at) if direction > 0
                 else self.player.prev_event(self.at - timedelta(microseconds=1)))
        if event is not None:
            self.seek(event.at)

    def action_action_jump(self, direction: int) -> None:
        event = (self.player.next_action(self.at) if direction > 0
                 else self.player.prev_action(self.at - timedelta(microseconds=1)))
        if event is None:
            self.notify("no further action in the recording", timeout=2)
            return
        self.seek(event.at)
        notify_untrusted(self, event.label, timeout=3)

    def action_goto(self) -> None:
        from cockpit.screens.runbook import AskScreen

        def done(values: dict[str, str] | None) -> None:
            if not values:
                return
            when = parse_when(values["time"], self.at)
            if when is None:
                self.notify("not a time I can read (2026-05-20 14:22, 14:22, -5m)", timeout=4)
                return
            self.seek(when)

        self.app.push_screen(AskScreen("Go to a recorded time (UTC)",
                                       [("time", "2026-05-20 14:22 · 14:22:30 · -5m (before the current time)")]),
                             done)


class RecordedRunScreen(ReportsWorkerErrors, Screen):
    """A runbook's steps as they were recorded, up to the replay's current time (read-only)."""

    BINDINGS = [Binding("escape,q", "close", "Back")]
    DEFAULT_CSS = """
    RecordedRunScreen > VerticalScroll { border: round $warning; padding: 0 1; }
    """

    def __init__(self, session: Any, runbook: str, context: str) -> None:
        super().__init__()
        self.session = session
        self.runbook = runbook
        self.context = context
        self.at = session.replay.at

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = Text.assemble(
                "REPLAY — READ-ONLY · runbook ", safe_text(self.runbook, limit=80),
                f" as recorded up to {self.at:%H:%M:%S}Z")
            yield Static(self._table(), id="recorded-steps")
        yield Footer()

    def session_changed(self, event: Any) -> None:
        """A mirror (``cockpit watch``) moves on as the driver works: show the steps recorded since."""
        replay = self.session.replay
        if getattr(replay, "follows", False) and self.is_mounted and replay.at != self.at:
            self.at = replay.at
            self._refresh_steps()

    @work(thread=True, exclusive=True, group="recorded-steps", exit_on_error=False)
    def _refresh_steps(self) -> None:
        table = self._table()  # reads the file: off the UI thread
        self.app.call_from_thread(lambda: self.is_mounted and self.query_one("#recorded-steps", Static).update(table))

    def _table(self) -> Table | Text:
        events = self.session.replay.recorded_steps(self.runbook, self.at)
        if not events:
            return Text.assemble("No step of ", safe_text(self.runbook, limit=80),
                                 (" was recorded before this time. (In a replay nothing runs: the executor only "
                                  "shows what happened.)"), style="italic")
        table = Table(box=None, expand=True, header_style="bold dim")
        table.add_column("TIME", no_wrap=True)
        table.add_column("STEP", ratio=1)
        table.add_column("STATE", no_wrap=True)
        table.add_column("DETAIL", ratio=2)
        for event in events:
            payload = event.payload
            table.add_row(f"{event.at:%H:%M:%S}", safe_text(payload.get("title") or payload.get("step"), limit=120),
                          safe_text(payload.get("state"), "bold", limit=20),
                          safe_text(payload.get("detail", ""), "dim", limit=300))
        return table

    def action_close(self) -> None:
        if self.is_current and self.is_mounted:  # a queued key must not pop a screen twice, or one not up yet
            self.app.pop_screen()
