"""`cockpit watch FILE`: the dashboard of a session being recorded, mirrored read-only at this terminal's size.

The mirror feed (``cockpit.session.follow``) writes the recording's newest state into the store from a session
thread; this screen only draws.  A bar on top says what this is (MIRROR — READ-ONLY), whose session it is, how far
behind the file it is, and which runbook step the driver is at; it turns into "ended" when the recorder closes the
file.  Every write key is refused by the session with the mirror's words; ``l`` opens the timeline, Enter on the
tree's leaf the recorded runbook steps (refreshed as they come).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult

from cockpit.screens.dashboard import DashboardScreen
from cockpit.session import SessionEvent, StatusChanged
from cockpit.textsafe import safe_text
from cockpit.widgets.repaint import TickingLine

BAR_SECONDS = 1.0  # the bar and the ages are redrawn this often


class MirrorBar(TickingLine):
    """Its 'last change 3.2s ago' ticks every second: only the changed cells are repainted."""

    DEFAULT_CSS = """
    MirrorBar { height: 1; padding: 0 1; background: $accent-darken-2; color: $text; }
    MirrorBar.-ended { background: $warning-darken-3; }
    """


class MirrorDashboardScreen(DashboardScreen):
    def compose(self) -> ComposeResult:
        yield MirrorBar(id="mirror-bar")
        yield from super().compose()

    @property
    def feed(self) -> Any:
        return self.session.replay

    def start_replay(self) -> None:
        """Called by the App once the screen is up: follow the file (a session thread), redraw the bar."""
        self.feed.start()
        self.set_interval(BAR_SECONDS, self._tick_mirror)
        self.refresh_mirror()

    def _tick_mirror(self) -> None:
        self.refresh_mirror()
        self.tick()  # the ages in the panes and the summary strip

    def session_changed(self, event: SessionEvent) -> None:
        super().session_changed(event)
        if isinstance(event, StatusChanged) and self.is_mounted:
            self.refresh_mirror()
            self.refresh_summary(self.session.clock.now())

    def refresh_mirror(self) -> None:
        feed = self.feed
        bar = Text()
        bar.append("MIRROR — READ-ONLY ", style="bold reverse")
        if feed.ended:
            bar.append(" ■ the session ended", style="bold")
            bar.append(f" at {self.session.clock.now():%H:%M:%S}Z", style="bold")
        else:
            bar.append(" ● following", style="bold")
            behind = feed.behind()
            bar.append(" (waiting for the first rows)" if behind is None else
                       f" · last change {_ago(behind)} ago", style="dim")
        bar.append(" · ", style="dim")
        bar.append_text(safe_text(str(feed.player.path.name), limit=60))
        if feed.person:
            bar.append(" · driven by ", style="dim")
            bar.append_text(safe_text(feed.person, "bold", limit=40))
        step = feed.last_step
        if step:
            bar.append(" · ", style="dim")
            index = step.get("index")
            number = f"{index}. " if isinstance(index, int) and index else ""
            bar.append_text(safe_text(f"{step.get('runbook', '')} {number}{step.get('title') or step.get('step', '')}"
                                      f": {step.get('state', '')}", "italic", limit=100))
        widget = self.query_one("#mirror-bar", MirrorBar)
        widget.show(bar)
        widget.set_class(bool(feed.ended), "-ended")


def _ago(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 10 else f"{int(seconds)}s" if seconds < 120 else f"{int(seconds // 60)}m"


__all__ = ["MirrorBar", "MirrorDashboardScreen"]
