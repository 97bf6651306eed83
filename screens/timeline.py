"""`l`: the cross-layer timeline of the session, oldest first, filterable by layer, exportable.

Built from the session's recording (``cockpit.timeline``) in a worker thread: the live session's own file, the
replayed one, or the one a mirror follows; while that file grows (live, mirror) the view takes the new rows every
second.  In a replay, the rows after the replay's current time are dimmed.

Keys: ``f`` next layer (all, Argo CD, Rollout, …), ``a`` all layers, ``e`` export Markdown + JSON beside the
recording (``cockpit timeline FILE --json`` does the same from a shell), Esc/``q`` back.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from cockpit.screens.base import ReportsWorkerErrors, notify_untrusted
from cockpit.textsafe import safe_text

REFRESH_SECONDS = 1.0
LAYER_STYLE = {"argocd": "cyan", "rollout": "magenta", "analysis": "yellow", "p99": "red", "flag": "green",
               "cnpg": "blue", "velero": "blue", "tree": "bold", "person": "bold green", "runbook": "",
               "action": "bold yellow", "session": "dim"}


class TimelineScreen(ReportsWorkerErrors, Screen):
    BINDINGS = [
        Binding("escape,q,l", "close", "Back"),
        Binding("f", "next_layer", "Next layer"),
        Binding("a", "all_layers", "All layers"),
        Binding("e", "export", "Export"),
    ]
    DEFAULT_CSS = """
    TimelineScreen #timeline-head { height: 1; padding: 0 1; background: $panel; }
    TimelineScreen DataTable { height: 1fr; }
    """

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.layer_filter: str | None = None  # None: every layer
        self.builder: Any = None
        self.error = ""
        self._own_player: Any = None
        self._shown: tuple[Any, ...] | None = None
        self._reading = threading.Lock()  # one reader of the file at a time (a slow read skips a refresh)

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-head")
        table: DataTable[Any] = DataTable(id="timeline-table", cursor_type="row", zebra_stripes=True)
        table.add_column("time (UTC)", key="time")
        table.add_column("layer", key="layer")
        table.add_column("what happened", key="text")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        if self not in self.app.screen_stack:  # closed in the burst of keys that opened it: nothing to show
            return
        self._head()
        self.load()
        if self.session.replay is None or getattr(self.session.replay, "follows", False):
            self.set_interval(REFRESH_SECONDS, self.load)

    def on_unmount(self) -> None:
        if self._own_player is not None:
            self._own_player.close()

    # -- building (a worker thread: the file is read there) ----------------------------------------------

    def _player(self) -> Any:
        """A player of its own on the session's file (the live recording, the replayed or mirrored one): reading
        the whole file here never disturbs the replay's or the mirror's place in it."""
        if self._own_player is None:
            if self.session.replay is not None:
                path = self.session.replay.player.path
            elif self.session.recorder is not None:
                path = self.session.recorder.path
            else:
                raise LookupError("this session is not recorded (--no-record): the timeline is built from the "
                                  "recording")
            from cockpit.recording.player import Player

            self._own_player = Player(path)  # read-only, beside the recorder or the replay
        return self._own_player

    @work(thread=True, exclusive=True, group="timeline", exit_on_error=False)
    def load(self) -> None:
        from cockpit import timeline
        from cockpit.recording.format import RecordingError

        if not self._reading.acquire(blocking=False):
            return
        try:
            if self.builder is None:
                self.builder = timeline.TimelineBuilder(self._player())
            grew = self.builder.update()
        except (LookupError, RecordingError, OSError) as err:
            self.error = str(err)
            self.app.call_from_thread(self._head)
            return
        finally:
            self._reading.release()
        if grew or self._shown is None:
            self.app.call_from_thread(self._show)

    # -- drawing ---------------------------------------------------------------------------------------------

    def _entries(self) -> list[Any]:
        if self.builder is None:
            return []
        return self.builder.entries([self.layer_filter] if self.layer_filter else None)

    def _head(self) -> None:
        from cockpit.timeline import LAYER_TITLES

        if not self.is_mounted:
            return

        head = Text()
        head.append("TIMELINE ", style="bold reverse")
        shown = LAYER_TITLES.get(self.layer_filter, self.layer_filter) if self.layer_filter else "all"
        head.append(f"  layer: {shown}", style="bold")
        head.append("  (f next layer · a all · e export · Esc back)", style="dim")
        if self.error:
            head.append("  ")
            head.append_text(safe_text(self.error, "bold red", limit=200))
        self.query_one("#timeline-head", Static).update(head)

    def _show(self) -> None:
        from cockpit.timeline import LAYER_TITLES

        entries = self._entries()
        key = (self.layer_filter, len(entries), entries[-1] if entries else None)
        if key == self._shown or not self.is_mounted:
            return
        self._shown = key
        table = self.query_one("#timeline-table", DataTable)
        at_end = table.cursor_row >= table.row_count - 1
        table.clear()
        now = self.session.replay.at if self.session.replay is not None and not getattr(
            self.session.replay, "follows", False) else None
        for entry in entries:
            later = now is not None and entry.at > now
            when = f"{entry.at:%Y-%m-%d %H:%M:%S}" + {"at start": " start", "reported": " rep."}.get(entry.source, "")
            table.add_row(Text(when, style="dim" if later else ""),
                          safe_text(LAYER_TITLES.get(entry.layer, entry.layer),
                                    "dim" if later else LAYER_STYLE.get(entry.layer, "")),
                          safe_text(entry.text, "dim" if later else "", limit=600))
        if at_end and table.row_count:
            table.move_cursor(row=table.row_count - 1)
        self._head()

    # -- keys ------------------------------------------------------------------------------------------------

    def action_next_layer(self) -> None:
        from cockpit.timeline import LAYERS

        order: list[str | None] = [None, *LAYERS]
        self.layer_filter = order[(order.index(self.layer_filter) + 1) % len(order)]
        self._shown = None
        self._show()

    def action_all_layers(self) -> None:
        self.layer_filter = None
        self._shown = None
        self._show()

    @work(thread=True, exclusive=True, group="timeline-export", exit_on_error=False)
    def action_export(self) -> None:
        from cockpit import timeline
        from cockpit.safefile import write_new_numbered

        if self.builder is None:
            return
        entries = self.builder.entries()
        player = self.builder.player
        path = Path(player.path)
        base = path.with_suffix("")
        try:  # new files beside the recording, never over or through anything (-2, -3 when taken)
            markdown = write_new_numbered(f"{base}.timeline.md", timeline.to_markdown(
                entries, heading=f"## Timeline of {path.name}, UTC"))
            exported = write_new_numbered(f"{base}.timeline.json", timeline.to_json(entries, player) + "\n")
        except OSError as err:
            self.app.call_from_thread(notify_untrusted, self.app, f"cannot write beside {path}: {err} (try: cockpit "
                                      f"timeline {path} --json > timeline.json)", severity="error", timeout=10)
            return
        self.app.call_from_thread(notify_untrusted, self.app, f"timeline written: {markdown} and {exported}",
                                  timeout=8)

    def action_close(self) -> None:
        if self.is_current and self.is_mounted:
            self.app.pop_screen()
