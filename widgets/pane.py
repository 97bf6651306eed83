"""The base of the six panes: a focusable box that draws what the session's pane store holds for one (context,
pane) -- its data, freshness and failure in words.

A pane never fetches and keeps no data of its own: it is told that its store entry changed and draws the entry
(the last good data marked stale while the source fails, choices when no target name was given).  It remembers
only which version of the entry it drew, so an unchanged entry is never drawn again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from cockpit.models import PANE_TITLES, FeedState, PaneSnapshot
from cockpit.textsafe import clean, safe_text
from cockpit.timefmt import ago
from cockpit.widgets.repaint import LineBody, changed_cells


def _utcnow() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)


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

    def __init__(self, number: int, *, store: Any = None, context: str = "",
                 now: Callable[[], datetime] | None = None, **kwargs: Any) -> None:
        """``store`` is the session's PaneStore (the only place the data lives); without one the widget can
        still render a view handed to ``render_data`` (tests of the rendering alone)."""
        super().__init__(id=f"pane-{self.pane_id}", **kwargs)
        self.number = number
        if store is None:
            from cockpit.session.store import PaneStore

            store = PaneStore()
        self.store = store
        self.context = context
        self.now = now or _utcnow
        self._drawn = -1  # the entry version last drawn
        self._choices: tuple[str, ...] = ()
        self._subtitle: Text | None = None  # the freshness line shown in the bottom border
        self.border_title = f"{number} {PANE_TITLES[self.pane_id]}"

    def compose(self) -> ComposeResult:
        yield OptionList(id="pick")
        yield LineBody(Text("loading…", style="dim"), id="body")

    # -- what the store holds --------------------------------------------------------------------------------

    @property
    def entry(self) -> Any:
        return self.store.entry(self.context, self.pane_id)

    @property
    def snapshot(self) -> PaneSnapshot:
        return self.entry.snapshot

    def refresh_from_store(self, now: datetime | None = None, *, force: bool = False) -> bool:
        """Draw the store's entry if it changed since the last draw (or ``force``); True when drawn."""
        entry = self.entry
        if entry.version == self._drawn and not force:
            return False
        self._drawn = entry.version
        now = now or self.now()
        state = entry.state
        self.set_class(entry.stale, "-stale")
        self.set_class(state in (FeedState.ERROR, FeedState.MISSING) and entry.shown is None, "-error")
        self.set_class(state is FeedState.PICK, "-pick")
        choices = entry.status.choices if state is FeedState.PICK else ()
        if state is FeedState.PICK and choices != self._choices:
            picker = self.query_one("#pick", OptionList)
            picker.clear_options()
            picker.add_options([Option(safe_text(name), id=name) for name in choices])
            picker.highlighted = 0  # Enter picks the first one without an arrow key first
        self._choices = choices
        self.query_one("#body", LineBody).update(self.render_state(entry, now))
        self.refresh_freshness(now)
        return True

    def refresh_freshness(self, now: datetime) -> None:
        """The freshness line in the bottom border (``updated 3s ago``): redrawn only when its text changed, and
        then only the cells it covers -- the once-a-second age tick must not repaint the pane."""
        subtitle = self.freshness(now)
        shown = self._subtitle
        if shown is not None and subtitle == shown:
            return
        self._subtitle = subtitle
        if shown is None or not self._quiet_subtitle(subtitle, shown):
            self.border_subtitle = subtitle

    def _quiet_subtitle(self, subtitle: Text, shown: Text) -> bool:
        """Put ``subtitle`` in the bottom border and mark for repaint only the cells of that line that changed
        (Textual's own setter repaints the whole pane, every second).  False when that cannot be done here (not
        laid out yet): the caller sets it the ordinary way."""
        width, height = self.outer_size
        if not self.is_mounted or width < 4 or height < 2:
            return False
        from textual.content import Content
        from textual.geometry import Region

        line = Region(0, height - 1, width, 1)
        before = self.render_lines(line)
        # what the border renders: the descriptor's storage, set as its setter does, without its full refresh
        self._border_subtitle = self.render_str(Content.from_rich_text(subtitle)).expand_tabs(4).split()[0]
        self._styles_cache.set_dirty(line)
        after = self.render_lines(line)
        cells = changed_cells(before[0] if before else (), after[0] if after else ())
        if cells:
            offset = self.content_offset  # refresh() takes regions relative to the content area
            self.refresh(Region(-offset.x, height - 1 - offset.y, min(cells, width), 1))
        return True

    def render_state(self, entry: Any, now: datetime) -> RenderableType:
        status = entry.status
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
        elif state is FeedState.LOADING and entry.last_good is None:
            parts.append(Text("loading…", style="dim"))
        elif state is FeedState.OK and status.error:  # a part the pane cannot show (API absent, forbidden)
            parts.append(Text.assemble(("ⓘ ", "yellow"), safe_text(status.error, "yellow", limit=400)))
        data = entry.shown
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
        entry = self.entry
        status = entry.status
        if entry.version == 0:
            return Text("loading", style="dim")
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
        entry = self.entry
        label = Text(f"{self.number} ", style="bold")
        state = entry.state
        if entry.version == 0 or (state is FeedState.LOADING and entry.last_good is None):
            return label + Text("…", style="dim")
        if state is FeedState.PICK:
            return label + Text("pick", style="italic")
        if state is FeedState.MISSING:
            return label + Text("n/a", style="yellow")
        if state is FeedState.EMPTY and entry.snapshot.data is None:
            return label + Text("none", style="dim")
        data = entry.current
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
        self.refresh_from_store(force=True)

    def on_focus(self) -> None:
        if self.has_class("-pick"):
            self.query_one("#pick", OptionList).focus()
