"""Resume an incident after a restart: the runs an earlier session left unfinished, rebuilt from its recording.

The cockpit died mid-PITR (the SSH session dropped, the bastion rebooted): the recovery Cluster exists, the wait was
running.  ``cockpit resume RECORDING`` starts a new live session (recorded to a new file that says where it came
from) and puts back, per context, the person's answers in the tree, what the cockpit had done (its own rollbacks, a
completed data rollback), and every unfinished run with its inputs and each step as it was left -- done, skipped or
overridden steps stay so, with who and when; the first unfinished step is looked at again against live facts.
Nothing is sent again: an action step that had been sent stays done (with what it created).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.config import ConfigError

_FINISHED = {"done": "done", "skipped": "skipped", "overridden": "overridden"}


def resume(session: Any, path: str | Path) -> list[str]:
    """Rebuild the unfinished runs of ``path`` into ``session`` (live); returns lines for the person."""
    from cockpit.recording.format import RecordingError, marker_payload
    from cockpit.recording.player import Player

    source = Path(path).expanduser()
    try:
        player = Player(source)
    except RecordingError as err:
        raise ConfigError(f"cannot resume from {source}: {err}") from None
    lines: list[str] = []
    with player:
        events = list(player.events_between(player.start, player.end, kinds=("marker", "step", "answer")))
        if player.damage:
            lines.append(f"the recording is damaged ({player.damage}): resumed from what could be read")
    for context in session.contexts:
        mine = [e for e in events if e.context == context]
        _answers(session, context, mine)
        session.outcomes.restore(context, [e for e in mine if e.kind == "marker"])
        for runbook in _runbooks(mine):
            line = _resume_run(session, context, runbook, mine)
            if line:
                lines.append(line)
        session.record_event("marker", marker_payload("resumed", text=f"resumed from {source.name}",
                                                      recording=str(source)), context=context)
        session.refresh_decision(context)
    if not session.resumed:
        lines.append(f"{source.name}: no unfinished runbook run to resume (answers and outcomes restored)")
    return lines


def _answers(session: Any, context: str, events: list[Any]) -> None:
    state = session.contexts[context]
    for event in events:
        payload = event.payload if isinstance(event.payload, dict) else {}
        if event.kind != "answer" or payload.get("state") != "answered":
            continue
        node, answer = str(payload.get("question") or ""), str(payload.get("answer") or "")
        if answer in ("yes", "no"):
            state.answers[node] = answer
        elif answer == "cleared":
            state.answers.pop(node, None)


def _runbooks(events: list[Any]) -> list[str]:
    seen: list[str] = []
    for event in events:
        payload = event.payload if isinstance(event.payload, dict) else {}
        if event.kind == "marker" and payload.get("name") == "runbook-chosen":
            runbook = str(payload.get("runbook") or "")
            if runbook and runbook not in seen:
                seen.append(runbook)
    return seen


def _resume_run(session: Any, context: str, runbook: str, events: list[Any]) -> str:
    from cockpit.runbooks.executor import RunState, StepState

    chosen = [e for e in events if e.kind == "marker" and isinstance(e.payload, dict)
              and e.payload.get("name") == "runbook-chosen" and e.payload.get("runbook") == runbook]
    after = chosen[-1].at if chosen else None  # the last time this runbook was opened: its latest run
    steps = [e for e in events if e.kind == "step" and isinstance(e.payload, dict)
             and e.payload.get("runbook") == runbook and (after is None or e.at >= after)]
    ended = any(e.payload.get("detail", "").startswith("ended by") for e in steps)
    recorded = [e for e in events if e.kind == "marker" and isinstance(e.payload, dict)
                and e.payload.get("name") in ("runbook-chosen", "run-inputs") and e.payload.get("runbook") == runbook
                and (after is None or e.at >= after) and isinstance(e.payload.get("inputs"), dict)]
    inputs = recorded[-1].payload["inputs"] if recorded else {}
    final: dict[str, Any] = {}
    first: dict[str, Any] = {}
    for event in steps:
        step = str(event.payload.get("step") or "")
        first.setdefault(step, event)
        final[step] = event
    control = session.run_control
    run = control.open(context, runbook)
    if ended:
        return ""
    control.restore(run, {k: str(v) for k, v in inputs.items()})
    restored = 0
    for item in run.steps:
        event = final.get(item.step.id)
        if event is None:
            continue
        state = _FINISHED.get(str(event.payload.get("state")))
        if state is None:
            break  # the first unfinished step: looked at again against live facts
        run.restore_step(item.index, StepState(state), by=str(event.payload.get("by") or ""),
                         detail=str(event.payload.get("detail") or ""), started_at=first[item.step.id].at,
                         finished_at=event.at, target=str(event.payload.get("target") or ""))
        restored += 1
    if run.state is RunState.DONE:
        return ""
    session.resumed.append((context, runbook))
    control.soon(context, delay=0.0)
    current = run.current
    where = f"at step {current.index + 1}/{len(run.steps)} ({run.text(current.step.title)})" if current else ""
    return f"resumed {runbook} in {context}: {restored} step(s) as they were left, {where}"
