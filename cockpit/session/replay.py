"""Replay as just another feed: a recording's state at a time, written into the session's pane store.

The replay screen only moves the time (play, pause, seek); this feed puts the recorded snapshots into the store and
the recorded evaluation into the session, exactly where live feeds put theirs, so every widget, the tree and the
summary strip render a replay through the same path as a live session.  Nothing here opens a connection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cockpit.session.events import PaneChanged, StatusChanged


class ReplayFeed:
    def __init__(self, session: Any, player: Any) -> None:
        self.session = session
        self.player = player
        self.at: datetime = player.start
        self._decisions: dict[str, list[tuple[datetime, Any]]] | None = None

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(self.session.contexts)

    def first_data_time(self) -> datetime:
        """The session starts a moment before its first data: open the replay there."""
        if self.player.state_at(self.player.start):
            return self.player.start
        first = next(iter(self.player.snapshots()), None)
        if first is None:
            return self.player.start
        return datetime.fromtimestamp(first[0], tz=self.player.start.tzinfo)

    def seek(self, when: datetime) -> datetime:
        """Show the recording as it was at ``when`` (clamped to the recording); returns the time shown."""
        player = self.player
        when = max(player.start, min(player.end, when))
        self.at = when
        clock = self.session.clock
        if hasattr(clock, "set"):
            clock.set(when)  # ages are shown against recorded time
        state = player.state_at(when)
        changed = self.session.store.replace(state, self.contexts)
        for context, pane in changed:
            self.session.emit(PaneChanged(context, pane))
        for context in self.contexts:
            evaluation, problems = self._decision_at(context, when)
            self.session.set_decision(context, evaluation, problems)
        self.session.emit(StatusChanged(""))
        return when

    def _decision_at(self, context: str, when: datetime) -> tuple[Any, tuple[str, ...]]:
        if self._decisions is None:
            self._decisions = self._load_decisions()
        found = None
        for at, item in self._decisions.get(context, ()):
            if at > when:
                break
            found = item
        if found is None:
            return None, ()
        return found

    def _load_decisions(self) -> dict[str, list[tuple[datetime, Any]]]:
        """Every recorded evaluation, decoded once (seek is then a lookup)."""
        from cockpit.decide import Evaluation
        from cockpit.recording.format import RecordingError, decode

        out: dict[str, list[tuple[datetime, Any]]] = {}
        player = self.player
        for event in player.events_between(player.start, player.end, kinds=("decision",)):
            payload = event.payload
            try:
                evaluation = decode(Evaluation, payload, "decision")
            except (RecordingError, TypeError, ValueError) as err:
                self.session.notice(f"cannot show a recorded decision: {err}", timeout=5)
                continue
            problems = tuple(str(p) for p in payload.get("problems", []) if isinstance(p, str)) \
                if isinstance(payload, dict) else ()
            out.setdefault(event.context, []).append((event.at, (evaluation, problems)))
        return out

    def recorded_steps(self, runbook: str, until: datetime) -> list[Any]:
        """The recorded step events of ``runbook`` up to ``until`` (the replay's runbook view)."""
        player = self.player
        return [e for e in player.events_between(player.start, until, kinds=("step",))
                if isinstance(e.payload, dict) and e.payload.get("runbook") == runbook]
