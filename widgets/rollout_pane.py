"""Pane 2: the Argo Rollouts canary."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from cockpit.models import RolloutView
from cockpit.textsafe import clean, safe_text
from widgets.pane import Pane

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

    def action_rollout(self, verb: str) -> None:
        data = self.entry.current
        if not isinstance(data, RolloutView):
            self.notify("No Rollout shown here yet: nothing to act on.", timeout=3, markup=False)
            return
        self.post_message(self.ActionRequested(verb, data.namespace, data.name))

    def render_data(self, ro: RolloutView, now: datetime) -> RenderableType:
        if not ro.has_status:
            return Text.assemble(safe_text(ro.name, "bold"), ("  pending: the controller has not reported yet", "dim"))
        phase = Text.assemble(
            safe_text(ro.name, "bold", limit=60), "  ",
            (clean(ro.phase or "pending", limit=20), PHASE_STYLE.get(ro.phase, "dim")),
        )
        if ro.aborted:
            phase.append("  ABORTED", style="bold red")
        if ro.paused:
            reasons = ", ".join(ro.pause_reasons) or "spec.paused"
            phase.append("  paused: ")
            phase.append_text(safe_text(reasons, "yellow", limit=60))
        lines: list[RenderableType] = [phase]
        if ro.message:
            lines.append(safe_text(ro.message, "italic", limit=300))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1)
        if ro.strategy == "canary" and ro.step_count:
            step = "—" if ro.step_index is None else f"{min(ro.step_index + 1, ro.step_count)}/{ro.step_count}"
            if ro.step_index is not None and ro.step_index >= ro.step_count:
                step = f"{ro.step_count}/{ro.step_count} (fully promoted)"
            grid.add_row("step", Text(step))
        grid.add_row(
            "weight",
            Text.assemble(
                weight_bar(ro.actual_weight if ro.actual_weight is not None else ro.set_weight),
                f" set {_pct(ro.set_weight)} · actual {_pct(ro.actual_weight)}",
            ),
        )
        grid.add_row("stable", _images(ro.stable_images, ro.stable_hash, "green"))
        if ro.canary_hash and ro.canary_hash != ro.stable_hash:
            grid.add_row("canary", _images(ro.canary_images, ro.canary_hash, "magenta"))
        grid.add_row("replicas", Text(f"{ro.ready_replicas}/{ro.replicas} ready · {ro.updated_replicas} updated · "
                                      f"{ro.available_replicas} available"))
        if ro.current_step_analysis:
            grid.add_row("analysis", safe_text(ro.current_step_analysis, limit=80))
        lines.append(grid)
        return Group(*lines)

    def summarize(self, ro: RolloutView, now: datetime) -> Text:
        if ro.aborted:
            return Text("ABORTED", style="bold red")
        step = ""
        if ro.step_count and ro.step_index is not None:
            step = f" {min(ro.step_index + 1, ro.step_count)}/{ro.step_count}"
        return Text(f"{clean(ro.phase or 'pending', limit=20)}{step} {_pct(ro.set_weight)}",
                    style=PHASE_STYLE.get(ro.phase, ""))


def _pct(value: int | None) -> str:
    return "—" if value is None else f"{value}%"


def _images(images: tuple[str, ...], pod_hash: str, style: str) -> Text:
    text = safe_text(", ".join(images) or "—", style, limit=120)
    if pod_hash:
        text.append(" ")
        text.append_text(safe_text(pod_hash, "dim", limit=20))
    return text
