"""Pane 6: Velero backups and schedules; failed and partially failed backups stand out."""

from __future__ import annotations

import re
from datetime import datetime
from itertools import islice

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cockpit.models import BAD_BACKUP_PHASES, VeleroBackup, VeleroView
from cockpit.sources.velero import human_time_from_now
from cockpit.textsafe import MiddleText, clean, middle_ellipsis, safe_text
from cockpit.timefmt import age
from cockpit.widgets.linetable import LineTable
from cockpit.widgets.pane import Pane

PHASE_STYLE = {"Completed": "green", "PartiallyFailed": "bold yellow", "Failed": "bold red",
               "FailedValidation": "bold red", "InProgress": "cyan", "Deleting": "yellow", "New": "dim"}
SHOWN = 8
# backup_printer.go timestampSuffix: a schedule's backups are <schedule>-YYYYMMDDhhmmss; keep the stamp whole
TIMESTAMP_SUFFIX = re.compile(r"-[0-9]{14}$")
STAMP_CELLS = 15
BAD_PHASES = BAD_BACKUP_PHASES  # VeleroBackup.bad, inlined for speed
RESTORE_STYLE = {"Completed": "green", "PartiallyFailed": "bold yellow", "Failed": "bold red",
                 "FailedValidation": "bold red", "InProgress": "cyan", "New": "dim"}


_WORD = re.compile(r"[A-Z]?[^A-Z]*")


def fold_words(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` cells, broken between its CamelCase words when it is longer
    (``Partially`` / ``Failed``); a word longer than the width is left for the table to fold."""
    if len(text) <= width:
        return text
    lines: list[str] = []
    for word in (w for w in _WORD.findall(text) if w):
        if lines and len(lines[-1]) + len(word) <= width:
            lines[-1] += word
        else:
            lines.append(word)
    return "\n".join(lines)


class VeleroPane(Pane):
    pane_id = "velero"

    _table: tuple[tuple[object, ...], LineTable] | None = None  # (what it shows, the table drawn for it)

    def bad_backups(self, view: VeleroView) -> tuple[VeleroBackup, ...]:
        """The failed and partially failed backups, newest first: worked out once per view, by the live feed in
        its own thread (``VeleroView.failing``), shared by the body and the summary."""
        return view.failing[0]

    def render_data(self, view: VeleroView, now: datetime) -> RenderableType:
        parts: list[RenderableType] = []
        bad, deleting = view.failing
        head = Text(f"{len(view.backups)} backups", style="bold")
        if bad:
            head.append(f" · {len(bad)} failed/partially failed", style="bold red")
        if deleting:
            head.append(f" · {int(deleting)} deleting", style="yellow")
        parts.append(head)
        for location in view.locations:
            if location.phase != "Available":  # `velero backup-location get` says Unknown before the first check
                parts.append(Text.assemble(("storage location ", "bold red"), safe_text(location.name, "bold red"),
                                           " ", safe_text(location.status, "red", limit=30),
                                           ": " if location.message else "",
                                           safe_text(location.message, "red", limit=200)))
        zoomed = self._zoomed()
        width = self.content_region.width or 80
        wide = width >= 64 or zoomed
        # the bad ones first (they are what the on-call must see), then the newest
        good = islice((b for b in view.backups if b.phase not in BAD_PHASES), max(0, SHOWN - len(bad[:SHOWN])))
        shown = [*bad[:SHOWN], *good]
        ages = tuple(age(backup.started_at or backup.created_at, now) for backup in shown)
        # backup_printer.go humanReadableTimeFromNow: "29d", "3h ago", "n/a"
        expiring = tuple(human_time_from_now(backup.expires_at, now) for backup in shown) if wide else ()
        # the rows are immutable objects: the same rows at the same ages and width draw the same table (a new
        # backup at the far end of ten thousand changes the count line only), so the drawn table is kept
        key = (width, zoomed, tuple(shown), ages, expiring)
        if self._table is None or self._table[0] != key:
            self._table = (key, LineTable(self._backup_table(shown, ages, expiring, width, zoomed, wide)))
        parts.append(self._table[1])  # drawn a line at a time: the same lines, a fraction of Rich's cost
        if len(view.backups) > len(shown):
            parts.append(Text(f"… {len(view.backups) - len(shown)} more", style="dim"))
        for backup in bad[:2]:
            why = backup.failure_reason or "; ".join(backup.validation_errors)
            if why:
                parts.append(Text.assemble(safe_text(middle_ellipsis(backup.name, 40), "red"), ": ",
                                           safe_text(why, "red", limit=200)))
        if view.restores:  # `velero restore get`: NAME, BACKUP, STATUS, ERRORS, WARNINGS (newest first)
            line = Text("restores: ", style="dim")
            for index, restore in enumerate(view.restores[:3]):
                if index:
                    line.append(" · ", style="dim")
                line.append_text(safe_text(middle_ellipsis(restore.name, 40), limit=40))
                line.append(" ")
                line.append(clean(restore.status, limit=64), style=RESTORE_STYLE.get(restore.status, "yellow"))
                if restore.backup:
                    line.append(" from ", style="dim")
                    line.append_text(safe_text(middle_ellipsis(restore.backup, 40), "dim", limit=40))
                if restore.errors or restore.warnings:
                    line.append(f" {restore.errors}/{restore.warnings}", style="red" if restore.errors else "")
            if len(view.restores) > 3:
                line.append(f" +{len(view.restores) - 3}", style="dim")
            parts.append(line)
            for restore in [r for r in view.restores[:3] if r.failure_reason or r.validation_errors]:
                why = restore.failure_reason or "validation errors: " + "; ".join(restore.validation_errors)
                parts.append(Text.assemble(safe_text(middle_ellipsis(restore.name, 40), "red"), ": ",
                                           safe_text(why, "red", limit=300)))
        if view.schedules:
            line = Text("schedules: ", style="dim")
            for index, schedule in enumerate(view.schedules[:6]):
                if index:
                    line.append(" · ", style="dim")
                line.append_text(safe_text(schedule.name, "bold red" if schedule.bad else "", limit=40))
                if schedule.status != "Enabled":
                    line.append(f" {clean(schedule.status, limit=24)}",
                                style="bold red" if schedule.bad else "yellow")
                last = f" last {age(schedule.last_backup, now)} ago" if schedule.last_backup else " never ran"
                line.append(last, style="yellow" if schedule.last_backup is None else "")
                if schedule.paused:
                    line.append(" (paused)", style="yellow")
            parts.append(line)
            for schedule in [s for s in view.schedules if s.validation_errors][:3]:
                parts.append(Text.assemble(safe_text(schedule.name, "red", limit=40), (" validation errors: ", "red"),
                                           safe_text("; ".join(schedule.validation_errors), "red", limit=300)))
        return Group(*parts)

    def _backup_table(self, shown: list[VeleroBackup], ages: tuple[str, ...], expiring: tuple[str, ...],
                      width: int, zoomed: bool, wide: bool) -> Table:
        table = Table(box=None, padding=(0, 1), show_edge=False, expand=True, header_style="bold dim")
        if zoomed:  # the whole name, folded if need be: the restore runbook asks for it
            table.add_column("BACKUP", ratio=3, overflow="fold", min_width=16)
        else:  # shortened in the middle: the unique tail (timestamp) survives at every width
            table.add_column("BACKUP", ratio=3, no_wrap=True, min_width=STAMP_CELLS + 2)
        # the phase whole, folded when long (WaitingForPluginOperations vs …PartiallyFailed must stay apart)
        status_width = 17 if wide else 11
        table.add_column("STATUS", min_width=9, max_width=status_width, overflow="fold")
        table.add_column("AGE", no_wrap=True, min_width=5)
        if wide or width >= 50:
            table.add_column("E/W", no_wrap=True, min_width=3)
        if wide:
            table.add_column("EXPIRES", no_wrap=True, min_width=6)
            table.add_column("LOCATION", no_wrap=True, max_width=16, overflow="ellipsis")
            if width >= 76 or zoomed:
                table.add_column("NAMESPACES", ratio=1, overflow="ellipsis", no_wrap=True)
        for index, backup in enumerate(shown):
            style = "bold" if backup.bad else ""
            name = safe_text(backup.name, style, limit=253) if zoomed else MiddleText(
                backup.name, style, limit=253, keep_tail=STAMP_CELLS if TIMESTAMP_SUFFIX.search(backup.name) else 0)
            status = backup.status
            status_text = Text(fold_words(clean(status, limit=64), status_width),
                               style=PHASE_STYLE.get(status, "bold yellow" if backup.bad else ""))
            if backup.queue_position:  # backup_printer.go: QUEUE POSITION
                status_text.append(f" #{backup.queue_position}", style="dim")
            cells = [name, status_text, Text(ages[index])]  # trusted: age() of a datetime, numbers only
            if wide or width >= 50:
                cells.append(Text(f"{backup.errors}/{backup.warnings}", style="red" if backup.errors else ""))
            if wide:
                expires = expiring[index]  # human_time_from_now() of a datetime: numbers and "ago" / "n/a"
                cells += [Text(expires, style="yellow" if expires.endswith(" ago") else "dim"),  # trusted: above
                          safe_text(backup.storage_location or "—", "dim", limit=63)]
                if width >= 76 or zoomed:
                    cells.append(safe_text(",".join(backup.included_namespaces) or "*", "dim", limit=60))
            table.add_row(*cells)
        return table

    def _zoomed(self) -> bool:
        try:
            return bool(self.is_maximized)
        except Exception:  # noqa: BLE001 - no screen yet (a widget rendered outside an app)
            return False

    def summarize(self, view: VeleroView, now: datetime) -> Text:
        bad = len(self.bad_backups(view))
        bad_schedules = sum(1 for schedule in view.schedules if schedule.bad)
        down = sum(1 for location in view.locations if location.phase != "Available")
        if bad or bad_schedules or down:
            words = [f"{bad} bad"] if bad else []
            words += [f"{bad_schedules} sched✗"] if bad_schedules else []
            words += [f"{down} BSL✗"] if down else []
            return Text(" ".join(words), style="bold red")
        return Text(f"{len(view.backups)} ok", style="green")
