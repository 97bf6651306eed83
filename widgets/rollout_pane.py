"""Pane 2: the Argo Rollouts canary."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from cockpit.models import ReplicaSetInfo, RolloutView
from cockpit.sources.pods import worst_pod
from cockpit.textsafe import clean, safe_text
from cockpit.timefmt import age
from cockpit.widgets.pane import Pane

PHASE_STYLE = {"Healthy": "green", "Progressing": "cyan", "Paused": "yellow", "Degraded": "bold red"}


def weight_bar(weight: int | None, width: int = 20) -> Text:
    if weight is None:
        return Text("░" * width, style="dim")
    filled = max(0, min(width, round(width * weight / 100)))
    return Text.assemble(("█" * filled, "magenta"), ("░" * (width - filled), "dim"))


class RolloutPane(Pane):
    """Keys act on the Rollout shown, each through the confirmation modal and the write gateway."""

    pane_id = "rollout"
    BINDINGS = Pane.BINDINGS + [
        Binding("a", "rollout('abort')", "Abort"),
        Binding("u", "rollout('undo')", "Undo"),
        Binding("p", "rollout('promote')", "Promote"),
        Binding("P", "rollout('promote-full')", "Promote full", show=False),
        Binding("r", "rollout('retry')", "Retry"),
    ]

    class ActionRequested(Message):
        def __init__(self, verb: str, namespace: str, name: str) -> None:
            super().__init__()
            self.verb = verb
            self.namespace = namespace
            self.name = name

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only (a flag, a context's setting, a replay): the write keys are hidden from the footer and do
        nothing (the gateway would refuse them anyway)."""
        if action == "rollout" and self.read_only_reason():
            return False
        if action == "rollout" and self.driven_elsewhere():
            return None  # another cockpit drives this context: shown, disabled (D on the dashboard takes over)
        return True

    def driven_elsewhere(self) -> bool:
        session = getattr(self.app, "session", None) if self.is_attached else None
        return bool(session is not None and session.write_blocked(self.context))

    def read_only_reason(self) -> str | None:
        session = getattr(self.app, "session", None) if self.is_attached else None
        if session is None:
            return None
        return session.why_read_only(self.context)

    def action_rollout(self, verb: str) -> None:
        data = self.entry.current
        if not isinstance(data, RolloutView):
            self.notify("No Rollout shown here yet: nothing to act on.", timeout=3, markup=False)
            return
        self.post_message(self.ActionRequested(verb, data.namespace, data.name))

    def render_data(self, ro: RolloutView, now: datetime) -> RenderableType:
        phase = Text.assemble(
            safe_text(ro.name, "bold", limit=60), "  ",
            (f"{ROLLOUT_ICON.get(ro.phase, '')} ".lstrip() + clean(ro.phase or "pending", limit=20),
             PHASE_STYLE.get(ro.phase, "dim")),
        )
        if ro.aborted:
            phase.append("  ABORTED", style="bold red")
        if ro.paused:
            reasons = ", ".join(ro.pause_reasons) or "spec.paused"
            phase.append("  paused: ")
            phase.append_text(safe_text(reasons, "yellow", limit=60))
        if ro.restart_pending:
            phase.append("  restart pending", style="yellow")
        if not ro.has_status:  # the phase is the CLI's reading of an empty status
            phase.append("  (no status: the controller has not reported yet)", style="dim")
        lines: list[RenderableType] = [phase]
        if ro.message:
            lines.append(safe_text(ro.message, "italic", limit=300))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1)
        if ro.strategy == "canary":
            # the raw currentStepIndex over the step count, as `kubectl argo rollouts get` prints it ("0/8")
            if ro.step_count:
                step = ro.step_text or "—"
                if ro.step_index is not None and ro.step_index >= ro.step_count:
                    step += " (all steps done)"
                grid.add_row("step", safe_text(step, limit=40))
            grid.add_row(
                "weight",
                Text.assemble(
                    weight_bar(ro.actual_weight if ro.actual_weight is not None else ro.set_weight),
                    f" set {_pct(ro.set_weight)} · actual {_pct(ro.actual_weight)}",
                ),
            )
        if ro.strategy == "blueGreen":
            grid.add_row("active", _images(_rs_images(ro, ro.active_hash), ro.active_hash, "green"))
            if ro.preview_hash and ro.preview_hash != ro.active_hash:
                grid.add_row("preview", _images(_rs_images(ro, ro.preview_hash), ro.preview_hash, "magenta"))
        else:
            grid.add_row("stable", _images(ro.stable_images, ro.stable_hash, "green"))
            if ro.canary_hash and ro.canary_hash != ro.stable_hash:
                grid.add_row("canary", _images(ro.canary_images, ro.canary_hash, "magenta"))
        grid.add_row("replicas", Text(f"desired {ro.desired_replicas} · current {ro.replicas} · "
                                      f"updated {ro.updated_replicas} · ready {ro.ready_replicas} · "
                                      f"available {ro.available_replicas}"))
        if ro.current_step_analysis:
            grid.add_row("analysis", safe_text(ro.current_step_analysis, limit=80))
        if ro.pods_watched:
            for label, rs in _pod_sets(ro):
                grid.add_row(f"{label} pods", pods_line(rs))
        lines.append(grid)
        if ro.replica_sets:
            lines.append(_ByWidth(Text(""), Group(Text(""), rollout_tree(ro, now)),
                                  threshold=TREE_WIDTH, force=self._zoomed()))
        return Group(*lines)

    def _zoomed(self) -> bool:
        try:
            return bool(self.is_maximized)
        except Exception:  # noqa: BLE001 - no screen yet (a widget rendered outside an app)
            return False

    def summarize(self, ro: RolloutView, now: datetime) -> Text:
        if ro.aborted:
            return Text("ABORTED", style="bold red")
        step = f" {clean(ro.step_text, limit=20)}" if ro.step_text else ""
        text = Text(f"{clean(ro.phase or 'pending', limit=20)}{step} {_pct(ro.set_weight)}",
                    style=PHASE_STYLE.get(ro.phase, ""))
        worst = worst_pod(ro.pods) if ro.pods_watched else None
        if worst is not None and worst.severity >= 2:
            text.append(" ")
            text.append_text(safe_text(worst.status, "bold red" if worst.severity >= 3 else "yellow", limit=24))
        return text


# info/rollout_info.go rolloutIcon
ROLLOUT_ICON = {"Progressing": "◌", "Error": "⚠", "InvalidSpec": "⚠", "Paused": "॥", "Healthy": "✔",
                "Degraded": "✖", "Unknown": "?", "ScaledDown": "•"}
TREE_WIDTH = 100  # at this body width (or zoomed) the pane adds the `kubectl argo rollouts get` tree
POD_STYLE = {0: "green", 1: "cyan", 2: "yellow", 3: "bold red"}
RS_ICON = {"Healthy": "✔", "Progressing": "◌", "ReplicaFailure": "✖", "ScaledDown": "•"}
RS_STYLE = {"Healthy": "green", "Progressing": "cyan", "ReplicaFailure": "bold red", "ScaledDown": "dim"}


class _ByWidth:
    """``narrow`` or ``wide`` depending on the width Rich gives (or ``force``d wide, e.g. when zoomed)."""

    def __init__(self, narrow: RenderableType, wide: RenderableType, *, threshold: int, force: bool = False) -> None:
        self.narrow, self.wide, self.threshold, self.force = narrow, wide, threshold, force

    def __rich_console__(self, console, options):  # noqa: ANN001 - rich protocol
        if self.force or options.max_width >= self.threshold:
            yield self.wide
        elif self.narrow is not None and not (isinstance(self.narrow, Text) and not self.narrow.plain):
            yield self.narrow


def _pct(value: int | None) -> str:
    return "—" if value is None else f"{value}%"


def _images(images: tuple[str, ...], pod_hash: str, style: str) -> Text:
    text = safe_text(", ".join(images) or "—", style, limit=120)
    if pod_hash:
        text.append(" ")
        text.append_text(safe_text(pod_hash, "dim", limit=20))
    return text


def _rs_images(ro: RolloutView, pod_hash: str) -> tuple[str, ...]:
    rs = next((rs for rs in ro.replica_sets if pod_hash and rs.pod_hash == pod_hash), None)
    return rs.images if rs is not None else ()


def _pod_sets(ro: RolloutView) -> list[tuple[str, ReplicaSetInfo]]:
    """The ReplicaSets whose pods the compact view summarises: canary then stable (preview then active)."""
    wanted = ([("preview", ro.preview_hash), ("active", ro.active_hash)] if ro.strategy == "blueGreen"
              else [("canary", ro.canary_hash), ("stable", ro.stable_hash)])
    found: list[tuple[str, ReplicaSetInfo]] = []
    seen: set[str] = set()
    for label, pod_hash in wanted:
        rs = next((rs for rs in ro.replica_sets if pod_hash and rs.pod_hash == pod_hash), None)
        if rs is not None and rs.name not in seen:
            seen.add(rs.name)
            found.append((label, rs))
    return found


def pods_line(rs: ReplicaSetInfo) -> Text:
    """Compact: how many pods are ready, and the worst reason among them (``1 pod, 0 ready · ⚠ ImagePullBackOff``)."""
    pods = rs.pods
    ready = sum(1 for pod in pods if pod.total_containers and pod.ready_containers == pod.total_containers)
    text = Text(f"{len(pods)} pod{'s' if len(pods) != 1 else ''}, {ready} ready")
    worst = worst_pod(pods)
    if worst is None:
        if pods:
            text.append(" · ✔ Running", style="green")
        return text
    text.append(" · ")
    text.append(f"{worst.icon} ", style=POD_STYLE.get(worst.severity, ""))  # trusted: pod_icon() returns our ICON_*
    text.append_text(safe_text(worst.status, POD_STYLE.get(worst.severity, ""), limit=40))
    if worst.restarts:
        text.append(f" restarts:{worst.restarts}", style="yellow")
        if worst.last_reason:
            text.append(" (last ")
            text.append_text(safe_text(worst.last_reason, "yellow", limit=30))
            text.append(")")
    same = sum(1 for pod in pods if pod.status == worst.status)
    if same > 1:
        text.append(f" ×{same}", style="dim")
    return text


def _rs_tags(ro: RolloutView, rs: ReplicaSetInfo, now: datetime) -> list[str]:
    """The CLI's INFO column for a ReplicaSet (cmd/get/get_rollout.go PrintReplicaSetInfo)."""
    tags = []
    if ro.strategy == "canary":
        other = {"ping": "pong", "pong": "ping"}
        if rs.pod_hash and rs.pod_hash == ro.stable_hash:
            tags.append("stable")
            if ro.stable_ping_pong:
                tags.append(ro.stable_ping_pong)
        elif rs.pod_hash and rs.pod_hash == ro.canary_hash:
            tags.append("canary")
            if ro.stable_ping_pong:
                tags.append(other[ro.stable_ping_pong])
    elif ro.strategy == "blueGreen":
        if rs.pod_hash and rs.pod_hash == ro.stable_hash:
            tags.append("stable")
        if rs.pod_hash and rs.pod_hash == ro.active_hash:
            tags.append("active")
        elif rs.pod_hash and rs.pod_hash == ro.preview_hash:
            tags.append("preview")
    if rs.scale_down_deadline is not None:
        left = (rs.scale_down_deadline - now).total_seconds()
        tags.append("delay:passed" if left < 0 else f"delay:{age(now, rs.scale_down_deadline)}")
    return tags


def rollout_tree(ro: RolloutView, now: datetime) -> Table:
    """Zoomed/wide: the tree ``kubectl argo rollouts get rollout`` prints (revision, ReplicaSet, pods)."""
    table = Table(box=None, padding=(0, 2, 0, 0), show_edge=False, header_style="bold dim", expand=False)
    table.add_column("NAME", no_wrap=True, overflow="ellipsis")
    table.add_column("KIND", no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("AGE", no_wrap=True)
    table.add_column("INFO", no_wrap=True, overflow="ellipsis")
    table.add_row(Text.assemble("⟳ ", safe_text(ro.name, "bold", limit=80)), "Rollout",
                  Text(f"{ROLLOUT_ICON.get(ro.phase, ' ')} {clean(ro.phase or 'pending', limit=20)}",
                       style=PHASE_STYLE.get(ro.phase, "dim")), age(ro.created_at, now) if ro.created_at else "", "")
    revisions: list[int | None] = []
    for rs in ro.replica_sets:
        if rs.revision not in revisions:
            revisions.append(rs.revision)
    for index, revision in enumerate(revisions):
        last_rev = index == len(revisions) - 1
        branch, trunk = ("└──", "   ") if last_rev else ("├──", "│  ")
        table.add_row(Text(f"{branch}# revision:{revision if revision is not None else '?'}"), "", "", "", "")
        sets = [rs for rs in ro.replica_sets if rs.revision == revision]
        for rs_index, rs in enumerate(sets):
            last_rs = rs_index == len(sets) - 1
            rs_branch, rs_trunk = ("└──", "   ") if last_rs else ("├──", "│  ")
            status = Text(f"{RS_ICON.get(rs.status, ' ')} {clean(rs.status, limit=30)}",
                          style=RS_STYLE.get(rs.status, ""))
            table.add_row(Text.assemble(trunk + rs_branch + "⧉ ", safe_text(rs.name, limit=80)), "ReplicaSet",
                          status, age(rs.created_at, now), ",".join(_rs_tags(ro, rs, now)))
            for pod_index, pod in enumerate(rs.pods):
                pod_branch = "└──" if pod_index == len(rs.pods) - 1 else "├──"
                info = f"ready:{pod.ready}" + (f",restarts:{pod.restarts}" if pod.restarts > 0 else "")
                table.add_row(Text.assemble(trunk + rs_trunk + pod_branch + "□ ", safe_text(pod.name, limit=80)),
                              "Pod", Text.assemble(f"{pod.icon} ", safe_text(pod.status, limit=40),  # trusted: ICON_*
                                                   style=POD_STYLE.get(pod.severity, "")),
                              age(pod.created_at, now), info)
    return table
