"""`?` on a decision-tree node: why the question matters, what the evidence says, how sure the cockpit is."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from cockpit.screens.base import OnceModal
from textual.widgets import Static

from cockpit.textsafe import safe_text


class ExplainScreen(OnceModal[None]):
    BINDINGS = [Binding("escape,question_mark,q,enter", "close", "Close")]
    DEFAULT_CSS = """
    ExplainScreen { align: center middle; }
    ExplainScreen > VerticalScroll { width: 90; max-width: 100%; height: auto; max-height: 90%;
                                     border: round $accent; background: $surface; padding: 1 2; }
    """

    def __init__(self, title: str, why: str, lines: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.why = why
        self.lines = lines

    def compose(self) -> ComposeResult:
        parts = [safe_text(self.title_text, "bold", limit=300), Text(""), safe_text(self.why, limit=2000,)]
        if self.lines:
            parts.append(Text(""))
        for label, value in self.lines:
            parts.append(Text.assemble(safe_text(f"{label}: ", "bold", limit=120), safe_text(value, limit=600)))
        parts.append(Text("\nEsc closes.", style="dim"))
        with VerticalScroll():
            yield Static(Group(*parts))

    def action_close(self) -> None:
        if self.is_current:
            self.dismiss(None)
