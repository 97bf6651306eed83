"""The session: everything one cockpit session knows and does, with no UI.

One :class:`Session` owns the kube contexts and their feeds (watches and polls, or a recording being replayed), the
pane store (the only truth a pane draws from), the decision evidence and evaluations with the person's answers, the
runbook runs and the live facts their checks read, what the cockpit has done and whether it worked, the write
gateway and the recorder.  It emits small typed events (``cockpit.session.events``); the App turns them into
repaints, a headless test waits on them.

Threads: feeds run in supervised daemon threads (``Scheduler.loop``), evidence and runs in the scheduler's pool.
Every public method says whether it blocks: the blocking ones (``plan``, ``preflight``, ``execute``, the run
operations) must be called from a worker thread, never from Textual's event loop.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cockpit.clock import Clock
from cockpit.models import PANES, FeedState, FeedStatus, PaneSnapshot
from cockpit.session.events import (
    DecisionChanged,
    EventBus,
    Listener,
    Notice,
    PaneChanged,
    RunChanged,
    SessionEvent,
    StatusChanged,
)
from cockpit.session.outcome import Outcomes
from cockpit.session.scheduler import Scheduler
from cockpit.session.store import PaneStore
from cockpit.session.targets import ContextTarget

log = logging.getLogger("cockpit.session")

RUN_POLL_SECONDS = 2.0  # a waiting runbook step looks at its facts again this often (and on every change)
EVIDENCE_DEBOUNCE = 0.5  # changes come in bursts: one evidence gather per burst
# The first gather (git, the flag provider, S3, access reviews) waits until no pane of the context is loading any
# more, or this long: at start-up both read at once, and the panes are what the person reads first.
EVIDENCE_FIRST_WAIT = 3.0
RECORD_AFTER_LOADED = 0.5  # seconds the recording waits after the panes' first answers (the UI paints them first)
SETTLE_AFTER_LOADED = 1.2  # seconds after them: drawn, recorded (memory.settle_after_start)
KUBE_PANES = tuple(p for p in PANES if p != "latency")


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return os.environ.get("USER", "on-call")


@dataclasses.dataclass(frozen=True)
class DecisionView:
    """What the tree widget shows for one context."""

    evaluation: Any  # cockpit.decide.Evaluation
    problems: tuple[str, ...]
    stale_runbooks: frozenset[str]
    gathered: bool  # False while the first evidence is still being gathered
    premortem: Any = None  # the recommended leaf's pre-mortem (cockpit.premortem.Premortem), once assessed
    forecasts: Any = None  # runbook id -> cockpit.forecast.Forecast (past drills and incidents)


def selector_memory() -> Any:
    """Where the ReplicaSet/pod/AnalysisRun selectors are kept between sessions (cockpit.feeds.SelectorMemory)."""
    from platformdirs import user_state_path

    from cockpit.feeds import SelectorMemory

    return SelectorMemory(user_state_path("cockpit", appauthor=False) / "selectors.json")


class ContextState:
    """One context's live parts (internal to the session)."""

    def __init__(self, target: ContextTarget) -> None:
        self.target = target
        self.kube: Any = None  # cockpit.sources.kube.KubeContext once connected
        self.feeds: Any = None  # cockpit.feeds.ContextFeeds
        self.latency: Any = None  # cockpit.feeds.LatencyFeed
        self.prom: Any = None
        self.archiving: Any = None  # (cockpit.feeds.ArchivingFeed, its PrometheusSource) when Prometheus is set
        self.connected = threading.Event()
        self.connect_error = ""
        self.gathered: Any = None  # cockpit.evidence.Gathered
        self.evaluation: Any = None
        self.problems: tuple[str, ...] = ("gathering evidence…",)
        self.answers: dict[str, str] = {}
        self.full_gather = False  # the next gather may read the Kubernetes API (a change, not the minute tick)
        self.panes_loaded = threading.Event()  # no pane is loading any more (or EVIDENCE_FIRST_WAIT passed)
        self.last_decision_key: Any = None
        self.leaf_premortem: tuple[str, Any] = ("", None)  # (the leaf's runbook, its pre-mortem)


class Session:
    def __init__(
        self,
        settings: Any,
        targets: list[ContextTarget],
        *,
        clock: Clock | None = None,
        recorder: Any = None,
        audit_path: str | None = None,
        read_only_reason: str | None = None,
        drill: str | None = None,
        person: str | None = None,
    ) -> None:
        self.settings = settings
        self.targets = list(targets)
        self.clock = clock or Clock()
        self.recorder = recorder
        if recorder is not None:
            recorder.clock = self.clock  # the recording ends at the session's own time
        self.audit_path = audit_path
        self.read_only_reason = read_only_reason
        self.drill = drill
        self.person = person or current_user()
        self.store = PaneStore()
        self.bus = EventBus()
        self.scheduler = Scheduler(workers=4, on_crash=self._crashed)
        self.contexts: dict[str, ContextState] = {t.name: ContextState(t) for t in self.targets}
        self.outcomes = Outcomes(self)
        self.runs: dict[tuple[str, str], Any] = {}  # (context, runbook) -> RunbookRun
        self.replay: Any = None  # a cockpit.session.replay.ReplayFeed when this session replays a recording
        self.drivers: Any = None  # cockpit.lease.DriverLeases: the driver lease of each context (live sessions)
        self.resumed: list[tuple[str, str]] = []  # (context, runbook) runs taken over from an earlier recording
        self._lock = threading.RLock()
        self._gateway: Any = None
        self._stale: frozenset[str] = frozenset()
        self._started = False
        from cockpit.session.facts import LiveFacts
        from cockpit.session.freezes import Freezes
        from cockpit.session.runs import Runs

        self.facts = LiveFacts(self)
        self.run_control = Runs(self)
        self.freezes = Freezes(self)  # the incident freeze on the project in view, watched (live sessions)
        self.forecasts: dict[str, Any] = {}  # runbook id -> cockpit.forecast.Forecast, read once at start

    # ------------------------------------------------------------------------------------------------ lifecycle

    @property
    def live(self) -> bool:
        return self.replay is None

    def start(self, *, feeds: bool = True) -> None:
        """Start the feeds (live) and the periodic work.  Returns at once."""
        if self._started:
            return
        self._started = True
        from cockpit import memory

        # the imports and the first screen are frozen at the first frame; the collector stays off while the first
        # lists are parsed (cockpit/memory.py), at most SETTLE_AT_MOST seconds
        memory.settle(final=not (feeds and self.live))
        if memory.held():
            self.scheduler.later("memory-settle", memory.SETTLE_AT_MOST, memory.settle)
        self.scheduler.submit("staleness", self.refresh_staleness)
        if not feeds or not self.live:
            return
        hold = getattr(self.recorder, "hold", None)
        if hold is not None:  # the recording starts writing once the panes are shown (cockpit/recording/sink.py)
            hold(EVIDENCE_FIRST_WAIT + RECORD_AFTER_LOADED)
        # glibc told to hand freed memory back, before the watch threads make their arenas (cockpit/memory.py)
        self.scheduler.submit("memory", memory.tune)
        self.scheduler.every("memory-trim", 30.0, memory.trim)
        for state in self.contexts.values():
            self.scheduler.submit(f"connect:{state.target.name}", lambda s=state: self._connect(s))
            self.scheduler.submit(f"latency:{state.target.name}", lambda s=state: self._start_latency(s))
        from cockpit.lease import DriverLeases

        self.drivers = DriverLeases(self)
        self.drivers.start()
        self.freezes.start()
        # past drills and incidents: the forecast beside each leaf (files only; after the first frame)
        self.scheduler.later("forecasts", 2.0, self.refresh_forecasts)
        # flags, S3 and namespaces change without a deploy: look again every minute (never the Kubernetes API)
        self.scheduler.every("evidence-tick", 60.0, lambda: [self.evidence_soon(name, periodic=True)
                                                             for name in self.contexts])

    def stop(self) -> None:
        self.scheduler.stop()
        self.freezes.stop()
        for state in self.contexts.values():
            if state.feeds is not None:
                state.feeds.stop()
        if self.drivers is not None:
            self.drivers.stop()  # releases a lease this session holds (bounded), once nothing else runs
        if self.recorder is not None:
            try:
                self.recorder.flush(timeout=2.0)
            except Exception:  # noqa: BLE001
                pass

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self.bus.subscribe(listener)

    def emit(self, event: SessionEvent) -> None:
        self.bus.emit(event)

    def notice(self, text: str, *, severity: str = "information", timeout: float = 6.0, context: str = "") -> None:
        self.emit(Notice(context, text, severity, timeout))

    def target(self, context: str) -> ContextTarget | None:
        state = self.contexts.get(context)
        return state.target if state is not None else None

    def now(self) -> datetime:
        return self.clock.now()

    # ------------------------------------------------------------------------------------------------ feeds

    def _connect(self, state: ContextState) -> None:
        from cockpit.config import ConfigError
        from cockpit.feeds import ContextFeeds
        from cockpit.sources.errors import SourceError
        from cockpit.sources.kube import KubeContext

        target = state.target
        try:
            kube = KubeContext.from_kubeconfig(target.kubeconfig, target.name)
        except (ConfigError, SourceError) as err:
            state.connect_error = str(err)
            for pane in KUBE_PANES:
                self.put(PaneSnapshot(pane, target.name, None, FeedStatus(FeedState.ERROR, error=str(err))))
            self.emit(StatusChanged(target.name))
            # a credential plugin that failed once (an expired SSO login) may work after the person logs in
            self.scheduler.later(f"connect:{target.name}", 30.0, lambda: self._connect(state))
            return
        def start(track: str, watch: Any) -> None:
            self.scheduler.loop(f"watch:{target.name}:{track}", lambda stopped, w=watch: w.run(stopped.is_set))

        feeds = ContextFeeds(self.settings, target.name, kube, clock=self.clock, emit=self._feed_snapshot,
                             namespace=target.namespace, later=self.scheduler.later, start=start,
                             on_clusters=lambda: self._archiving_soon(state), memory=selector_memory())
        # discovery first: the watch of an API this cluster does not serve is parked (its pane says so) and never
        # sends a request until discovery sees the API (a CRD watch or a 404 elsewhere makes it look again)
        feeds.discover()
        with self._lock:
            state.kube, state.feeds, state.connect_error = kube, feeds, ""
        for track, watch in feeds.start_order():
            start(track, watch)
        state.connected.set()
        self.emit(StatusChanged(target.name))
        self.runs_soon(target.name)

    def _start_latency(self, state: ContextState) -> None:
        from cockpit.feeds import LatencyFeed

        target = state.target
        feed = LatencyFeed(target.name, clock=self.clock, emit=self._feed_snapshot)
        state.latency = feed
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
        state.prom = source
        self.scheduler.every(f"prom:{target.name}", self.settings.prometheus_interval,
                             lambda: feed.poll(source), first=0.0)
        self._start_archiving(state)

    def _start_archiving(self, state: ContextState) -> None:
        """CNPG's WAL archiver metrics for the CNPG pane, from the same Prometheus (its own client: the p99 poll
        and this one may run at the same moment), every ``ARCHIVER_SECONDS`` and soon after the clusters change."""
        from cockpit.feeds import ARCHIVER_SECONDS, ArchivingFeed
        from cockpit.sources.cnpg import ARCHIVER_QUERY
        from cockpit.sources.prometheus import PrometheusSource

        target = state.target
        # the query given here is only what fetch() would ask; the feed asks its own with instant()
        source = PrometheusSource(target.prometheus_url, ARCHIVER_QUERY, slo_seconds=self.settings.slo)
        feed = ArchivingFeed(target.name, clock=self.clock)
        state.archiving = (feed, source)

        def tick() -> None:
            delay = ARCHIVER_SECONDS
            try:
                delay = feed.poll(source, state.feeds)
            finally:  # a crash is reported by the scheduler; the poll goes on
                self.scheduler.later(f"archiving:{target.name}", delay, tick)

        self.scheduler.later(f"archiving:{target.name}", 0.0, tick)

    def _archiving_soon(self, state: ContextState) -> None:
        """The CNPG clusters in view changed (listed, one created by a PITR run): read their metrics now."""
        archiving = state.archiving
        if archiving is not None:
            feed, source = archiving
            self.scheduler.later(f"archiving-soon:{state.target.name}", 0.1, lambda: feed.poll(source, state.feeds))

    def _crashed(self, name: str, err: BaseException, delay: float) -> None:
        """A background task raised: say it where it shows (the pane of a watch) and let the scheduler restart it."""
        parts = name.split(":")
        words = f"{type(err).__name__}: {err}"
        if parts[0] == "watch" and len(parts) == 3:
            state = self.contexts.get(parts[1])
            if state is not None and state.feeds is not None:
                state.feeds.crashed(parts[2], f"the watch thread crashed ({words}); restarting in {delay:.0f}s",
                                    delay)
                return
        if parts[0] == "prom" and len(parts) == 2:
            state = self.contexts.get(parts[1])
            if state is not None and state.latency is not None:
                state.latency.failed(f"the Prometheus poll crashed ({words}); trying again")
                return
        if parts[0] == "evidence" and len(parts) == 2 and parts[1] in self.contexts:
            state = self.contexts[parts[1]]
            state.problems = (f"evidence gathering crashed ({words}); trying again in a minute",)
            self.emit(DecisionChanged(parts[1]))
            return
        self.notice(f"{name} failed: {words}", severity="error", timeout=10)

    def _feed_snapshot(self, snap: PaneSnapshot) -> None:
        """A feed's new snapshot (any thread)."""
        if snap.pane == "namespace":  # not a pane: the tenant namespace changed (or was deleted)
            self.evidence_soon(snap.context)
            self.runs_soon(snap.context)
            return
        self.put(snap)

    def put(self, snap: PaneSnapshot) -> bool:
        """Write a snapshot into the store (live feeds and replay alike); True when it changed anything."""
        now = self.clock.now()
        if self.store.put(snap, now) is None:
            return False
        if self.recorder is not None and self.live:
            self.recorder.snapshot(snap, now.timestamp())
        self.emit(PaneChanged(snap.context, snap.pane))
        if self.live:
            state = self.contexts.get(snap.context)
            if state is not None and not state.panes_loaded.is_set() and not any(
                    self.store.entry(snap.context, pane).state is FeedState.LOADING for pane in PANES):
                self._panes_loaded(snap.context)
            if snap.pane in ("argocd", "rollout"):
                self.evidence_soon(snap.context)
            if snap.pane == "latency":
                self.outcomes.latency_changed(snap.context)
            self.runs_soon(snap.context)
        return True

    def choose(self, context: str, pane: str, name: str) -> None:
        """The person picked a target name from a pane's list."""
        state = self.contexts.get(context)
        if state is not None and state.feeds is not None:
            state.feeds.choose(pane, name)

    def current(self, context: str, pane: str) -> Any:
        return self.store.current(context, pane)

    def watched_namespaces(self, context: str) -> dict[str, Any] | None:
        state = self.contexts.get(context)
        return state.feeds.watched_namespaces() if state is not None and state.feeds is not None else None

    # ------------------------------------------------------------------------------------------------ decision

    def evidence_soon(self, context: str, *, periodic: bool = False) -> None:
        state = self.contexts.get(context)
        if state is None or not self.live:
            return
        if not periodic:
            state.full_gather = True
        if not state.panes_loaded.is_set():  # the first gather waits for the panes (EVIDENCE_FIRST_WAIT at most)
            self.scheduler.later(f"evidence-first:{context}", EVIDENCE_FIRST_WAIT, lambda: self._panes_loaded(context))
            return
        self.scheduler.later(f"evidence:{context}", EVIDENCE_DEBOUNCE, lambda: self._gather(context))

    def _panes_loaded(self, context: str) -> None:
        state = self.contexts.get(context)
        if state is None or state.panes_loaded.is_set():
            return
        state.panes_loaded.set()
        self.evidence_soon(context)
        if all(other.panes_loaded.is_set() for other in self.contexts.values()):
            from cockpit import memory

            memory.settle()  # the first lists' data lives as long as the session: frozen, the collector back on
            release = getattr(self.recorder, "release", None)
            if release is not None:
                self.scheduler.later("recording-release", RECORD_AFTER_LOADED, release)
            # what drawing, recording and the evidence leave: collected once now, not at the first keystroke
            self.scheduler.later("memory-settle-after-start", SETTLE_AFTER_LOADED, memory.settle_after_start)

    def evidence_pending(self, context: str) -> bool:
        return self.scheduler.pending(f"evidence:{context}")

    def _gather(self, context: str) -> None:
        from cockpit.evidence import gather

        state = self.contexts[context]
        full, state.full_gather = state.full_gather, False
        previous = state.gathered
        gathered = gather(
            self.settings,
            context=context,
            contexts=tuple(self.contexts),
            app=self.outcomes.decision_app(context),
            rollout=self.current(context, "rollout"),
            kube=state.kube if full else None,
            now=self.clock.now(),
            watched_namespaces=self.watched_namespaces(context),
        )
        if not full and previous is not None and previous.decision.namespace is not None \
                and gathered.decision.namespace is None:
            gathered = dataclasses.replace(gathered, decision=dataclasses.replace(
                gathered.decision, namespace=previous.decision.namespace))
        with self._lock:
            state.gathered = gathered
            state.problems = gathered.problems
        evaluation = self.refresh_decision(context)
        if full:  # the cluster changed (auto-sync, an operation, a rollout step): the leaf's verdict may too
            self._leaf_premortem_soon(context, evaluation, again=True)
        self.runs_soon(context)

    def refresh_decision(self, context: str) -> Any:
        """Evaluate the tree (pure, no I/O) over the last evidence, what was done and the person's answers."""
        from cockpit.decide import DecisionInput, evaluate

        state = self.contexts.get(context)
        if state is None:
            return None
        with self._lock:
            gathered = state.gathered
            if gathered is not None:
                decision = gathered.decision
            else:
                decision = DecisionInput(app=self.outcomes.decision_app(context),
                                         rollout=self.current(context, "rollout"),
                                         window_minutes=self.settings.recent_deploy_minutes)
            decision = self.outcomes.decision_input(context, decision)
            answers = {**self.outcomes.escalation_answers(context), **state.answers}
            evaluation = evaluate(decision, answers, now=self.clock.now())
            state.evaluation = evaluation
            problems = state.problems if gathered is not None or state.problems else ("gathering evidence…",)
        self._record_decision(context, evaluation, problems)
        self.emit(DecisionChanged(context))
        self._leaf_premortem_soon(context, evaluation)
        return evaluation

    def _leaf_premortem_soon(self, context: str, evaluation: Any, *, again: bool = False) -> None:
        """Assess the recommended leaf's first rollback write (in the pool) when the leaf changes, or ``again``
        after new evidence; the tree shows the verdict once it is there."""
        state = self.contexts.get(context)
        if state is None or not self.live:
            return
        leaf = getattr(evaluation, "leaf", None)
        runbook = getattr(leaf, "runbook", "") or ""
        if not runbook:
            if state.leaf_premortem != ("", None):
                state.leaf_premortem = ("", None)
                self.emit(DecisionChanged(context))
            return
        if state.leaf_premortem[0] == runbook and not again:
            return

        def assess() -> None:
            premortem = self.leaf_premortem(context)
            current = getattr(getattr(state.evaluation, "leaf", None), "runbook", "") or ""
            if current != runbook:
                return  # the leaf moved on meanwhile: its own assessment follows
            state.leaf_premortem = (runbook, premortem)
            self.emit(DecisionChanged(context))

        state.leaf_premortem = (runbook, state.leaf_premortem[1] if state.leaf_premortem[0] == runbook else None)
        self.scheduler.later(f"leaf-premortem:{context}", 0.3, assess)

    def refresh_forecasts(self) -> None:
        """Read the recovery forecasts (p50/p90 per runbook) from the drill reports and the recordings.  Blocking
        (files): the scheduler runs it at start and after a run ends."""
        from pathlib import Path

        from cockpit.forecast import forecasts

        settings = self.settings
        recordings = getattr(settings, "recording_dir", None)
        if recordings:
            recordings_dir: Any = Path(recordings).expanduser()
        else:
            from platformdirs import user_data_path

            recordings_dir = user_data_path("cockpit") / "recordings"
        self.forecasts = forecasts(settings.reports_dir(), recordings_dir)
        for name in self.contexts:
            self.emit(DecisionChanged(name))

    def set_decision(self, context: str, evaluation: Any, problems: tuple[str, ...]) -> None:
        """Replay: the recorded evaluation at this time."""
        state = self.contexts.get(context)
        if state is None:
            return
        with self._lock:
            state.evaluation, state.problems = evaluation, problems
            state.gathered = True if evaluation is not None else None
        self.emit(DecisionChanged(context))

    def decision(self, context: str) -> DecisionView | None:
        state = self.contexts.get(context)
        if state is None or state.evaluation is None:
            return None
        runbook = getattr(getattr(state.evaluation, "leaf", None), "runbook", "") or ""
        premortem = state.leaf_premortem[1] if runbook and state.leaf_premortem[0] == runbook else None
        return DecisionView(state.evaluation, state.problems, self._stale, state.gathered is not None,
                            premortem=premortem, forecasts=self.forecasts)

    def evaluation(self, context: str) -> Any:
        state = self.contexts.get(context)
        return state.evaluation if state is not None else None

    def gathered(self, context: str) -> Any:
        state = self.contexts.get(context)
        return state.gathered if state is not None else None

    def answer(self, context: str, node_id: str, answer: str) -> None:
        """The person answered (or, with "", cleared) a node of the tree.  Recorded and audited."""
        from cockpit.decide import NODES

        state = self.contexts.get(context)
        if state is None:
            return
        if not self.live:
            self.notice(f"{self.why_read_only(context) or 'replay'}: answers are not recorded", timeout=3)
            return
        with self._lock:
            if answer:
                state.answers[node_id] = answer
            else:
                state.answers.pop(node_id, None)
        question = NODES[node_id].question if node_id in NODES else node_id
        from cockpit.recording.format import answer_payload

        self.record_event("answer", answer_payload(node_id, "answered", text=question, answer=answer or "cleared"),
                          context=context)
        self.audit_note("answer", context, target=node_id, detail=f"{question}: {answer or 'cleared'}")
        self.refresh_decision(context)

    def explain(self, context: str, node_id: str) -> tuple[str, str, list[tuple[str, str]]] | None:
        """(title, why, [(source, fact)]) for the ``?`` key on a node or a leaf."""
        from cockpit.decide import LEAVES, NODES

        evaluation = self.evaluation(context)
        if node_id in NODES and evaluation is not None:
            result = evaluation.results[node_id]
            lines = [("answer", f"{result.answer.value}{' (yours)' if result.overridden else ''}, "
                                f"confidence {result.confidence.value}"), ("because", result.explain)]
            lines += [(e.source, e.fact) for e in result.evidence]
            return result.question, NODES[node_id].why, lines
        if node_id in LEAVES:
            leaf = LEAVES[node_id]
            return leaf.title, (f"Runbook {leaf.runbook or '(none)'}; expected RTO {leaf.rto or 'n/a'}. "
                                "Enter opens the runbook."), []
        return None

    def leaf_runbook(self, context: str, slot: str) -> tuple[str, str] | str:
        """(runbook id, title) behind a leaf slot, or the reason it cannot be opened yet."""
        from cockpit.decide import resolve_leaf

        state = self.contexts.get(context)
        if state is None:
            return f"no context {context}"
        evaluation = state.evaluation
        if evaluation is not None and evaluation.leaf is not None and evaluation.leaf_slot == slot:
            return evaluation.leaf.runbook, evaluation.leaf.title
        gathered = state.gathered
        if gathered is None or gathered is True:
            return "Still gathering evidence; try again in a moment."
        leaf, _ = resolve_leaf(slot, self.outcomes.decision_input(context, gathered.decision))
        return leaf.runbook, leaf.title

    def _record_decision(self, context: str, evaluation: Any, problems: tuple[str, ...], *,
                         chosen: bool = False) -> None:
        """Record an evaluation when what it says changed (answers, path, leaf), or when a runbook was chosen."""
        if self.recorder is None or not self.live:
            return
        from cockpit.models import to_dict

        state = self.contexts[context]
        key = (evaluation.path, evaluation.leaf.id if evaluation.leaf else "", evaluation.ask, evaluation.outcome,
               tuple((n, r.answer.value, r.overridden) for n, r in evaluation.results.items()))
        if key == state.last_decision_key and not chosen:
            return
        state.last_decision_key = key
        payload = to_dict(evaluation)
        payload["chosen"] = chosen
        payload["problems"] = list(problems)
        self.recorder.record("decision", payload, self.clock.now().timestamp(), context=context)

    # ------------------------------------------------------------------------------------------------ runbooks

    def stale_runbooks(self) -> frozenset[str]:
        return self._stale

    def refresh_staleness(self) -> None:
        """Read the drill reports (file I/O: a job, never the UI thread) for the STALE marks."""
        from cockpit import drill
        from cockpit.decide import LEAVES

        try:
            last = drill.last_exercised(self.settings.reports_dir())
        except Exception:  # noqa: BLE001 - an unreadable reports dir must not hide the runbooks
            last = {}
        today = self.clock.now().date()
        self._last_exercised = last
        self._stale = frozenset(leaf.runbook for leaf in LEAVES.values()
                                if leaf.runbook and drill.is_stale(leaf.runbook, today, last))
        for context in self.contexts:
            self.emit(DecisionChanged(context))

    def runbook_staleness(self, runbook_id: str) -> str:
        """The STALE banner for a runbook not exercised by a passing drill in 90 days ("" when fresh)."""
        from cockpit import drill

        last = getattr(self, "_last_exercised", None)
        if last is None:
            return ""
        return drill.stale_banner(runbook_id, self.clock.now().date(), last)

    def runs_soon(self, context: str) -> None:
        self.run_control.soon(context)

    def record_event(self, kind: str, payload: dict[str, Any], *, context: str = "", pane: str = "") -> None:
        """Hand an event to the session recording (when one is running; never in a replay)."""
        if self.recorder is not None and self.live:
            self.recorder.record(kind, payload, self.clock.now().timestamp(), context=context, pane=pane)

    # ------------------------------------------------------------------------------------------------ writes

    @property
    def gateway(self) -> Any:
        """The one write gateway, built on first use (it is off the start path)."""
        with self._lock:
            if self._gateway is None:
                from cockpit.actions.audit import AuditLog
                from cockpit.actions.gateway import Gateway

                self._gateway = Gateway(read_only_reason=self.why_read_only, audit=AuditLog(self.audit_path),
                                        clock=self.clock, on_record=self._audit_recorded)
            return self._gateway

    def why_read_only(self, context: str) -> str | None:
        if not self.live:
            from cockpit.replay import REPLAY_REASON

            return getattr(self.replay, "read_only_reason", None) or REPLAY_REASON
        if self.read_only_reason:
            return self.read_only_reason
        if self.settings.read_only:
            return "started with --read-only"
        if self.settings.context(context).read_only:
            return f"context {context} is read_only in the config file"
        return None

    def audit_note(self, event: str, context: str, *, target: str, detail: str, runbook: str = "") -> None:
        """An audit record of a decision the person made that sends nothing (an answer, a skip, an override,
        an ended run).  Allowed in read-only mode: it records what a person decided.  Written in a job (the
        audit log fsyncs: never on the caller's thread, which may be the UI's)."""
        if not self.live:
            return
        self.scheduler.submit(f"audit:{event}", lambda: self._audit_note(event, context, target=target,
                                                                         detail=detail, runbook=runbook))

    def _audit_note(self, event: str, context: str, *, target: str, detail: str, runbook: str) -> None:
        try:
            self.gateway.record_manual(context=context, runbook=runbook or event, step=target, instruction=detail,
                                       done_by=self.person, note=event)
        except Exception as err:  # noqa: BLE001 - the audit log failing must be said, not hidden
            self.notice(f"could not write the audit record ({event}): {err}", severity="error", timeout=10)

    def _audit_recorded(self, record: dict[str, Any]) -> None:
        """Every audit record also goes into the session recording (called from worker threads)."""
        if self.recorder is None or not self.live:
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

    def action_env(self, context: str) -> Any:
        """What action builders need: the context's API client, the S3 client, the GitOps clone, the person."""
        from cockpit.actions.registry import ActionEnv

        state = self.contexts.get(context)
        env = ActionEnv(
            kube=state.kube if state is not None else None,
            gitops_repo=self.settings.gitops_repo,
            kubeconfig=str(state.target.kubeconfig) if state is not None else None,
            username=self.person,
            clock=self.clock,
        )
        if self.settings.s3_bucket and self.live:
            from cockpit.evidence import S3_CLIENT
            from cockpit.sources.s3 import S3Source

            try:
                env.s3_client = S3Source(endpoint_url=self.settings.s3_endpoint, **S3_CLIENT).client
                env.s3_endpoint = self.settings.s3_endpoint or ""
            except Exception as err:  # noqa: BLE001 - the S3 step then says "no S3 client" with this reason
                log.warning("no S3 client: %s", err)
        for key, value in self._extra_env().items():
            setattr(env, key, value)
        env.cnpg_archiving = lambda namespace, name: self._cnpg_archiving(context, namespace, name)
        return env

    def _cnpg_archiving(self, context: str, namespace: str, name: str) -> Any:
        """The WAL archiving state the CNPG pane shows for one cluster (from its archiver metrics), or None."""
        data = self.current(context, "cnpg")
        for cluster in getattr(data, "clusters", ()):
            if cluster.name == name and (not namespace or cluster.namespace == namespace):
                return cluster.archiving
        return None

    def _extra_env(self) -> dict[str, Any]:
        """Settings builders read that ActionEnv carries under the same name (the flag admin API, ...)."""
        import dataclasses as dc

        from cockpit.actions.registry import ActionEnv

        fields = {field.name for field in dc.fields(ActionEnv)} - {"kube", "s3_client", "s3_endpoint",
                                                                   "gitops_repo", "kubeconfig", "username", "clock",
                                                                   "cnpg_archiving"}
        return {name: getattr(self.settings, name) for name in fields if getattr(self.settings, name, None)}

    def wait_connected(self, context: str, timeout: float) -> bool:
        """Block until ``context`` has its API client (a write planned before that has nothing to act on)."""
        state = self.contexts.get(context)
        return state is not None and state.connected.wait(timeout)

    def plan(self, context: str, builder: Callable[[Any], Any]) -> Any:
        """Build an action with ``builder(env)`` and plan it through the gateway.  Blocking.

        Raises ``ActionRefused`` (words for the person) or ``SourceError`` (a read the plan needed failed)."""
        from cockpit.actions.requests import ActionRefused

        if not self.live:  # a replay or a mirror: nothing to build an action on, nothing is ever sent
            raise ActionRefused(f"read-only: {self.why_read_only(context)}; nothing was sent")
        if self.live and not self.wait_connected(context, 10.0):
            state = self.contexts.get(context)
            reason = state.connect_error if state is not None else ""
            raise ActionRefused(self.why_read_only(context) or
                                f"not connected to {context} yet{': ' + reason if reason else ''}: nothing was sent")
        refused = self.drivers.plan_refusal(context) if self.drivers is not None else None
        if refused:
            raise ActionRefused(refused)  # another cockpit drives this context
        env = self.action_env(context)
        return self.gateway.plan(builder(env))

    def plan_rollout_verb(self, context: str, verb: str) -> Any:
        """The Rollout pane's keys (abort, retry, promote, promote-full, undo) on the Rollout in view.  Blocking."""
        from cockpit.actions import rollouts
        from cockpit.actions.requests import ActionRefused

        rollout = self.current(context, "rollout")
        if rollout is None:
            raise ActionRefused("no Rollout in view")
        ns, name = rollout.namespace, rollout.name
        builders = {
            "abort": lambda env: rollouts.abort(env.kube, ns, name),
            "retry": lambda env: rollouts.retry(env.kube, ns, name),
            "promote": lambda env: rollouts.promote(env.kube, ns, name),
            "promote-full": lambda env: rollouts.promote(env.kube, ns, name, full=True),
            "undo": lambda env: rollouts.undo(env.kube, ns, name),
        }
        if verb not in builders:
            raise ActionRefused(f"unknown Rollout action {verb}")
        return self.plan(context, builders[verb])

    def warnings(self, context: str, planned: Any) -> tuple[str, ...]:
        """What the person must read before saying yes, from what the session knows (not blocking)."""
        return self.outcomes.warnings(context, planned)

    def preflight(self, planned: Any) -> Any:
        """RBAC review + server-side dry-run.  Blocking."""
        return self.gateway.preflight(planned)

    def assess(self, planned: Any) -> Any:
        """The pre-mortem of a planned rollback write (``cockpit.premortem``), attached to it.  Blocking (reads the
        cluster and git, bounded): call it in the planning thread right after :meth:`plan`.  Returns the
        PlannedWrite with ``premortem`` set -- unchanged for writes that need none, and in a replay.  The gateway
        then puts the verdict and reasons in the write's audit records, and refuses a RISKY/UNSAFE one sent
        without the person's reason (``execute(..., reason=...)``)."""
        from cockpit.premortem import assess, view_of

        if not self.live or getattr(planned, "premortem", None) is not None:
            return planned
        premortem = assess(view_of(self, planned.context), planned)
        if premortem is None:
            return planned
        return dataclasses.replace(planned, premortem=premortem)

    def leaf_premortem(self, context: str) -> Any:
        """The pre-mortem of the recommended leaf's first rollback write, for the tree (None: no leaf, or a leaf
        without one).  Blocking: run it in the scheduler's pool after an evaluation."""
        from cockpit.premortem import for_leaf

        if not self.live:
            return None
        return for_leaf(self, context)

    def execute(self, planned: Any, typed: str | None, reason: str | None = None) -> Any:
        """Send a confirmed write through the gateway (audited before and after).  Blocking.  ``reason`` is the
        person's typed reason, required when the write's pre-mortem is RISKY or UNSAFE.

        A live session first takes (or renews) the context's driver lease, and sends nothing while another cockpit
        holds it (``cockpit.lease``)."""
        from cockpit.lease import ACTIONS as LEASE_ACTIONS

        if self.drivers is not None:
            refused = self.drivers.before_write(planned)
            if refused:
                from cockpit.actions.gateway import Outcome, WriteResult

                return WriteResult(planned.id, Outcome.REFUSED, refused)
        result = self.gateway.execute(planned, self.person, typed=typed, reason=reason)
        if planned.action.name in LEASE_ACTIONS:
            if self.drivers is not None:
                self.drivers.lease_written(planned, result)
            return result
        if self.drivers is not None:
            self.drivers.wrote(planned)
        try:
            self.outcomes.written(planned, result)
        except Exception as err:  # noqa: BLE001 - the write was answered: never report it as not sent
            log.exception("after-write bookkeeping failed")
            self.notice(f"the write was answered ({result.outcome.value}), but following it up failed: "
                        f"{type(err).__name__}: {err}", severity="error", timeout=12)
        return result

    # ------------------------------------------------------------------------------------------------ driver

    def driver(self, context: str) -> Any:
        """Who drives ``context`` (a ``cockpit.lease.DriverStatus``: ``.text`` for the context bar, ``.style``,
        ``.blocks_writes``).  Not blocking."""
        from cockpit.lease import DriverStatus

        return self.drivers.status(context) if self.drivers is not None else DriverStatus(context, "off")

    def write_blocked(self, context: str) -> str | None:
        """Why this session's writes to ``context`` are refused by the driver lease (for ``check_action``)."""
        if self.drivers is None:  # no lease kept (yet): an "off" status refuses nothing (and the first frame's
            return None  # footer need not import the lease module to know it)
        return self.driver(context).refusal()

    def plan_takeover(self, context: str) -> Any:
        """Plan taking the driver lease over from the cockpit that holds it (a write: confirm it, then
        ``execute``).  Blocking.  Raises ``ActionRefused`` when there is nothing to take over."""
        from cockpit.actions.requests import ActionRefused

        if self.drivers is None:
            raise ActionRefused(self.why_read_only(context) or "the driver lease is not started (no live context)")
        if self.live and not self.wait_connected(context, 10.0):
            raise ActionRefused(f"not connected to {context} yet: nothing was sent")
        return self.drivers.plan_takeover(context)

    # ------------------------------------------------------------------------------------------------ drills

    def start_drill(self, runbook: str) -> str | None:
        """Mark this session as a drill of ``runbook``; returns why it cannot be (None when started)."""
        production = [t.name for t in self.targets if t.production]
        if production:
            return f"a drill runs against a non-production context; {production[0]} is production"
        if self.recorder is None:
            return "a drill needs the session recording (started with --no-record?)"
        from cockpit.recording.format import marker_payload

        self.drill = runbook
        self.recorder.update_meta(is_drill=True, runbook=runbook)
        context = self.targets[0].name
        self.record_event("marker", marker_payload("drill-start", at=self.clock.now(), runbook=runbook),
                          context=context)
        self.notice(f"DRILL of {runbook}: timing detect → decide → mitigate; the report is written when the "
                    "run ends", timeout=8)
        return None

    def next_drill(self) -> str:
        from cockpit import drill

        return drill.next_drill(self.settings.reports_dir(), self.clock.now().date())

    # ------------------------------------------------------------------------------------------------ summary

    def verification_window(self) -> timedelta:
        return timedelta(minutes=float(getattr(self.settings, "verify_minutes", 5.0)))
