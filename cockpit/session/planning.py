"""Planning a write, visibly and cancellably: "planning… still waiting for X [Cancel]".

A plan reads before it asks (the object as it is now, an access review, a dry-run); any of those can hang on a
slow API server or a credential plugin.  :class:`Planning` runs the plan under a cancel scope
(``cockpit.sources.limits.Deadline(None, …, parent=False)``): every request made inside is a child of it, so the
UI can say what the plan is waiting for right now and end it at once::

    planning = Planning("planning the abort")
    task = asyncio.to_thread(planning.run, lambda: session.plan_rollout_verb(context, "abort"))
    ... every ~0.5 s while the task runs: planning.still_waiting()  ->  "still waiting for the Kubernetes API …"
    ... the Cancel button / Esc: planning.cancel()  ->  the task raises SourceError(CANCELLED, "stopped waiting …")

UI-free (no Textual): the modal draws it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cockpit.sources.limits import Deadline

T = TypeVar("T")


class Planning:
    """One plan in progress.  ``run`` is blocking (call it in a thread); the other methods are thread-safe."""

    def __init__(self, what: str = "planning the change") -> None:
        self.what = what
        self.scope = Deadline(None, what, parent=False)
        self.done = False

    def run(self, plan: Callable[[], T]) -> T:
        """``plan()`` with every request it makes under this scope.  Raises what the plan raises; a
        ``SourceError`` of kind CANCELLED after :meth:`cancel`."""
        try:
            with self.scope:
                self.scope.check()  # cancelled before it started: nothing is asked
                return plan()
        finally:
            self.done = True

    def waiting_for(self) -> list[str]:
        """What the plan waits for now, innermost first ([] between requests or once done)."""
        return [] if self.done else self.scope.waiting_for()

    def still_waiting(self) -> str:
        """One line for the screen: "still waiting for X" ("" when it waits for nothing).  Untrusted (it names
        a server's address): draw it with ``safe_text``."""
        waiting = self.waiting_for()
        if not waiting:
            return ""
        more = f" (and {len(waiting) - 1} more)" if len(waiting) > 1 else ""
        return f"still waiting for {waiting[0]}{more}"

    def cancel(self, reason: str = "cancelled by you") -> None:
        """End every request of the plan now; the plan raises SourceError(CANCELLED)."""
        self.scope.cancel(reason)

    @property
    def cancelled(self) -> bool:
        return self.scope.fired
