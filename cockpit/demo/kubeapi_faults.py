"""Fault injection for the Kubernetes API emulator: make the API server misbehave on purpose.

Each rule is a fault kind plus an optional ``match`` substring of the request target (path *and*
query string, so ``match="watch=true"`` singles out watches).  The most recently set matching rule
wins; a rule without ``match`` applies to every request.  Kinds:

``refused``   accept the connection, then close it without answering
``hang``      hold the request unanswered until the rule is cleared (then answer) or the server stops
``http500`` / ``http401`` / ``http403``   answer with that status and a Kubernetes ``Status`` body
``malformed`` 200 with a truncated JSON body; a watch first sends one broken line, then goes on
``gone``      watches get one ``ERROR`` event (410 Expired) and end; everything else works
``cut``       watches send half an event line and drop the connection; everything else works
"""

from __future__ import annotations

import threading

FAULT_KINDS = frozenset({"refused", "hang", "http500", "http401", "http403", "malformed", "gone", "cut"})


class Faults:
    """Thread-safe fault rules; the serving threads consult them on every request."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rules: dict[str | None, str] = {}

    def set(self, kind: str, *, match: str | None = None) -> None:
        """Inject *kind* for requests whose target contains *match* (every request if None)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        with self._cond:
            self._rules.pop(match, None)  # re-setting a rule makes it the most recent
            self._rules[match] = kind
            self._cond.notify_all()

    def clear(self, match: str | None = None) -> None:
        """Remove the rule for *match*; with no argument remove every rule."""
        with self._cond:
            if match is None:
                self._rules.clear()
            else:
                self._rules.pop(match, None)
            self._cond.notify_all()

    def active(self) -> dict[str | None, str]:
        with self._cond:
            return dict(self._rules)

    def lookup(self, target: str) -> str | None:
        """The fault that applies to a request target (path plus query), if any."""
        with self._cond:
            for match, kind in reversed(self._rules.items()):
                if match is not None and match in target:
                    return kind
            return self._rules.get(None)

    def hold(self, target: str, stopped: threading.Event) -> bool:
        """Block while *target* is under ``hang``; True if released by clearing, False on stop."""
        with self._cond:
            while not stopped.is_set() and self.lookup(target) == "hang":
                self._cond.wait(0.5)  # woken by set/clear/wake; the timeout is only a safety net
            return not stopped.is_set()

    def wake(self) -> None:
        """Wake every held request (the server is stopping)."""
        with self._cond:
            self._cond.notify_all()
