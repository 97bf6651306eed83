"""Pane 4: the PromQL p99 now, against the SLO, and its last 30 minutes."""

from __future__ import annotations

import math
from datetime import datetime

from rich.console import Group, RenderableType
from rich.text import Text

from cockpit.models import LatencyView
from cockpit.textsafe import safe_text
from cockpit.widgets.pane import Pane

BARS = "▁▂▃▄▅▆▇█"


def _peak(values: list[float]) -> float:
    """The largest value, NaN-safe (``max`` would depend on where a NaN sits); NaN when there is none."""
    numbers = [value for value in values if not math.isnan(value)]
    return max(numbers) if numbers else math.nan


def _level(value: float, top: float) -> int:
    """The bar for ``value``: +Inf (the quantile fell in the +Inf bucket) is the full bar, NaN the empty one."""
    if math.isnan(value) or value <= 0 or top <= 0:
        return 0
    if value >= top:
        return len(BARS) - 1
    return min(len(BARS) - 1, int(value / top * (len(BARS) - 1)))


def spark(values: list[float], width: int, top: float) -> Text:
    """A one-line plot of ``values`` resampled to ``width`` columns, scaled to ``top``."""
    if not values or width <= 0:
        return Text("no data", style="dim")
    if len(values) > width:
        size = len(values) / width
        values = [_peak(values[int(i * size): max(int((i + 1) * size), int(i * size) + 1)]) for i in range(width)]
    out = Text()
    for value in values:
        out.append(BARS[_level(value, top)])
    return out


def format_seconds(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "no data"
    if math.isinf(value):
        return "+Inf (above the largest bucket)" if value > 0 else "-Inf"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


class LatencyPane(Pane):
    pane_id = "latency"

    def render_data(self, view: LatencyView, now: datetime) -> RenderableType:
        over = None if view.value is None or math.isnan(view.value) else view.over_slo
        style = "dim" if over is None else ("bold red" if over else "bold green")
        verdict = "" if over is None else ("  over the SLO" if over else "  within the SLO")
        head = Text.assemble(("p99 ", "bold"), (format_seconds(view.value), style), (verdict, style),
                             (f"  (SLO {format_seconds(view.slo_seconds)})", "dim"))
        values = [value for _, value in view.series]
        width = max(10, (self.content_region.width or 40) - 2)
        finite = [value for value in values if math.isfinite(value)]
        top = max(finite + [view.slo_seconds]) if finite else view.slo_seconds
        plot = spark(values, width, top)
        if values:
            # colour the columns over the SLO
            level_slo = view.slo_seconds
            resampled = plot.plain
            plot = Text()
            step = len(values) / max(1, len(resampled))
            for i, char in enumerate(resampled):
                chunk = values[int(i * step): max(int((i + 1) * step), int(i * step) + 1)] or [0.0]
                plot.append(char, style="red" if _peak(chunk) > level_slo else "green")
        axis = Text(f"last 30 min · max {format_seconds(_peak(values) if values else None)}", style="dim")
        query = Text.assemble(("query ", "dim"), safe_text(view.query, "italic", limit=400))
        return Group(head, plot, axis, query)

    def summarize(self, view: LatencyView, now: datetime) -> Text:
        over = None if view.value is None or math.isnan(view.value) else view.over_slo
        style = "dim" if over is None else ("bold red" if over else "green")
        return Text(format_seconds(view.value).replace(" ", ""), style=style)
