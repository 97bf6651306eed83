"""Wall-clock time behind one seam, so tests and replays can fix it.

Only ages and freshness use this clock; Textual's timers keep using the monotonic clock.
"""

from __future__ import annotations

from datetime import datetime, timezone


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock(Clock):
    """A clock that stands still (snapshots) until moved (replays, drills)."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at
