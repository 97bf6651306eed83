"""`?`: every key the cockpit answers to, on one page."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from cockpit.screens.base import OnceModal
from textual.widgets import Static

KEYS: list[tuple[str, str, str]] = [
    ("Panes", "1 … 6", "focus Argo CD · Rollout · AnalysisRuns · p99 · CNPG · Velero"),
    ("Panes", "tab / shift+tab", "next / previous pane"),
    ("Panes", "z", "zoom the focused pane (again: back to all six)"),
    ("Panes", "↑ ↓ pgup pgdn", "scroll the focused pane"),
    ("Panes", "enter", "pick the highlighted name (when no name was given)"),
    ("CNPG", "w", "is a time recoverable? yes/no and why"),
    ("Contexts", "c", "next kube context (one tab per --context)"),
    ("Writes", "F", "incident freeze on the app's project: on (with a reason) / off; confirmed, audited"),
    ("Writes", "H", "release the auto-sync hold on the app in view (its checklist first)"),
    ("Writes", "D", "take over driving this context from the cockpit that holds the driver lease"),
    ("Timeline", "l", "everything the session saw and did, every layer, oldest first (f filters, e exports)"),
    ("App", "ctrl+p", "command palette: every command by name"),
    ("App", "?", "this help"),
    ("App", "q / ctrl+c", "quit"),
]


class HelpScreen(OnceModal[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: auto; max-height: 90%;
                                  border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, extra: list[tuple[str, str, str]] | None = None) -> None:
        super().__init__()
        self.extra = extra or []

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 2), header_style="bold", expand=True)
        table.add_column("where", style="dim", no_wrap=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does")
        # KEYS are ours; other rows are drawn literally (a str cell is parsed as markup)
        rows = [*KEYS, *((safe_text(w), safe_text(k), safe_text(d)) for w, k, d in self.extra)]
        for where, key, does in rows:
            table.add_row(where, key, does)
        with VerticalScroll():
            yield Static("cockpit keys (Esc closes)", classes="title")
            yield Static(table)

    def action_close(self) -> None:
        if self.is_current:
            self.dismiss(None)
