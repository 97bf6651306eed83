"""Pane 5: CloudNativePG recoverability — can we restore to a point in time, and how far back?"""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cockpit.models import CnpgClusterView, CnpgPaneData
from cockpit.textsafe import safe_text
from cockpit.timefmt import age, duration
from widgets.pane import Pane


def window_text(cluster: CnpgClusterView, now: datetime) -> Text:
    first = cluster.first_recoverability_point
    if first is None:
        return Text("PITR window unknown", style="yellow")
    seconds = max(0.0, (now - first).total_seconds())
    return Text(f"PITR window {duration(seconds)}", style="bold green")


class CnpgPane(Pane):
    pane_id = "cnpg"

    def render_data(self, data: CnpgPaneData, now: datetime) -> RenderableType:
        current = data.current
        if current is None:
            return Text("no clusters", style="dim")
        parts: list[RenderableType] = []
        healthy = "healthy" in current.phase.lower()
        head = Text.assemble(safe_text(current.name, "bold", limit=60), "  ",
                             safe_text(current.phase or "pending", "green" if healthy else "yellow", limit=60))
        if current.instances:
            head.append(f"  {current.ready_instances}/{current.instances} ready", style="dim")
        parts.append(head)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1)
        first = current.first_recoverability_point
        grid.add_row("window", window_text(current, now))
        grid.add_row("first point", Text(f"{first:%Y-%m-%d %H:%M:%SZ} ({age(first, now)} ago)" if first else "—"))
        last = current.last_successful_backup
        grid.add_row("last backup", Text(f"{last:%Y-%m-%d %H:%M:%SZ} ({age(last, now)} ago)" if last else "—"))
        if current.last_failed_backup is not None and (last is None or current.last_failed_backup > last):
            grid.add_row("last failed", Text(f"{age(current.last_failed_backup, now)} ago", style="bold red"))
        grid.add_row("source", safe_text(current.window_source or "—", limit=120))
        parts.append(grid)
        if len(data.clusters) > 1:
            others = [c for c in data.clusters if c is not current]
            line = Text("also: ", style="dim")
            for index, cluster in enumerate(others[:6]):
                if index:
                    line.append(", ", style="dim")
                line.append_text(safe_text(cluster.name, limit=40))
            if len(others) > 6:
                line.append(f" +{len(others) - 6}", style="dim")
            parts.append(line)
        parts.append(Text("w: is a time recoverable?", style="dim italic"))
        return Group(*parts)

    def summarize(self, data: CnpgPaneData, now: datetime) -> Text:
        current = data.current
        if current is None:
            return Text("none", style="dim")
        first = current.first_recoverability_point
        if first is None:
            return Text("window ?", style="yellow")
        return Text(duration(max(0.0, (now - first).total_seconds())).replace(" ", ""))
