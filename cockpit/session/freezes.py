"""The incident freeze as every cockpit sees it: a watch on the AppProjects of Argo CD's namespace (a watch, not a
poll), and the freeze on the project of the app in view (``cockpit.actions.freeze.read_freeze``) for the header.

A freeze is written by whichever cockpit froze the project; this one shows it the moment the AppProject changes,
whoever wrote it, and shows nothing when Argo CD's AppProject API is not served or not readable (it says which in
``note``).  UI-free: the dashboard asks :meth:`Freezes.of` and redraws on ``StatusChanged``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class Freezes:
    def __init__(self, session: Any) -> None:
        self.session = session
        self._projects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}  # context -> (ns, name) -> object
        self._notes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._watches: dict[str, Any] = {}

    def start(self) -> None:
        for name in self.session.contexts:
            self.session.scheduler.loop(f"freeze:{name}", lambda stopped, n=name: self._watch(n, stopped))

    def stop(self) -> None:
        for watch in list(self._watches.values()):
            try:
                watch.stop()
            except Exception:  # noqa: BLE001 - stopping: nothing to report
                log.debug("stopping a freeze watch", exc_info=True)

    def of(self, context: str) -> Any:
        """The cockpit freeze on the project of ``context``'s Argo CD app in view (a ``Freeze``), or None."""
        app = self.session.current(context, "argocd")
        if app is None:
            return None
        project = getattr(app, "project", "") or "default"
        namespace = self.session.settings.argocd_namespace
        with self._lock:
            obj = self._projects.get(context, {}).get((namespace, project))
        if not isinstance(obj, dict):  # none read yet (the first frame): the freeze module's import can wait
            return None
        from cockpit.actions.freeze import read_freeze

        return read_freeze(obj)

    def note(self, context: str) -> str:
        """Why the freeze cannot be shown here ("" when it can)."""
        with self._lock:
            return self._notes.get(context, "")

    def _watch(self, name: str, stopped: threading.Event) -> None:
        from cockpit.actions.argocd import APP_PROJECTS
        from cockpit.session.events import StatusChanged
        from cockpit.sources.errors import ErrorKind
        from cockpit.sources.kube import ResourceWatch

        state = self.session.contexts[name]
        while not state.connected.wait(0.5):
            if stopped.is_set():
                return
        if state.kube is None:
            return

        def changed(items: dict[str, dict[str, Any]]) -> None:
            projects = {}
            for obj in items.values():
                meta = obj.get("metadata") if isinstance(obj, dict) else None
                if isinstance(meta, dict):
                    projects[(str(meta.get("namespace") or ""), str(meta.get("name") or ""))] = obj
            with self._lock:
                self._projects[name] = projects
                self._notes.pop(name, None)
            self.session.emit(StatusChanged(name))

        def watch_state(watch_state: Any) -> None:
            error = watch_state.error
            if error is not None and error.kind in (ErrorKind.FORBIDDEN, ErrorKind.AUTH, ErrorKind.MISSING):
                words = ("this cluster serves no Argo CD AppProjects" if error.kind is ErrorKind.MISSING
                         else f"AppProjects are not readable here ({error})")
                with self._lock:
                    self._notes[name] = f"incident freeze not shown: {words}"
                self.session.emit(StatusChanged(name))
                watch = self._watches.get(name)
                if watch is not None:
                    watch.stop()  # nothing to watch: said once

        watch = ResourceWatch(state.kube, APP_PROJECTS, self.session.settings.argocd_namespace,
                              on_change=changed, on_state=watch_state)
        self._watches[name] = watch
        if stopped.is_set():
            return
        watch.run(stopped.is_set)
