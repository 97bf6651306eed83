"""The pre-mortem's verdict, drawn: SAFE / RISKY / UNSAFE with each reason, its evidence and where it was read.

``render_premortem`` is a plain Rich renderable (the confirmation modal's top slot, a notification, a snapshot);
``PremortemPanel`` wraps it in a widget; ``verdict_badge`` is the one-word mark for the decision tree's leaf.  Every
string inside a pre-mortem came from a cluster, a repository or a person: it reaches the screen only through
``cockpit.textsafe``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.widgets import Static

from cockpit.premortem import Level, Premortem, Verdict
from cockpit.textsafe import safe_text

VERDICT_STYLE = {Verdict.SAFE: "bold green", Verdict.RISKY: "bold yellow", Verdict.UNSAFE: "bold white on red"}
LEVEL_MARK = {Level.OK: ("✔ ", "green"), Level.RISKY: ("⚠ ", "yellow"), Level.UNSAFE: ("✖ ", "bold red")}


def verdict_badge(premortem: Premortem | None) -> Text:
    """" UNSAFE " (styled) for a leaf or a status line; empty without a pre-mortem."""
    if premortem is None:
        return Text("")
    return Text(f" {premortem.verdict.value.upper()} ", style=VERDICT_STYLE[premortem.verdict])


def verdict_line(premortem: Premortem, *, more: str = "below") -> Text:
    """One line: the badge and the weightiest reason (what stays visible while the reasons scroll)."""
    head = Text.assemble(("pre-mortem ", "bold"), verdict_badge(premortem), " ")
    worst = next((r for r in premortem.reasons if r.level is not Level.OK), None)
    head.append_text(safe_text(worst.text if worst else "nothing found that makes this rollback risky",
                               "bold" if worst else "", limit=300))
    others = sum(1 for r in premortem.reasons if r.level is not Level.OK) - 1
    if others > 0:
        head.append_text(safe_text(f"  (+{others} more {more})", "dim", limit=80))
    return head


def render_premortem(premortem: Premortem, *, evidence: int = 3, show_ok: bool = True,
                     head: bool = True) -> RenderableType:
    """The verdict line (unless ``head`` is False), then the reasons by group (UNSAFE and RISKY first), each with
    up to ``evidence`` facts and where each was read."""
    lines: list[RenderableType] = [verdict_line(premortem)] if head else []
    for group, reasons in premortem.by_group():
        shown = [r for r in reasons if show_ok or r.level is not Level.OK]
        if not shown:
            continue
        lines.append(Text(group, style="bold dim"))
        for reason in shown:
            mark, style = LEVEL_MARK[reason.level]
            lines.append(Text.assemble(("  " + mark, style), safe_text(reason.text, style if reason.level is not
                                                                       Level.OK else "", limit=400)))
            for item in reason.evidence[:evidence]:
                line = Text("      ")
                line.append_text(safe_text(item.fact, "cyan", limit=200))
                line.append("  ← ", style="dim")
                line.append_text(safe_text(item.source, "dim", limit=120))
                lines.append(line)
            if len(reason.evidence) > evidence:
                lines.append(Text(f"      … {len(reason.evidence) - evidence} more", style="dim"))
    if premortem.needs_reason:
        lines.append(Text(f"{premortem.verdict.value.upper()}: type why you go ahead; it goes into the audit record",
                          style="bold"))
    return Group(*lines)


class PremortemVerdict(Static):
    """The verdict line, fixed at the top of the confirmation modal."""

    DEFAULT_CSS = """
    PremortemVerdict { height: auto; }
    """

    def __init__(self, premortem: Premortem, **kwargs: Any) -> None:
        super().__init__(verdict_line(premortem), **kwargs)
        self.premortem = premortem


class PremortemPanel(Static):
    """Every reason with its evidence, at the top of the confirmation modal's scrolling body."""

    DEFAULT_CSS = """
    PremortemPanel { height: auto; padding: 0 1; margin-bottom: 1; border: round $panel-lighten-2; }
    PremortemPanel.-risky { border: round $warning; }
    PremortemPanel.-unsafe { border: thick $error; }
    """

    def __init__(self, premortem: Premortem, **kwargs: Any) -> None:
        super().__init__(render_premortem(premortem, head=False), **kwargs)
        self.premortem = premortem

    def on_mount(self) -> None:
        self.set_class(self.premortem.verdict is Verdict.RISKY, "-risky")
        self.set_class(self.premortem.verdict is Verdict.UNSAFE, "-unsafe")
