"""Pane 4: the PromQL p99 now, against the SLO, and its last 30 minutes."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.text import Text

from cockpit.models import LatencyView
from cockpit.textsafe import safe_text
from widgets.pane import Pane

BARS = "▁▂▃▄▅▆▇█"


def spark(values: list[float], width: int, top: float) -> Text:
    """A one-line plot of ``values`` resampled to ``width`` columns, scaled to ``top``."""
    if not values or width <= 0:
        return Text("no data", style="dim")
    if len(values) > width:
        size = len(values) / width
        values = [max(values[int(i * size): max(int((i + 1) * size), int(i * size) + 1)]) for i in range(width)]
    out = Text()
    for value in values:
        level = 0 if top <= 0 else min(len(BARS) - 1, int(value / top * (len(BARS) - 1)))
        out.append(BARS[level])
    return out


def format_seconds(value: float | None) -> str:
    if value is None:
        return "no data"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


class LatencyPane(Pane):
    pane_id = "latency"

    def render_data(self, view: LatencyView, now: datetime) -> RenderableType:
        over = view.over_slo
        style = "dim" if over is None else ("bold red" if over else "bold green")
        verdict = "" if over is None else ("  over the SLO" if over else "  within the SLO")
        head = Text.assemble(("p99 ", "bold"), (format_seconds(view.value), style), (verdict, style),
                             (f"  (SLO {format_seconds(view.slo_seconds)})", "dim"))
        values = [value for _, value in view.series]
        width = max(10, (self.content_region.width or 40) - 2)
        top = max(values + [view.slo_seconds]) if values else view.slo_seconds
        plot = spark(values, width, top)
        for index in range(len(plot)):
            pass
        if values:
            # colour the columns over the SLO
            level_slo = view.slo_seconds
            resampled = plot.plain
            plot = Text()
            step = len(values) / max(1, len(resampled))
            for i, char in enumerate(resampled):
                chunk = values[int(i * step): max(int((i + 1) * step), int(i * step) + 1)] or [0.0]
                plot.append(char, style="red" if max(chunk) > level_slo else "green")
        axis = Text(f"last 30 min · max {format_seconds(max(values) if values else None)}", style="dim")
        query = Text.assemble(("query ", "dim"), safe_text(view.query, "italic", limit=400))
        return Group(head, plot, axis, query)

    def summarize(self, view: LatencyView, now: datetime) -> Text:
        over = view.over_slo
        style = "dim" if over is None else ("bold red" if over else "green")
        return Text(format_seconds(view.value).replace(" ", ""), style=style)
