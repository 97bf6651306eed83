"""The confirmation modal: exactly what will be sent, the pre-checks' answers, and the person's explicit yes.

Focus starts on Cancel and Esc cancels.  Low-risk actions (an abort) take ``y``; destructive or irreversible ones
(CNPG recovery, Velero restore, S3 undelete, git push, Argo CD rollback) need the target's name typed.  In a
read-only context the modal shows what *would* be sent and offers nothing but Close: the gateway refuses anyway.
The modal returns what the person typed ("y" or the name) or None; the gateway checks it again.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from cockpit.screens.base import OnceModal
from textual.widgets import Button, Input, Static

from cockpit.textsafe import clean, safe_text


class ConfirmScreen(OnceModal["str | None"]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "yes", "Confirm", show=False),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%;
                               border: thick $warning; background: $surface; padding: 0 1; }
    ConfirmScreen.-production > Vertical { border: thick $error; }
    ConfirmScreen #headline { text-style: bold; }
    ConfirmScreen #context.-production { background: $error; color: $text; text-style: bold; }
    ConfirmScreen VerticalScroll { height: auto; max-height: 60vh; }
    ConfirmScreen.-premortem VerticalScroll { max-height: 45vh; }
    ConfirmScreen #checks { color: $text-muted; }
    ConfirmScreen #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; }
    ConfirmScreen Input { margin-top: 1; }
    """

    def __init__(self, planned: Any, *, production: bool = False, extra_warnings: tuple[str, ...] = (),
                 premortem: Any = None) -> None:
        super().__init__()
        self.planned = planned
        self.production = production
        self.extra_warnings = extra_warnings
        self.preflight: Any = None
        self.destructive = getattr(planned.risk, "value", str(planned.risk)) == "destructive"
        # -- premortem hook: the verdict at the top; a RISKY/UNSAFE one needs a typed reason (self.reason), which
        # the caller passes on to session.execute(planned, typed, reason=modal.reason)
        self.premortem = premortem if premortem is not None else getattr(planned, "premortem", None)
        self.needs_reason = bool(self.premortem is not None and self.premortem.needs_reason)
        self.reason = ""

    def compose(self) -> ComposeResult:
        planned = self.planned
        with Vertical():
            yield Static(safe_text(planned.headline(), limit=300), id="headline")
            context = Text.assemble(("context ", "dim"), safe_text(planned.context, "bold", limit=80))
            if self.production:
                context.append("  PRODUCTION", style="bold")
            context.append("  as ", style="dim")
            context.append_text(safe_text(planned.user or "?", limit=80))
            yield Static(context, id="context", classes="-production" if self.production else "")
            if self.premortem is not None:  # premortem hook: the verdict stays in view, its reasons scroll
                from cockpit.widgets.premortem import PremortemPanel, PremortemVerdict

                yield PremortemVerdict(self.premortem, id="premortem-verdict")
            with VerticalScroll():
                if self.premortem is not None:  # premortem hook: the slot at the top of the body
                    yield PremortemPanel(self.premortem, id="premortem")
                yield Static(self._body(), id="body")
            yield Static(Text("pre-checks: running the RBAC review and the server-side dry-run…",
                              style="italic"), id="checks")
            if planned.read_only:
                yield Static(Text.assemble(("READ-ONLY  ", "bold reverse"), safe_text(planned.read_only, limit=300)),
                             id="refusal")
                with Horizontal(id="buttons"):
                    yield Button("Close", id="cancel", variant="primary")
                return
            if self.needs_reason:  # premortem hook: why go ahead anyway
                verdict = self.premortem.verdict.value.upper()
                yield Input(placeholder=f"the pre-mortem says {verdict}: why go ahead anyway? (audited)", id="reason")
            if self.destructive:
                yield Static(Text.assemble("Irreversible. Type ", (clean(planned.confirm_word, limit=120), "bold"),
                                           " to confirm:"), id="prompt")
                yield Input(placeholder=clean(planned.confirm_word, limit=120), id="typed")
            else:
                yield Static(Text("Press y to confirm, Esc to cancel.", style="bold"), id="prompt")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Confirm", id="confirm", variant="error",
                             disabled=self.destructive or self.needs_reason)

    def _body(self) -> Group:
        planned = self.planned
        parts: list[Any] = []
        if planned.summary:
            parts.append(safe_text(planned.summary, limit=600))
        parts.append(Text("\nwill send:", style="bold"))
        for line in planned.requests_text().splitlines():
            parts.append(safe_text(line, limit=4000, ))
        if planned.preview:
            parts.append(Text("\npreview:", style="bold"))
            for line in planned.preview.splitlines()[:60]:
                parts.append(safe_text(line, "cyan", limit=300))
        warnings = tuple(planned.warnings) + tuple(self.extra_warnings)
        for warning in warnings:
            parts.append(Text.assemble(("⚠ ", "bold yellow"), safe_text(warning, "yellow", limit=600)))
        if planned.follow_up:
            parts.append(Text.assemble(("then: ", "dim"), safe_text(planned.follow_up, "dim", limit=400)))
        return Group(*parts)

    def on_mount(self) -> None:
        self.set_class(self.production, "-production")
        self.set_class(self.premortem is not None, "-premortem")  # premortem hook: room for the verdict
        self.query_one("#cancel", Button).focus()

    # -- the pre-checks arrive from a worker ------------------------------------------------------------------

    def show_preflight(self, preflight: Any) -> None:
        self.preflight = preflight
        lines = preflight.lines() if preflight is not None else []
        text = Text("pre-checks:", style="bold")
        for line in lines:
            text.append("\n")
            text.append_text(safe_text(line, limit=400))
        if preflight is not None and not preflight.ok and not preflight.refused:
            text.append("\n")
            text.append_text(safe_text(f"will not be sent: {preflight.reason}", "bold red", limit=400))
        self.query_one("#checks", Static).update(text)

    # -- answers ------------------------------------------------------------------------------------------

    def _reason_given(self) -> bool:  # premortem hook
        return not self.needs_reason or bool(self.reason)

    @on(Input.Changed, "#reason")
    def _reason_typed(self, event: Input.Changed) -> None:  # premortem hook
        self.reason = " ".join(event.value.split())[:1000]
        typed_ok = not self.destructive or self.query_one("#typed", Input).value.strip() == self.planned.confirm_word
        self.query_one("#confirm", Button).disabled = not (typed_ok and self._reason_given())

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = (event.value.strip() != self.planned.confirm_word
                                                       or not self._reason_given())

    @on(Input.Submitted, "#typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.planned.confirm_word and self._reason_given():
            if self.is_current:
                self.dismiss(event.value.strip())

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if not self._reason_given():  # premortem hook
            return
        if self.destructive:
            typed = self.query_one("#typed", Input).value.strip()
            if typed == self.planned.confirm_word:
                if self.is_current:
                    self.dismiss(typed)
            return
        if self.is_current:
            self.dismiss("y")

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        if self.is_current:
            self.dismiss(None)

    def action_cancel(self) -> None:
        if self.is_current:
            self.dismiss(None)

    def action_yes(self) -> None:
        if self.planned.read_only or self.destructive or not self._reason_given():
            return  # read-only: nothing to confirm; destructive: the name must be typed; a reason must be typed
        if self.is_current:
            self.dismiss("y")
