"""The main screen: one tab of six panes per kube context, a context bar, a one-line summary of all six."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from cockpit.models import PANES, PaneSnapshot
from cockpit.textsafe import clean, safe_text
from widgets.analysis_pane import AnalysisPane
from widgets.argocd_pane import ArgoCDPane
from widgets.cnpg_pane import CnpgPane
from widgets.decision_tree import DecisionPanel, DecisionTree
from widgets.latency_pane import LatencyPane
from widgets.pane import Pane
from widgets.rollout_pane import RolloutPane
from widgets.velero_pane import VeleroPane

PANE_CLASSES: dict[str, type[Pane]] = {
    "argocd": ArgoCDPane,
    "rollout": RolloutPane,
    "analysis": AnalysisPane,
    "latency": LatencyPane,
    "cnpg": CnpgPane,
    "velero": VeleroPane,
}
WIDE = 160  # from here up: a 3x2 grid
MEDIUM = 100  # from here up: 2x3; below: one column, scrolled


class ContextBar(Static):
    """The context is always visible; production is red, read-only is said plainly."""

    DEFAULT_CSS = """
    ContextBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    ContextBar.-production { background: $error; color: $text; text-style: bold; }
    """


class SummaryStrip(Static):
    DEFAULT_CSS = """
    SummaryStrip { height: 1; padding: 0 1; color: $text; background: $boost; }
    """


class PaneGrid(Container):
    DEFAULT_CSS = """
    PaneGrid { layout: grid; grid-size: 3 2; grid-gutter: 0; height: 1fr; width: 1fr; }
    """


class Dashboard(Horizontal):
    """The six panes of one context, and (from 160 columns) the decision tree beside them."""

    DEFAULT_CSS = """
    Dashboard { height: 1fr; }
    Dashboard.-medium > PaneGrid { grid-size: 2 3; }
    Dashboard.-narrow > PaneGrid { layout: vertical; overflow-y: auto; scrollbar-size-vertical: 1; }
    Dashboard.-narrow > PaneGrid > Pane { height: auto; min-height: 5; max-height: 18; }
    Dashboard > DecisionPanel { width: 33%; min-width: 52; }
    Dashboard.-medium > DecisionPanel, Dashboard.-narrow > DecisionPanel { display: none; }
    """

    def __init__(self, target: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def compose(self) -> ComposeResult:
        with PaneGrid():
            for number, pane in enumerate(PANES, start=1):
                widget = PANE_CLASSES[pane](number)
                if pane == "argocd":
                    widget.recent_minutes = self.target.recent_minutes  # type: ignore[attr-defined]
                yield widget
        yield DecisionPanel(id="decision")

    @property
    def decision(self) -> DecisionPanel:
        return self.query_one(DecisionPanel)

    @property
    def tree_visible(self) -> bool:
        return not (self.has_class("-medium") or self.has_class("-narrow"))

    def pane(self, pane: str) -> Pane:
        return self.query_one(f"#pane-{pane}", Pane)

    def panes(self) -> list[Pane]:
        return [self.pane(name) for name in PANES]


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("1", "focus_pane(1)", "Argo CD", show=False),
        Binding("2", "focus_pane(2)", "Rollout", show=False),
        Binding("3", "focus_pane(3)", "Analysis", show=False),
        Binding("4", "focus_pane(4)", "p99", show=False),
        Binding("5", "focus_pane(5)", "CNPG", show=False),
        Binding("6", "focus_pane(6)", "Velero", show=False),
        Binding("z", "zoom", "Zoom"),
        Binding("c", "next_context", "Next context", show=False),
        Binding("w", "recoverable", "Recoverable?", show=False),
        Binding("t", "tree", "Decision tree"),
    ]

    DEFAULT_CSS = """
    DashboardScreen TabbedContent { height: 1fr; }
    DashboardScreen TabPane { padding: 0; }
    """

    def __init__(self, targets: list[Any]) -> None:
        super().__init__()
        self.targets = targets

    def compose(self) -> ComposeResult:
        yield ContextBar(id="context-bar")
        yield SummaryStrip(id="summary")
        if len(self.targets) == 1:
            yield Dashboard(self.targets[0], id="dash-0")
        else:
            with TabbedContent(id="contexts"):
                for index, target in enumerate(self.targets):
                    label = clean(target.name, limit=40) + (" [PROD]" if target.production else "")
                    with TabPane(Content(label), id=f"tab-{index}"):  # Content: literal, never markup
                        yield Dashboard(target, id=f"dash-{index}")
        yield Footer()

    def on_mount(self) -> None:
        self.apply_width(self.size.width)
        self.refresh_bars()
        self.dashboards()[0].pane("argocd").focus()

    def on_resize(self, event: Any) -> None:
        self.apply_width(event.size.width)

    def apply_width(self, width: int) -> None:
        for dash in self.dashboards():
            dash.set_class(MEDIUM <= width < WIDE, "-medium")
            dash.set_class(width < MEDIUM, "-narrow")

    # -- routing --------------------------------------------------------------------------------------------

    def dashboards(self) -> list[Dashboard]:
        return list(self.query(Dashboard))

    def dashboard_for(self, context: str) -> Dashboard | None:
        for dash in self.dashboards():
            if dash.target.name == context:
                return dash
        return None

    def active(self) -> Dashboard:
        dashboards = self.dashboards()
        if len(dashboards) == 1:
            return dashboards[0]
        tabs = self.query_one("#contexts", TabbedContent)
        active = tabs.active or "tab-0"
        return self.query_one(f"#dash-{active.split('-')[1]}", Dashboard)

    def show_snapshot(self, snap: PaneSnapshot, now: datetime) -> None:
        dash = self.dashboard_for(snap.context)
        if dash is None:
            return
        dash.pane(snap.pane).show(snap, now)
        if dash is self.active():
            self.refresh_summary(now)

    def tick(self, now: datetime) -> None:
        """Once a second: ages in the freshness lines (only the borders and the strip change)."""
        dash = self.active()
        for pane in dash.panes():
            pane.refresh_freshness(now)
        self.refresh_summary(now)

    def refresh_summary(self, now: datetime) -> None:
        dash = self.active()
        text = Text()
        separator = " │ " if self.size.width >= MEDIUM else "│"
        for index, pane in enumerate(dash.panes()):
            if index:
                text.append(separator, style="dim")
            text.append_text(pane.summary(now))
        strip = self.query_one("#summary", SummaryStrip)
        strip.update(text)

    def refresh_bars(self) -> None:
        target = self.active().target
        bar = self.query_one("#context-bar", ContextBar)
        text = Text()
        text.append("ctx ", style="dim")
        text.append_text(safe_text(target.name, "bold", limit=60))
        if target.production:
            text.append(" PRODUCTION", style="bold")
        if target.read_only:
            text.append(" READ-ONLY", style="bold")
        text.append(" ns ", style="dim")
        text.append_text(safe_text(target.namespace, limit=60))
        if len(self.targets) > 1:
            text.append(f" ({len(self.targets)} contexts: c switches)", style="dim")
        if target.note:
            text.append(" · ", style="dim")
            text.append_text(safe_text(target.note, "italic", limit=80))
        bar.update(text)
        bar.set_class(target.production, "-production")

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bars()
        self.refresh_summary(self.app.clock.now())  # type: ignore[attr-defined]

    # -- actions --------------------------------------------------------------------------------------------

    def action_focus_pane(self, number: int) -> None:
        pane = self.active().panes()[number - 1]
        if self.maximized is not None and self.maximized is not pane:
            self.minimize()
        pane.focus()
        pane.scroll_visible()

    def focused_pane(self) -> Pane | None:
        node = self.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent  # type: ignore[assignment]
        return node

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        pane = self.focused_pane() or self.active().pane("argocd")
        self.maximize(pane, container=False)

    def action_next_context(self) -> None:
        if len(self.targets) < 2:
            self.notify("only one context", timeout=2)
            return
        tabs = self.query_one("#contexts", TabbedContent)
        index = (int((tabs.active or "tab-0").split("-")[1]) + 1) % len(self.targets)
        # move the focus first: TabbedContent shows the tab that holds the focused widget
        self.query_one(f"#dash-{index}", Dashboard).pane("argocd").focus()
        tabs.active = f"tab-{index}"

    def action_recoverable(self) -> None:
        from screens.recoverable import RecoverableScreen

        pane = self.active().pane("cnpg")
        data = pane.snapshot.data if pane.snapshot is not None and pane.snapshot.data is not None else pane.last_good
        self.app.push_screen(RecoverableScreen(data, self.app.clock))  # type: ignore[attr-defined]

    def action_tree(self) -> None:
        dash = self.active()
        if dash.tree_visible:
            dash.decision.query_one(DecisionTree).focus()
            return
        from screens.decision import DecisionScreen

        self.app.push_screen(DecisionScreen(dash.target.name))

    @on(RolloutPane.ActionRequested)
    def _rollout_action(self, event: RolloutPane.ActionRequested) -> None:
        from cockpit.actions import rollouts

        builders = {
            "abort": lambda env: rollouts.abort(env.kube, event.namespace, event.name),
            "retry": lambda env: rollouts.retry(env.kube, event.namespace, event.name),
            "promote": lambda env: rollouts.promote(env.kube, event.namespace, event.name),
            "promote-full": lambda env: rollouts.promote(env.kube, event.namespace, event.name, full=True),
            "undo": lambda env: rollouts.undo(env.kube, event.namespace, event.name),
        }
        context = self.active().target.name
        self.app.write(context, builders[event.verb], warnings=self.app.preflight_warnings(context))  # type: ignore

    @on(Pane.Picked)
    def _picked(self, event: Pane.Picked) -> None:
        dash = self.active()
        self.app.choose(dash.target.name, event.pane, event.name)  # type: ignore[attr-defined]
