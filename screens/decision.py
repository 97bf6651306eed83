"""The decision tree on its own screen (`t` below 160 columns, where it cannot stand beside the panes)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from widgets.decision_tree import DecisionPanel, DecisionTree


class DecisionScreen(Screen):
    BINDINGS = [Binding("escape,t", "close", "Back to the panes")]

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        yield DecisionPanel(id="decision")
        yield Footer()

    def on_mount(self) -> None:
        self.app.refresh_decision(self.context)  # type: ignore[attr-defined]
        self.query_one(DecisionTree).focus()

    @property
    def panel(self) -> DecisionPanel:
        return self.query_one(DecisionPanel)

    def action_close(self) -> None:
        if self.is_current and self.is_mounted:  # a queued key must not pop a screen twice, or one not up yet
            self.app.pop_screen()
