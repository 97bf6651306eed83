"""The UI-free session core: contexts, feeds, the pane store, evidence, decisions, runs, gateway, recorder.

``open_session`` builds a :class:`Session` for a live cockpit, a demo, a drill or a replay; the App only wires it
to screens (see ``cockpit/app.py``), and a test drives the same object headless.
"""

from __future__ import annotations

from typing import Any

from cockpit.session.core import DecisionView, Session
from cockpit.session.events import (
    DecisionChanged,
    Notice,
    PaneChanged,
    RunChanged,
    SessionEvent,
    StatusChanged,
)
from cockpit.session.recording import start_recording
from cockpit.session.store import PaneEntry, PaneStore
from cockpit.session.targets import ContextTarget, connect

__all__ = [
    "ContextTarget", "DecisionChanged", "DecisionView", "Notice", "PaneChanged", "PaneEntry", "PaneStore",
    "RunChanged", "Session", "SessionEvent", "StatusChanged", "connect", "open_session", "start_recording",
]


def open_session(
    settings: Any,
    targets: list[ContextTarget],
    *,
    clock: Any = None,
    recorder: Any = None,
    audit_path: str | None = None,
    read_only_reason: str | None = None,
    drill: str | None = None,
    player: Any = None,
    person: str | None = None,
) -> Session:
    """A session over ``targets``; with ``player`` it replays that recording (read-only, offline)."""
    session = Session(settings, targets, clock=clock, recorder=recorder, audit_path=audit_path,
                      read_only_reason=read_only_reason, drill=drill, person=person)
    if player is not None:
        from cockpit.session.replay import ReplayFeed

        session.replay = ReplayFeed(session, player)
    return session
