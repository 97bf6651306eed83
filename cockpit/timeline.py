"""The cross-layer timeline: everything a session saw and did, oldest first, derived from its recording.

Argo CD history entries (at the time Argo CD wrote) and operations (failed syncs included: they never reach the
history), Rollout step changes, pauses, aborts and promotions, AnalysisRun measurement failures and verdicts, the p99
crossing the SLO and coming back, flag changes the decision evidence read, CNPG and Velero phase changes, the
tree's recommendation changes, and every answer, override, runbook step and write with its outcome.  Panes are
diffed snapshot by snapshot; events are read as they were recorded.  Pure: no UI, no network -- a player reads the
file (a finished recording, one being replayed, or one still being written: :class:`TimelineBuilder` takes the new
rows only).

Times are absolute UTC.  ``source`` says where an entry's time comes from: ``recorded`` (when the session saw it),
``reported`` (a time the tool itself wrote, e.g. Argo CD's ``deployedAt``), ``at start`` (already so when the
session began: stamped with the session's start and ordered by layer, from the deploy down to the data).

Exports: :func:`to_json` / :func:`from_json` (round-trips) and :func:`to_markdown`, for an incident tool; the
postmortem stub (``cockpit.drill.postmortem_stub``) carries the Markdown.  Text inside entries is untrusted (names,
messages from the cluster): render it with markup off, :func:`to_markdown` cleans it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from cockpit.models import PANES, FeedState

LAYERS: tuple[str, ...] = ("argocd", "rollout", "analysis", "p99", "flag", "cnpg", "velero", "tree", "person",
                           "runbook", "action", "session")
LAYER_TITLES: dict[str, str] = {
    "argocd": "Argo CD", "rollout": "Rollout", "analysis": "Analysis", "p99": "p99", "flag": "flag",
    "cnpg": "CNPG", "velero": "Velero", "tree": "tree", "person": "person", "runbook": "runbook",
    "action": "action", "session": "session",
}
SOURCES = ("recorded", "reported", "at start")
BASELINE_SECONDS = 60.0  # a pane's first data within this long of the start describes the state at the start
HISTORY_BEFORE = timedelta(hours=24)  # Argo CD history entries this old before the start are still shown
FORMAT = "cockpit-timeline/1"
_PANE_LAYER = {"argocd": "argocd", "rollout": "rollout", "analysis": "analysis", "latency": "p99", "cnpg": "cnpg",
               "velero": "velero"}
_QUIET_GATEWAY = ("renew Lease",)  # a driver renewing its lease every 40 s is not news
_QUIET_MARKERS = ("action-done",)  # the write itself is on the timeline
_STEP_STATES = ("confirmed", "cancelled", "done", "failed", "skipped", "overridden")
_MAX_TEXT = 600


@dataclass(frozen=True)
class Entry:
    at: datetime  # UTC
    layer: str  # one of LAYERS
    what: str  # deploy, sync, health, step, paused, resumed, aborted, promoted, canary, analysis, measurement,
    #            breach, recovered, flag, phase, backup, restore, recommendation, chosen, answer, override,
    #            runbook, write, marker
    text: str
    context: str = ""
    source: str = "recorded"
    event: int = 0  # the recording row it came from (0: none)
    rank: int = field(default=0, compare=False)  # order among entries at the same instant

    def to_dict(self) -> dict[str, Any]:
        return {"at": iso(self.at), "layer": self.layer, "what": self.what, "text": self.text,
                "context": self.context, "source": self.source, "event": self.event}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Entry:
        at = parse_iso(raw.get("at"))
        if at is None:
            raise ValueError(f"timeline entry without a time: {str(raw.get('at'))[:40]!r}")
        layer, source = str(raw.get("layer", "")), str(raw.get("source", "recorded"))
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer[:20]!r}")
        if source not in SOURCES:
            raise ValueError(f"unknown source {source[:20]!r}")
        event = raw.get("event", 0)
        return cls(at, layer, str(raw.get("what", ""))[:40], str(raw.get("text", ""))[:_MAX_TEXT],
                   str(raw.get("context", ""))[:253], source,
                   event if isinstance(event, int) and not isinstance(event, bool) else 0)


def iso(when: datetime) -> str:
    """Absolute UTC, microseconds kept, ``Z``: what an incident tool parses."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _hms(when: datetime | None) -> str:
    return f"{when.astimezone(timezone.utc):%H:%M:%S}Z" if when is not None else "?"


def _short(text: Any, limit: int = 160) -> str:
    value = " ".join(str(text or "").split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --------------------------------------------------------------------------- building


class TimelineBuilder:
    """Reads a recording's rows in append order and keeps the timeline; ``update()`` takes only new rows, so a
    viewer of a recording still being written follows it cheaply."""

    def __init__(self, player: Any) -> None:
        self.player = player
        self.seen = 0  # the last row id read
        self._entries: list[Entry] = []
        self._seq = 0
        self._states: dict[tuple[str, str], Any] = {}  # (context, pane) -> last data diffed
        self._based: set[tuple[str, str]] = set()  # panes whose baseline was taken
        self._history: dict[tuple[str, str], set[int]] = {}  # (context, app) -> history ids shown
        self._decision: dict[str, dict[str, Any]] = {}  # context -> what the last decision said
        self._start: datetime | None = None

    @property
    def start(self) -> datetime:
        if self._start is None:
            meta_start = getattr(self.player.meta, "started_at", None)
            self._start = meta_start or self.player.start
        return self._start

    def update(self) -> bool:
        """Read the rows appended since the last call; True when the timeline grew."""
        before = len(self._entries)
        while True:
            events = self.player.events_after(self.seen)
            if not events:
                last = self.player.last_id()
                if last <= self.seen:
                    break
                self.seen = min(last, self.seen + 500)  # a page of unreadable rows (the player lists them): on
                continue
            for event in events:
                self.seen = max(self.seen, event.id)
                try:
                    self._event(event)
                except Exception as err:  # noqa: BLE001 - one odd row never loses the timeline
                    self._add(event.at, "session", "marker", f"row {event.id} could not be read for the timeline "
                              f"({type(err).__name__})", event.context, event=event.id)
        return len(self._entries) != before

    def entries(self, layers: Iterable[str] | None = None, context: str | None = None) -> list[Entry]:
        """Oldest first (same instant: the order the layers break in, then the recording's order)."""
        wanted = set(layers) if layers is not None else None
        chosen = [e for e in self._entries if (wanted is None or e.layer in wanted)
                  and (context is None or e.context == context)]
        return sorted(chosen, key=lambda e: (e.at, e.rank))

    # -- one row ---------------------------------------------------------------------------------------------

    def _add(self, at: datetime, layer: str, what: str, text: str, context: str = "", *, source: str = "recorded",
             event: int = 0) -> None:
        self._seq += 1
        rank = (LAYERS.index(layer) if source == "at start" else len(LAYERS)) * 10_000_000 + self._seq
        self._entries.append(Entry(at, layer, what, _short(text, _MAX_TEXT), context, source, event, rank))

    def _event(self, event: Any) -> None:
        kind = event.kind
        payload = event.payload if isinstance(event.payload, Mapping) else {}
        if kind == "snapshot":
            self._snapshot(event)
        elif kind == "decision":
            self._decided(event, payload)
        elif kind == "answer":
            if payload.get("state") == "answered":
                question = payload.get("text") or payload.get("question") or "?"
                answer = payload.get("answer") or "?"
                what = "answer" if answer != "cleared" else "override"
                self._add(event.at, "person", what, f"answered {answer}: {question}", event.context, event=event.id)
        elif kind == "step":
            self._step(event, payload)
        elif kind == "gateway":
            action = str(payload.get("action", ""))
            if action in _QUIET_GATEWAY and payload.get("outcome") == "ok":
                return
            verb = "dry-run " if payload.get("dry_run") else ""
            message = payload.get("message")
            outcome = payload.get("outcome", "?")
            text = f"{verb}{action} {payload.get('target', '')}: {outcome}"
            if message and message != "ok":
                text += f" ({_short(message, 200)})"
            self._add(event.at, "action", "write", text, event.context, event=event.id)
        elif kind == "marker":
            name = str(payload.get("name", ""))
            if name in _QUIET_MARKERS:
                return
            from cockpit.recording.format import describe

            self._add(event.at, "session", "marker", describe("marker", payload), event.context, event=event.id)

    def _step(self, event: Any, payload: Mapping[str, Any]) -> None:
        state = payload.get("state")
        if state not in _STEP_STATES:
            return
        if state == "done" and payload.get("type") == "check":
            return  # a check that passed is the runbook doing its job; failures and skips are news
        title = payload.get("title") or payload.get("step") or "?"
        runbook = payload.get("runbook", "")
        index = payload.get("index")
        number = f"{index}. " if isinstance(index, int) and index else ""
        detail = payload.get("detail")
        by = payload.get("by")
        person = isinstance(by, str) and by and by != "cockpit"
        layer, what = ("person", "override") if state in ("skipped", "overridden") and person else ("runbook", "step")
        text = f"{runbook} {number}{title}: {state}" + (f" ({_short(detail, 200)})" if detail else "")
        self._add(event.at, layer, what, text, event.context, event=event.id)

    def _decided(self, event: Any, payload: Mapping[str, Any]) -> None:
        context = event.context
        previous = self._decision.get(context, {})
        leaf = payload.get("leaf") if isinstance(payload.get("leaf"), Mapping) else None
        recommends = (str(leaf.get("title") or leaf.get("runbook") or "") if leaf else "") or \
            f"nothing yet: {payload.get('ask') or 'gathering evidence'}"
        layer = str(leaf.get("layer") or "") if leaf else ""
        current: dict[str, Any] = {"recommends": recommends}
        if recommends != previous.get("recommends"):
            text = f"tree recommends {recommends}" + (f" ({layer} layer)" if layer else "")
            self._add(event.at, "tree", "recommendation", text, context, event=event.id)
        if payload.get("chosen"):
            self._add(event.at, "tree", "chosen", f"runbook chosen: {recommends}", context, event=event.id)
        results = payload.get("results") if isinstance(payload.get("results"), Mapping) else {}
        flags = []
        for node, result in results.items():
            if not isinstance(result, Mapping):
                continue
            for item in result.get("evidence") or ():
                if isinstance(item, Mapping) and str(item.get("source", "")).startswith("flag") or \
                        (node == "flag_flip" and isinstance(item, Mapping)):
                    flags.append(str(item.get("fact", "")))
            if result.get("overridden") and not (previous.get("overridden") or {}).get(node):
                current.setdefault("new_override", []).append(
                    f"override: {result.get('question') or node} answered {result.get('answer')} against the "
                    f"evidence ({_short(result.get('explain'), 160)})")
        current["overridden"] = {node: bool(r.get("overridden")) for node, r in results.items()
                                 if isinstance(r, Mapping)}
        fact = "; ".join(sorted(set(flags)))
        current["flags"] = fact
        if fact and fact != previous.get("flags"):
            self._add(event.at, "flag", "flag", f"flag: {fact}", context, event=event.id)
        for text in current.pop("new_override", []):
            self._add(event.at, "person", "override", text, context, event=event.id)
        self._decision[context] = current

    # -- panes ------------------------------------------------------------------------------------------------

    def _snapshot(self, event: Any) -> None:
        key = (event.context, event.pane)
        if event.pane not in _PANE_LAYER:
            return
        try:
            snap = event.snapshot()
        except Exception:  # noqa: BLE001 - a damaged pane row: the player lists it in its damage
            return
        data = snap.data
        if data is None or snap.status.state is FeedState.LOADING:
            return
        old = self._states.get(key)
        self._states[key] = data
        baseline = key not in self._based
        if baseline:
            self._based.add(key)
        at = event.at
        source = "recorded"
        if baseline and (at - self.start).total_seconds() <= BASELINE_SECONDS:
            at, source = self.start, "at start"
        diff = getattr(self, f"_diff_{event.pane}")
        diff(old if not baseline else None, data, _Emit(self, at, event.context, source, event.id, baseline))

    def _diff_argocd(self, old: Any, new: Any, emit: _Emit) -> None:
        app = getattr(new, "name", "?")
        shown = self._history.setdefault((emit.context, app), set())
        history = tuple(getattr(new, "history", ()) or ())
        for index, entry in enumerate(history):
            if entry.id in shown:
                continue
            shown.add(entry.id)
            when = entry.deployed_at
            if emit.baseline and index and when is not None and when < self.start - HISTORY_BEFORE:
                continue  # an old deploy: history, not this incident
            who = f" by {entry.initiated_by}" if entry.initiated_by else ""
            change = f": {entry.change}" if entry.change else ""
            text = f"Argo CD {app} deployed history #{entry.id} revision {entry.short_revision or '?'}{who}{change}"
            if when is not None:
                self._add(when, "argocd", "deploy", text, emit.context, source="reported", event=emit.event)
            else:
                emit("argocd", "deploy", text)
        before_phase = getattr(old, "operation_phase", "") if old is not None else ""
        phase = new.operation_phase
        if phase != before_phase and phase:
            message = f" ({_short(new.operation_message, 200)})" if new.operation_message else ""
            if phase in ("Failed", "Error"):
                emit("argocd", "sync", f"Argo CD {app} sync {phase.lower()}{message}")
            elif not emit.baseline and phase in ("Running", "Terminating"):
                emit("argocd", "sync", f"Argo CD {app} sync {phase.lower()}{message}")
            elif not emit.baseline and phase == "Succeeded":
                emit("argocd", "sync", f"Argo CD {app} sync succeeded{message}")
        health = new.health_status
        if old is not None and health != old.health_status and health:
            emit("argocd", "health", f"Argo CD {app} health {health}" +
                 (f" ({_short(new.health_message, 160)})" if new.health_message else ""))
        elif old is None and health in ("Degraded", "Missing"):
            emit("argocd", "health", f"Argo CD {app} health {health}")
        if old is not None and new.auto_sync != old.auto_sync:
            emit("argocd", "sync", f"Argo CD {app} auto-sync {'on' if new.auto_sync else 'off'}")

    def _diff_rollout(self, old: Any, new: Any, emit: _Emit) -> None:
        name = new.name
        step = f"step {new.step_text}" if new.step_text else ""
        weight = f", canary {new.set_weight}%" if new.set_weight is not None and new.strategy == "canary" else ""
        if old is None:
            if new.aborted:
                emit("rollout", "aborted", f"Rollout {name} aborted: {_short(new.message, 200)}")
            elif new.paused:
                reasons = ", ".join(new.pause_reasons) or "spec.paused"
                emit("rollout", "paused", f"Rollout {name} paused at {step or 'its current step'}{weight} ({reasons})")
            elif new.phase in ("Degraded", "Progressing"):
                emit("rollout", "phase", f"Rollout {name} {new.phase} at {step or '-'}{weight}")
            return
        if new.canary_hash != old.canary_hash and new.canary_hash and new.canary_hash != new.stable_hash:
            images = ", ".join(new.canary_images) or new.canary_hash
            emit("rollout", "canary", f"Rollout {name} starts a canary of {images}")
        if new.stable_hash != old.stable_hash and new.stable_hash:
            images = ", ".join(new.stable_images) or new.stable_hash
            emit("rollout", "promoted", f"Rollout {name} stable is now {images}")
        if new.step_index != old.step_index and new.step_index is not None and not new.aborted:
            emit("rollout", "step", f"Rollout {name} at {step or 'step ' + str(new.step_index)}{weight}")
        if new.aborted and not old.aborted:
            said = new.message and new.message not in new.pause_reasons
            emit("rollout", "aborted", f"Rollout {name} aborted" + (f": {_short(new.message, 200)}" if said else ""))
        elif new.paused and not old.paused:
            reasons = ", ".join(new.pause_reasons) or "spec.paused"
            emit("rollout", "paused", f"Rollout {name} paused at {step or 'its current step'}{weight} ({reasons})")
        elif old.paused and not new.paused and not new.aborted:
            emit("rollout", "resumed", f"Rollout {name} resumed")
        if new.phase != old.phase and new.phase and new.phase != "Paused":
            emit("rollout", "phase", f"Rollout {name} {new.phase}" +
                 (f": {_short(new.message, 200)}" if new.message and new.phase != "Healthy" else ""))

    def _diff_analysis(self, old: Any, new: Any, emit: _Emit) -> None:
        before = {run.name: run for run in (old or ())}
        for run in new or ():
            previous = before.get(run.name)
            if previous is None:
                if run.started_at is not None and (not emit.baseline or run.started_at >= self.start - HISTORY_BEFORE):
                    self._add(run.started_at, "analysis", "analysis", f"AnalysisRun {run.name} started",
                              emit.context, source="reported", event=emit.event)
            for metric in run.metrics:
                was = next((m for m in previous.metrics if m.name == metric.name), None) if previous else None
                failed_before = was.failed if was is not None else 0
                if metric.failed > failed_before:
                    words = f"{metric.failed} failed measurement{'s' if metric.failed != 1 else ''}"
                    detail = f" ({_short(metric.message or metric.last_message or metric.last_value, 200)})" \
                        if (metric.message or metric.last_message or metric.last_value) else ""
                    emit("analysis", "measurement", f"AnalysisRun {run.name} metric {metric.name}: {words}{detail}")
            phase_before = previous.phase if previous is not None else ""
            if run.phase != phase_before and run.phase in ("Failed", "Error", "Inconclusive", "Successful"):
                if previous is None and emit.baseline and run.phase == "Successful":
                    continue
                emit("analysis", "analysis", f"AnalysisRun {run.name} {run.phase}" +
                     (f": {_short(run.message, 200)}" if run.message else ""))

    def _diff_latency(self, old: Any, new: Any, emit: _Emit) -> None:
        over = new.over_slo
        if over is None:
            return
        value = f"{new.value:.3f}s" if new.value is not None else "?"
        slo = f"{new.slo_seconds:g}s"
        if old is None:
            if over:
                crossed = _crossed(new.series, new.slo_seconds)
                since = f"; the range query shows it above since {_hms(crossed)}" if crossed else ""
                emit("p99", "breach", f"p99 {value} over the SLO {slo}{since}")
            return
        if over and not old.over_slo:
            emit("p99", "breach", f"p99 crossed the SLO: {value} > {slo}")
        elif not over and old.over_slo:
            emit("p99", "recovered", f"p99 back under the SLO: {value} ≤ {slo}")

    def _diff_cnpg(self, old: Any, new: Any, emit: _Emit) -> None:
        before = {c.name: c for c in (getattr(old, "clusters", ()) or ())}
        for cluster in getattr(new, "clusters", ()) or ():
            previous = before.get(cluster.name)
            line = cluster.status_line or "no phase yet"
            if previous is None:
                if old is not None:
                    emit("cnpg", "phase", f"CNPG cluster {cluster.name} appeared: {line}")
                elif not cluster.healthy and cluster.has_status:
                    emit("cnpg", "phase", f"CNPG cluster {cluster.name}: {line}")
            elif line != (previous.status_line or "no phase yet"):
                emit("cnpg", "phase", f"CNPG cluster {cluster.name}: {line}")

    def _diff_velero(self, old: Any, new: Any, emit: _Emit) -> None:
        for kind, items, before in (("restore", new.restores, getattr(old, "restores", ())),
                                    ("backup", new.backups, getattr(old, "backups", ()))):
            known = {item.name: item for item in before or ()}
            for index, item in enumerate(items):
                previous = known.get(item.name)
                phase = item.phase or "New"
                if old is None:
                    notable = phase != "Completed" if kind == "restore" else index == 0 and item.bad
                    if notable:
                        emit("velero", kind, f"Velero {kind} {item.name}: {phase}" +
                             (f" ({_short(item.failure_reason, 160)})" if item.failure_reason else ""))
                    continue
                if previous is None or (previous.phase or "New") != phase:
                    emit("velero", kind, f"Velero {kind} {item.name}: {phase}" +
                         (f" ({_short(item.failure_reason, 160)})" if item.failure_reason else ""))


class _Emit:
    """Adds entries of one snapshot row at its time (or the start, for a baseline)."""

    def __init__(self, builder: TimelineBuilder, at: datetime, context: str, source: str, event: int,
                 baseline: bool) -> None:
        self.builder, self.at, self.context, self.source, self.event = builder, at, context, source, event
        self.baseline = baseline

    def __call__(self, layer: str, what: str, text: str) -> None:
        self.builder._add(self.at, layer, what, text, self.context, source=self.source, event=self.event)


def _crossed(series: Sequence[tuple[float, float]], slo: float) -> datetime | None:
    """When the range query last went from under the SLO to over it (None: no such point in range)."""
    crossed = None
    previous = None
    for point in series or ():
        try:
            ts, value = float(point[0]), float(point[1])
        except (TypeError, ValueError, IndexError):
            continue
        if value > slo and (previous is None or previous <= slo):
            crossed = ts
        previous = value
    if crossed is None:
        return None
    try:
        return datetime.fromtimestamp(crossed, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


# --------------------------------------------------------------------------- whole recordings and exports


def build(player: Any) -> list[Entry]:
    """The whole timeline of a recording, oldest first."""
    builder = TimelineBuilder(player)
    builder.update()
    return builder.entries()


def to_json(entries: Sequence[Entry], player: Any = None, *, indent: int | None = 2) -> str:
    meta = getattr(player, "meta", None)
    document: dict[str, Any] = {
        "format": FORMAT,
        "recording": getattr(getattr(player, "path", None), "name", ""),
        "contexts": list(getattr(meta, "contexts", ()) or ()),
        "started_at": iso(meta.started_at) if getattr(meta, "started_at", None) else None,
        "ended_at": iso(meta.ended_at) if getattr(meta, "ended_at", None) else None,
        "layers": list(LAYERS),
        "entries": [entry.to_dict() for entry in entries],
    }
    return json.dumps(document, indent=indent, ensure_ascii=False)


def from_json(text: str) -> list[Entry]:
    """The entries back from :func:`to_json` (ValueError on anything else)."""
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} document")
    raw = document.get("entries")
    if not isinstance(raw, list):
        raise ValueError("no entries")
    return [Entry.from_dict(item) for item in raw if isinstance(item, Mapping)]


def to_markdown(entries: Sequence[Entry], *, heading: str = "") -> str:
    """A Markdown table (absolute UTC times), untrusted text cleaned and pipes escaped."""
    from cockpit.textsafe import clean

    def cell(value: Any) -> str:
        return clean(value, limit=_MAX_TEXT).replace("|", "\\|")

    lines = [heading, ""] if heading else []
    if not entries:
        return "\n".join(lines + ["_Nothing recorded._", ""])
    contexts = {entry.context for entry in entries}
    lines += ["| time (UTC) | layer | what happened |" + (" context |" if len(contexts) > 1 else ""),
              "|---|---|---|" + ("---|" if len(contexts) > 1 else "")]
    for entry in entries:
        when = f"{entry.at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}"
        if entry.source == "at start":
            when += " (at start)"
        elif entry.source == "reported":
            when += " (reported)"
        row = f"| {when} | {LAYER_TITLES.get(entry.layer, entry.layer)} | {cell(entry.text)} |"
        if len(contexts) > 1:
            row += f" {cell(entry.context)} |"
        lines.append(row)
    lines.append("")
    return "\n".join(lines)


def layer_of(pane: str) -> str:
    return _PANE_LAYER.get(pane, "session")


__all__ = ["BASELINE_SECONDS", "Entry", "LAYERS", "LAYER_TITLES", "PANES", "TimelineBuilder", "build", "from_json",
           "iso", "layer_of", "parse_iso", "to_json", "to_markdown"]
