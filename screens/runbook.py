"""The runbook executor: the steps, the live state they depend on, and the person's yes before every write.

Checks and waits run by themselves in the session against the live facts; the run stops at anything that needs
the person: an action to confirm (the confirmation modal), a manual step to mark done, an input to enter, a
failed check to override or not.  Every step's start and end time is kept (and recorded).  The run lives in the
session, so leaving this screen and coming back continues it; this screen only draws it and routes keys.
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

from cockpit.screens.base import ReportsWorkerErrors, OnceModal, notify_untrusted
from textual.widgets import Footer, Input, Label, Static

from cockpit.textsafe import safe_text

STATE_MARK = {
    "pending": ("·", "dim"), "waiting": ("…", "yellow"), "needs_input": ("?", "bold yellow"),
    "needs_confirmation": ("!", "bold magenta"), "needs_person": ("✋", "bold cyan"), "done": ("✓", "green"),
    "failed": ("✗", "bold red"), "cancelled": ("⊘", "yellow"), "blocked": ("✗", "red"),
    "timed_out": ("⌛", "red"), "skipped": ("↷", "dim"), "overridden": ("↷", "bold magenta"),
}
KIND_STYLE = {"check": "cyan", "action": "bold magenta", "wait": "yellow", "manual": "green"}


class AskScreen(OnceModal["dict[str, str] | None"]):
    """Ask the person for values (a reason to skip, a PITR target time, a history id)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical { width: 80; max-width: 100%; height: auto; border: round $accent; background: $surface;
                           padding: 0 1; }
    AskScreen Input { margin-bottom: 1; }
    """

    def __init__(self, title: str, fields: list[tuple[str, str] | tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = [(f[0], f[1], f[2] if len(f) > 2 else "") for f in fields]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(safe_text(self.title_text, "bold", limit=200))
            for name, description, value in self.fields:
                yield Label(safe_text(description, limit=300))
                yield Input(value=value, id=f"field-{name}", placeholder=name, max_length=512)
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


class RunbookScreen(ReportsWorkerErrors, Screen):
    BINDINGS = [
        Binding("enter", "proceed", "Proceed"),
        # in read-only, on an action step: the key shows what it would do and that nothing is sent (disabled)
        Binding("enter", "read_only_step", "Proceed (read-only: nothing is sent)"),
        Binding("s", "skip", "Skip / override (with reason)"),
        Binding("r", "retry", "Retry"),
        Binding("e", "edit", "Edit inputs"),
        Binding("x", "end_run", "End run"),
        Binding("escape", "close", "Back"),
    ]
    DEFAULT_CSS = """
    RunbookScreen #head { height: auto; padding: 0 1; background: $panel; }
    RunbookScreen #head.-stale { background: $warning-darken-2; }
    RunbookScreen #elapsed { height: auto; padding: 0 1; background: $panel; color: $text-muted; display: none; }
    RunbookScreen #body { height: 1fr; }
    RunbookScreen #steps { width: 3fr; border: round $panel-lighten-2; padding: 0 1; }
    RunbookScreen #detail { width: 2fr; border: round $accent; padding: 0 1; }
    RunbookScreen.-narrow #body { layout: vertical; }
    RunbookScreen.-narrow #steps { height: 1fr; width: 1fr; }
    RunbookScreen.-narrow #detail { height: 1fr; width: 1fr; }
    """

    def __init__(self, session: Any, context: str, runbook_id: str) -> None:
        super().__init__()
        self.session = session
        self.runbook_id = runbook_id
        self.context = context
        self.run: Any = None
        self.error = ""

    def compose(self) -> ComposeResult:
        yield Static(id="head")
        yield Static(id="elapsed")  # its own widget: the one line that changes every second
        with Horizontal(id="body"):
            with VerticalScroll(id="steps"):
                yield Static(id="steps-table")
            with VerticalScroll(id="detail"):
                yield Static(id="detail-text")
        yield Footer()

    def on_mount(self) -> None:
        if self not in self.app.screen_stack:  # closed in the burst of keys that opened it: nothing to show
            return
        self.set_class(self.app.size.width < 120, "-narrow")
        self.query_one("#steps").border_title = "steps"
        self.query_one("#detail").border_title = "now"
        self.query_one("#detail-text", Static).update(safe_text(f"opening {self.runbook_id}…", "dim", limit=200))
        self._open()
        if self.session.live and getattr(self.app, "tick_enabled", True):  # the ages' clock (off in tests)
            self.set_interval(1.0, self._show_elapsed)

    def _show_elapsed(self) -> None:
        """Elapsed time of the run against its forecast (past drills and incidents of this runbook)."""
        run = self.run
        if run is None or run.started_at is None:
            return
        from cockpit.timefmt import duration

        elapsed = (run.finished_at or self.session.clock.now()) - run.started_at
        forecast = self.session.forecasts.get(run.runbook.id)
        words = (forecast.progress(elapsed) if forecast is not None
                 else f"{duration(elapsed)} elapsed (no past drill or incident of this runbook to compare with)")
        if run.state.value in ("done", "aborted"):
            words = f"{run.state.value} · " + words.replace(" elapsed", "", 1)
        widget = self.query_one("#elapsed", Static)
        if getattr(widget, "_shown", None) != words:
            widget._shown = words  # type: ignore[attr-defined]
            widget.update(safe_text(words, limit=200))
            widget.display = True

    @work(group="runbook-open", exit_on_error=False)
    async def _open(self) -> None:
        """Read the runbook file and open (or continue) its run, off the event loop."""
        try:
            self.run = await asyncio.to_thread(self.session.run_control.open, self.context, self.runbook_id)
        except Exception as err:  # noqa: BLE001 - a bad runbook file is a message, not a crash
            self.error = f"cannot open runbook {self.runbook_id}: {err}"
        if self.is_mounted:
            self.refresh_view()

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < 120, "-narrow")

    def session_changed(self, event: Any) -> None:
        from cockpit.session import RunChanged, StatusChanged

        if not self.is_mounted:
            return
        if isinstance(event, RunChanged) and event.context == self.context and event.runbook == self.runbook_id:
            self.refresh_view()
        elif isinstance(event, StatusChanged):
            self.refresh_view()

    # -- drawing ---------------------------------------------------------------------------------------------

    def refresh_view(self) -> None:
        self.refresh_bindings()  # Enter's meaning follows the current step (read-only on an action step)
        self.query_one("#head", Static).update(self._head())
        self.query_one("#steps-table", Static).update(self._steps())
        self.query_one("#detail-text", Static).update(self._detail())
        current = self.run.current if self.run is not None else None
        if current is not None and current.index != getattr(self, "_shown_step", None):
            self._shown_step = current.index
            # keep the current step in view on a short terminal (the header row, then about a line a step)
            self.query_one("#steps", VerticalScroll).scroll_to(y=max(0, current.index - 2), animate=False)

    def _head(self) -> Text:
        if self.run is None:
            return safe_text(self.error or f"runbook {self.runbook_id}", "bold red")
        book = self.run.runbook
        text = Text.assemble(safe_text(book.title, "bold"),
                             safe_text(f"   {book.layer} layer · RTO {book.rto or 'n/a'} · context ", "dim",
                                       limit=120),
                             safe_text(self.context, "bold", limit=60))
        stale = self.session.runbook_staleness(book.id)
        head = self.query_one("#head", Static)
        head.set_class(bool(stale), "-stale")
        if stale:
            text.append("\n")
            text.append_text(safe_text(stale, "bold", limit=200))
        reason = self.session.why_read_only(self.context)
        if reason:
            text.append("\nREAD-ONLY: ", style="bold reverse")
            text.append_text(safe_text(f"{reason}; actions are shown but nothing will be sent", limit=200))
        if self.run.inputs:
            shown = " · ".join(f"{key}={value}" for key, value in self.run.inputs.items())
            text.append("\ninputs ", style="dim")
            text.append_text(safe_text(shown, "dim", limit=400))
            text.append("  (e edits)", style="dim")
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
            title = safe_text(self.run.text(item.step.title), "bold" if item is current else "", limit=200)
            if item.state.value in ("skipped", "overridden") and item.by != "cockpit":
                title.append_text(safe_text(f"  {item.detail}", "magenta", limit=200))
            took = ""
            if item.started_at and item.finished_at:
                took = f"{(item.finished_at - item.started_at).total_seconds():.0f}s"
            kind = item.step.kind + (" (safety)" if item.step.safety else "")
            table.add_row(Text(mark, style=style), title,
                          safe_text(kind, KIND_STYLE.get(item.step.kind, ""), limit=40), took)
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
                              "(a stub is written next to the recording).", style="italic"))
            return Group(*parts)
        if state is RunState.ABORTED:
            return safe_text(run.stop_reason, "bold yellow", limit=600)
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
        skip_words = "override with a reason" if step.safety else "skip with a reason"
        hint = {
            StepState.NEEDS_CONFIRMATION: "Enter: review exactly what will be sent, then confirm (or Esc)",
            StepState.NEEDS_PERSON: f"Enter: mark done (you did it / you checked it) · s: {skip_words}",
            StepState.NEEDS_INPUT: "Enter: enter the missing values",
            StepState.WAITING: f"waiting: looked at again as the facts change · s: {skip_words} · x: end the run",
            StepState.FAILED: f"r: retry · s: {skip_words} (recorded and audited) · e: edit inputs · x: end the run",
            StepState.CANCELLED: f"r: plan it again · s: {skip_words} · x: end the run",
            StepState.BLOCKED: f"r: retry · s: {skip_words} · e: edit inputs · x: end the run",
            StepState.TIMED_OUT: f"r: wait again · s: {skip_words} · x: end the run",
        }.get(item.state, "")
        if state is RunState.STOPPED:
            parts.append(Text(""))
            parts.append(Text("The runbook says: do not go on.", style="bold red"))
            if run.next_runbook:
                parts.append(safe_text(f"next: runbook {run.next_runbook}", "bold", limit=200))
            hint = f"s: {skip_words} (recorded and audited) · e: edit inputs · x: end the run · Esc: back"
        if hint:
            parts.append(Text(""))
            parts.append(Text(hint, style="bold cyan"))
        return Group(*parts)

    # -- the person's keys ----------------------------------------------------------------------------------

    def _read_only_action_step(self) -> bool:
        from cockpit.runbooks.executor import StepState

        run = self.run
        item = run.current if run is not None else None
        return (item is not None and item.state is StepState.NEEDS_CONFIRMATION
                and bool(self.session.why_read_only(self.context)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only or a replay: Enter on an action step is shown as read-only and disabled (nothing is sent;
        the step can be skipped with a reason or the run ended)."""
        if action == "proceed":
            return not self._read_only_action_step()
        if action == "read_only_step":
            return None if self._read_only_action_step() else False
        return True

    def action_read_only_step(self) -> None:  # never runs: check_action keeps it disabled
        return None

    @work(group="runbook-person", exclusive=True, exit_on_error=False)
    async def action_proceed(self) -> None:
        run = self.run
        if run is None or run.current is None:
            return
        from cockpit.runbooks.executor import RunError, StepState
        from cockpit.screens.writeflow import confirm_write

        control = self.session.run_control
        item = run.current
        try:
            if item.state is StepState.NEEDS_CONFIRMATION:
                result = await confirm_write(self.app, item.planned,
                                             send=lambda typed, reason: control.confirm(run, typed, reason))
                if result is None:
                    await asyncio.to_thread(control.cancel, run)
                elif not result.ok:
                    notify_untrusted(self, result.message, severity="error", timeout=10)
            elif item.state is StepState.NEEDS_PERSON:
                if item.step.safety:
                    notify_untrusted(self, "a safety check is never marked done: s overrides it with a reason",
                                     timeout=5)
                    return
                await asyncio.to_thread(control.mark_done, run)
            elif item.state is StepState.NEEDS_INPUT:
                await self._ask_inputs(list(item.missing), f"{run.runbook.id} needs:")
        except RunError as err:
            notify_untrusted(self, str(err), timeout=4)

    async def _ask_inputs(self, names: list[str], title: str) -> None:
        run = self.run
        fields = []
        for name in names:
            spec = run.runbook.input(name)
            fields.append((name, spec.description if spec is not None else name, str(run.inputs.get(name) or "")))
        values = await self.app.push_screen_wait(AskScreen(title, fields))
        while values:
            errors = await asyncio.to_thread(self.session.run_control.provide, run, values)
            if not errors:
                return
            problem = "; ".join(f"{name}: {why}" for name, why in errors.items())
            fields = [(name, f"{description}  ✗ {errors[name]}" if name in errors else description, values[name])
                      for name, description, _ in fields]
            notify_untrusted(self, problem, severity="warning", timeout=6)
            values = await self.app.push_screen_wait(AskScreen(title, fields))

    @work(group="runbook-person", exclusive=True, exit_on_error=False)
    async def action_edit(self) -> None:
        run = self.run
        if run is None or not run.runbook.inputs:
            return
        await self._ask_inputs([item.name for item in run.runbook.inputs],
                               f"{run.runbook.id}: correct an input (steps that use it run again)")

    @work(group="runbook-person", exclusive=True, exit_on_error=False)
    async def action_skip(self) -> None:
        from cockpit.runbooks.executor import RunError

        run = self.run
        if run is None or run.current is None:
            return
        step = run.current.step
        verb = "Override the safety check" if step.safety else "Skip"
        values = await self.app.push_screen_wait(
            AskScreen(f"{verb} '{run.text(step.title)}'", [("reason", "why (recorded and audited with your name)",
                                                             "")]))
        if values:
            try:
                await asyncio.to_thread(self.session.run_control.skip, run, values["reason"])
            except RunError as err:
                notify_untrusted(self, str(err), timeout=4)

    @work(group="runbook-person", exclusive=True, exit_on_error=False)
    async def action_retry(self) -> None:
        from cockpit.runbooks.executor import RunError

        if self.run is None:
            return
        try:
            await asyncio.to_thread(self.session.run_control.retry, self.run)
        except RunError as err:
            notify_untrusted(self, str(err), timeout=3)

    @work(group="runbook-person", exclusive=True, exit_on_error=False)
    async def action_end_run(self) -> None:
        if self.run is None:
            return
        values = await self.app.push_screen_wait(AskScreen("End this run", [("reason", "why", "")]))
        if values:
            await asyncio.to_thread(self.session.run_control.end, self.run, values["reason"])

    def action_close(self) -> None:
        if self.is_current and self.is_mounted:  # a queued key must not pop a screen twice, or one not up yet
            self.app.pop_screen()
