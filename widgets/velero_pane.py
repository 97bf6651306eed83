"""Pane 6: Velero backups and schedules; failed and partially failed backups stand out."""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cockpit.models import VeleroBackup, VeleroView
from cockpit.textsafe import clean, safe_text
from cockpit.timefmt import age
from widgets.pane import Pane

PHASE_STYLE = {"Completed": "green", "PartiallyFailed": "bold yellow", "Failed": "bold red",
               "FailedValidation": "bold red", "InProgress": "cyan"}
SHOWN = 8
BAD_PHASES = frozenset({"Failed", "PartiallyFailed", "FailedValidation"})  # VeleroBackup.bad, inlined for speed


class VeleroPane(Pane):
    pane_id = "velero"

    def __init__(self, number: int, **kwargs: object) -> None:
        super().__init__(number, **kwargs)  # type: ignore[arg-type]
        self._bad_of: tuple[object, list[VeleroBackup]] | None = None

    def bad_backups(self, view: VeleroView) -> list[VeleroBackup]:
        """The failed and partially failed backups, newest first: one pass per view, shared by the body and the
        summary (a platform keeps ten thousand backups, and every watch event brings a new view)."""
        cached = self._bad_of
        if cached is None or cached[0] is not view.backups:
            cached = (view.backups, [b for b in view.backups if b.phase in BAD_PHASES])
            self._bad_of = cached
        return cached[1]

    def render_data(self, view: VeleroView, now: datetime) -> RenderableType:
        parts: list[RenderableType] = []
        bad = self.bad_backups(view)
        head = Text(f"{len(view.backups)} backups", style="bold")
        if bad:
            head.append(f" · {len(bad)} failed/partially failed", style="bold red")
        parts.append(head)
        wide = (self.content_region.width or 80) >= 64
        table = Table(box=None, padding=(0, 1), show_edge=False, expand=True, header_style="bold dim")
        table.add_column("BACKUP", ratio=3, overflow="ellipsis", no_wrap=True, min_width=16)
        table.add_column("PHASE", no_wrap=True, min_width=9, max_width=15, overflow="ellipsis")
        table.add_column("AGE", no_wrap=True, min_width=5)
        table.add_column("E/W", no_wrap=True, min_width=3)
        if wide:
            table.add_column("EXPIRES", no_wrap=True, min_width=6)
            table.add_column("NAMESPACES", ratio=1, overflow="ellipsis", no_wrap=True)
        # the bad ones first (they are what the on-call must see), then the newest
        good = islice((b for b in view.backups if b.phase not in BAD_PHASES), max(0, SHOWN - len(bad[:SHOWN])))
        shown = bad[:SHOWN] + list(good)
        for backup in shown:
            expires = "—" if backup.expiration is None else (
                f"in {age(now, backup.expiration)}" if backup.expiration > now else "expired")
            cells = [
                safe_text(backup.name, "bold" if backup.bad else "", limit=80),
                Text(clean(backup.phase or "New", limit=20), style=PHASE_STYLE.get(backup.phase, "")),
                Text(age(backup.started_at or backup.created_at, now)),
                Text(f"{backup.errors}/{backup.warnings}", style="red" if backup.errors else ""),
            ]
            if wide:
                cells += [Text(expires, style="dim"),
                          safe_text(",".join(backup.included_namespaces) or "*", "dim", limit=60)]
            table.add_row(*cells)
        parts.append(table)
        if len(view.backups) > len(shown):
            parts.append(Text(f"… {len(view.backups) - len(shown)} more", style="dim"))
        for backup in bad[:2]:
            if backup.failure_reason:
                parts.append(Text.assemble(safe_text(backup.name, "red", limit=40), ": ",
                                           safe_text(backup.failure_reason, "red", limit=200)))
        if view.schedules:
            line = Text("schedules: ", style="dim")
            for index, schedule in enumerate(view.schedules[:6]):
                if index:
                    line.append(" · ", style="dim")
                line.append_text(safe_text(schedule.name, limit=40))
                last = f" last {age(schedule.last_backup, now)} ago" if schedule.last_backup else " never ran"
                line.append(last, style="yellow" if schedule.last_backup is None else "")
                if schedule.paused:
                    line.append(" (paused)", style="yellow")
            parts.append(line)
        return Group(*parts)

    def summarize(self, view: VeleroView, now: datetime) -> Text:
        bad = len(self.bad_backups(view))
        if bad:
            return Text(f"{bad} bad", style="bold red")
        return Text(f"{len(view.backups)} ok", style="green")
