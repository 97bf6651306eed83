"""Drills: time a recorded rollback, write its report, and say which runbooks have gone stale.

A rollback runbook nobody has run for a quarter no longer matches the tools it drives, so every month one runbook is
exercised on a non-production context and the session is recorded.  From that recording this module measures the
three numbers the drill exists to produce, by itself, from the events the cockpit already writes:

* **RTO actual** -- detect -> mitigated.  *Detect* is the drill's start marker (or, for a real incident, the time
  the alert fired); *decide* is when the runbook was chosen; *mitigated* is when the last action step was done
  **and** the symptom metric (the latency pane's p99) was back under its SLO in every recorded context.
* **RPO actual** -- only when a data layer was restored: the gap between the ``recovery-target`` marker's time (what
  the data was restored to) and the ``bad-mutation`` marker's time.  Writes in that gap are what the restore lost.
* **Human action time** -- the time spent waiting on the person: the sum, over every confirmation, manual step and
  decision-tree question, of ``asked`` -> answered (``confirmed`` / ``cancelled`` / ``done`` ... or ``answered``).

The report (``dr-drill-YYYY-MM.md``) carries those numbers, the phases, the step timeline, the person's verdict
("did the runbook work?") and what to update, under a YAML front-matter block that :func:`last_exercised` reads back:
that is where the STALE banner (no passing drill for more than 90 days) and the rotation come from, so a team's
drill history lives in its own git repository rather than in cockpit state.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

import cockpit
from cockpit.models import LatencyView
from cockpit.recording.format import ACTION_KINDS, RecordingError, RecordingMeta, describe, payload_time
from cockpit.recording.player import Event, Player
from cockpit.textsafe import clean
from cockpit.timefmt import duration

ROTATION: tuple[str, ...] = (
    "code-rollback-argocd",
    "code-rollback-rollouts",
    "data-rollback-postgres-pitr",
    "data-rollback-velero",
)
"""The monthly order: code (Argo CD), code (Rollouts), data (PITR), data (Velero), then again."""

STALE_AFTER_DAYS = 90
REPORT_GLOB = "dr-drill-*.md"
FRONT_MATTER_KEY = "cockpit-drill"  # marks a report this module wrote (value: its format version)
_GIT_TIMEOUT_S = 30
_MAX_REPORT_BYTES = 1_000_000  # a report is a page of Markdown; anything bigger is not ours

_ASK_CLOSERS = {
    "step": ("confirmed", "cancelled", "done", "failed", "skipped", "overridden"),
    "answer": ("answered",),
}
_ACTION_STEP_TYPES = ("action", "manual", "wait")


class Verdict(str, Enum):
    """Did the runbook work?"""

    WORKED = "worked"
    WORKED_WITH_CHANGES = "worked with changes"
    FAILED = "failed"


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str  # untrusted parts inside (targets, messages): cleaned when written


@dataclass(frozen=True)
class StepTiming:
    """One runbook step from its first event to its end, and how much of that was the person."""

    runbook: str
    step: str
    title: str
    started_at: datetime
    ended_at: datetime | None
    final_state: str
    waited: timedelta  # asked -> answered inside this step


@dataclass(frozen=True)
class DrillResult:
    """The measured drill (or incident): phase instants, the three numbers, and why any is missing."""

    runbook: str
    contexts: tuple[str, ...]
    is_drill: bool
    non_production: bool
    layer: str  # code | data | config | flag | "" (unknown)
    started_at: datetime | None  # first recorded instant
    detect_at: datetime | None
    decide_at: datetime | None
    last_action_at: datetime | None
    mitigated_at: datetime | None
    recovery_target: datetime | None
    bad_mutation: datetime | None
    human_time: timedelta
    asks: int  # how many confirmations / manual steps / questions were answered
    timeline: tuple[TimelineEntry, ...]
    steps: tuple[StepTiming, ...]
    notes: tuple[str, ...] = field(default=())  # what could not be measured, and why

    @property
    def rto(self) -> timedelta | None:
        if self.detect_at is None or self.mitigated_at is None:
            return None
        return self.mitigated_at - self.detect_at

    @property
    def rpo(self) -> timedelta | None:
        if self.recovery_target is None or self.bad_mutation is None or self.recovery_target > self.bad_mutation:
            return None
        return self.bad_mutation - self.recovery_target

    @property
    def time_to_decide(self) -> timedelta | None:
        if self.detect_at is None or self.decide_at is None:
            return None
        return self.decide_at - self.detect_at

    @property
    def time_to_mitigate(self) -> timedelta | None:
        if self.decide_at is None or self.mitigated_at is None:
            return None
        return self.mitigated_at - self.decide_at


@dataclass(frozen=True)
class ReportWritten:
    path: Path
    committed: bool
    message: str  # the commit's subject, or why it was not committed


@dataclass(frozen=True)
class DrillRecord:
    """One report's front matter, as read back."""

    runbook: str
    day: date
    verdict: Verdict
    path: Path


# --------------------------------------------------------------------------- measuring


def analyse_recording(player: Player, *, slo: float | None = None) -> DrillResult:
    """Measure the drill in a recording: reads its actions and its latency snapshots only."""
    kinds = ("decision", *ACTION_KINDS)
    events = list(player.events(kinds)) + list(player.events(("snapshot",), pane="latency"))
    result = analyse(events, meta=player.meta, slo=slo, end=player.end)
    if player.damage:
        return _with_note(result, f"the recording is damaged ({player.damage}): numbers cover what was readable")
    return result


def analyse(
    events: Iterable[Event],
    *,
    meta: RecordingMeta | None = None,
    slo: float | None = None,
    end: datetime | None = None,
) -> DrillResult:
    """Measure a drill from its events (a recording's, or a scripted list).

    ``slo`` overrides the SLO recorded in the latency snapshots (seconds).  Only ``decision``, ``answer``,
    ``step``, ``gateway``, ``marker`` events and ``latency`` snapshots are looked at.
    """
    meta = meta or RecordingMeta()
    ordered = sorted(events, key=lambda e: (e.ts, e.id))
    notes: list[str] = []
    markers = [e for e in ordered if e.kind == "marker" and isinstance(e.payload, Mapping)]
    steps = [e for e in ordered if e.kind == "step" and isinstance(e.payload, Mapping)]

    started_at = ordered[0].at if ordered else meta.started_at
    detect_at = _detect_at(markers, meta, started_at, notes)
    decide_at, runbook, layer = _decide(ordered, meta, notes)
    last_action_at = _last_action(steps, notes)
    mitigated_at = _mitigated(ordered, markers, last_action_at, slo, notes)
    recovery_target, bad_mutation = _rpo_points(markers, notes)
    human, asks, open_asks = _human_time(ordered)
    if open_asks:
        notes.append(f"{open_asks} question(s) or confirmation(s) were never answered: not counted")
    if meta.is_drill and not meta.non_production:
        notes.append("this drill was recorded against a context not marked non-production")

    entries = [TimelineEntry(e.at, e.kind, describe(e.kind, e.payload)) for e in ordered if _on_timeline(e)]
    if mitigated_at is not None:
        entries.append(TimelineEntry(mitigated_at, "mitigated", "mitigated: last action done, symptom under the SLO"))
    timeline = tuple(sorted(entries, key=lambda entry: entry.at))  # stable: the mitigation follows its cause
    if end is not None and mitigated_at is None and last_action_at is None:
        notes.append(f"no action step finished before the recording ended ({end:%H:%M:%S} UTC)")
    return DrillResult(
        runbook=runbook,
        contexts=tuple(meta.contexts),
        is_drill=meta.is_drill,
        non_production=meta.non_production,
        layer=layer,
        started_at=started_at,
        detect_at=detect_at,
        decide_at=decide_at,
        last_action_at=last_action_at,
        mitigated_at=mitigated_at,
        recovery_target=recovery_target,
        bad_mutation=bad_mutation,
        human_time=human,
        asks=asks,
        timeline=timeline,
        steps=_step_timings(steps),
        notes=tuple(notes),
    )


def _on_timeline(event: Event) -> bool:
    """The person's moves, the writes, the named moments, and the decision that chose the runbook."""
    if event.kind in ACTION_KINDS:
        return True
    return event.kind == "decision" and isinstance(event.payload, Mapping) and bool(event.payload.get("chosen"))


def _with_note(result: DrillResult, note: str) -> DrillResult:
    from dataclasses import replace

    return replace(result, notes=(*result.notes, note))


def _marker(markers: Sequence[Event], name: str) -> Event | None:
    return next((e for e in markers if e.payload.get("name") == name), None)


def _detect_at(
    markers: Sequence[Event], meta: RecordingMeta, started_at: datetime | None, notes: list[str]
) -> datetime | None:
    """The drill's start marker; for an incident the alert's firing time (``at``, else when it was recorded)."""
    start = _marker(markers, "drill-start")
    if start is not None:
        return payload_time(start.payload) or start.at
    alert = _marker(markers, "alert")
    if alert is not None:
        return payload_time(alert.payload) or alert.at
    fallback = meta.started_at or started_at
    if fallback is not None:
        notes.append("no drill-start or alert marker: detection taken as the start of the recording")
    return fallback


def _decide(events: Sequence[Event], meta: RecordingMeta, notes: list[str]) -> tuple[datetime | None, str, str]:
    """When the runbook was chosen, which one, and its layer."""
    for event in events:
        payload = event.payload if isinstance(event.payload, Mapping) else {}
        if event.kind == "marker" and payload.get("name") == "runbook-chosen":
            runbook = str(payload.get("runbook") or meta.runbook)
            return event.at, runbook, _layer_of(runbook, str(payload.get("layer") or ""))
        if event.kind == "decision" and payload.get("chosen"):
            leaf = payload.get("leaf") if isinstance(payload.get("leaf"), Mapping) else {}
            runbook = str(leaf.get("runbook") or meta.runbook)
            return event.at, runbook, _layer_of(runbook, str(leaf.get("layer") or ""))
    first_step = next((e for e in events if e.kind == "step" and isinstance(e.payload, Mapping)), None)
    if first_step is not None:
        runbook = str(first_step.payload.get("runbook") or meta.runbook)
        notes.append("no runbook-chosen marker: the decision is taken as the first runbook step")
        return first_step.at, runbook, _layer_of(runbook, "")
    notes.append("no runbook was chosen in the recording")
    return None, meta.runbook, _layer_of(meta.runbook, "")


def _layer_of(runbook: str, given: str) -> str:
    if given:
        return given
    for layer in ("code", "data", "config", "flag"):
        if runbook.startswith(layer):
            return layer
    return ""


def _last_action(steps: Sequence[Event], notes: list[str]) -> datetime | None:
    done = [e for e in steps if e.payload.get("state") == "done"]
    actions = [e for e in done if e.payload.get("type") in _ACTION_STEP_TYPES]
    chosen = actions or done
    if not chosen:
        notes.append("no runbook step was done: the drill did not reach mitigation")
        return None
    return chosen[-1].at


def _mitigated(
    events: Sequence[Event],
    markers: Sequence[Event],
    last_action_at: datetime | None,
    slo: float | None,
    notes: list[str],
) -> datetime | None:
    """The first instant at or after the last action at which every context's p99 is under the SLO.

    Contexts count once they have shown a value; a pane with no data (Prometheus unreachable) neither blocks nor
    proves mitigation.  Without any latency data the ``symptom-ok`` marker stands in for the metric.
    """
    if last_action_at is None:
        return None
    latest: dict[str, LatencyView] = {}

    def healthy() -> bool:
        if not latest:
            return False
        return all(
            view.value is not None and view.value <= (slo if slo is not None else view.slo_seconds)
            for view in latest.values()
        )

    checked_at_action = False
    for event in events:
        if event.kind != "snapshot" or event.pane != "latency":
            continue
        if event.at > last_action_at and not checked_at_action:
            checked_at_action = True
            if healthy():  # already under the SLO when the last action finished
                return last_action_at
        try:
            snap = event.snapshot()
        except RecordingError:
            continue
        if isinstance(snap.data, LatencyView):
            latest[snap.context] = snap.data
        if checked_at_action and healthy():
            return event.at
    if latest and not checked_at_action and healthy():
        return last_action_at
    restored = next((e for e in markers if e.payload.get("name") == "data-rolled-back"
                     and e.at >= last_action_at - timedelta(seconds=1)), None)
    if restored is not None:
        # a data runbook's own job is the data layer restored; the latency follows the code rollback after it
        notes.append("the data layer was restored; the p99 comes back only with the code rollback that follows")
        return restored.at
    if latest:
        notes.append("the symptom metric never came back under the SLO in the recording: not mitigated")
        return None
    ok = next((e for e in markers if e.payload.get("name") == "symptom-ok"), None)
    if ok is not None:
        return max(ok.at, last_action_at)
    notes.append("no symptom metric recorded: mitigation taken as the end of the last action")
    return last_action_at


def _rpo_points(markers: Sequence[Event], notes: list[str]) -> tuple[datetime | None, datetime | None]:
    target_marker = _marker(markers, "recovery-target")
    mutation_marker = _marker(markers, "bad-mutation")
    target = payload_time(target_marker.payload) if target_marker else None
    mutation = payload_time(mutation_marker.payload) if mutation_marker else None
    if target_marker is None:
        return None, mutation
    if target is None:
        notes.append("the recovery-target marker carries no time: RPO not measured")
    elif mutation is None:
        notes.append("a data layer was restored but the bad mutation's time was not recorded: RPO not measured")
    elif target > mutation:
        notes.append("the recovery target is AFTER the bad mutation: the restore brought the bad data back")
    return target, mutation


def _ask_key(event: Event) -> tuple[str, ...] | None:
    payload = event.payload if isinstance(event.payload, Mapping) else {}
    if event.kind == "step":
        return ("step", str(payload.get("runbook", "")), str(payload.get("step", "")))
    if event.kind == "answer":
        return ("answer", str(payload.get("question", "")))
    return None


def _human_time(events: Sequence[Event]) -> tuple[timedelta, int, int]:
    """Sum of asked -> answered intervals; (total, answered count, still open)."""
    asked: dict[tuple[str, ...], datetime] = {}
    total = timedelta(0)
    count = 0
    for event in events:
        key = _ask_key(event)
        if key is None:
            continue
        state = event.payload.get("state")
        if state == "asked":
            asked.setdefault(key, event.at)
        elif state in _ASK_CLOSERS[event.kind] and key in asked:
            total += event.at - asked.pop(key)
            count += 1
    return total, count, len(asked)


def _step_timings(steps: Sequence[Event]) -> tuple[StepTiming, ...]:
    order: list[tuple[str, str]] = []
    first: dict[tuple[str, str], Event] = {}
    last: dict[tuple[str, str], Event] = {}
    waited: dict[tuple[str, str], timedelta] = {}
    asked: dict[tuple[str, str], datetime] = {}
    for event in steps:
        key = (str(event.payload.get("runbook", "")), str(event.payload.get("step", "")))
        if key not in first:
            order.append(key)
            first[key] = event
            waited[key] = timedelta(0)
        last[key] = event
        state = event.payload.get("state")
        if state == "asked":
            asked.setdefault(key, event.at)
        elif state in _ASK_CLOSERS["step"] and key in asked:
            waited[key] += event.at - asked.pop(key)
    timings = []
    for key in order:
        end_event = last[key]
        final = str(end_event.payload.get("state", ""))
        finished = final in ("done", "failed", "skipped", "cancelled", "overridden")
        # the last title: the first may have been written before an input it shows was known
        title = str(end_event.payload.get("title") or first[key].payload.get("title") or key[1])
        timings.append(
            StepTiming(key[0], key[1], title, first[key].at, end_event.at if finished else None, final, waited[key])
        )
    return tuple(timings)


# --------------------------------------------------------------------------- the report


def report_path(reports_dir: str | Path, when: datetime | date) -> Path:
    """``dr-drill-YYYY-MM.md`` in ``reports_dir``; a second drill in the same month gets ``-2``, ``-3`` ...

    Only a guess for showing: :func:`write_report` takes the first name it can *create* (a link or any file
    already at a name counts as taken), so what it returns is authoritative.
    """
    base = Path(reports_dir)
    stem = f"dr-drill-{when:%Y-%m}"
    candidate = base / f"{stem}.md"
    number = 2
    while os.path.lexists(candidate):
        candidate = base / f"{stem}-{number}.md"
        number += 1
    return candidate


def render_report(
    result: DrillResult,
    *,
    verdict: Verdict,
    notes: str = "",
    updates: Sequence[str] = (),
    recording: str | Path | None = None,
) -> str:
    """The report's Markdown, front matter first."""
    when = result.detect_at or result.started_at
    day = when.date() if when else None
    front = {
        FRONT_MATTER_KEY: 1,
        "runbook": result.runbook,
        "date": day,
        "started_at": when.isoformat() if when else None,
        "contexts": list(result.contexts),
        "non_production": result.non_production,
        "verdict": verdict.value,
        "rto_seconds": _seconds(result.rto),
        "rpo_seconds": _seconds(result.rpo),
        "human_action_seconds": _seconds(result.human_time),
        "recording": Path(recording).name if recording else None,
        "cockpit_version": cockpit.__version__,
    }
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip(), "---", ""]
    month = f"{when:%Y-%m}" if when else "undated"
    lines += [f"# DR drill {month}: {_md(result.runbook or 'no runbook')}", ""]
    lines += [f"**Did the runbook work? {verdict.value}.**", ""]
    if notes.strip():
        lines += [_md(notes, single_line=False), ""]
    lines += ["| number | value | how it was measured |", "|---|---|---|"]
    lines.append(f"| RTO actual | {_len(result.rto)} | {_md(_rto_how(result))} |")
    lines.append(f"| RPO actual | {_len(result.rpo) if result.rpo is not None else 'n/a'} | {_md(_rpo_how(result))} |")
    lines.append(
        f"| Human action time | {_len(result.human_time)} | "
        f"waiting on the person: {result.asks} confirmation(s), manual step(s) and answer(s) |"
    )
    lines += ["", "## Phases", "", "| phase | from | to | took |", "|---|---|---|---|"]
    phases = (
        ("detect → decide", result.detect_at, result.decide_at, result.time_to_decide),
        ("decide → mitigate", result.decide_at, result.mitigated_at, result.time_to_mitigate),
    )
    lines += [f"| {name} | {_hms(begin)} | {_hms(until)} | {_len(took)} |" for name, begin, until, took in phases]
    if result.steps:
        lines += ["", "## Steps", "", "| step | started | ended | took | waiting on the person | result |",
                  "|---|---|---|---|---|---|"]
        for step in result.steps:
            took = step.ended_at - step.started_at if step.ended_at else None
            lines.append(
                f"| {_md(step.title)} | {_hms(step.started_at)} | {_hms(step.ended_at)} | {_len(took)} | "
                f"{_len(step.waited)} | {_md(step.final_state)} |"
            )
    lines += ["", "## Step timeline", "", "| time (UTC) | since detect | event |", "|---|---|---|"]
    for entry in result.timeline:
        since = entry.at - result.detect_at if result.detect_at else None
        lines.append(f"| {_hms(entry.at)} | {_len(since)} | {_md(entry.text)} |")
    lines += ["", "## What to update", ""]
    lines += [f"- [ ] {_md(item)}" for item in updates if item.strip()] or ["- nothing: the runbook ran as written"]
    if result.notes:
        lines += ["", "## Measurement notes", ""]
        lines += [f"- {_md(note)}" for note in result.notes]
    contexts = ", ".join(result.contexts) or "unknown context"
    kind = "non-production" if result.non_production else "PRODUCTION or unmarked"
    source = f" · recording `{_md(Path(recording).name)}`" if recording else ""
    lines += ["", f"_Context: {_md(contexts)} ({kind}){source} · written by cockpit {cockpit.__version__}_", ""]
    return "\n".join(lines)


def write_report(
    result: DrillResult,
    reports_dir: str | Path,
    *,
    verdict: Verdict,
    notes: str = "",
    updates: Sequence[str] = (),
    recording: str | Path | None = None,
    commit: bool = False,
    read_only: bool = True,
) -> ReportWritten:
    """Write ``dr-drill-YYYY-MM.md`` into ``reports_dir``; commit it only when that is safe and asked for.

    The report is always a new file (``cockpit.safefile``: never through a link, never over an existing file; a
    second drill in a month gets ``-2``).  It is committed only when all of these hold:

    * ``commit``: the person named the folder (``--drill-dir`` / ``drill_dir``), not the default data folder;
    * not ``read_only``: under ``--read-only`` nothing outside the cockpit's own files changes, so the report is
      written and the message says it was not committed (safe default: callers pass the session's flag);
    * ``reports_dir`` *is* the top of its own git repository (``git rev-parse --show-toplevel`` equals it; no
      parent-directory search, so a ``$HOME`` dotfiles repository is never committed to).

    Only the report is committed (``git commit --only``), whatever else is staged in the team's repository.
    A failed commit leaves the written report in place and says why.
    """
    from cockpit.safefile import write_new_numbered

    when = result.detect_at or result.started_at
    if when is None:
        raise ValueError("a drill without any recorded time cannot be dated")
    directory = Path(reports_dir)
    directory.mkdir(parents=True, exist_ok=True)
    text = render_report(result, verdict=verdict, notes=notes, updates=updates, recording=recording)
    path = write_new_numbered(directory / f"dr-drill-{when:%Y-%m}.md", text, mode=0o644)
    if read_only:
        return ReportWritten(path, False, "not committed: read-only mode (the report file was written, nothing else)")
    if not commit:
        return ReportWritten(path, False, "not committed (commit disabled: give --drill-dir to commit reports)")
    subject = f"DR drill {when:%Y-%m}: {result.runbook or 'no runbook'} ({verdict.value})"
    committed, message = _commit(path, subject)
    return ReportWritten(path, committed, message)


# Git's variables that would point it at another repository or work tree than the report folder's own.
_GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
                 "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES",
                 "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT")


def _git_env(directory: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in _GIT_ENV_DROP and not key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))}
    env["GIT_CEILING_DIRECTORIES"] = str(directory.resolve().parent)  # git may not look above the report folder
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def _git_in(directory: Path, *args: str) -> str:
    import subprocess

    done = subprocess.run(["git", *args], cwd=directory, env=_git_env(directory), capture_output=True, text=True,
                          timeout=_GIT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout or f"git {args[0]} exit {done.returncode}").strip())
    return done.stdout.strip()


def _commit(path: Path, subject: str) -> tuple[bool, str]:
    import shutil
    import subprocess

    directory = path.parent
    if shutil.which("git") is None:
        return False, "not committed: the git program is not installed"
    try:
        top = _git_in(directory, "rev-parse", "--show-toplevel")
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return False, f"not committed: {directory} is not the top of its own git repository"
    try:
        own = os.path.samefile(top, directory)
    except OSError:
        own = False
    if not own:
        return False, (f"not committed: {directory} is inside the repository {top}, not its top; reports are "
                       "committed only to the report folder's own repository")
    try:
        _git_in(directory, "add", "--", path.name)
        _git_in(directory, "commit", "-q", "-m", subject, "--only", "--", path.name)
        return True, subject
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
        return False, f"not committed: {clean(str(err), limit=200)}"


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else round(value.total_seconds())


def _len(value: timedelta | None) -> str:
    return duration(value) if value is not None else "—"


def _hms(value: datetime | None) -> str:
    return f"{value:%H:%M:%S}" if value is not None else "—"


def _md(text: Any, *, single_line: bool = True) -> str:
    """Untrusted text for a Markdown table cell: controls made visible, pipes escaped."""
    return clean(text, limit=300 if single_line else 4000, single_line=single_line).replace("|", "\\|")


def _rto_how(result: DrillResult) -> str:
    if result.rto is None:
        return "not mitigated in the recording" if result.detect_at else "no detection time"
    window = f"detect {_hms(result.detect_at)} → mitigated {_hms(result.mitigated_at)}"
    return f"{window} (last action done, p99 under the SLO)"


def _rpo_how(result: DrillResult) -> str:
    if result.recovery_target is None:
        return "no data layer restored"
    if result.rpo is None:
        return "could not be measured (see notes)"
    gap = f"recovery target {_hms(result.recovery_target)} → bad mutation {_hms(result.bad_mutation)}"
    return f"{gap}: writes in between are lost"


# --------------------------------------------------------------------------- staleness and rotation

_FRONT_RE = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n", re.DOTALL)


def read_reports(reports_dir: str | Path) -> list[DrillRecord]:
    """Every drill report's front matter in ``reports_dir``, oldest first; files that are not ours are skipped."""
    directory = Path(reports_dir)
    if not directory.is_dir():
        return []
    records: list[DrillRecord] = []
    for path in sorted(directory.glob(REPORT_GLOB)):
        try:
            if not path.is_file() or path.stat().st_size > _MAX_REPORT_BYTES:
                continue
            match = _FRONT_RE.match(path.read_text(encoding="utf-8", errors="replace"))
            front = yaml.safe_load(match.group(1)) if match else None
        except (OSError, yaml.YAMLError, RecursionError):
            continue
        record = _record(front, path)
        if record is not None:
            records.append(record)
    records.sort(key=lambda r: (r.day, r.path.name))
    return records


def _record(front: Any, path: Path) -> DrillRecord | None:
    if not isinstance(front, Mapping) or FRONT_MATTER_KEY not in front:
        return None
    runbook, day, verdict = front.get("runbook"), front.get("date"), front.get("verdict")
    if isinstance(day, datetime):
        day = day.date()
    elif isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            return None
    if not isinstance(runbook, str) or not runbook or not isinstance(day, date):
        return None
    try:
        parsed = Verdict(verdict)
    except ValueError:
        return None
    return DrillRecord(runbook, day, parsed, path)


def last_exercised(reports_dir: str | Path) -> dict[str, date]:
    """Each runbook's last drill that passed (worked, or worked with changes).

    A failed drill proves the runbook does not work, so it does not make the runbook fresh: its STALE banner stays
    until a drill passes.
    """
    last: dict[str, date] = {}
    for record in read_reports(reports_dir):
        if record.verdict is Verdict.FAILED:
            continue
        if record.runbook not in last or record.day > last[record.runbook]:
            last[record.runbook] = record.day
    return last


def days_since(runbook: str, today: date, last: Mapping[str, date]) -> int | None:
    """Days since the runbook's last passing drill; None when it was never drilled."""
    when = last.get(runbook)
    return None if when is None else (today - when).days


def is_stale(runbook: str, today: date, last: Mapping[str, date]) -> bool:
    """STALE: never drilled, or last drilled more than 90 days ago (90 days is still fresh)."""
    days = days_since(runbook, today, last)
    return days is None or days > STALE_AFTER_DAYS


def stale_banner(runbook: str, today: date, last: Mapping[str, date]) -> str:
    """The banner text for the executor and the decision-tree leaf ("" when fresh)."""
    if not is_stale(runbook, today, last):
        return ""
    days = days_since(runbook, today, last)
    if days is None:
        return "STALE: this runbook has never been drilled"
    return f"STALE: last drilled {days} days ago ({last[runbook].isoformat()}); drills keep runbooks honest"


def next_drill(reports_dir: str | Path, today: date) -> str:
    """The next runbook in the rotation after the most recently drilled one (any verdict); the first if none.

    Reports dated after ``today`` are ignored (a clock or a typo should not skip a month).
    """
    drilled = [r for r in read_reports(reports_dir) if r.runbook in ROTATION and r.day <= today]
    if not drilled:
        return ROTATION[0]
    latest = drilled[-1]
    return ROTATION[(ROTATION.index(latest.runbook) + 1) % len(ROTATION)]


# --------------------------------------------------------------------------- after a rollback


def postmortem_stub(player: Player) -> str:
    """A postmortem / forward-fix ticket stub in Markdown: timeline, layer, actions taken, the reverted change.

    A rollback restores function, not time: it is a debt, paid by the postmortem and a forward fix that brings the
    change back without its regression.  This stub is what the on-call pastes into that ticket.
    """
    result = analyse_recording(player)
    meta = player.meta
    contexts = ", ".join(meta.contexts) or "unknown context"
    when = result.detect_at or player.start
    layer = result.layer or "unknown"
    lines = [
        f"# Postmortem: {_md(result.runbook or layer + ' rollback')} on {_md(contexts)}, {when:%Y-%m-%d}",
        "",
        f"- **Layer:** {_md(layer)}",
        f"- **Runbook:** {_md(result.runbook or '—')}",
        f"- **Detected:** {when:%Y-%m-%d %H:%M:%S} UTC · **mitigated:** {_hms(result.mitigated_at)} UTC"
        f" · **time to mitigate:** {_len(result.rto)}",
        f"- **Recording:** `{_md(player.path.name)}`" + (f" (damaged: {_md(player.damage)})" if player.damage else ""),
        "",
        "## What happened",
        "",
        "_Fill in: the symptom, who noticed, customer impact._",
        "",
        "## The reverted change",
        "",
    ]
    lines += [f"- {_md(line)}" for line in _reverted_change(player, result)] or [
        "- _Fill in: the commit, PR or migration that was rolled back._"
    ]
    lines += ["", "## Actions taken", ""]
    actions = _actions_taken(player)
    lines += [f"- {_hms(at)} {_md(text)}" for at, text in actions] or ["- none recorded"]
    lines += ["", "## Timeline (UTC)", ""]
    lines += [f"- {_hms(entry.at)} {_md(entry.text)}" for entry in result.timeline] or ["- no events recorded"]
    lines += [
        "",
        "## Forward fix",
        "",
        "- [ ] Ticket owner: _name_",
        "- [ ] Reproduce the regression outside production",
        "- [ ] Ship the change again without the regression, within this sprint",
        "- [ ] Tighten the canary analysis that should have caught it",
        "- [ ] Runbook updates found during the rollback",
        "",
    ]
    return "\n".join(lines)


def _actions_taken(player: Player) -> list[tuple[datetime, str]]:
    taken: list[tuple[datetime, str]] = []
    for event in player.events(("gateway", "step")):
        payload = event.payload if isinstance(event.payload, Mapping) else {}
        if event.kind == "gateway" and payload.get("outcome") == "ok" and not payload.get("dry_run"):
            method, where = payload.get("method") or "", payload.get("path") or ""
            request = f" ({method} {where})".rstrip() if method or where else ""
            taken.append((event.at, f"{payload.get('action', '')} {payload.get('target', '')}{request}".strip()))
        elif event.kind == "step" and payload.get("type") == "manual" and payload.get("state") == "done":
            taken.append((event.at, f"manual: {payload.get('title') or payload.get('step', '')}"))
    return taken


def _reverted_change(player: Player, result: DrillResult) -> list[str]:
    """What was running just before the first write: the Argo CD deploy and the canary it rolled back."""
    first_write = next(
        (e for e in player.events(("gateway",)) if isinstance(e.payload, Mapping) and e.payload.get("outcome") == "ok"),
        None,
    )
    moment = (first_write.ts - 0.001) if first_write else (result.last_action_at or player.end).timestamp()
    found: list[str] = []
    for (context, pane), snap in sorted(player.state_at(moment).items()):
        data = snap.data
        if pane == "argocd" and data is not None and getattr(data, "history", ()):
            entry = data.history[0]
            deployed = f" deployed {entry.deployed_at:%Y-%m-%d %H:%M} UTC" if entry.deployed_at else ""
            who = f" by {entry.initiated_by}" if entry.initiated_by else ""
            change = f": {entry.change}" if entry.change else ""
            revision = f"history #{entry.id} revision {entry.short_revision}"
            found.append(f"Argo CD {data.name} ({context}): {revision}{deployed}{who}{change}")
        if pane == "rollout" and data is not None and data.canary_hash and data.canary_hash != data.stable_hash:
            found.append(
                f"Rollout {data.name} ({context}): canary {', '.join(data.canary_images) or data.canary_hash}"
                f" over stable {', '.join(data.stable_images) or data.stable_hash}"
            )
    return found
