"""Pane 3: the AnalysisRuns of the rollout's current pod hash."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cockpit.models import AnalysisRunView
from cockpit.textsafe import clean, safe_text
from cockpit.timefmt import age
from cockpit.widgets.pane import Pane

BAD_PHASES = frozenset({"Failed", "Error", "Inconclusive"})
# info/experiment_info.go analysisIcon
RUN_ICON = {"Successful": "✔", "Running": "◌", "Pending": "◷", "Failed": "✖", "Error": "⚠", "Inconclusive": "?"}
PHASE_STYLE = {"Successful": "green", "Running": "cyan", "Pending": "dim", "Failed": "bold red",
               "Error": "bold red", "Inconclusive": "yellow"}


class AnalysisPane(Pane):
    pane_id = "analysis"

    def render_data(self, runs: tuple[AnalysisRunView, ...], now: datetime) -> RenderableType:
        if not runs:
            return Text("no AnalysisRuns for the current pod hash", style="dim")
        parts: list[RenderableType] = []
        for run in runs[:4]:
            when = age(run.started_at or run.created_at, now)
            step = f" step {run.step_index}" if run.step_index is not None else ""
            head = Text.assemble(
                safe_text(run.name, "bold", limit=60), "  ",
                (f"{RUN_ICON.get(run.phase, '')} {clean(run.phase or 'pending', limit=20)}".lstrip(),
                 PHASE_STYLE.get(run.phase, "dim")),
                (f"  {clean(run.rollout_type, limit=20)}{step} · {when}", "dim"),
            )
            if run.counts_text:  # the CLI's INFO column: ✔ successful, ✖ failed, ? inconclusive, ⚠ error
                head.append(f"  {run.counts_text}")
            parts.append(head)
            if run.metrics:
                table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold dim", expand=True)
                table.add_column("METRIC", ratio=1, overflow="ellipsis", no_wrap=True)
                table.add_column("LAST", no_wrap=True, max_width=14, overflow="ellipsis")
                table.add_column("✓", justify="right", style="green")
                table.add_column("✗", justify="right", style="red")
                table.add_column("?", justify="right", style="yellow")
                table.add_column("⚠", justify="right", style="bold yellow")
                for metric in run.metrics:
                    name = safe_text(metric.name, PHASE_STYLE.get(metric.phase, "") if not metric.dry_run else "dim",
                                     limit=60)
                    if metric.dry_run:  # assessed but never fails the run: not red, and said so
                        name.append(" (dry-run)", style="dim italic")
                    table.add_row(
                        name,
                        safe_text(metric.last_value or "—", limit=14),
                        str(metric.successful), str(metric.failed), str(metric.inconclusive),
                        str(metric.error),  # trusted: AnalysisMetric.error is its count (int)
                    )
                parts.append(table)
            failing = run.failing_metric
            message = (failing.message or failing.last_message) if failing else ""
            if run.message:  # status.message: why the run ended (Argo CD shows it as the run's health message)
                parts.append(safe_text(run.message, "red italic" if run.phase in BAD_PHASES else "italic",
                                       limit=300))
            if failing is not None and (message or failing.phase) not in run.message:
                parts.append(Text.assemble(("✗ ", "bold red"), safe_text(f"{failing.name}: {message or failing.phase}",
                                                                         "red", limit=300)))
        if len(runs) > 4:
            parts.append(Text(f"… {len(runs) - 4} older runs", style="dim"))
        return Group(*parts)

    def summarize(self, runs: tuple[AnalysisRunView, ...], now: datetime) -> Text:
        if not runs:
            return Text("none", style="dim")
        phase = runs[0].phase or "pending"
        text = Text(clean(phase, limit=20), style=PHASE_STYLE.get(phase, ""))
        if runs[0].errors:
            text.append(f" ⚠{runs[0].errors}", style="bold yellow")
        return text
