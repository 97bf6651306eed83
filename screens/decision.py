"""The decision tree on its own screen (`t` below 160 columns), and the routing of the tree's keys to the session
(shared with the dashboard, where the tree stands beside the panes)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from cockpit.session import DecisionChanged, SessionEvent
from cockpit.screens.base import ReportsWorkerErrors
from cockpit.widgets.decision_tree import DecisionPanel, DecisionTree


class DecisionRouting:
    """The tree widget's messages -> the session (answers, explanations, opening a leaf's runbook)."""

    session: Any

    def active_context(self) -> str:  # pragma: no cover - each screen says which context it shows
        raise NotImplementedError

    def on_decision_tree_answered(self, message: DecisionTree.Answered) -> None:
        message.stop()
        self.session.answer(self.active_context(), message.node_id, message.answer)

    def on_decision_tree_explained(self, message: DecisionTree.Explained) -> None:
        from cockpit.screens.explain import ExplainScreen

        message.stop()
        explained = self.session.explain(self.active_context(), message.node_id)
        if explained is not None:
            title, why, lines = explained
            self.app.push_screen(ExplainScreen(title, why, lines))  # type: ignore[attr-defined]

    def on_decision_tree_leaf_opened(self, message: DecisionTree.LeafOpened) -> None:
        from cockpit.screens.base import notify_untrusted

        message.stop()
        context = self.active_context()
        found = self.session.leaf_runbook(context, message.slot)
        if isinstance(found, str):
            notify_untrusted(self, found, timeout=3)
            return
        runbook, title = found
        self.open_runbook(context, runbook, title)

    def open_runbook(self, context: str, runbook: str, title: str) -> None:
        from cockpit.screens.explain import ExplainScreen

        app = self.app  # type: ignore[attr-defined]
        if not runbook:
            why = ("The incident is mitigated: the postmortem and the forward fix come next."
                   if title.startswith("MITIGATED") else
                   "This is not a rollback case: open the alert's own runbook.")
            app.push_screen(ExplainScreen(title, why, []))
            return
        if self.session.replay is not None:
            from cockpit.screens.replay import RecordedRunScreen

            app.push_screen(RecordedRunScreen(self.session, runbook, context))
            return
        from cockpit.screens.runbook import RunbookScreen

        app.push_screen(RunbookScreen(self.session, context, runbook))


class DecisionScreen(ReportsWorkerErrors, DecisionRouting, Screen):
    BINDINGS = [Binding("escape,t", "close", "Back to the panes")]

    def __init__(self, session: Any, context: str) -> None:
        super().__init__()
        self.session = session
        self.context = context

    def active_context(self) -> str:
        return self.context

    def compose(self) -> ComposeResult:
        yield DecisionPanel(id="decision")
        yield Footer()

    def on_mount(self) -> None:
        if self not in self.app.screen_stack:  # closed in the burst of keys that opened it: nothing to show
            return
        self._show()
        self.query_one(DecisionTree).focus()

    def session_changed(self, event: SessionEvent) -> None:
        if isinstance(event, DecisionChanged) and event.context == self.context and self.is_mounted:
            self._show()

    def _show(self) -> None:
        view = self.session.decision(self.context)
        panels = self.query(DecisionPanel)  # none while the screen is being taken down
        if view is not None and panels:
            panels.first().show(view)

    @property
    def panel(self) -> DecisionPanel:
        return self.query_one(DecisionPanel)

    def action_close(self) -> None:
        if self.is_current and self.is_mounted:  # a queued key must not pop a screen twice, or one not up yet
            self.app.pop_screen()
