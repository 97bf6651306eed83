"""The pane store: for every (context, pane), the snapshot, the last good data, its age and the state -- the only
place pane data lives.

Feeds (live watches and polls, or a recording being replayed) ``put`` snapshots; widgets, the decision evidence and
runbook facts read entries.  A failed read never blanks a pane: the last good data stays, marked stale.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cockpit.models import PANES, FeedState, FeedStatus, PaneSnapshot


@dataclass(frozen=True)
class PaneEntry:
    snapshot: PaneSnapshot
    last_good: Any = None  # the newest data any snapshot carried (kept across errors)
    last_good_at: datetime | None = None
    version: int = 0  # bumps on every change: a view re-renders only when it moved

    @property
    def state(self) -> FeedState:
        return self.snapshot.status.state

    @property
    def status(self) -> FeedStatus:
        return self.snapshot.status

    @property
    def stale(self) -> bool:
        """The source failed and what is shown is the last good data."""
        return self.state is FeedState.ERROR and self.shown is not None

    @property
    def shown(self) -> Any:
        """What the pane draws: the snapshot's data, or the last good data while the source is failing."""
        if self.snapshot.data is not None:
            return self.snapshot.data
        return self.last_good if self.state is FeedState.ERROR else None

    @property
    def current(self) -> Any:
        """The best data known now, for decisions and facts: the snapshot's, else the last good."""
        return self.snapshot.data if self.snapshot.data is not None else self.last_good


class PaneStore:
    """Thread-safe: feeds put from their threads, the UI and workers read."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], PaneEntry] = {}
        self._lock = threading.Lock()

    def put(self, snap: PaneSnapshot, now: datetime | None = None) -> PaneEntry | None:
        """Store ``snap``; returns the new entry, or None when nothing changed."""
        key = (snap.context, snap.pane)
        with self._lock:
            old = self._entries.get(key)
            if old is not None and old.snapshot == snap:
                return None
            last_good, last_good_at = (old.last_good, old.last_good_at) if old is not None else (None, None)
            if snap.data is not None:
                last_good, last_good_at = snap.data, snap.status.updated_at or now
            entry = PaneEntry(snap, last_good, last_good_at, (old.version + 1) if old is not None else 1)
            self._entries[key] = entry
            return entry

    def entry(self, context: str, pane: str) -> PaneEntry:
        with self._lock:
            found = self._entries.get((context, pane))
        return found if found is not None else PaneEntry(PaneSnapshot(pane, context))

    def current(self, context: str, pane: str) -> Any:
        return self.entry(context, pane).current

    def entries(self, context: str) -> dict[str, PaneEntry]:
        return {pane: self.entry(context, pane) for pane in PANES}

    def clear(self, context: str | None = None) -> None:
        """Forget everything (a replay seeking backwards must not keep data from later)."""
        with self._lock:
            if context is None:
                self._entries.clear()
            else:
                for key in [k for k in self._entries if k[0] == context]:
                    del self._entries[key]

    def replace(self, snaps: dict[tuple[str, str], PaneSnapshot], contexts: tuple[str, ...]) -> list[tuple[str, str]]:
        """Set the whole store to ``snaps`` (a replay seek); returns the (context, pane) keys that changed.

        Panes of ``contexts`` without a snapshot become EMPTY ("nothing recorded yet at this time")."""
        changed = []
        with self._lock:
            for context in contexts:
                for pane in PANES:
                    key = (context, pane)
                    snap = snaps.get(key) or PaneSnapshot(pane, context, None, FeedStatus(
                        FeedState.EMPTY, error="nothing recorded yet at this time"))
                    old = self._entries.get(key)
                    if old is not None and old.snapshot == snap and old.last_good is snap.data:
                        continue
                    version = (old.version + 1) if old is not None else 1
                    self._entries[key] = PaneEntry(snap, snap.data, snap.status.updated_at, version)
                    changed.append(key)
        return changed
