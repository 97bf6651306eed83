"""The runbook executor: the steps, the live state they depend on, and the person's yes before every write.

Checks and waits run by themselves against the live facts (from the panes' data); the run stops at anything that
needs the person: an action to confirm (the confirmation modal), a manual step to mark done, an input to enter, a
failed check to override or not.  Every step's start and end time is kept (and recorded).  The run itself lives in
the app, so leaving this screen and coming back continues it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen

from screens.base import OnceModal
from textual.widgets import Button, Footer, Input, Label, Static

from cockpit.textsafe import safe_text

STATE_MARK = {
    "pending": ("·", "dim"), "waiting": ("…", "yellow"), "needs_input": ("?", "bold yellow"),
    "needs_confirmation": ("!", "bold magenta"), "needs_person": ("✋", "bold cyan"), "done": ("✓", "green"),
    "failed": ("✗", "bold red"), "cancelled": ("⊘", "yellow"), "blocked": ("✗", "red"),
    "timed_out": ("⌛", "red"), "skipped": ("↷", "dim"),
}
KIND_STYLE = {"check": "cyan", "action": "bold magenta", "wait": "yellow", "manual": "green"}
POLL_SECONDS = 2.0


class AskScreen(OnceModal["dict[str, str] | None"]):
    """Ask the person for values (a reason to skip, a PITR target time, a history id)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical { width: 80; max-width: 100%; height: auto; border: round $accent; background: $surface;
                           padding: 0 1; }
    AskScreen Input { margin-bottom: 1; }
    """

    def __init__(self, title: str, fields: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_text(self.title_text, "bold", limit=200))
            for name, description in self.fields:
                yield Label(safe_text(description, limit=200))
                yield Input(id=f"field-{name}", placeholder=name)
            yield Label(Text("Enter in the last field submits; Esc cancels.", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is not inputs[-1]:
            inputs[inputs.index(event.input) + 1].focus()
            return
        values = {field.id.removeprefix("field-"): field.value.strip() for field in inputs if field.id}
        if all(values.values()):
            if self.is_current:
                self.dismiss(values)

    def action_cancel(self) -> None:
        if self.is_current:
            self.dismiss(None)


class RunbookScreen(Screen):
    BINDINGS = [
        Binding("enter", "proceed", "Proceed"),
        Binding("s", "skip", "Skip (with reason)"),
        Binding("r", "retry", "Retry"),
        Binding("x", "end_run", "End run"),
        Binding("escape", "close", "Back"),
    ]
    DEFAULT_CSS = """
    RunbookScreen #head { height: auto; padding: 0 1; background: $panel; }
    RunbookScreen #head.-stale { background: $warning-darken-2; }
    RunbookScreen #body { height: 1fr; }
    RunbookScreen #steps { width: 3fr; border: round $panel-lighten-2; padding: 0 1; }
    RunbookScreen #detail { width: 2fr; border: round $accent; padding: 0 1; }
    RunbookScreen.-narrow #body { layout: vertical; }
    RunbookScreen.-narrow #steps { height: 1fr; width: 1fr; }
    RunbookScreen.-narrow #detail { height: 1fr; width: 1fr; }
    """

    def __init__(self, runbook_id: str, context: str) -> None:
        super().__init__()
        self.runbook_id = runbook_id
        self.context = context
        self.run: Any = None
        self.error = ""
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Static(id="head")
        with Horizontal(id="body"):
            with VerticalScroll(id="steps"):
                yield Static(id="steps-table")
            with VerticalScroll(id="detail"):
                yield Static(id="detail-text")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 120, "-narrow")
        self.query_one("#steps").border_title = "steps"
        self.query_one("#detail").border_title = "now"
        try:
            self.run = self.app.runbook_run(self.context, self.runbook_id)  # type: ignore[attr-defined]
        except Exception as err:  # noqa: BLE001 - a bad runbook file is a message, not a crash
            self.error = f"cannot open runbook {self.runbook_id}: {err}"
        self.refresh_view()
        if self.run is not None:
            self.advance()

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < 120, "-narrow")

    # -- driving the run (blocking parts in threads) --------------------------------------------------------

    @work(group="runbook", exclusive=True, exit_on_error=False)
    async def advance(self) -> None:
        run = self.run
        if run is None:
            return
        self.app.refresh_run_facts(self.context)  # type: ignore[attr-defined]
        self.busy = True
        try:
            await asyncio.to_thread(run.advance)
        finally:
            self.busy = False
        self.refresh_view()
        from cockpit.runbooks.executor import RunState

        if run.state is RunState.WAITING and self.is_current:
            self.set_timer(POLL_SECONDS, self.advance)
        if run.state is RunState.DONE:
            self.app.runbook_finished(self.context, run)  # type: ignore[attr-defined]

    def refresh_view(self) -> None:
        self.query_one("#head", Static).update(self._head())
        self.query_one("#steps-table", Static).update(self._steps())
        self.query_one("#detail-text", Static).update(self._detail())

    def _head(self) -> Text:
        if self.run is None:
            return safe_text(self.error or f"runbook {self.runbook_id}", "bold red")
        book = self.run.runbook
        text = Text.assemble((book.title, "bold"), (f"   {book.layer} layer · RTO {book.rto or 'n/a'} · context ",
                                                     "dim"), safe_text(self.context, "bold", limit=60))
        stale = self.app.runbook_staleness(book.id)  # type: ignore[attr-defined]
        head = self.query_one("#head", Static)
        head.set_class(bool(stale), "-stale")
        if stale:
            text.append("\n")
            text.append_text(safe_text(stale, "bold", limit=200))
        reason = self.app.why_read_only(self.context)  # type: ignore[attr-defined]
        if reason:
            text.append("\nREAD-ONLY: ", style="bold reverse")
            text.append_text(safe_text(f"{reason}; actions are shown but nothing will be sent", limit=200))
        return text

    def _steps(self) -> Table:
        table = Table(box=None, expand=True, padding=(0, 1), header_style="bold dim")
        table.add_column("", no_wrap=True)
        table.add_column("STEP", ratio=1)
        table.add_column("KIND", no_wrap=True)
        table.add_column("TOOK", no_wrap=True, justify="right")
        if self.run is None:
            return table
        current = self.run.current
        for item in self.run.steps:
            mark, style = STATE_MARK.get(item.state.value, ("·", "dim"))
            title = Text(self.run.text(item.step.title), style="bold" if item is current else "")
            took = ""
            if item.started_at and item.finished_at:
                took = f"{(item.finished_at - item.started_at).total_seconds():.0f}s"
            table.add_row(Text(mark, style=style), title, Text(item.step.kind, style=KIND_STYLE.get(item.step.kind, "")),
                          took)
        return table

    def _detail(self) -> Group | Text:
        run = self.run
        if run is None:
            return safe_text(self.error, "red")
        from cockpit.runbooks.executor import RunState, StepState

        parts: list[Any] = []
        state = run.state
        if state is RunState.DONE:
            parts.append(Text("Runbook done.", style="bold green"))
            parts.append(Text("A rollback is a debt: the postmortem and the forward fix come next "
                              "(the command palette has 'Postmortem stub').", style="italic"))
            return Group(*parts)
        if state is RunState.ABORTED:
            return safe_text(run.stop_reason, "bold yellow")
        item = run.current
        step = item.step
        parts.append(Text.assemble((f"step {item.index + 1}/{len(run.steps)} ", "dim"),
                                   safe_text(run.text(step.title), "bold", limit=300)))
        if step.explain:
            parts.append(safe_text(run.text(step.explain), "italic", limit=1200))
        if step.condition is not None:
            parts.append(safe_text(f"{'condition' if step.kind == 'check' else 'until'}: "
                                   f"{step.condition.describe(run.inputs)}", "dim", limit=400))
        if item.detail:
            parts.append(Text(""))
            parts.append(safe_text(item.detail, limit=1500))
        hint = {
            StepState.NEEDS_CONFIRMATION: "Enter: review exactly what will be sent, then confirm (or Esc)",
            StepState.NEEDS_PERSON: "Enter: mark done (you did it / you checked it) · s: skip with a reason",
            StepState.NEEDS_INPUT: "Enter: enter the missing values",
            StepState.WAITING: "waiting: checked again every few seconds · s: skip · x: end the run",
            StepState.FAILED: "r: retry · s: skip with a reason (recorded) · x: end the run",
            StepState.CANCELLED: "r: plan it again · s: skip with a reason · x: end the run",
            StepState.BLOCKED: "r: retry · s: skip with a reason · x: end the run",
            StepState.TIMED_OUT: "r: wait again · s: skip with a reason · x: end the run",
        }.get(item.state, "")
        if state is RunState.STOPPED:
            parts.append(Text(""))
            parts.append(Text("The runbook says: do not go on.", style="bold red"))
            if run.next_runbook:
                parts.append(safe_text(f"next: runbook {run.next_runbook}", "bold", limit=200))
            hint = "s: override with a reason (recorded and audited) · x: end the run · Esc: back"
        if hint:
            parts.append(Text(""))
            parts.append(Text(hint, style="bold cyan"))
        return Group(*parts)

    # -- the person's keys ----------------------------------------------------------------------------------

    @work(group="runbook-person", exclusive=True, exit_on_error=False)
    async def action_proceed(self) -> None:
        run = self.run
        if run is None or self.busy or run.current is None:
            return
        from cockpit.runbooks.executor import StepState

        item = run.current
        person = self.app.person()  # type: ignore[attr-defined]
        if item.state is StepState.NEEDS_CONFIRMATION:
            warnings = self.app.preflight_warnings(self.context) if item.step.kind == "action" else ()  # type: ignore
            result = await self.app.confirm_and_send(  # type: ignore[attr-defined]
                item.planned, warnings=warnings, send=lambda by, typed: run.confirm(by, typed))
            if result is None:
                await asyncio.to_thread(run.cancel, person)
            elif not result.ok:
                self.notify(result.message, severity="error", markup=False, timeout=10)
        elif item.state is StepState.NEEDS_PERSON:
            await asyncio.to_thread(run.mark_done, person)
        elif item.state is StepState.NEEDS_INPUT:
            fields = []
            for name in item.missing:
                spec = run.runbook.input(name)
                fields.append((name, spec.description if spec is not None else name))
            values = await self.app.push_screen_wait(AskScreen(f"{run.runbook.id} needs:", fields))
            if values:
                await asyncio.to_thread(run.provide, **values)
        else:
            return
        self.refresh_view()
        self.advance()

    @work(group="runbook-person", exclusive=True, exit_on_error=False)
    async def action_skip(self) -> None:
        run = self.run
        if run is None or run.current is None:
            return
        values = await self.app.push_screen_wait(
            AskScreen(f"Skip '{run.text(run.current.step.title)}'", [("reason", "why (recorded with your name)")]))
        if values:
            await asyncio.to_thread(run.skip, self.app.person(), values["reason"])  # type: ignore[attr-defined]
            self.refresh_view()
            self.advance()

    def action_retry(self) -> None:
        from cockpit.runbooks.executor import RunError

        if self.run is None:
            return
        try:
            self.run.retry()
        except RunError as err:
            self.notify(str(err), timeout=3, markup=False)
            return
        self.advance()

    @work(group="runbook-person", exclusive=True, exit_on_error=False)
    async def action_end_run(self) -> None:
        if self.run is None:
            return
        values = await self.app.push_screen_wait(AskScreen("End this run", [("reason", "why")]))
        if values:
            self.run.abort(self.app.person(), values["reason"])  # type: ignore[attr-defined]
            self.refresh_view()

    def action_close(self) -> None:
        if self.is_current and self.is_mounted:  # a queued key must not pop a screen twice, or one not up yet
            self.app.pop_screen()
