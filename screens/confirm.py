"""The confirmation modal: exactly what will be sent, the pre-checks' answers, and the person's explicit yes.

It is on the screen the moment the key is pressed: pushed before the plan exists ("planning …"), it fills in as the
answers arrive -- the plan (:meth:`show_plan`), the pre-mortem (:meth:`show_premortem`), the RBAC review and the
dry-run (:meth:`show_preflight`) -- and says what it is still waiting for (:meth:`show_waiting`).  A plan that cannot
be made says why in the modal (:meth:`show_refusal`) and offers only Close.

Focus starts on Cancel and Esc cancels, at any moment (the caller ends what is still running); q quits.  Nothing can be
confirmed until the plan, the pre-checks and the pre-mortem have all arrived.  Low-risk actions (an abort) then
take ``y``; destructive or irreversible ones (CNPG recovery, Velero restore, S3 undelete, git push, Argo CD
rollback) need the target's name typed; a RISKY or UNSAFE pre-mortem needs a typed reason (:attr:`reason`, which
the caller passes on to ``session.execute``).  In a read-only context the modal shows what *would* be sent and
offers nothing but Close: the gateway refuses anyway.  The modal returns what the person typed ("y" or the name)
or None; the gateway checks it again.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from cockpit.screens.base import OnceModal
from cockpit.textsafe import clean, safe_text
from cockpit.widgets.repaint import TickingLine

PLAN, CHECKS, PREMORTEM = "the plan", "the pre-checks", "the pre-mortem"


class ConfirmScreen(OnceModal["str | None"]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "yes", "Confirm", show=False),
        # q quits at once, as on the dashboard, also while a plan hangs in here (quitting never sends anything)
        Binding("q", "app.quit", "Quit", show=False),
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
    ConfirmScreen #waiting { color: $warning; }
    ConfirmScreen #waiting.-idle { display: none; }
    ConfirmScreen #answers { height: auto; }
    ConfirmScreen #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; }
    ConfirmScreen Input { margin-top: 1; }
    ConfirmScreen.-short VerticalScroll, ConfirmScreen.-short.-premortem VerticalScroll { max-height: 25vh; }
    ConfirmScreen.-short #checks { max-height: 4; }
    ConfirmScreen.-short #buttons { margin-top: 0; }
    ConfirmScreen.-short Input { margin-top: 0; }
    """
    SHORT = 36  # rows: below this the modal packs tighter (compact buttons and inputs) so its answers stay in view

    def __init__(self, planned: Any = None, *, production: bool = False, extra_warnings: tuple[str, ...] = (),
                 premortem: Any = None, context: str = "", what: str = "", assessing: bool = False) -> None:
        """``planned`` None: the plan is still being made (``what`` says what, e.g. "planning the abort", in
        ``context``); :meth:`show_plan` fills it in.  ``assessing``: a pre-mortem is on its way
        (:meth:`show_premortem`).  The pre-checks are always awaited (:meth:`show_preflight`)."""
        super().__init__()
        self.planned = planned
        self.context = planned.context if planned is not None else context
        self.what = what or "planning the change"
        self.production = production
        self.extra_warnings = extra_warnings
        self.preflight: Any = None
        self.refusal: str | None = None  # the plan could not be made: why (shown, Close only)
        self.pending: set[str] = {CHECKS} | ({PLAN} if planned is None else set()) | ({PREMORTEM} if assessing
                                                                                        else set())
        self.destructive = False
        # -- premortem hook: the verdict at the top; a RISKY/UNSAFE one needs a typed reason (self.reason), which
        # the caller passes on to session.execute(planned, typed, reason=modal.reason)
        self.premortem = premortem if premortem is not None else getattr(planned, "premortem", None)
        self.needs_reason = False
        self.reason = ""
        self._answered = False  # answers_in() was called
        if planned is not None:
            self._take(planned)

    def _take(self, planned: Any) -> None:
        self.planned = planned
        self.destructive = getattr(planned.risk, "value", str(planned.risk)) == "destructive"
        if self.premortem is None:
            self.premortem = getattr(planned, "premortem", None)
        self.needs_reason = bool(self.premortem is not None and self.premortem.needs_reason)

    # -- drawing ------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="frame"):
            yield Static(self._headline(), id="headline")
            yield Static(self._context_line(), id="context", classes="-production" if self.production else "")
            if self.premortem is not None:  # premortem hook: the verdict stays in view, its reasons scroll
                yield from self._verdict_widgets()
            with VerticalScroll(id="scroll"):
                if self.premortem is not None:  # premortem hook: the slot at the top of the body
                    yield from self._panel_widgets()
                yield Static(self._body(), id="body")
            yield Static(Text("pre-checks: waiting for the plan" if self.planned is None else
                              "pre-checks: running the RBAC review and the server-side dry-run…",
                              style="italic"), id="checks")
            yield TickingLine(id="waiting", classes="-idle")
            with Vertical(id="answers"):
                if self.planned is not None:
                    yield from self._answer_widgets()
            with Horizontal(id="buttons"):
                read_only = self.planned is not None and self.planned.read_only
                yield Button("Close" if read_only else "Cancel", id="cancel", variant="primary")
                if not read_only:
                    yield Button("Confirm", id="confirm", variant="error", disabled=True)

    def _headline(self) -> Text:
        if self.planned is not None:
            return safe_text(self.planned.headline(), limit=300)
        return safe_text(f"{self.what}…", limit=300)

    def _context_line(self) -> Text:
        context = Text.assemble(("context ", "dim"), safe_text(self.context, "bold", limit=80))
        if self.production:
            context.append("  PRODUCTION", style="bold")
        if self.planned is not None:
            context.append("  as ", style="dim")
            context.append_text(safe_text(self.planned.user or "?", limit=80))
        return context

    def _verdict_widgets(self) -> list[Widget]:
        from cockpit.widgets.premortem import PremortemVerdict

        return [PremortemVerdict(self.premortem, id="premortem-verdict")]

    def _panel_widgets(self) -> list[Widget]:
        from cockpit.widgets.premortem import PremortemPanel

        return [PremortemPanel(self.premortem, id="premortem")]

    def _reason_widget(self) -> Input:  # premortem hook: why go ahead anyway
        verdict = self.premortem.verdict.value.upper()
        return Input(placeholder=f"the pre-mortem says {verdict}: why go ahead anyway? (audited)", id="reason")

    def _answer_widgets(self) -> list[Widget]:
        """What the person answers with, once the plan is known."""
        planned = self.planned
        if planned.read_only:
            return [Static(Text.assemble(("READ-ONLY  ", "bold reverse"), safe_text(planned.read_only, limit=300)),
                           id="refusal")]
        widgets: list[Widget] = []
        if self.needs_reason:
            widgets.append(self._reason_widget())
        if self.destructive:
            widgets.append(Static(Text.assemble("Irreversible. Type ", (clean(planned.confirm_word, limit=120),
                                                                          "bold"), " to confirm:"), id="prompt"))
            widgets.append(Input(placeholder=clean(planned.confirm_word, limit=120), id="typed"))
        else:
            widgets.append(Static(Text("Press y to confirm, Esc to cancel.", style="bold"), id="prompt"))
        return widgets

    def _body(self) -> Group | Text:
        planned = self.planned
        if planned is None:
            return Text("planning… (Esc cancels)", style="italic")
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
        if self._closing or getattr(self.app, "_exit", False):
            # composed by an app on its way out (Textual mounts nothing in a closing screen): nothing to set up
            return
        self._fit(self.app.size.height)
        self.set_class(self.production, "-production")
        self.set_class(self.premortem is not None, "-premortem")  # premortem hook: room for the verdict
        self.query_one("#cancel", Button).focus()
        self._update_confirm()

    def prepare(self, *, context: str, what: str, production: bool) -> None:
        """A modal built ahead of the key (``writeflow.prebuild_modal``), told what it is for just before it is
        shown.  Only a modal still waiting for its plan can be prepared."""
        if self.planned is not None or self.refusal is not None:
            raise RuntimeError("only a modal still waiting for its plan can be prepared")
        self.context, self.what, self.production = context, what, production
        self.set_class(production, "-production")
        for selector, text in (("#headline", self._headline()), ("#context", self._context_line())):
            static = self.query_one(selector, Static)
            # laid out ahead: a line that still fits needs no new layout
            static.update(text, layout=text.cell_len > static.content_region.width)
        self.query_one("#context", Static).set_class(production, "-production")

    def on_screen_resume(self, event: Any) -> None:
        # (the public handler: Textual calls it before Screen's own _on_screen_resume, which reads the flag; a
        # private _on_screen_resume here would shadow this one)  A modal built ahead was styled when it was built,
        # with the same stylesheet (a theme change since then styles it again): styling all its widgets again at
        # the key took ~10 ms of the path from the key to the modal on the terminal
        if getattr(self, "_styled_ahead", None) == self.app.theme:
            event.refresh_styles = False
        self._styled_ahead = None
        self._fit(self.app.size.height)
        self.shown()

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.height)

    def _fit(self, rows: int) -> None:
        short = rows < self.SHORT
        if short != self.has_class("-short"):
            self.set_class(short, "-short")
        for widget in self.query("Button, Input"):
            widget.compact = short  # type: ignore[attr-defined]

    def shown(self) -> None:
        """Called each time the modal is put on the screen (a hook for observers: the benchmark's probe marks
        "modal shown" here; ``on_mount`` runs when a modal built ahead is built, before the key)."""

    # -- the answers arrive from workers ------------------------------------------------------------------------

    def show_plan(self, planned: Any, extra_warnings: tuple[str, ...] = ()) -> None:
        """The plan is made: what will be sent, and how to answer."""
        if self.planned is not None or self.refusal is not None:
            return
        self.extra_warnings = extra_warnings
        self._take(planned)
        self.pending.discard(PLAN)
        self.query_one("#headline", Static).update(self._headline())
        self.query_one("#context", Static).update(self._context_line())
        self.query_one("#body", Static).update(self._body())
        self.query_one("#checks", Static).update(Text(
            "pre-checks: running the RBAC review and the server-side dry-run…", style="italic"))
        self.query_one("#answers", Vertical).mount_all(self._compact(self._answer_widgets()))
        if planned.read_only:
            self.pending.clear()  # nothing will be sent: nothing to wait for
            self._close_only()
        elif self.destructive:
            self.call_after_refresh(self._focus_typed)
        self._update_confirm()

    def _focus_typed(self) -> None:
        """A destructive write is confirmed by typing its name: the cursor goes to that field (a stray Enter in
        it sends nothing until the name is right), unless the person has moved the focus from Cancel already."""
        typed = next(iter(self.query("#typed")), None)
        if typed is not None and (self.focused is None or self.focused.id == "cancel"):
            typed.focus()

    def show_premortem(self, premortem: Any, *, planned: Any = None) -> None:
        """The pre-mortem's verdict (None: this write needs none); a RISKY/UNSAFE one asks for a reason.
        ``planned``: the plan with the pre-mortem attached (``session.assess``), which is then what is sent."""
        self.pending.discard(PREMORTEM)
        if planned is not None and self.planned is not None and planned.id == self.planned.id:
            self.planned = planned
        if premortem is not None and self.premortem is None and self.refusal is None:
            self.premortem = premortem
            self.needs_reason = bool(premortem.needs_reason)
            self.add_class("-premortem")
            scroll = self.query_one("#scroll", VerticalScroll)
            self.query_one("#frame", Vertical).mount_all(self._verdict_widgets(), before=scroll)
            scroll.mount_all(self._panel_widgets(), before=0)
            if self.needs_reason and self.planned is not None and not self.planned.read_only:
                self.query_one("#answers", Vertical).mount_all(self._compact([self._reason_widget()]), before=0)
        self._update_confirm()

    def show_preflight(self, preflight: Any) -> None:
        self.preflight = preflight
        self.pending.discard(CHECKS)
        lines = preflight.lines() if preflight is not None else []
        text = Text("pre-checks:", style="bold")
        for line in lines:
            text.append("\n")
            text.append_text(safe_text(line, limit=400))
        if preflight is not None and not preflight.ok and not preflight.refused:
            text.append("\n")
            text.append_text(safe_text(f"will not be sent: {preflight.reason}", "bold red", limit=400))
        self.query_one("#checks", Static).update(text)
        self._update_confirm()

    def show_precheck_error(self, text: str) -> None:
        """The pre-checks could not run at all: nothing can be confirmed (Close, and try again)."""
        self.refusal = text
        self.query_one("#checks", Static).update(safe_text(text, "bold red", limit=600))
        self._close_only()

    def show_refusal(self, text: str, *, error: bool = False) -> None:
        """The plan could not be made (refused, or a read failed): why, in the modal; nothing was sent."""
        self.refusal = text
        self.pending.clear()
        style = "bold red" if error else "bold yellow"
        self.query_one("#headline", Static).update(safe_text(f"{self.what}: not planned", limit=300))
        self.query_one("#body", Static).update(Text.assemble(
            ("✗ " if error else "ⓘ ", style), safe_text(text, style, limit=1000), ("\nnothing was sent", "dim")))
        self.query_one("#checks", Static).update(Text("pre-checks: not run", style="italic"))
        self.show_waiting("")
        self._close_only()

    def show_waiting(self, text: str) -> None:
        """What the plan or the pre-checks still wait for ("" when nothing); the text may name a server."""
        line = self.query_one("#waiting", TickingLine)
        line.set_class(not text, "-idle")
        line.show(safe_text(text, limit=300) if text else Text())

    def _compact(self, widgets: list[Widget]) -> list[Widget]:
        if self.has_class("-short"):
            for widget in widgets:
                if isinstance(widget, (Button, Input)):
                    widget.compact = True
        return widgets

    def _close_only(self) -> None:
        for button in self.query("#confirm"):
            button.remove()
        cancel = self.query_one("#cancel", Button)
        cancel.label = "Close"
        cancel.focus()

    # -- answers ------------------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """The plan, the pre-checks and the pre-mortem are all in: a yes may be given."""
        return self.planned is not None and not self.pending and self.refusal is None

    def _reason_given(self) -> bool:  # premortem hook
        return not self.needs_reason or bool(self.reason)

    def _typed_ok(self) -> bool:
        if not self.destructive:
            return True
        typed = self.query("#typed")
        return bool(typed) and typed.first(Input).value.strip() == self.planned.confirm_word

    def _update_confirm(self) -> None:
        for button in self.query("#confirm"):
            button.disabled = not (self.ready and not self.planned.read_only and self._typed_ok()
                                   and self._reason_given())
        if self.ready and not self._answered:
            self._answered = True
            self.show_waiting("")
            self.answers_in()

    def answers_in(self) -> None:
        """Called once, when the plan, the pre-checks and the pre-mortem are all in (a hook for observers: the
        benchmark's probe marks the moment here)."""

    def _not_yet(self) -> None:
        """A yes before everything is in: say what it waits for (nothing is sent)."""
        if self.refusal is None and self.pending:
            self.show_waiting(f"not yet: waiting for {' and '.join(sorted(self.pending))}")

    @on(Input.Changed, "#reason")
    def _reason_typed(self, event: Input.Changed) -> None:  # premortem hook
        self.reason = " ".join(event.value.split())[:1000]
        self._update_confirm()

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        self._update_confirm()

    @on(Input.Submitted, "#typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.ready and event.value.strip() == self.planned.confirm_word and self._reason_given():
            if self.is_current:
                self.dismiss(event.value.strip())

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if not self.ready:
            self._not_yet()
            return
        if self.planned.read_only or not self._reason_given():  # premortem hook
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
        if not self.ready:
            self._not_yet()
            return
        if self.planned.read_only or self.destructive or not self._reason_given():
            return  # not all in yet; read-only: nothing to confirm; destructive: the name must be typed; a reason
        if self.is_current:
            self.dismiss("y")
