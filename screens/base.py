"""A modal that closes once: keys queued behind the first Esc (a held key, a burst over SSH) must not dismiss it
twice (Textual's result future can only be set once) or pop the screen below it."""

from __future__ import annotations

from typing import Any, TypeVar

from textual.screen import ModalScreen

R = TypeVar("R")


class OnceModal(ModalScreen[R]):
    _once_dismissed = False

    def dismiss(self, result: Any = None) -> Any:  # type: ignore[override]
        if self._once_dismissed or not self.is_current or not self.is_mounted:
            return None  # not up yet (a key that arrived with the one that opened it), or already closing
        self._once_dismissed = True
        return super().dismiss(result)


def notify_untrusted(node: Any, text: object, *, severity: str = "information", timeout: float = 6.0,
                     title: object = "") -> None:
    """The one way to notify: the text (which may quote a server, a file, a recording or a subprocess) is
    redacted and cleaned (no escape sequence, no control character, no markup) and bounded."""
    from cockpit.textsafe import clean

    shown = clean(_redact(text), limit=600)
    node.notify(shown, title=clean(_redact(title), limit=80) if title else "", severity=severity,  # type: ignore
                timeout=timeout, markup=False)


def _redact(text: object) -> str:
    from cockpit.redact import redact_text

    return redact_text("" if text is None else str(text))


class YesNoScreen(OnceModal[bool]):
    """A question with y / n (Esc = no); focus starts on No."""

    BINDINGS = [("y", "answer(True)", "Yes"), ("n,escape", "answer(False)", "No")]
    DEFAULT_CSS = """
    YesNoScreen { align: center middle; }
    YesNoScreen > Vertical { width: 72; max-width: 100%; height: auto; border: thick $warning; background: $surface;
                            padding: 0 1; }
    YesNoScreen #buttons { height: auto; align-horizontal: right; }
    YesNoScreen Button { margin-left: 2; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> Any:
        from textual.containers import Horizontal, Vertical
        from textual.widgets import Button, Static

        from cockpit.textsafe import safe_text

        with Vertical():
            yield Static(safe_text(self.question, "bold", limit=600))
            with Horizontal(id="buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button("Yes (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        if self not in self.app.screen_stack:  # closed in the burst of keys that opened it: nothing to show
            return
        self.query_one("#no").focus()

    def on_button_pressed(self, event: Any) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ReportsWorkerErrors:
    """Mixed into every screen: a worker of the screen that fails is said on screen, never lost (Textual's
    worker state messages do not bubble to the App)."""

    def on_worker_state_changed(self, event: Any) -> None:
        from textual.worker import WorkerState

        if event.state is not WorkerState.ERROR:
            return
        import logging

        worker = event.worker
        logging.getLogger("cockpit.screens").error("worker %s failed", worker.name, exc_info=worker.error)
        notify_untrusted(self, f"{worker.name or 'a task'} failed: {type(worker.error).__name__}: {worker.error}",
                         severity="error", timeout=12)
