"""The base of the six panes: a focusable box that shows one PaneSnapshot, its freshness and its failure in words.

A pane never fetches: the screen hands it snapshots.  It keeps the last good data when a snapshot says the source
failed and marks it stale; it lists choices when no target name was given (PICK) and reports the pick upwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.models import PANE_TITLES, FeedState, PaneSnapshot
from cockpit.textsafe import clean, safe_text
from cockpit.timefmt import ago


class Pane(VerticalScroll, can_focus=True):
    """One of the six panes."""

    DEFAULT_CSS = """
    Pane {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    Pane:focus, Pane:focus-within {
        border: round $accent;
        border-title-style: bold;
    }
    Pane.-stale { border: round $warning; }
    Pane.-error { border: round $error; }
    Pane > #pick { display: none; height: auto; max-height: 12; border: none; padding: 0; }
    Pane.-pick > #pick { display: block; }
    Pane > #body { height: auto; }
    """

    ALLOW_MAXIMIZE = True
    pane_id = ""

    class Picked(Message):
        """The person chose a target (Enter on a PICK list)."""

        def __init__(self, pane: str, name: str) -> None:
            super().__init__()
            self.pane = pane
            self.name = name

    BINDINGS = [Binding("enter", "pick", "Pick", show=False)]

    def __init__(self, number: int, **kwargs: Any) -> None:
        super().__init__(id=f"pane-{self.pane_id}", **kwargs)
        self.number = number
        self.snapshot: PaneSnapshot | None = None
        self.last_good: Any = None
        self.border_title = f"{number} {PANE_TITLES[self.pane_id]}"

    def compose(self) -> ComposeResult:
        yield OptionList(id="pick")
        yield Static(Text("loading…", style="dim"), id="body")

    # -- data in ---------------------------------------------------------------------------------------------

    def show(self, snap: PaneSnapshot, now: datetime) -> None:
        previous = self.snapshot
        self.snapshot = snap
        if snap.data is not None:
            self.last_good = snap.data
        state = snap.status.state
        self.set_class(state is FeedState.ERROR and self.last_good is not None, "-stale")
        self.set_class(state in (FeedState.ERROR, FeedState.MISSING) and self.last_good is None, "-error")
        self.set_class(state is FeedState.PICK, "-pick")
        if state is FeedState.PICK and (previous is None or previous.status.choices != snap.status.choices):
            picker = self.query_one("#pick", OptionList)
            picker.clear_options()
            picker.add_options([Option(safe_text(name), id=name) for name in snap.status.choices])
            picker.highlighted = 0  # Enter picks the first one without an arrow key first
        self.refresh_body(now)

    def refresh_body(self, now: datetime) -> None:
        body = self.query_one("#body", Static)
        body.update(self.render_state(now))
        self.refresh_freshness(now)

    def refresh_freshness(self, now: datetime) -> None:
        self.border_subtitle = self.freshness(now)

    def render_state(self, now: datetime) -> RenderableType:
        snap = self.snapshot
        if snap is None:
            return Text("loading…", style="dim")
        status = snap.status
        state = status.state
        parts: list[RenderableType] = []
        if state is FeedState.ERROR:
            parts.append(Text.assemble(("✗ ", "bold red"), safe_text(status.error, "red")))
        elif state is FeedState.MISSING:
            parts.append(Text.assemble(("∅ ", "bold yellow"), safe_text(status.error, "yellow")))
        elif state is FeedState.EMPTY:
            parts.append(safe_text(status.error or "nothing to show", "dim"))
        elif state is FeedState.PICK:
            parts.append(Text("No name given: pick one (↑↓ Enter)", style="italic"))
        elif state is FeedState.LOADING and self.last_good is None:
            parts.append(Text("loading…", style="dim"))
        data = snap.data if snap.data is not None else (self.last_good if state is FeedState.ERROR else None)
        if data is not None:
            try:
                parts.append(self.render_data(data, now))
            except Exception as err:  # noqa: BLE001 - a rendering bug must not take the cockpit down
                parts.append(safe_text(f"cannot show this data: {type(err).__name__}: {err}", "red"))
        from rich.console import Group

        return Group(*parts) if len(parts) != 1 else parts[0]

    def render_data(self, data: Any, now: datetime) -> RenderableType:  # pragma: no cover - overridden
        return safe_text(repr(data))

    def freshness(self, now: datetime) -> Text:
        snap = self.snapshot
        if snap is None:
            return Text("loading", style="dim")
        status = snap.status
        text = Text()
        if status.state is FeedState.ERROR and status.updated_at is not None:
            text.append(f"STALE {ago(status.updated_at, now)}", style="bold yellow")
        elif status.updated_at is not None:
            text.append(f"updated {ago(status.updated_at, now)}")
        if status.watch:
            if text:
                text.append(" · ")
            text.append(clean(status.watch, limit=40))
        return text

    # -- summary for the one-line strip --------------------------------------------------------------------

    def summary(self, now: datetime) -> Text:
        snap = self.snapshot
        label = Text(f"{self.number} ", style="bold")
        if snap is None or (snap.status.state is FeedState.LOADING and self.last_good is None):
            return label + Text("…", style="dim")
        state = snap.status.state
        if state is FeedState.PICK:
            return label + Text("pick", style="italic")
        if state is FeedState.MISSING:
            return label + Text("n/a", style="yellow")
        if state is FeedState.EMPTY and snap.data is None:
            return label + Text("none", style="dim")
        data = snap.data if snap.data is not None else self.last_good
        text = label + (self.summarize(data, now) if data is not None else Text("✗", style="red"))
        if state is FeedState.ERROR:
            text.append(" ✗", style="bold red")
        return text

    def summarize(self, data: Any, now: datetime) -> Text:  # pragma: no cover - overridden
        return Text("ok")

    # -- actions ---------------------------------------------------------------------------------------------

    def action_pick(self) -> None:
        picker = self.query_one("#pick", OptionList)
        if not self.has_class("-pick") or picker.highlighted is None:
            return
        option = picker.get_option_at_index(picker.highlighted)
        if option.id:
            self.post_message(self.Picked(self.pane_id, option.id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Picked(self.pane_id, event.option.id))

    def on_resize(self) -> None:
        if self.snapshot is not None:
            self.refresh_body(self.app.clock.now())  # type: ignore[attr-defined]

    def on_focus(self) -> None:
        if self.has_class("-pick"):
            self.query_one("#pick", OptionList).focus()
