"""Ask "is time T recoverable?" of the selected CNPG cluster: a clear yes/no and why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from cockpit.screens.base import OnceModal
from textual.widgets import Input, Label, Static

from cockpit.models import CnpgPaneData
from cockpit.textsafe import safe_text
from cockpit.timefmt import parse_when

class RecoverableScreen(OnceModal[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close")]
    DEFAULT_CSS = """
    RecoverableScreen { align: center middle; }
    RecoverableScreen > Vertical { width: 72; max-width: 100%; height: auto; border: round $accent;
                                   background: $surface; padding: 1 2; }
    RecoverableScreen #answer { margin-top: 1; height: auto; }
    """

    def __init__(self, data: CnpgPaneData | None, clock: Any) -> None:
        super().__init__()
        self.data = data
        self.clock = clock

    def compose(self) -> ComposeResult:
        cluster = self.data.current if isinstance(self.data, CnpgPaneData) else None
        with Vertical():
            if cluster is None:
                yield Label("No CloudNativePG cluster is shown yet: nothing to ask about.")
                return
            yield Static(Text.assemble("Is this time recoverable for ", safe_text(cluster.name, "bold"), "?"))
            yield Input(placeholder="2026-05-20 13:43  |  13:43 (UTC today)  |  -15m", id="when")
            yield Static(Text("Enter to check, Esc to close. Times are UTC.", style="dim"), id="answer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        cluster = self.data.current if isinstance(self.data, CnpgPaneData) else None
        answer = self.query_one("#answer", Static)
        if cluster is None:
            return
        now = self.clock.now()
        when = parse_when(event.value, now)
        if when is None:
            answer.update(Text("Not a time I can read. Try 2026-05-20 13:43, 13:43 or -15m.", style="yellow"))
            return
        verdict, why = cluster.recoverable(when, now)
        label = {True: ("YES", "bold green"), False: ("NO", "bold red"), None: ("CANNOT TELL", "bold yellow")}[verdict]
        answer.update(Text.assemble(label, f"  {when:%Y-%m-%d %H:%M:%SZ}\n", safe_text(why, limit=300)))

    async def action_dismiss(self, result: None = None) -> None:
        if self.is_current:
            self.dismiss(None)
