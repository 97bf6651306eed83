"""The App: wiring only.  It shows the screens, holds the global keys, and turns the session's events into
coalesced Textual messages; everything the cockpit knows and does lives in the session (``cockpit.session``)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterable
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from cockpit.screens.palette import palette_class
from cockpit.session import (
    DecisionChanged,
    Notice,
    PaneChanged,
    RunChanged,
    Session,
    SessionEvent,
    StatusChanged,
)

_COALESCED = (PaneChanged, DecisionChanged, RunChanged, StatusChanged)


class SessionMessage(Message):
    """A session event delivered on the UI thread.  Repeats of the same pane/decision/run change that are still
    queued collapse into one (a burst of watch events is one repaint)."""

    def __init__(self, event: SessionEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return (isinstance(message, SessionMessage) and isinstance(self.event, _COALESCED)
                and message.event == self.event)


class CockpitApp(App[int]):
    TITLE = "cockpit"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, session: Session, *, start_feeds: bool = True, tick: bool = True,
                 recording_note: str = "") -> None:
        super().__init__()
        self.session = session
        self.start_feeds = start_feeds
        self.tick_enabled = tick
        self.recording_note = recording_note
        self.on_ready_hooks: list[Any] = []
        self._unsubscribe: Any = None

    @property
    def clock(self) -> Any:
        return self.session.clock

    @property
    def targets(self) -> list[Any]:
        return self.session.targets

    # -- start-up --------------------------------------------------------------------------------------------

    def get_default_screen(self) -> Any:
        """The dashboard is the app's base screen (not pushed over Textual's blank one from ``on_mount``): pushed
        there it was composed and laid out inside the app's start-up batch, where Textual draws the first frame
        and throws it away, and the frame the terminal saw came one more layout later (about 55 ms of the launch
        to the first frame in the bench harness)."""
        from cockpit.screens.dashboard import DashboardScreen

        if "dashboard" in self.__dict__:  # Textual asks once per mode; one dashboard whatever happens
            return self.dashboard
        if getattr(self.session.replay, "follows", False):  # cockpit watch: a recording being written
            from cockpit.screens.mirror import MirrorDashboardScreen

            self.dashboard: DashboardScreen = MirrorDashboardScreen(self.session)
        elif self.session.replay is not None:
            from cockpit.screens.replay import ReplayDashboardScreen

            self.dashboard = ReplayDashboardScreen(self.session)
        else:
            self.dashboard = DashboardScreen(self.session)
        return self.dashboard

    def on_mount(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        # modal pre-checks and person operations run in threads: a small pool of their own
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=8,
                                                                           thread_name_prefix="cockpit-ui"))
        self._unsubscribe = self.session.subscribe(lambda event: self.post_message(SessionMessage(event)))
        # the feeds start once the first frame is on the terminal: their client imports, kubeconfig and first lists
        # would otherwise share the GIL with composing and painting it
        self.call_after_refresh(self.session.start, feeds=self.start_feeds)
        if self.tick_enabled and self.session.live:
            self.set_interval(1.0, self.dashboard.tick)
        self._install_hangup_guard()
        if self.recording_note:
            from cockpit.screens.base import notify_untrusted

            notify_untrusted(self, self.recording_note, timeout=6,
                             severity="warning" if self.recording_note.startswith("NOT") else "information")
        if self.session.drill and self.session.live:
            self.call_after_refresh(self.start_drill, self.session.drill)
        elif self.session.resumed:
            context, runbook = self.session.resumed[0]
            self.call_after_refresh(lambda: self.dashboard.open_runbook(context, runbook, runbook))
        if self.session.replay is not None:
            self.call_after_refresh(self.dashboard.start_replay)

    def on_session_message(self, message: SessionMessage) -> None:
        from cockpit.screens.base import notify_untrusted

        if not self.is_running:  # quitting: the screens are being taken down, nothing is drawn any more
            return
        event = message.event
        if isinstance(event, Notice):
            notify_untrusted(self, event.text, severity=event.severity, timeout=event.timeout)
            return
        for screen in self.screen_stack:
            handler = getattr(screen, "session_changed", None)
            if handler is not None:
                handler(event)

    def on_worker_state_changed(self, event: Any) -> None:
        """No worker dies silently: a failed one is said on screen (and logged)."""
        from textual.worker import WorkerState

        from cockpit.screens.base import notify_untrusted

        worker = event.worker
        if event.state is WorkerState.ERROR:
            import logging

            logging.getLogger("cockpit.app").error("worker %s failed", worker.name, exc_info=worker.error)
            notify_untrusted(self, f"{worker.name or 'a task'} failed: {type(worker.error).__name__}: "
                                   f"{worker.error}", severity="error", timeout=12)

    # -- drills and commands --------------------------------------------------------------------------------

    def start_drill(self, runbook: str) -> None:
        from cockpit.screens.base import notify_untrusted

        refused = self.session.start_drill(runbook)
        if refused:
            notify_untrusted(self, refused, severity="error", timeout=8)
            return
        context = self.session.targets[0].name
        self.call_after_refresh(lambda: self.dashboard.open_runbook(context, runbook, runbook))

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        if not self.use_command_palette or CommandPalette.is_open(self):
            return
        from textual._node_list import DuplicateIds

        try:
            self.push_screen(palette_class()(id="--command-palette"))
        except DuplicateIds:  # the last palette is still closing (ctrl+p in the same burst as its Esc): a no-op
            pass

    def search_commands(self, commands: Any, placeholder: str = "Search for commands…") -> Any:
        from textual.command import SimpleProvider

        return self.push_screen(palette_class()(providers=[SimpleProvider(self.screen, commands)],
                                                 placeholder=placeholder))

    def search_themes(self) -> None:  # the palette's "Theme" command opens a second palette: the safe one too
        from textual.theme import ThemeProvider

        self.push_screen(palette_class()(providers=[ThemeProvider], placeholder="Search for themes…"))

    def action_help(self) -> None:
        from cockpit.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        dashboard = self.dashboard
        names = ["Argo CD history", "Rollout", "AnalysisRuns", "p99 latency", "CNPG recoverability",
                 "Velero backups"]
        for number, name in enumerate(names, start=1):
            yield SystemCommand(f"Focus {name}", f"Key {number}", lambda n=number: self._on_dashboard(
                lambda: dashboard.action_focus_pane(n)))
        yield SystemCommand("Zoom pane", "Key z: zoom the focused pane, or back",
                            lambda: self._on_dashboard(dashboard.action_zoom))
        yield SystemCommand("Is a time recoverable?", "Key w: ask the CNPG pane",
                            lambda: self._on_dashboard(dashboard.action_recoverable))
        yield SystemCommand("Next context", "Key c: the next kube context tab",
                            lambda: self._on_dashboard(dashboard.action_next_context))
        yield SystemCommand("Decision tree", "Key t: which layer broke, with the evidence",
                            lambda: self._on_dashboard(dashboard.action_tree))
        yield SystemCommand("Timeline", "Key l: everything the session saw and did, every layer, oldest first",
                            lambda: self._on_dashboard(dashboard.action_timeline))
        if self.session.live:
            yield SystemCommand("Drill: exercise the next runbook in the rotation",
                                "Recorded and timed; writes dr-drill-YYYY-MM.md when the run ends",
                                lambda: self.start_drill(self.session.next_drill()))
        yield SystemCommand("Show the recording", "Where this session is being recorded", self._show_recording)
        yield SystemCommand("Show keys", "Key ?: every key", self.action_help)

    def _on_dashboard(self, action: Any) -> None:
        """Palette commands act on the dashboard: bring it back first (the palette may sit over another screen)."""
        if self.screen is not self.dashboard:
            self.notify("Go back to the dashboard first (Esc).", timeout=3)
            return
        action()

    def _show_recording(self) -> None:
        from cockpit.screens.base import notify_untrusted

        session = self.session
        if session.replay is not None:
            notify_untrusted(self, f"replaying {session.replay.player.path}")
        elif session.recorder is not None:
            notify_untrusted(self, f"recording to {session.recorder.path}")
        else:
            notify_untrusted(self, self.recording_note or "not recording")

    async def action_quit(self) -> None:
        """``q`` asks first while a runbook is in the middle of a run (it can be resumed from the recording)."""
        active = [run for run in self.session.run_control.active() if run.started_at is not None]
        if active and self.session.live:
            from cockpit.screens.base import YesNoScreen

            names = ", ".join(run.runbook.id for run in active)
            question = (f"A runbook is in the middle of a run ({names}). Quit anyway? Nothing is undone; "
                        "'cockpit resume RECORDING' continues it.")
            self.push_screen(YesNoScreen(question), lambda yes: self.exit() if yes else None)
            return
        self.exit()

    async def on_event(self, event: Any) -> None:
        # Keys still queued while the app shuts down (a held key, a burst over SSH) arrive after the screens are
        # gone; Textual would raise on them.  They have nowhere to go: drop them.
        from textual import events

        if isinstance(event, (events.Key, events.MouseEvent)) and not self._screen_stack:
            return
        await super().on_event(event)

    # -- leaving cleanly -----------------------------------------------------------------------------------

    def _install_hangup_guard(self) -> None:
        """Exit when the terminal goes away (SIGHUP, or stdin closed under a dropped SSH session)."""
        if self.is_headless:
            return
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        self.set_interval(5.0, self._check_terminal)

    def _check_terminal(self) -> None:
        try:
            alive = os.isatty(sys.__stdin__.fileno()) if sys.__stdin__ is not None else False
        except (ValueError, OSError):
            alive = False
        if not alive:
            self.exit(1)

    def _abandon_requests(self) -> None:
        """Quitting never waits: end every request and credential plugin in flight (the plan of a write in a
        to_thread worker among them; Textual's asyncio.run waits for those threads before it returns)."""
        from cockpit.sources.limits import abandon_all

        abandon_all("the cockpit is quitting")

    def exit(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._abandon_requests()
        super().exit(*args, **kwargs)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._abandon_requests()
        self.session.stop()
