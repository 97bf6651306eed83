"""The App: wiring only (screens, global bindings, workers that feed the store).  It never fetches or writes itself:
sources do, in worker threads, and their snapshots arrive here as messages."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from cockpit.clock import Clock
from cockpit.config import ConfigError, Settings
from cockpit.models import PaneSnapshot


@dataclass(frozen=True)
class ContextTarget:
    """One kube context as the dashboard shows it."""

    name: str
    kubeconfig: Path
    namespace: str
    production: bool
    read_only: bool
    prometheus_url: str | None
    recent_minutes: int = 30
    note: str = ""  # e.g. "demo platform"


def connect(settings: Settings, *, note: str = "") -> list[ContextTarget]:
    """Check the kubeconfig and contexts before the first frame (cheap: YAML only, no kubernetes import)."""
    from cockpit.sources.kube import kubeconfig_path, resolve_contexts

    path = kubeconfig_path(settings.kubeconfig)
    targets = []
    for name, default_ns in resolve_contexts(path, settings.contexts):
        ctx = settings.context(name)
        targets.append(
            ContextTarget(
                name=name,
                kubeconfig=path,
                namespace=ctx.namespace or settings.namespace or default_ns or "default",
                production=ctx.production,
                read_only=settings.is_read_only(name),
                prometheus_url=ctx.prometheus_url or settings.prometheus_url,
                recent_minutes=settings.recent_deploy_minutes,
                note=note,
            )
        )
    return targets


class SnapshotReady(Message):
    """A pane's new snapshot (posted from any thread)."""

    def __init__(self, snapshot: PaneSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class CockpitApp(App[int]):
    TITLE = "cockpit"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        targets: list[ContextTarget],
        *,
        clock: Clock | None = None,
        poll: bool = True,
        tick: bool = True,
        read_only_reason: str | None = None,
        audit_path: str | None = None,
        recorder: Any = None,
        recording_note: str = "",
        drill: str | None = None,
        player: Any = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.targets = targets
        self.audit_path = audit_path
        self.recorder = recorder  # a RecordingSink (live sessions) or None
        self.recording_note = recording_note
        self.drill = drill  # the runbook this session drills, or None
        self.player = player  # a recording.Player when replaying
        self._last_decision: Any = None
        self.clock = clock or Clock()
        if recorder is not None:
            recorder.clock = self.clock  # the recording ends at the session's own time
        self.poll = poll
        self.tick_enabled = tick
        self.feeds: dict[str, Any] = {}
        self.prom_sources: dict[str, Any] = {}
        self.latency_feeds: dict[str, Any] = {}
        self.overrides: dict[str, dict[str, str]] = {}  # per context: the person's answers in the tree
        self.gathered: dict[str, Any] = {}  # per context: the last evidence (cockpit.evidence.Gathered)
        self.evaluations: dict[str, Any] = {}
        self._evidence_due: set[str] = set()
        self.read_only_reason = read_only_reason
        self.runs: dict[tuple[str, str], Any] = {}  # (context, runbook) -> RunbookRun, kept across screens
        self._gateway: Any = None
        self._run_facts: dict[str, dict[str, Any]] = {}
        self.on_ready_hooks: list[Any] = []

    # -- start-up --------------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        from screens.dashboard import DashboardScreen

        if self.player is not None:
            from screens.replay import ReplayDashboardScreen

            self.dashboard = ReplayDashboardScreen(self.targets)
        else:
            self.dashboard = DashboardScreen(self.targets)
        self.push_screen(self.dashboard)
        # Every watch holds a thread for as long as it follows its stream; the default executor has
        # min(32, cores + 4) threads (6 on a 2-core bastion), which would silently starve the later watches.
        from concurrent.futures import ThreadPoolExecutor

        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=8 + 10 * len(self.targets), thread_name_prefix="cockpit-io")
        )
        if self.poll:
            for target in self.targets:
                self.start_context(target)
            # flags, S3 and namespaces change without a deploy: look again every minute (and on every change)
            # (the Kubernetes part of the evidence only follows the watches: the minute tick never polls the API)
            self.set_interval(60.0, lambda: [self.evidence_soon(t.name, periodic=True) for t in self.targets])
        if self.tick_enabled and self.player is None:
            self.set_interval(1.0, self._tick)
        self._install_hangup_guard()
        if self.recording_note:
            self.notify(self.recording_note, timeout=6, markup=False,
                        severity="warning" if self.recording_note.startswith("NOT") else "information")
        if self.drill:
            self.start_drill(self.drill)
        if self.player is not None:
            self.call_after_refresh(self.dashboard.start_replay, self.player)

    def start_context(self, target: ContextTarget) -> None:
        self._connect(target)
        self._start_latency(target)

    @work(group="connect", exit_on_error=False)
    async def _connect(self, target: ContextTarget) -> None:
        from cockpit.sources.kube import KubeContext
        from cockpit.store import ContextFeeds

        try:
            kube = await asyncio.to_thread(KubeContext.from_kubeconfig, target.kubeconfig, target.name)
        except ConfigError as err:
            self._fail_context(target, str(err))
            return
        feeds = ContextFeeds(self.settings, target.name, kube, clock=self.clock, emit=self._emit,
                             namespace=target.namespace)
        self.feeds[target.name] = feeds
        for track, watch in feeds.watches.items():
            self.run_worker(self._watch_runner(watch), thread=True, group=f"watch:{target.name}:{track}",
                            exit_on_error=False, name=f"watch {track}")

    @staticmethod
    def _watch_runner(watch: Any) -> Any:
        def run() -> None:
            worker = get_current_worker()
            watch.run(lambda: worker.is_cancelled)

        return run

    def _fail_context(self, target: ContextTarget, reason: str) -> None:
        from cockpit.models import PANES, FeedState, FeedStatus

        for pane in PANES:
            if pane != "latency":
                self._emit(PaneSnapshot(pane, target.name, None, FeedStatus(FeedState.ERROR, error=reason)))

    def _start_latency(self, target: ContextTarget) -> None:
        from cockpit.store import LatencyFeed

        feed = LatencyFeed(target.name, clock=self.clock, emit=self._emit)
        self.latency_feeds[target.name] = feed
        if not target.prometheus_url:
            feed.unconfigured("no Prometheus configured (--prometheus-url)")
            return
        from cockpit.sources.errors import SourceError
        from cockpit.sources.prometheus import PrometheusSource

        try:
            source = PrometheusSource(target.prometheus_url, self.settings.effective_promql(),
                                      slo_seconds=self.settings.slo)
        except SourceError as err:  # a URL or query the source refuses: the pane says why, the rest runs
            feed.unconfigured(str(err))
            return
        self.prom_sources[target.name] = source
        self._poll_latency(target.name)

    @work(group="poll:latency", exit_on_error=False)
    async def _poll_latency(self, context: str) -> None:
        """Poll, then re-arm a timer (a slow Prometheus never stacks queries)."""
        await asyncio.to_thread(self.latency_feeds[context].poll, self.prom_sources[context])
        self.set_timer(self.settings.prometheus_interval, lambda: self._poll_latency(context))

    def _emit(self, snapshot: PaneSnapshot) -> None:
        self.post_message(SnapshotReady(snapshot))

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        snap = message.snapshot
        if snap.pane == "namespace":  # the tenant namespace changed (or was deleted): look at the evidence again
            if self.poll:
                self.evidence_soon(snap.context)
            return
        self.dashboard.show_snapshot(snap, self.clock.now())
        if self.recorder is not None:
            self.recorder.snapshot(snap, self.clock.now().timestamp())
        if snap.pane in ("argocd", "rollout") and self.poll:
            self.evidence_soon(snap.context)

    # -- the decision tree ---------------------------------------------------------------------------------

    def evidence_soon(self, context: str, *, periodic: bool = False) -> None:
        """Gather the decision evidence again shortly (changes come in bursts: one gather per burst)."""
        if context in self._evidence_due:
            return
        self._evidence_due.add(context)
        self.set_timer(0.5, lambda: self._gather(context, periodic))

    def _current(self, context: str, pane: str) -> Any:
        dash = self.dashboard.dashboard_for(context)
        if dash is None:
            return None
        widget = dash.pane(pane)
        return widget.snapshot.data if widget.snapshot is not None and widget.snapshot.data is not None \
            else widget.last_good

    @work(group="evidence", exit_on_error=False)
    async def _gather(self, context: str, periodic: bool = False) -> None:
        import dataclasses

        from cockpit.evidence import gather

        self._evidence_due.discard(context)
        feeds = self.feeds.get(context)
        previous = self.gathered.get(context)
        gathered = await asyncio.to_thread(
            gather,
            self.settings,
            context=context,
            contexts=tuple(t.name for t in self.targets),
            app=self._current(context, "argocd"),
            rollout=self._current(context, "rollout"),
            kube=feeds.kube if feeds is not None and not periodic else None,
            now=self.clock.now(),
            watched_namespaces=feeds.watched_namespaces() if feeds is not None else None,
        )
        if periodic and previous is not None and previous.decision.namespace is not None:
            gathered = dataclasses.replace(gathered, decision=dataclasses.replace(
                gathered.decision, namespace=previous.decision.namespace))
        self.gathered[context] = gathered
        self.refresh_decision(context)

    def refresh_decision(self, context: str) -> None:
        """Evaluate the tree (pure, no I/O) over the last evidence and the person's answers; show it."""
        from cockpit.decide import DecisionInput, evaluate

        gathered = self.gathered.get(context)
        decision = gathered.decision if gathered is not None else DecisionInput(
            app=self._current(context, "argocd"), rollout=self._current(context, "rollout"),
            window_minutes=self.settings.recent_deploy_minutes)
        problems = gathered.problems if gathered is not None else ("gathering evidence…",)
        evaluation = evaluate(decision, self.overrides.get(context, {}), now=self.clock.now())
        self.evaluations[context] = evaluation
        self._record_decision(context, evaluation, problems)
        self.show_decision(context, evaluation, problems)

    def _record_decision(self, context: str, evaluation: Any, problems: tuple[str, ...] = (), *,
                         chosen: bool = False) -> None:
        """Record an evaluation when what it says changed (answers, path, leaf), or when a runbook was chosen."""
        if self.recorder is None:
            return
        from cockpit.models import to_dict

        key = (context, evaluation.path, evaluation.leaf.id if evaluation.leaf else "", evaluation.ask,
               tuple((n, r.answer.value, r.overridden) for n, r in evaluation.results.items()))
        if key == self._last_decision and not chosen:
            return
        self._last_decision = key
        payload = to_dict(evaluation)
        payload["chosen"] = chosen
        payload["problems"] = list(problems)
        self.recorder.record("decision", payload, self.clock.now().timestamp(), context=context)

    def show_decision(self, context: str, evaluation: Any, problems: tuple[str, ...] = ()) -> None:
        panels = []
        dash = self.dashboard.dashboard_for(context)
        if dash is not None:
            panels.append(dash.decision)
        from screens.decision import DecisionScreen

        for screen in self.screen_stack:
            if isinstance(screen, DecisionScreen) and screen.context == context:
                panels.append(screen.panel)
        for panel in panels:
            panel.show(evaluation, problems, self.stale_runbooks())

    def active_context(self) -> str:
        from screens.decision import DecisionScreen

        if isinstance(self.screen, DecisionScreen):
            return self.screen.context
        return self.dashboard.active().target.name

    def on_decision_tree_answered(self, message: Any) -> None:
        context = self.active_context()
        answers = self.overrides.setdefault(context, {})
        if message.answer:
            answers[message.node_id] = message.answer
        else:
            answers.pop(message.node_id, None)
        if self.recorder is not None:
            from cockpit.decide import NODES
            from cockpit.recording.format import answer_payload

            question = NODES[message.node_id].question if message.node_id in NODES else message.node_id
            self.recorder.record("answer", answer_payload(message.node_id, "answered", text=question,
                                                          answer=message.answer or "cleared"),
                                 self.clock.now().timestamp(), context=context)
        if self.player is not None:
            self.notify("replay: answers are not recorded into a recording", timeout=3)
        self.refresh_decision(context)

    def on_decision_tree_explained(self, message: Any) -> None:
        from cockpit.decide import LEAVES, NODES
        from screens.explain import ExplainScreen

        context = self.active_context()
        evaluation = self.evaluations.get(context)
        if message.node_id in NODES and evaluation is not None:
            result = evaluation.results[message.node_id]
            lines = [("answer", f"{result.answer.value}{' (yours)' if result.overridden else ''}, "
                                f"confidence {result.confidence.value}"), ("because", result.explain)]
            lines += [(e.source, e.fact) for e in result.evidence]
            self.push_screen(ExplainScreen(result.question, NODES[message.node_id].why, lines))
        elif message.node_id in LEAVES:
            leaf = LEAVES[message.node_id]
            self.push_screen(ExplainScreen(leaf.title, f"Runbook {leaf.runbook or '(none)'}; expected RTO "
                                                       f"{leaf.rto or 'n/a'}. Enter opens the runbook.", []))

    def on_decision_tree_leaf_opened(self, message: Any) -> None:
        from cockpit.decide import resolve_leaf

        context = self.active_context()
        gathered = self.gathered.get(context)
        if gathered is None:
            self.notify("Still gathering evidence; try again in a moment.", timeout=3)
            return
        leaf, _ = resolve_leaf(message.slot, gathered.decision)
        self.open_runbook(context, leaf.runbook, leaf.title)

    def open_runbook(self, context: str, runbook: str, title: str) -> None:
        from screens.explain import ExplainScreen

        if not runbook:
            self.push_screen(ExplainScreen(title, "This is not a rollback case: open the alert's own runbook.", []))
            return
        if self.player is not None:
            from screens.replay import RecordedRunScreen

            self.push_screen(RecordedRunScreen(runbook, context, self.player, self.clock.now()))
            return
        from screens.runbook import RunbookScreen

        self.push_screen(RunbookScreen(runbook, context))

    def choose(self, context: str, pane: str, name: str) -> None:
        feeds = self.feeds.get(context)
        if feeds is not None:
            feeds.choose(pane, name)

    def _tick(self) -> None:
        if self.screen is self.dashboard:
            self.dashboard.tick(self.clock.now())

    # -- writes: key -> plan -> modal -> gateway -> audit -> API ------------------------------------------

    @property
    def gateway(self) -> Any:
        """The one write gateway (cockpit.actions.gateway), built on first use (it is off the start path)."""
        if self._gateway is None:
            from cockpit.actions.audit import AuditLog
            from cockpit.actions.gateway import Gateway

            self._gateway = Gateway(read_only_reason=self.why_read_only, audit=AuditLog(self.audit_path),
                                    clock=self.clock, on_record=self._audit_recorded)
        return self._gateway

    def _audit_recorded(self, record: dict[str, Any]) -> None:
        """Every audit record also goes into the session recording (called from worker threads)."""
        if self.recorder is None:
            return
        ts = self.clock.now().timestamp()
        context = str(record.get("context", ""))
        self.recorder.record("audit", record, ts, context=context)
        if record.get("event") == "after":  # the timeline marks each answered write once
            from cockpit.recording.format import gateway_payload

            request = record.get("request") if isinstance(record.get("request"), dict) else {}
            outcome = {"ok": "ok", "conflict": "conflict", "refused": "refused", "denied": "refused"}.get(
                str(record.get("outcome")), "error")
            self.recorder.record("gateway", gateway_payload(
                f"{record.get('verb', '')} {record.get('kind', '')}".strip(), str(record.get("target", "")), outcome,
                context=context, method=str(request.get("method", "")), path=str(request.get("path", "")),
                status=record.get("status") if isinstance(record.get("status"), int) else None,
                message=str(record.get("message", ""))[:300]), ts, context=context)

    def why_read_only(self, context: str) -> str | None:
        if self.read_only_reason:
            return self.read_only_reason
        if self.settings.read_only:
            return "started with --read-only"
        if self.settings.context(context).read_only:
            return f"context {context} is read_only in the config file"
        return None

    def target(self, context: str) -> ContextTarget | None:
        return next((t for t in self.targets if t.name == context), None)

    def action_env(self, context: str) -> Any:
        from cockpit.actions.registry import ActionEnv

        feeds = self.feeds.get(context)
        target = self.target(context)
        return ActionEnv(
            kube=feeds.kube if feeds is not None else None,
            gitops_repo=self.settings.gitops_repo,
            kubeconfig=str(target.kubeconfig) if target is not None else None,
            username=self.person(),
            clock=self.clock,
        )

    @staticmethod
    def person() -> str:
        import getpass

        try:
            return getpass.getuser()
        except Exception:  # noqa: BLE001 - no passwd entry in some containers
            return os.environ.get("USER", "on-call")

    def preflight_warnings(self, context: str) -> tuple[str, ...]:
        """The migration pre-flight's verdict, when it says a code rollback alone is not enough."""
        gathered = self.gathered.get(context)
        verdict = gathered.decision.migrations if gathered is not None else None
        if verdict is not None and getattr(verdict.verdict, "value", "") == "data_first":
            return (f"migration pre-flight: {verdict.summary}",)
        return ()

    def write(self, context: str, builder: Any, *, warnings: tuple[str, ...] = ()) -> None:
        """Start the write flow for ``builder(env) -> Action`` in a worker."""
        self._write_flow(context, builder, warnings)

    @work(group="write", exit_on_error=False)
    async def _write_flow(self, context: str, builder: Any, warnings: tuple[str, ...]) -> None:
        from cockpit.actions.requests import ActionRefused
        from cockpit.sources.errors import SourceError

        env = self.action_env(context)
        if env.kube is None:
            refused = self.gateway.read_only(context)
            self.notify(refused or f"not connected to {context} yet: nothing was sent", severity="warning",
                        markup=False)
            return
        try:
            action = await asyncio.to_thread(builder, env)
        except ActionRefused as err:
            self.notify(str(err), severity="information" if err.noop else "warning", markup=False, timeout=8)
            return
        except SourceError as err:
            self.notify(f"cannot plan it: {err}", severity="error", markup=False, timeout=8)
            return
        planned = self.gateway.plan(action)
        result = await self.confirm_and_send(planned, warnings=warnings)
        if result is not None:
            severity = "information" if result.ok else "error"
            self.notify(result.message, severity=severity, markup=False, timeout=10)

    async def confirm_and_send(self, planned: Any, *, warnings: tuple[str, ...] = (),
                               send: Any = None) -> Any:
        """Show the modal, run the pre-checks into it, and on the person's yes send through the gateway.
        Must run inside a worker (it waits for the modal).  Returns the WriteResult, or None when cancelled."""
        from screens.confirm import ConfirmScreen

        target = self.target(planned.context)
        modal = ConfirmScreen(planned, production=bool(target and target.production), extra_warnings=warnings)

        async def prechecks() -> None:
            check = await asyncio.to_thread(self.gateway.preflight, planned)
            if modal.is_attached:
                modal.show_preflight(check)

        task = asyncio.get_running_loop().create_task(prechecks())
        typed = await self.push_screen_wait(modal)
        if typed is None:
            task.cancel()
            self.notify(planned.read_only or "cancelled: nothing was sent", markup=False, timeout=5)
            return None
        if send is not None:
            return await asyncio.to_thread(send, self.person(), typed)
        return await asyncio.to_thread(self.gateway.execute, planned, self.person(), typed=typed)

    # -- runbooks --------------------------------------------------------------------------------------------

    def runbook_run(self, context: str, runbook_id: str) -> Any:
        """The run of ``runbook_id`` in ``context``: continued if one is in progress, else a new one."""
        from cockpit.runbooks import get
        from cockpit.runbooks.executor import RunbookRun, RunState

        key = (context, runbook_id)
        run = self.runs.get(key)
        if run is not None and run.state not in (RunState.DONE, RunState.ABORTED):
            return run
        book = get(runbook_id)
        run = RunbookRun.with_gateway(
            book, self.gateway, self.action_env(context),
            inputs=self.runbook_inputs(context, book),
            facts=lambda: self._run_facts.get(context, {}),
            on_event=lambda payload: self.record_event("step", payload, context=context),
            context=context,
        )
        self.runs[key] = run
        from cockpit.recording.format import marker_payload

        self.record_event("marker", marker_payload("runbook-chosen", runbook=runbook_id), context=context)
        return run

    def runbook_inputs(self, context: str, book: Any) -> dict[str, Any]:
        """What the cockpit already knows for a runbook's inputs (the person is asked for the rest)."""
        settings, target = self.settings, self.target(context)
        app = self._current(context, "argocd")
        rollout = self._current(context, "rollout")
        cnpg = self._current(context, "cnpg")
        velero = self._current(context, "velero")
        known: dict[str, Any] = {
            "namespace": target.namespace if target else settings.namespace,
            "argocd_namespace": settings.argocd_namespace,
            "app": settings.app or (app.name if app is not None else None),
            "rollout": settings.rollout or (rollout.name if rollout is not None else None),
            "velero_namespace": settings.velero_namespace,
            "bucket": settings.s3_bucket,
            "key": settings.s3_prefix or None,
            "flag": settings.flag_key,
        }
        if app is not None and len(app.history) >= 2:
            known["history_id"] = str(app.history[1].id)  # `argocd app rollback` default: the entry before
            known["bad_commit"] = app.history[0].revision or None
        current = getattr(cnpg, "current", None)
        if current is not None:
            known["cluster"] = current.name
            if book.id == "data-rollback-postgres-pitr":
                known["namespace"] = current.namespace
        if velero is not None and book.id == "data-rollback-velero":
            tenant = settings.tenant_namespace or (app.dest_namespace if app is not None else None)
            usable = [b for b in velero.backups if b.phase == "Completed"
                      and (not tenant or tenant in b.included_namespaces or not b.included_namespaces)]
            if usable:
                known["backup"] = usable[0].name
            if tenant:
                known["namespace"] = tenant
        names = {item.name for item in book.inputs}
        return {key: value for key, value in known.items() if key in names and value not in (None, "")}

    def refresh_run_facts(self, context: str) -> None:
        """Snapshot the live facts for the runs of ``context`` (on the UI thread; the run reads them in a worker)."""
        from cockpit.decide import Answer
        from cockpit.runbooks.facts import facts_from

        gathered = self.gathered.get(context)
        evaluation = self.evaluations.get(context)
        cnpg = self._current(context, "cnpg")
        run_inputs: dict[str, Any] = {}
        for (ctx, _), run in self.runs.items():
            if ctx == context:
                run_inputs.update(run.inputs)
        from cockpit.timefmt import parse_time

        target_time = parse_time(run_inputs.get("target_time")) if run_inputs.get("target_time") else None
        recent = None
        if evaluation is not None:
            answer = evaluation.results["recent_deploy"].answer
            recent = None if answer is Answer.UNKNOWN else answer is Answer.YES
        namespace = gathered.decision.namespace if gathered is not None else None
        self._run_facts[context] = facts_from(
            app=self._current(context, "argocd"),
            rollout=self._current(context, "rollout"),
            latency=self._current(context, "latency"),
            preflight=gathered.decision.migrations if gathered is not None else None,
            cnpg_source=getattr(cnpg, "current", None),
            target_time=target_time,
            now=self.clock.now(),
            recent_deploy=recent,
            flag=gathered.decision.flag if gathered is not None else None,
            helm_installed=__import__("shutil").which("helm") is not None,
            namespace_exists=None if namespace is None or namespace.gone is None else not namespace.gone,
        )

    def runbook_finished(self, context: str, run: Any) -> None:
        """A run ended: a rollback is a debt, so write the postmortem stub; a drill also writes its report."""
        if getattr(run, "_finished_reported", False):
            return
        run._finished_reported = True
        overridden = [item for item in run.steps
                      if item.state.value == "skipped" and item.detail.startswith("skipped by")]
        self._after_run(context, run.runbook.id, tuple(f"step '{run.text(item.step.title)}' {item.detail}"
                                                       for item in overridden))

    @work(group="after-run", exit_on_error=False)
    async def _after_run(self, context: str, runbook: str, overrides: tuple[str, ...] = ()) -> None:
        if self.recorder is None:
            self.notify("runbook done. Not recording, so no postmortem stub or drill report was written.",
                        timeout=8)
            return
        from cockpit.recording.format import marker_payload

        if self.drill:
            self.record_event("marker", marker_payload("drill-end", runbook=runbook), context=context)
        self.recorder.flush()
        try:
            written = await asyncio.to_thread(self._write_after_run, runbook, overrides)
        except Exception as err:  # noqa: BLE001 - say it, keep running
            self.notify(f"could not write the postmortem/drill report: {type(err).__name__}: {err}",
                        severity="error", markup=False, timeout=10)
            return
        for line in written:
            self.notify(line, markup=False, timeout=12)

    def _write_after_run(self, runbook: str, overrides: tuple[str, ...] = ()) -> list[str]:
        from cockpit import drill
        from cockpit.recording.player import Player

        lines = []
        path = self.recorder.path
        with Player(path) as player:
            stub = drill.postmortem_stub(player)
            stub_path = path.with_suffix(".postmortem.md")
            stub_path.write_text(stub, encoding="utf-8")
            lines.append(f"postmortem / forward-fix stub: {stub_path}")
            if self.drill:
                result = drill.analyse_recording(player, slo=self.settings.slo)
                # a step the person had to skip is a runbook that did not fit the situation as written
                changed = bool(result.notes or overrides)
                verdict = drill.Verdict.WORKED_WITH_CHANGES if changed else drill.Verdict.WORKED
                updates = [f"review: {text}" for text in overrides]
                report = drill.write_report(result, self.settings.reports_dir(), verdict=verdict,
                                            notes="; ".join(result.notes), updates=updates, recording=path)
                lines.append(f"drill report: {report.path} ({report.message})")
        return lines

    def runbook_staleness(self, runbook_id: str) -> str:
        """The STALE banner for a runbook not exercised by a passing drill in 90 days ("" when fresh)."""
        from cockpit import drill

        try:
            last = drill.last_exercised(self.settings.reports_dir())
        except Exception:  # noqa: BLE001 - an unreadable reports dir must not hide the runbook
            return ""
        return drill.stale_banner(runbook_id, self.clock.now().date(), last)

    def stale_runbooks(self) -> set[str]:
        from cockpit import drill
        from cockpit.decide import LEAVES

        try:
            last = drill.last_exercised(self.settings.reports_dir())
        except Exception:  # noqa: BLE001
            return set()
        today = self.clock.now().date()
        return {leaf.runbook for leaf in LEAVES.values() if leaf.runbook and drill.is_stale(leaf.runbook, today, last)}

    # -- drills -----------------------------------------------------------------------------------------------

    def start_drill(self, runbook: str) -> None:
        """Mark this session as a drill of ``runbook`` (recorded, timed) and open its executor."""
        targets = [t for t in self.targets if t.production]
        if targets:
            self.notify(f"a drill runs against a non-production context; {targets[0].name} is production",
                        severity="error", markup=False, timeout=8)
            return
        if self.recorder is None:
            self.notify("a drill needs the session recording (started with --no-record?)", severity="error",
                        timeout=8)
            return
        from cockpit.recording.format import marker_payload

        self.drill = runbook
        self.recorder.update_meta(is_drill=True, runbook=runbook)
        context = self.targets[0].name
        self.record_event("marker", marker_payload("drill-start", at=self.clock.now(), runbook=runbook),
                          context=context)
        self.notify(f"DRILL of {runbook}: timing detect → decide → mitigate; the report is written when the "
                    "run ends", timeout=8, markup=False)
        self.call_after_refresh(lambda: self.open_runbook(context, runbook, runbook))

    def record_event(self, kind: str, payload: dict[str, Any], *, context: str = "", pane: str = "") -> None:
        """Hand an event to the session recording (when one is running)."""
        recorder = getattr(self, "recorder", None)
        if recorder is not None:
            recorder.record(kind, payload, self.clock.now().timestamp(), context=context, pane=pane)

    # -- keys and commands -------------------------------------------------------------------------------

    def action_help(self) -> None:
        from screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        names = ["Argo CD history", "Rollout", "AnalysisRuns", "p99 latency", "CNPG recoverability",
                 "Velero backups"]
        for number, name in enumerate(names, start=1):
            yield SystemCommand(f"Focus {name}", f"Key {number}",
                                lambda n=number: self.dashboard.action_focus_pane(n))
        yield SystemCommand("Zoom pane", "Key z: zoom the focused pane, or back", self.dashboard.action_zoom)
        yield SystemCommand("Is a time recoverable?", "Key w: ask the CNPG pane",
                            self.dashboard.action_recoverable)
        yield SystemCommand("Next context", "Key c: the next kube context tab", self.dashboard.action_next_context)
        yield SystemCommand("Decision tree", "Key t: which layer broke, with the evidence", self.dashboard.action_tree)
        if self.player is None:
            yield SystemCommand("Drill: exercise the next runbook in the rotation",
                                "Recorded and timed; writes dr-drill-YYYY-MM.md when the run ends",
                                self._drill_next)
        yield SystemCommand("Show the recording", "Where this session is being recorded", self._show_recording)
        yield SystemCommand("Show keys", "Key ?: every key", self.action_help)

    def _drill_next(self) -> None:
        from cockpit import drill

        self.start_drill(drill.next_drill(self.settings.reports_dir(), self.clock.now().date()))

    def _show_recording(self) -> None:
        if self.player is not None:
            self.notify(f"replaying {self.player.path}", markup=False)
        elif self.recorder is not None:
            self.notify(f"recording to {self.recorder.path}", markup=False)
        else:
            self.notify(self.recording_note or "not recording", markup=False)

    async def on_event(self, event: Any) -> None:
        # Keys still queued while the app shuts down (a held key, a burst over SSH) arrive after the screens are
        # gone; Textual would raise on them. They have nowhere to go: drop them.
        from textual import events

        if isinstance(event, (events.Key, events.MouseEvent)) and not self._screen_stack:
            return
        await super().on_event(event)

    # -- leaving cleanly -----------------------------------------------------------------------------------

    def _install_hangup_guard(self) -> None:
        """Exit when the terminal goes away (SIGHUP, or stdin closed under a dropped SSH session)."""
        if self.is_headless:
            return
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        self.set_interval(5.0, self._check_terminal)

    def _check_terminal(self) -> None:
        try:
            alive = os.isatty(sys.__stdin__.fileno()) if sys.__stdin__ is not None else False
        except (ValueError, OSError):
            alive = False
        if not alive:
            self.exit(1)

    def on_unmount(self) -> None:
        for feeds in self.feeds.values():
            feeds.stop()
        if self.recorder is not None:
            self.recorder.flush(timeout=2.0)
