"""The main screen: one tab of six panes per kube context, a context bar, a one-line summary of all six."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from cockpit.models import PANES, FeedState
from cockpit.screens.base import ReportsWorkerErrors
from cockpit.session import DecisionChanged, PaneChanged, RunChanged, SessionEvent, StatusChanged
from cockpit.textsafe import clean, safe_text
from cockpit.screens.decision import DecisionRouting
from cockpit.widgets.analysis_pane import AnalysisPane
from cockpit.widgets.argocd_pane import ArgoCDPane
from cockpit.widgets.cnpg_pane import CnpgPane
from cockpit.widgets.decision_tree import DecisionPanel, DecisionTree
from cockpit.widgets.latency_pane import LatencyPane
from cockpit.widgets.pane import Pane
from cockpit.widgets.rollout_pane import RolloutPane
from cockpit.widgets.repaint import TickingLine
from cockpit.widgets.velero_pane import VeleroPane

PANE_CLASSES: dict[str, type[Pane]] = {
    "argocd": ArgoCDPane,
    "rollout": RolloutPane,
    "analysis": AnalysisPane,
    "latency": LatencyPane,
    "cnpg": CnpgPane,
    "velero": VeleroPane,
}
VERB_WORDS = {"abort": "the abort", "undo": "the undo", "promote": "the promotion", "promote-full":
              "the full promotion", "retry": "the retry"}
WIDE = 160  # from here up: a 3x2 grid
MEDIUM = 100  # from here up: 2x3; below: one column, scrolled
# While a context's panes first fill (some still loading), their changes are drawn together at most this often,
# and at once when the last one arrives: a launch brings some twenty pane changes in under half a second, and
# drawing each with its own frame took a quarter of the UI thread's time while the lists were still being read
# (each batch is a layout of the whole screen and a paint: 0.3 s gave populated 70 ms sooner than 0.1 s).
FILL_EVERY = 0.3
FILL_AT_MOST = 3.0  # seconds after the start: from then on every change is drawn at once, loading or not


class ContextBar(Static):
    """The context is always visible; production is red, read-only is said plainly."""

    DEFAULT_CSS = """
    ContextBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    ContextBar.-production { background: $error; color: $text; text-style: bold; }
    """


class SummaryStrip(TickingLine):
    """One line for all six panes; the Argo CD deploy's age in it ticks, so it repaints only what changed."""

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

    def __init__(self, target: Any, session: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.session = session
        # the widgets composed, kept: every pane change and every tick looks its pane up, and a DOM query walks
        # the whole screen (it was a sixth of the UI thread's time while the panes filled)
        self._panes: dict[str, Pane] = {}
        self._decision: DecisionPanel | None = None

    def compose(self) -> ComposeResult:
        with PaneGrid():
            for number, pane in enumerate(PANES, start=1):
                widget = PANE_CLASSES[pane](number, store=self.session.store, context=self.target.name,
                                            now=self.session.clock.now)
                if pane == "argocd":
                    widget.recent_minutes = self.target.recent_minutes  # type: ignore[attr-defined]
                self._panes[pane] = widget
                yield widget
        self._decision = DecisionPanel(id="decision")
        yield self._decision

    @property
    def decision(self) -> DecisionPanel:
        if self._decision is not None:
            return self._decision
        return self.query_one(DecisionPanel)

    @property
    def tree_visible(self) -> bool:
        return not (self.has_class("-medium") or self.has_class("-narrow"))

    def pane(self, pane: str) -> Pane:
        widget = self._panes.get(pane)
        if widget is not None:
            return widget
        return self.query_one(f"#pane-{pane}", Pane)

    def panes(self) -> list[Pane]:
        return [self.pane(name) for name in PANES]


class DashboardScreen(ReportsWorkerErrors, DecisionRouting, Screen):
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
        Binding("o", "open_run", "Runbook in progress"),
        Binding("l", "timeline", "Timeline", show=False),
        Binding("F", "freeze", "Freeze / unfreeze", show=False),
        Binding("H", "release_hold", "Release the hold", show=False),
        Binding("D", "take_over", "Take over driving"),
    ]

    DEFAULT_CSS = """
    DashboardScreen TabbedContent { height: 1fr; }
    DashboardScreen TabPane { padding: 0; }
    """

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.targets = session.targets
        self._dashboards: list[Dashboard] = []  # one per context, as composed (looked up at every pane change)
        self._write_keys: tuple[Any, ...] | None = None  # (context, each write key's state) the footer shows
        self._filling: set[str] = set()  # contexts whose panes are still filling for the first time (live)
        self._fill_pending: dict[str, set[str]] = {}  # context -> panes changed and not drawn yet
        self._fill_timer: Any = None

    def compose(self) -> ComposeResult:
        yield ContextBar(id="context-bar")
        yield SummaryStrip(id="summary")
        if len(self.targets) == 1:
            self._dashboards = [Dashboard(self.targets[0], self.session, id="dash-0")]
            yield self._dashboards[0]
        else:
            from textual.widgets import TabbedContent, TabPane  # several contexts only: not on one's first frame

            with TabbedContent(id="contexts"):
                for index, target in enumerate(self.targets):
                    label = clean(target.name, limit=40) + (" [PROD]" if target.production else "")
                    with TabPane(Content(label), id=f"tab-{index}"):  # Content: literal, never markup
                        self._dashboards.append(Dashboard(target, self.session, id=f"dash-{index}"))
                        yield self._dashboards[-1]
        yield Footer()

    def on_mount(self) -> None:
        if self.session.live:
            self._filling = {target.name for target in self.targets}
            self.set_timer(FILL_AT_MOST, self._fill_over)
        self.apply_width(self.size.width)
        self.refresh_bars()
        for dash in self.dashboards():
            for pane in dash.panes():
                pane.refresh_from_store()
            self.show_decision(dash.target.name)
        self.refresh_summary(self.session.clock.now())
        self.dashboards()[0].pane("argocd").focus()
        self.refresh_write_keys(footer=False)  # the footer being composed shows them as they are
        if self.session.live and any(not self.session.why_read_only(t.name) for t in self.targets):
            from cockpit.screens.writeflow import SPARE_AFTER, prebuild_modal

            self.set_timer(SPARE_AFTER, lambda: prebuild_modal(self.app))  # the first key's modal, built ahead

    def on_resize(self, event: Any) -> None:
        self.apply_width(event.size.width)

    def apply_width(self, width: int) -> None:
        for dash in self.dashboards():
            dash.set_class(MEDIUM <= width < WIDE, "-medium")
            dash.set_class(width < MEDIUM, "-narrow")

    # -- routing --------------------------------------------------------------------------------------------

    def dashboards(self) -> list[Dashboard]:
        return list(self._dashboards) if self._dashboards else list(self.query(Dashboard))

    def dashboard_for(self, context: str) -> Dashboard | None:
        for dash in self.dashboards():
            if dash.target.name == context:
                return dash
        return None

    def active(self) -> Dashboard:
        dashboards = self.dashboards()
        if len(dashboards) == 1:
            return dashboards[0]
        from textual.widgets import TabbedContent

        tabs = self.query_one("#contexts", TabbedContent)
        active = tabs.active or "tab-0"
        index = active.split("-")[1]
        if index.isdigit() and int(index) < len(self._dashboards):
            return self._dashboards[int(index)]
        return self.query_one(f"#dash-{index}", Dashboard)

    def active_context(self) -> str:
        return self.active().target.name

    def session_changed(self, event: SessionEvent) -> None:
        """A session event (coalesced): draw what changed."""
        if not self.is_mounted:
            return
        if isinstance(event, PaneChanged):
            if event.context in self._filling:
                self._fill_change(event.context, event.pane)
                return
            dash = self.dashboard_for(event.context)
            if dash is None:
                return
            dash.pane(event.pane).refresh_from_store()
            if dash is self.active():
                self.refresh_summary(self.session.clock.now())
        elif isinstance(event, DecisionChanged):
            self.show_decision(event.context)
        elif isinstance(event, StatusChanged):
            self.refresh_bars()
            self.refresh_write_keys()
        elif isinstance(event, RunChanged):
            self.refresh_bars()

    def _fill_change(self, context: str, pane: str) -> None:
        """A pane changed while its context's panes first fill: drawn with the others at the next fill tick, or
        now when every pane of the context has something to show (loaded, failed, missing, a choice)."""
        self._fill_pending.setdefault(context, set()).add(pane)
        entries = self.session.store.entries(context)
        if all(entry.state is not FeedState.LOADING for entry in entries.values()):
            self._filling.discard(context)
            self._fill_flush()
        elif self._fill_timer is None:
            self._fill_timer = self.set_timer(FILL_EVERY, self._fill_flush)

    def _fill_flush(self) -> None:
        """Draw the panes changed since the last fill tick (and the summary strip once)."""
        if self._fill_timer is not None:
            self._fill_timer.stop()
            self._fill_timer = None
        pending, self._fill_pending = self._fill_pending, {}
        if not self.is_mounted:
            return
        active = self.active()
        summary = False
        for context, panes in pending.items():
            dash = self.dashboard_for(context)
            if dash is None:
                continue
            for pane in panes:
                dash.pane(pane).refresh_from_store()
            summary = summary or dash is active
        if summary:
            self.refresh_summary(self.session.clock.now())

    def _fill_over(self) -> None:
        """A pane still loading this long after the start (a hanging API) no longer holds the others' changes."""
        self._filling.clear()
        self._fill_flush()

    def show_decision(self, context: str) -> None:
        view = self.session.decision(context)
        dash = self.dashboard_for(context)
        if view is not None and dash is not None:
            dash.decision.show(view)

    def tick(self) -> None:
        """Once a second: the ages in the freshness lines and the strip (nothing else is redrawn)."""
        if self.app.screen is not self:
            return
        now = self.session.clock.now()
        for pane in self.active().panes():
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
        self.query_one("#summary", SummaryStrip).show(text)

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
        freeze = self.session.freezes.of(target.name)
        if freeze is not None:
            text.append(" ")
            text.append(" FROZEN ", style="bold reverse")
        text.append(" ns ", style="dim")
        text.append_text(safe_text(target.namespace, limit=60))
        if len(self.targets) > 1:
            text.append(f" ({len(self.targets)} contexts: c switches)", style="dim")
        active = [run for run in self.session.run_control.active()
                  if run.context == target.name and run.started_at is not None]
        if active:
            run = active[-1]
            current = run.current
            text.append(" · ", style="dim")
            text.append_text(safe_text(f"{run.runbook.id} step {current.index + 1}/{len(run.steps)} "
                                       f"{current.state.value.replace('_', ' ')} (o)" if current else run.runbook.id,
                                       "bold", limit=80))
        self._driver(text, target.name)
        mitigation = self.session.outcomes.status(target.name)
        if mitigation is not None:
            style = {"mitigated": "bold green", "verifying": "bold cyan"}.get(mitigation.state, "bold red")
            text.append(" · ", style="dim")
            text.append(clean(mitigation.state, limit=20).upper(), style=style)
        if freeze is not None:
            from cockpit.actions.freeze import header_text

            text.append(" · ", style="dim")
            text.append_text(safe_text(header_text(freeze), "bold", limit=200))
        if target.note:
            text.append(" · ", style="dim")
            text.append_text(safe_text(target.note, "italic", limit=80))
        bar.update(text)
        bar.set_class(target.production, "-production")

    def _driver(self, text: Text, context: str) -> None:
        """The driver of this context (who may write), on the bar."""
        if self.session.drivers is None:  # no lease kept (yet: the first frame; or replay): nothing to say
            return
        driver = self.session.driver(context)
        if driver.text and driver.state not in ("off", "checking", "free"):
            text.append(" · ", style="dim")
            text.append_text(safe_text(driver.text, driver.style, limit=100))
            if driver.blocks_writes:
                text.append(" (D takes over)", style="dim")

    def on_tabbed_content_tab_activated(self) -> None:  # TabbedContent.TabActivated (imported with the tabs)
        self.refresh_bars()
        self.refresh_summary(self.session.clock.now())

    # -- actions --------------------------------------------------------------------------------------------

    def action_focus_pane(self, number: int) -> None:
        pane = self.active().panes()[number - 1]
        if self.maximized is not None and self.maximized is not pane:
            self.minimize()
        # focused now, not after the keys already queued (Widget.focus defers it): "2" and "a" arriving in one read
        # over SSH open the Rollout pane's abort, not nothing on the pane that had the focus
        self.set_focus(pane)

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
        from textual.widgets import TabbedContent

        tabs = self.query_one("#contexts", TabbedContent)
        index = (int((tabs.active or "tab-0").split("-")[1]) + 1) % len(self.targets)
        # move the focus first: TabbedContent shows the tab that holds the focused widget
        self.set_focus(self.dashboards()[index].pane("argocd"))  # now (see action_focus_pane)
        tabs.active = f"tab-{index}"

    def action_recoverable(self) -> None:
        from cockpit.screens.recoverable import RecoverableScreen

        data = self.session.current(self.active_context(), "cnpg")
        self.app.push_screen(RecoverableScreen(data, self.session.clock))

    def action_open_run(self) -> None:
        """Back to the runbook in progress (the run lives in the session: leaving its screen did not stop it)."""
        context = self.active_context()
        active = [run for run in self.session.run_control.active() if run.context == context]
        if not active:
            self.notify("No runbook is in progress here: open one from the decision tree (t, then Enter on ★).",
                        timeout=4, markup=False)
            return
        run = active[-1]
        self.open_runbook(context, run.runbook.id, run.runbook.title)

    def action_tree(self) -> None:
        dash = self.active()
        if dash.tree_visible:
            self.set_focus(dash.decision.query_one(DecisionTree))  # now (see action_focus_pane)
            return
        from cockpit.screens.decision import DecisionScreen

        self.app.push_screen(DecisionScreen(self.session, dash.target.name))

    def action_timeline(self) -> None:
        """Everything the session saw and did, every layer, oldest first (from the recording)."""
        from cockpit.screens.timeline import TimelineScreen

        self.app.push_screen(TimelineScreen(self.session))

    WRITE_KEYS = ("freeze", "release_hold", "take_over")

    def refresh_write_keys(self, *, footer: bool = True) -> None:
        """The driver lease, a freeze or read-only may enable, disable or hide the write keys: the footer is
        rebuilt when one of them changes, not at every status change (Textual's footer recomposes all its keys on
        every ``refresh_bindings``: tens of milliseconds of the UI thread, several times while the panes fill)."""
        try:
            context = self.active_context()
        except Exception:  # noqa: BLE001 - composing or quitting
            context = None
        keys = (context, *(self._write_key(action) for action in self.WRITE_KEYS))
        if keys != self._write_keys:
            self._write_keys = keys
            if footer:
                self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Write keys: hidden in read-only (nothing would be sent), disabled while another cockpit drives this
        context (the driver lease); ``D`` only when there is someone to take over from."""
        if action not in self.WRITE_KEYS or not self.is_mounted:
            return True
        return self._write_key(action)

    def _write_key(self, action: str) -> bool | None:
        try:
            context = self.active_context()
        except Exception:  # noqa: BLE001 - composing or quitting: no context to ask about
            return False
        if self.session.why_read_only(context):
            return False
        if action == "take_over":  # someone else drives (no lease kept yet: nobody)
            return self.session.drivers is not None and bool(self.session.driver(context).blocks_writes)
        return None if self.session.write_blocked(context) else True

    def _app_in_view(self, context: str) -> tuple[str, str] | None:
        app = self.session.current(context, "argocd")
        name = self.session.settings.app or getattr(app, "name", None)
        if not name:
            self.notify("No Argo CD Application in view: pick one in pane 1 first.", timeout=4, markup=False)
            return None
        return self.session.settings.argocd_namespace, name

    def _plan_action(self, context: str, action: str, params: dict[str, Any]) -> Any:
        from cockpit.actions.registry import build_action

        return self.session.plan(context, lambda env: build_action(action, params, env))

    @work(group="freeze-ask", exclusive=True, exit_on_error=False)
    async def action_freeze(self) -> None:
        """The incident freeze on the app's project: on (with a reason, written for everyone to read) or off."""
        from cockpit.screens.writeflow import start_write

        context = self.active_context()
        app = self._app_in_view(context)
        if app is None:
            return
        namespace, name = app
        if self.session.freezes.of(context) is not None:
            start_write(self, context, lambda: self._plan_action(context, "argocd.unfreeze",
                                                                 {"namespace": namespace, "name": name}),
                        what=f"planning the unfreeze of {clean(name, limit=80)}")
            return
        from cockpit.screens.runbook import AskScreen

        values = await self.app.push_screen_wait(AskScreen(
            f"Freeze automation into {name}'s blast radius", [
                ("reason", "why (written on the AppProject for every cockpit and Argo CD user to read)", ""),
                ("incident", "the incident (id or link)", self._incident_label())]))
        if not values:
            return
        params = {"namespace": namespace, "name": name, "reason": values["reason"], "incident": values["incident"]}
        start_write(self, context, lambda: self._plan_action(context, "argocd.freeze", params),
                    what=f"planning the freeze of {clean(name, limit=80)}")

    def _incident_label(self) -> str:
        if self.session.drill:
            return f"drill of {self.session.drill}"
        return f"incident {self.session.clock.now():%Y-%m-%d %H:%M}Z"

    def action_release_hold(self) -> None:
        """Auto-sync back on for a held app, behind its checklist (the revert landed, Argo CD reports it)."""
        from cockpit.screens.writeflow import start_write

        context = self.active_context()
        app = self._app_in_view(context)
        if app is None:
            return
        namespace, name = app
        start_write(self, context, lambda: self._plan_action(context, "argocd.release_hold",
                                                             {"namespace": namespace, "name": name}),
                    what=f"planning the release of the hold on {clean(name, limit=80)}")

    def action_take_over(self) -> None:
        """Take the driver lease from the cockpit that holds it: confirmed, audited, seen by them at once."""
        from cockpit.screens.writeflow import start_write

        context = self.active_context()
        start_write(self, context, lambda: self.session.plan_takeover(context),
                    what="planning the take-over of the driver lease")

    @on(RolloutPane.ActionRequested)
    def _rollout_action(self, event: RolloutPane.ActionRequested) -> None:
        from cockpit.screens.writeflow import start_write

        context = self.active_context()
        start_write(self, context, lambda: self.session.plan_rollout_verb(context, event.verb),
                    what=f"planning {VERB_WORDS.get(event.verb, event.verb)} of Rollout {clean(event.name, limit=80)}")

    @on(Pane.Picked)
    def _picked(self, event: Pane.Picked) -> None:
        self.session.choose(self.active_context(), event.pane, event.name)
