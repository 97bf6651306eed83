"""Pane 5: CloudNativePG recoverability — can we restore to a point in time, and how far back?"""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cockpit.models import CnpgClusterView, CnpgPaneData
from cockpit.textsafe import clean, safe_text
from cockpit.timefmt import age, duration
from cockpit.widgets.pane import Pane


ARCHIVING_STYLE = {"ok": "green", "failing": "bold red", "disabled": "yellow", "starting": "yellow",
                   "unknown": "yellow"}
ARCHIVING_WORDS = {"ok": "OK", "failing": "Failing", "disabled": "Disabled", "starting": "Starting Up",
                   "unknown": "unknown"}  # kubectl cnpg status: "Working WAL archiving"


def window_text(cluster: CnpgClusterView, now: datetime) -> Text:
    """The PITR window: from the first recoverability point to the last archived WAL (or "now?" when the end is
    not measured); green only when archiving is known to work and the cluster is healthy."""
    first = cluster.first_recoverability_point
    if first is None:
        return Text("PITR window unknown", style="yellow")
    archiving = cluster.archiving
    end = archiving.window_end if archiving is not None else None
    if end is not None:
        seconds = max(0.0, (end - first).total_seconds())
        style = "bold green" if archiving.state == "ok" and cluster.healthy else "bold yellow"
        if archiving.state == "failing":
            style = "bold red"
        return Text(f"PITR window {duration(seconds)}, ends {age(end, now)} ago", style=style)
    seconds = max(0.0, (now - first).total_seconds())
    failing = cluster.archiving_condition == "False" or (archiving is not None and archiving.state == "failing")
    if failing:
        return Text(f"PITR window up to {duration(seconds)}, end unknown: WAL archiving failing", style="bold red")
    style = "bold green" if cluster.healthy and cluster.archiving_condition == "True" else "bold yellow"
    return Text(f"PITR window up to {duration(seconds)} (end not measured)", style=style)


def status_text(cluster: CnpgClusterView) -> Text:
    """Phase + phaseReason as `kubectl cnpg status` prints it; hibernated, fenced and suspended never green."""
    line = cluster.status_line or "pending"
    if cluster.healthy:
        style = "green"
    elif cluster.reconciliation_suspended or cluster.hibernated or cluster.primary_fenced:
        style = "bold red"
    elif cluster.phase in ("Setting up primary", "Creating a new replica", "Upgrading cluster",
                           "Waiting for the instances to become active", "Waiting for user action"):
        style = "yellow"
    else:
        style = "bold red" if cluster.phase and cluster.phase != "Cluster in healthy state" else "yellow"
    return safe_text(line, style, limit=160)


class CnpgPane(Pane):
    pane_id = "cnpg"

    def render_data(self, data: CnpgPaneData, now: datetime) -> RenderableType:
        current = data.current
        if current is None:
            return Text("no clusters", style="dim")
        parts: list[RenderableType] = []
        head = Text.assemble(safe_text(current.name, "bold", limit=60), "  ", status_text(current))
        # status.go printBasicInfo: "Instances:" is spec.instances, "Ready instances:" status.readyInstances (red
        # when they differ)
        desired = current.spec_instances if current.spec_instances is not None else current.instances
        if desired:
            head.append(f"  {current.ready_instances}/{desired} ready",
                        style="dim" if current.ready_instances == desired else "yellow")
        parts.append(head)
        if current.replica:  # "Replica Cluster Summary", "Designated primary:", "Source cluster:"
            line = Text("Replica cluster", style="bold yellow")
            if current.replica_source:
                line.append(" of ", style="yellow")
                line.append_text(safe_text(current.replica_source, "yellow", limit=80))
            if current.current_primary:
                line.append(" · designated primary ", style="yellow")
                line.append_text(safe_text(current.current_primary, "yellow", limit=80))
            parts.append(line)
        if current.has_status and current.current_primary != current.target_primary:
            if current.current_primary:  # "Switchover in progress", primary "A (switching to B)"
                parts.append(Text.assemble(("Switchover in progress: ", "bold yellow"),
                                           safe_text(current.current_primary, "yellow", limit=80),
                                           (" switching to ", "yellow"),
                                           safe_text(current.target_primary, "yellow", limit=80)))
            else:
                parts.append(Text("Primary server is initializing", style="bold yellow"))
        if current.reconciliation_suspended:
            parts.append(Text("Cluster reconciliation is suspended (cnpg.io/reconciliationLoop: disabled): the "
                              "operator does not act on it", style="bold red"))
        if current.hibernated or current.hibernation_requested:
            since = f" since {age(current.hibernated_since, now)} ago" if current.hibernated_since else ""
            words = current.hibernation_message or ("hibernation requested" if not current.hibernated else "")
            parts.append(Text.assemble(("hibernated" if current.hibernated else "hibernation", "bold red"),
                                       (since + ": ", "red"), safe_text(words, "red", limit=160)))
        if current.fenced_instances:  # status.go listFencedInstances
            who = "All Instances" if "*" in current.fenced_instances else ", ".join(current.fenced_instances)
            parts.append(Text.assemble(("Fenced instances: ", "bold red" if current.primary_fenced else "bold yellow"),
                                       safe_text(who, "red" if current.primary_fenced else "yellow", limit=160),
                                       (" (annotation unreadable: read as all)" if current.fencing_invalid else "",
                                        "dim")))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1)
        first = current.first_recoverability_point
        grid.add_row("window", window_text(current, now))
        grid.add_row("first point", Text(f"{first:%Y-%m-%d %H:%M:%SZ} ({age(first, now)} ago)" if first else "—"))
        grid.add_row("WAL archiving", archiving_text(current, now))
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
        if current.reconciliation_suspended:
            return Text("suspended", style="bold red")
        if current.hibernated:
            return Text("hibernated", style="bold red")
        if current.primary_fenced:
            return Text("fenced", style="bold red")
        first = current.first_recoverability_point
        if first is None:
            return Text("window ?", style="yellow")
        text = Text(duration(max(0.0, (now - first).total_seconds())).replace(" ", ""))
        archiving = current.archiving
        if (archiving is not None and archiving.state == "failing") or current.archiving_condition == "False":
            text.append(" WAL✗", style="bold red")
        return text


def archiving_text(cluster: CnpgClusterView, now: datetime) -> Text:
    """``Working WAL archiving`` as the status plugin words it, with the last archived/failed times."""
    archiving = cluster.archiving
    if archiving is None:
        if cluster.wal_archiving_disabled:
            return Text("Disabled (cnpg.io/skipWalArchiving)", style="yellow")
        if cluster.archiving_condition:
            ok = cluster.archiving_condition == "True"
            text = Text("OK" if ok else "Failing", style="green" if ok else "bold red")
            text.append(" (ContinuousArchiving condition; no archiver metrics)", style="dim")
            if not ok and cluster.archiving_condition_message:
                text.append(": ")
                text.append_text(safe_text(cluster.archiving_condition_message, "red", limit=160))
            return text
        return Text("unknown (no archiver metrics, no ContinuousArchiving condition)", style="yellow")
    text = Text(ARCHIVING_WORDS.get(archiving.state, clean(archiving.state, limit=40)),
                style=ARCHIVING_STYLE.get(archiving.state, ""))
    if archiving.last_archived_at is not None:
        text.append(f" · last archived {age(archiving.last_archived_at, now)} ago")
    if archiving.last_failed_at is not None:
        text.append(f" · last failed {age(archiving.last_failed_at, now)} ago",
                    style="red" if archiving.state == "failing" else "dim")
    if archiving.detail:
        text.append(" · ")
        text.append_text(safe_text(archiving.detail, "yellow", limit=160))
    return text
