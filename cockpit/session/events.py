"""What a session tells its listeners (the App, a headless test, the live mirror): small typed events.

Events carry names, never data: a listener reads what changed from the session (the pane store is the only place
pane data lives).  ``subscribe`` callbacks may be called from any thread; the App turns them into Textual messages
(coalesced per context and pane), a test collects them in a list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("cockpit.session")


@dataclass(frozen=True)
class SessionEvent:
    context: str = ""


@dataclass(frozen=True)
class PaneChanged(SessionEvent):
    """The store holds a new snapshot for (context, pane)."""

    pane: str = ""


@dataclass(frozen=True)
class DecisionChanged(SessionEvent):
    """The tree was evaluated again (new evidence, an answer, something done)."""


@dataclass(frozen=True)
class RunChanged(SessionEvent):
    """A runbook run moved (a step started, waited, finished; inputs changed)."""

    runbook: str = ""


@dataclass(frozen=True)
class StatusChanged(SessionEvent):
    """Session-wide state a header shows: connection, mitigation, driver lease, freeze."""


@dataclass(frozen=True)
class Notice(SessionEvent):
    """Something to tell the person once.  ``text`` may quote untrusted strings: the UI cleans it."""

    text: str = ""
    severity: str = "information"  # information | warning | error
    timeout: float = 6.0


Listener = Callable[[SessionEvent], None]


class EventBus:
    """Fan-out to listeners; a listener that raises is logged and never stops the others or the caller."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: SessionEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not stop a watch thread
                log.exception("session listener failed on %r", event)
