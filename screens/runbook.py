"""A runbook's steps, read-only: what the on-call would do, in order, with the condition each check looks at."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from cockpit.textsafe import safe_text

KIND_STYLE = {"check": "cyan", "action": "bold magenta", "wait": "yellow", "manual": "green"}


class RunbookScreen(Screen):
    BINDINGS = [Binding("escape,q", "close", "Back")]
    DEFAULT_CSS = """
    RunbookScreen > VerticalScroll { border: round $accent; padding: 0 1; }
    """

    def __init__(self, runbook_id: str, context: str) -> None:
        super().__init__()
        self.runbook_id = runbook_id
        self.context = context

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = f"runbook {self.runbook_id} · {self.context}"
            yield Static(self._steps(), id="steps")
        yield Footer()

    def _steps(self) -> Group | Text:
        from cockpit.runbooks import RunbookError, get

        try:
            book = get(self.runbook_id)
        except (RunbookError, FileNotFoundError, KeyError) as err:
            return safe_text(f"Cannot open runbook {self.runbook_id}: {err}", "red")
        head = Text.assemble((book.title, "bold"), (f"   layer {book.layer} · RTO {book.rto or 'n/a'}", "dim"))
        table = Table(box=None, expand=True, padding=(0, 1), header_style="bold dim")
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("KIND", no_wrap=True)
        table.add_column("STEP", ratio=1)
        for index, step in enumerate(book.steps, start=1):
            body = Text.assemble(safe_text(step.title, "bold", limit=200))
            detail = step.explain or step.instruction
            if detail:
                body.append("\n")
                body.append_text(safe_text(detail, "dim", limit=600))
            if step.action:
                body.append("\n")
                body.append_text(safe_text(f"action {step.action}", "magenta", limit=200))
            if step.condition is not None:
                body.append("\n")
                body.append_text(safe_text(f"{'when' if step.kind == 'check' else 'until'}: "
                                           f"{step.condition.describe()}", "dim italic", limit=300))
            table.add_row(str(index), Text(step.kind, style=KIND_STYLE.get(step.kind, "")), body)
        return Group(head, safe_text(book.summary, "italic", limit=1000), Text(""), table,
                     Text("\nRead-only view. Esc goes back.", style="dim"))

    def action_close(self) -> None:
        self.app.pop_screen()
