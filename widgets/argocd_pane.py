"""Pane 1: Argo CD deploy history of one Application."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cockpit.models import AppHold, ArgoApp
from cockpit.textsafe import MiddleText, clean, middle_ellipsis, safe_text
from cockpit.timefmt import age
from cockpit.widgets.pane import Pane

SYNC_STYLE = {"Synced": "green", "OutOfSync": "yellow"}
HEALTH_STYLE = {"Healthy": "green", "Progressing": "cyan", "Degraded": "bold red", "Missing": "red",
                "Suspended": "yellow"}


def hold_line(hold: AppHold) -> str:
    """"held by NAME since T: REASON (INCIDENT), pinned at abc1234" (untrusted parts inside)."""
    since = f"{hold.since:%Y-%m-%d %H:%M}Z" if hold.since is not None else "an unknown time"
    text = f"held by {hold.by} since {since}"
    if hold.reason:
        text += f": {hold.reason}"
    if hold.incident:
        text += f" ({hold.incident})"
    if hold.revision:
        text += f", pinned at {hold.revision[:7] if len(hold.revision) >= 40 else hold.revision}"
    return text


class ArgoCDPane(Pane):
    pane_id = "argocd"
    recent_minutes = 30

    def render_data(self, app: ArgoApp, now: datetime) -> RenderableType:
        head = Text.assemble(
            safe_text(app.name, "bold", limit=80), "  ",
            (clean(app.sync_status or "no status", limit=20), SYNC_STYLE.get(app.sync_status, "dim")), " · ",
            (clean(app.health_status or "pending", limit=20), HEALTH_STYLE.get(app.health_status, "dim")),
            " · auto-sync ",
            ("on", "bold") if app.auto_sync else ("off", "yellow"),
        )
        if app.auto_sync:
            head.append(f" (selfHeal {'on' if app.self_heal else 'off'}, prune {'on' if app.prune else 'off'})",
                        style="dim")
        lines: list[RenderableType] = [head]
        if app.hold is not None:  # cockpit.dev/hold-* on the Application: every cockpit watching it shows this
            held = safe_text(hold_line(app.hold), "bold yellow", limit=400)
            lines.append(Text.assemble(("⏸ ", "bold yellow"), held))
        if app.operation_running or app.operation_phase == "Running":
            lines.append(safe_text(f"operation running: {app.operation_message}", "cyan"))
        elif app.operation_phase not in ("", "Succeeded"):
            # status.operationState as `argocd app get` prints it (app.go printOperationResult: Phase, Message):
            # a sync that Failed / Errored / is Terminating is the first thing to know before a rollback
            bad = app.operation_phase in ("Failed", "Error")
            lines.append(Text.assemble(("✗ " if bad else "⚠ ", "bold red" if bad else "yellow"), safe_text(
                f"last operation {app.operation_phase}" + (f": {app.operation_message}" if app.operation_message
                                                           else ""), "red" if bad else "yellow", limit=300)))
        if app.owner_appset:
            lines.append(safe_text(f"owned by ApplicationSet {app.owner_appset}", "dim"))
        for condition in app.conditions[:4]:  # status.conditions: ComparisonError, SyncError, OrphanedResourceWarning…
            kind = condition.split(":", 1)[0]
            style = "yellow" if kind.endswith("Warning") else "red"
            lines.append(Text.assemble(("⚠ " if style == "yellow" else "✗ ", style),
                                       safe_text(condition, style, limit=300)))
        if len(app.conditions) > 4:
            lines.append(Text(f"… {len(app.conditions) - 4} more conditions", style="dim"))
        if not app.history:
            lines.append(Text("no deploy history yet", style="dim"))
            return Group(*lines)
        window = timedelta(minutes=self.recent_minutes)
        width = self.content_region.width or 80
        if width >= 70:
            table = Table(box=None, padding=(0, 1), show_edge=False, expand=True, header_style="bold dim")
            table.add_column("ID", justify="right", no_wrap=True)
            table.add_column("AGE", no_wrap=True)
            table.add_column("REVISION", no_wrap=True, max_width=28)
            table.add_column("CHANGE", ratio=1, overflow="fold")
            table.add_column("BY", no_wrap=True, max_width=14, overflow="ellipsis")
            for entry in app.history[:10]:
                recent = entry.deployed_at is not None and now - entry.deployed_at <= window
                style = "bold yellow" if recent else ""
                table.add_row(
                    Text(f"{'▶' if recent else ' '}{entry.id}", style=style),
                    Text(age(entry.deployed_at, now), style=style),
                    MiddleText(entry.cli_revision or entry.short_revision or "—", limit=120),
                    safe_text(entry.change, style, limit=120),
                    safe_text(entry.initiated_by or "—", "dim", limit=14),
                )
        else:  # narrow: the change goes on its own line under each entry
            table = Table.grid(padding=(0, 1), expand=True)
            table.add_column(no_wrap=True, justify="right")
            table.add_column(ratio=1)
            for entry in app.history[:10]:
                recent = entry.deployed_at is not None and now - entry.deployed_at <= window
                style = "bold yellow" if recent else ""
                head = Text.assemble((age(entry.deployed_at, now), style), "  ",
                                     safe_text(middle_ellipsis(entry.cli_revision or entry.short_revision or "—", 28),
                                               limit=28), "  ",
                                     safe_text(entry.initiated_by or "—", "dim", limit=20))
                table.add_row(Text(f"{'▶' if recent else ' '}#{entry.id}", style=style or "bold"), head)
                table.add_row("", safe_text(entry.change, style or "italic", limit=160))
        lines.append(table)
        newest = app.history[0]
        if newest.deployed_at is not None and now - newest.deployed_at <= window:
            lines.append(Text(f"▶ deploy #{newest.id} landed {age(newest.deployed_at, now)} ago "
                              f"(inside the {self.recent_minutes}-minute window)", style="bold yellow"))
        return Group(*lines)

    def summarize(self, app: ArgoApp, now: datetime) -> Text:
        if app.hold is not None:
            return safe_text(f"HELD by {app.hold.by}", "bold yellow", limit=40)
        if not app.history:
            return Text(f"{clean(app.health_status or 'pending', limit=12)}")
        newest = app.history[0]
        recent = newest.deployed_at is not None and now - newest.deployed_at <= timedelta(minutes=self.recent_minutes)
        return Text(f"#{newest.id} {age(newest.deployed_at, now)}", style="bold yellow" if recent else "")
