"""The live mirror: a replay that keeps seeking to the newest time while the recording is being written.

``cockpit watch RECORDING`` opens the file a live cockpit is recording (read-only: SQLite readers run beside the
writer, the recorder uses WAL mode) and shows the same dashboard, tree and runbook progress at the viewer's own
terminal size.  :class:`MirrorFeed` is a :class:`~cockpit.session.replay.ReplayFeed` whose time is always "now":
every ``poll`` seconds it asks the file for its newest row (one B-tree step), and when something was appended it
writes the recording's newest state into the session's pane store and the newest recorded evaluation into the
session -- the same path a replay or a live feed takes, so every widget draws a mirror unchanged.

A mirror needs no cluster credentials and opens no connection (like a replay, nothing here imports a backend);
the session refuses every action (``why_read_only`` says "live mirror"), and the recording holds no keystrokes.
The clock runs from the newest recorded instant at wall-clock speed, so ages ("updated 4s ago") read as they do on
the driver's screen; once the recording has ended it stands still at its end.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from cockpit.clock import Clock
from cockpit.session.events import StatusChanged
from cockpit.session.replay import ReplayFeed

MIRROR_REASON = "live mirror of a recording (read-only: a viewer never writes)"
POLL_SECONDS = 0.25  # the mirror is at most this far behind the file (plus one repaint)


class FollowClock(Clock):
    """The newest recorded instant, moving on at wall-clock speed until the next row (or standing still)."""

    def __init__(self, at: datetime) -> None:
        self._at = at
        self._since = time.monotonic()
        self.running = True
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            if not self.running:
                return self._at
            return self._at + timedelta(seconds=time.monotonic() - self._since)

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at
            self._since = time.monotonic()


class MirrorFeed(ReplayFeed):
    """Follows ``player``'s recording as it is written (see the module docstring)."""

    follows = True
    read_only_reason = MIRROR_REASON

    def __init__(self, session: Any, player: Any, *, poll: float = POLL_SECONDS) -> None:
        super().__init__(session, player)
        self.poll = poll
        self.seen = 0  # the newest row id shown
        self.updated_at: float | None = None  # monotonic time of the last change shown
        self.ended = False  # the recorder closed the file: nothing more will come
        self._decisions = {}
        self._decisions_seen = 0
        self._info_seen = 0
        self.person = ""  # who confirmed the recording's writes (its driver), from its audit records
        self.last_step: dict[str, Any] | None = None  # the newest runbook step event (runbook progress)
        self._lock = threading.Lock()

    # -- following ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Follow in a supervised background thread of the session (returns at once; no file I/O here)."""
        self.session.scheduler.loop("mirror", self.follow)

    def follow(self, stopped: threading.Event) -> None:
        while not stopped.is_set():
            self.catch_up()
            if self.ended:
                return
            stopped.wait(self.poll)

    def catch_up(self) -> bool:
        """Show the newest state if the file has grown (or ended); True when the mirror moved."""
        with self._lock:
            last = self.player.last_id()
            if last == self.seen and self.seen and not self._ending():
                return False
            self.player.refresh()
            self._load_new_decisions()
            self._read_progress()
            self.ended = self.player.complete
            clock = self.session.clock
            if isinstance(clock, FollowClock):
                clock.running = not self.ended
            self.seek(self.player.end)
            self.seen = last
            self.updated_at = time.monotonic()
        self.session.emit(StatusChanged(""))
        return True

    def _ending(self) -> bool:
        """The recorder wrote ``ended_at`` (a metadata row, no event): look again once."""
        if self.ended:
            return False
        self.player.refresh()
        return self.player.complete

    # -- decisions, read incrementally -------------------------------------------------------------------

    def _load_decisions(self) -> dict[str, list[tuple[datetime, Any]]]:
        self._load_new_decisions()
        return self._decisions or {}

    def _load_new_decisions(self) -> None:
        from cockpit.decide import Evaluation
        from cockpit.recording.format import RecordingError, decode

        if self._decisions is None:
            self._decisions = {}
        while True:
            events = self.player.events_after(self._decisions_seen, kinds=("decision",))
            for event in events:
                self._decisions_seen = max(self._decisions_seen, event.id)
                payload = event.payload
                try:
                    evaluation = decode(Evaluation, payload, "decision")
                except (RecordingError, TypeError, ValueError) as err:
                    self.session.notice(f"cannot show a recorded decision: {err}", timeout=5)
                    continue
                problems = tuple(str(p) for p in payload.get("problems", []) if isinstance(p, str)) \
                    if isinstance(payload, dict) else ()
                self._decisions.setdefault(event.context, []).append((event.at, (evaluation, problems)))
            if len(events) < 500:
                return

    # -- what the bar says ------------------------------------------------------------------------------

    def behind(self) -> float | None:
        """Seconds since the newest row was shown (None before the first)."""
        return None if self.updated_at is None else time.monotonic() - self.updated_at

    def _read_progress(self) -> None:
        """The newest runbook step and the person confirming writes, from the rows not read yet."""
        while True:
            events = self.player.events_after(self._info_seen, kinds=("step", "audit"))
            for event in events:
                self._info_seen = max(self._info_seen, event.id)
                payload = event.payload if isinstance(event.payload, dict) else {}
                if event.kind == "step":
                    self.last_step = payload
                elif isinstance(payload.get("confirmed_by"), str) and payload["confirmed_by"]:
                    self.person = payload["confirmed_by"][:80]
            if len(events) < 500:
                return


def mirror_session(settings: Any, player: Any, *, poll: float = POLL_SECONDS) -> Any:
    """A session that mirrors ``player``'s recording as it is written: read-only, offline."""
    from cockpit.replay import replay_session

    import dataclasses
    from pathlib import Path

    session = replay_session(settings, player)
    session.clock = FollowClock(player.end)  # ages read as on the driver's screen
    session.replay = MirrorFeed(session, player, poll=poll)
    note = f"MIRROR — READ-ONLY · {Path(player.path).name}"
    session.targets = [dataclasses.replace(target, note=note) for target in session.targets]
    for target in session.targets:
        session.contexts[target.name].target = target
    return session
