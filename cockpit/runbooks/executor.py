"""The runbook executor: a state machine over a runbook's steps, with no UI and no I/O of its own.

It runs checks by itself, keeps waiting steps waiting until their condition holds, and stops at anything that
needs the person: an action to confirm, a manual step to mark done, a check it cannot decide, an input to enter.
Everything that touches the world is injected, so the same machine runs under the executor screen, in a drill
and in a unit test with a fixed clock:

* ``facts()`` -> the live facts (``cockpit.runbooks.facts``), called whenever a check or wait is evaluated
  (facts that depend on an input, like ``cnpg.target_recoverable``, read it from ``run.inputs``);
* ``plan(action_id, params)`` -> a :class:`~cockpit.actions.gateway.PlannedWrite` (builders raise
  ``ActionRefused``; ``noop`` ones mark the step done: "nothing to do");
* ``execute(planned, confirmed_by, typed)`` -> a ``WriteResult`` (the gateway's ``execute``);
* ``record_manual(...)`` -> the audit record of a manual step marked done (optional);
* ``on_event(payload)`` -> every step state change, shaped like ``cockpit.recording.format.step_payload``
  (``started``/``asked``/``confirmed``/``cancelled``/``done``/``failed``/``skipped``), for the recorder and drills.

Use from a screen (``advance``/``confirm``/``mark_done`` may block in the injected callables: call them from a
worker thread)::

    run = RunbookRun.with_gateway(runbook, gateway, env, inputs={...}, facts=store_facts, clock=clock)
    step = run.advance()
    while step is not None:
        if step.state is StepState.NEEDS_CONFIRMATION:   # show step.planned in the modal
            run.confirm(user, typed) if confirmed else run.cancel(user)
        elif step.state is StepState.NEEDS_PERSON:       # manual instruction, or a check it cannot decide
            run.mark_done(user)                         # or run.skip(user, reason)
        elif step.state is StepState.NEEDS_INPUT:        # step.missing names what to ask
            run.provide(target_time="2026-05-20T13:43:00Z")
        elif step.state is StepState.WAITING:            # poll again in a few seconds
            ...
        elif step.state in (StepState.FAILED, StepState.TIMED_OUT, StepState.BLOCKED, StepState.CANCELLED):
            run.retry()  # or run.skip(user, reason), or run.abort(user, reason)
        step = run.advance()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from cockpit.actions.requests import ActionRefused
from cockpit.clock import Clock
from cockpit.runbooks import Runbook, Step, fill, unknown_facts
from cockpit.sources.errors import SourceError


class StepState(str, Enum):
    PENDING = "pending"
    WAITING = "waiting"  # a wait step whose condition does not hold yet
    NEEDS_INPUT = "needs_input"  # an input the step uses has no value yet
    NEEDS_CONFIRMATION = "needs_confirmation"  # an action planned, waiting for the person's yes
    NEEDS_PERSON = "needs_person"  # a manual step, or a check the cockpit cannot decide
    DONE = "done"
    FAILED = "failed"  # a check said stop, or the write failed
    CANCELLED = "cancelled"  # the person said no to the action
    BLOCKED = "blocked"  # the action could not be planned (refused)
    TIMED_OUT = "timed_out"  # a wait step ran past its timeout
    SKIPPED = "skipped"
    OVERRIDDEN = "overridden"  # a safety check passed by the person's explicit override with a reason


FINISHED = (StepState.DONE, StepState.SKIPPED, StepState.OVERRIDDEN)
STUCK = (StepState.FAILED, StepState.CANCELLED, StepState.BLOCKED, StepState.TIMED_OUT)


class RunState(str, Enum):
    RUNNING = "running"  # more to evaluate
    WAITING = "waiting"  # a wait step is polling
    NEEDS_PERSON = "needs_person"  # confirmation, manual step, input, or a decision after a failure
    STOPPED = "stopped"  # a stop check failed: the runbook says do not go on (see ``stop_reason``)
    ABORTED = "aborted"  # the person ended the run
    DONE = "done"


class RunError(Exception):
    """The call does not fit the current step (confirming a step that asks for nothing, ...)."""


@dataclass
class StepRun:
    """One step's progress: state, times, what was planned and what came back."""

    step: Step
    index: int
    state: StepState = StepState.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    detail: str = ""  # the latest explanation in words (why waiting, why failed, the result)
    missing: tuple[str, ...] = ()  # NEEDS_INPUT: which inputs
    planned: Any = None  # PlannedWrite while NEEDS_CONFIRMATION (and after, for the record)
    result: Any = None  # WriteResult after confirm
    by: str = ""  # who confirmed / marked done / skipped
    warned: bool = False  # a warn-only check did not hold
    attempts: int = 0
    waiting_since: datetime | None = None  # a wait step's timeout counts from here (reset by retry)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


@dataclass(frozen=True)
class StepEvent:
    at: datetime
    runbook: str
    step: str
    index: int
    title: str
    type: str
    state: str  # started | asked | confirmed | cancelled | done | failed | skipped
    detail: str = ""
    by: str = ""
    target: str = ""  # an action step's object (the recovery Cluster, the Restore), once it was sent

    def payload(self) -> dict[str, Any]:
        """The ``step`` event payload of ``cockpit.recording.format`` (plus ``by``, and ``target`` for actions)."""
        payload = {"runbook": self.runbook, "step": self.step, "index": self.index, "title": self.title,
                   "type": self.type, "state": self.state, "detail": self.detail, "by": self.by}
        if self.target:
            payload["target"] = self.target
        return payload


Plan = Callable[[str, Mapping[str, Any]], Any]
Execute = Callable[[Any, str, "str | None"], Any]


class RunbookRun:
    """One execution of one runbook."""

    def __init__(
        self,
        runbook: Runbook,
        *,
        inputs: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        facts: Callable[[], Mapping[str, Any]] = dict,
        plan: Plan | None = None,
        execute: Execute | None = None,
        record_manual: Callable[..., Any] | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        context: str = "",
    ) -> None:
        self.runbook = runbook
        self.clock = clock or Clock()
        self.inputs: dict[str, Any] = {item.name: item.default for item in runbook.inputs if item.default is not None}
        self.inputs.update({key: value for key, value in (inputs or {}).items() if value not in (None, "")})
        self._facts = facts
        self._plan = plan
        self._execute = execute
        self._record_manual = record_manual
        self._on_event = on_event
        self.context = context
        self.steps: tuple[StepRun, ...] = tuple(StepRun(step, index) for index, step in enumerate(runbook.steps))
        self.events: list[StepEvent] = []
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.stop_reason = ""
        self.next_runbook = ""
        self.aborted_by = ""

    @classmethod
    def with_gateway(cls, runbook: Runbook, gateway: Any, env: Any, **kwargs: Any) -> "RunbookRun":
        """A run whose actions are built by ``cockpit.actions.registry`` and sent through ``gateway``."""
        from cockpit.actions.registry import build_action

        kwargs.setdefault("clock", gateway.clock)
        kwargs.setdefault("context", getattr(getattr(env, "kube", None), "name", ""))
        run = cls(
            runbook,
            plan=lambda action_id, params: gateway.plan(build_action(action_id, params, env)),
            execute=lambda planned, by, typed, *reason: gateway.execute(planned, by, typed=typed,
                                                                          **({"reason": reason[0]} if reason else {})),
            record_manual=gateway.record_manual,
            **kwargs,
        )
        return run

    # ------------------------------------------------------------------------------------------------ reading

    @property
    def current(self) -> StepRun | None:
        """The first step not finished (None when the runbook is done)."""
        return next((item for item in self.steps if not item.finished), None)

    @property
    def state(self) -> RunState:
        if self.aborted_by:
            return RunState.ABORTED
        current = self.current
        if current is None:
            return RunState.DONE
        if self.stop_reason:
            return RunState.STOPPED
        if current.state is StepState.WAITING:
            return RunState.WAITING
        if current.state is StepState.PENDING:
            return RunState.RUNNING
        return RunState.NEEDS_PERSON

    def timeline(self) -> list[dict[str, Any]]:
        """Each step's start, end and outcome, for the executor screen and the drill report."""
        rows = []
        for item in self.steps:
            rows.append({
                "step": item.step.id, "title": item.step.title, "kind": item.step.kind, "state": item.state.value,
                "started_at": item.started_at.isoformat() if item.started_at else None,
                "finished_at": item.finished_at.isoformat() if item.finished_at else None,
                "seconds": (item.finished_at - item.started_at).total_seconds()
                if item.started_at and item.finished_at else None,
                "by": item.by, "detail": item.detail,
            })
        return rows

    def text(self, value: str) -> str:
        """A runbook text with the run's inputs filled in (an input not known yet reads ‹name?›)."""
        return fill(value, self.inputs, missing="‹{name}?›")

    # ------------------------------------------------------------------------------------------------ driving

    def advance(self) -> StepRun | None:
        """Go as far as possible without the person; return the step that waits (None when all are done)."""
        if self.aborted_by:
            return self.current
        for _ in range(len(self.steps) + 1):
            current = self.current
            if current is None:
                self._finish_run()
                return None
            kind = current.step.kind
            if self.stop_reason or current.state in STUCK or current.state is StepState.NEEDS_CONFIRMATION:
                return current
            if current.state is StepState.NEEDS_PERSON and kind != "check":
                return current  # a manual step; an undecided check is looked at again below
            if current.state is StepState.PENDING:
                self._start(current)
                if self._not_needed(current):
                    continue
            if self._missing_inputs(current):
                return current
            if kind == "check":
                self._check(current)
            elif kind == "wait":
                self._wait(current)
            elif kind == "manual":
                if current.state is not StepState.NEEDS_PERSON:
                    current.state = StepState.NEEDS_PERSON
                    current.detail = self.text(current.step.instruction)
                    self._event(current, "asked", current.detail)
            elif kind == "action":
                self._plan_action(current)
            if not current.finished:
                return current
        return self.current

    def _start(self, item: StepRun) -> None:
        now = self.clock.now()
        if self.started_at is None:
            self.started_at = now
        item.attempts += 1
        item.waiting_since = now
        item.state = StepState.WAITING if item.step.kind == "wait" else StepState.PENDING
        if item.started_at is None:
            item.started_at = now
            self._event(item, "started")

    def _not_needed(self, item: StepRun) -> bool:
        """``only_if`` false: skip the step as not needed (unknown: the step runs, the person sees it)."""
        if item.step.only_if is None:
            return False
        answer, why = item.step.only_if.evaluate(self._facts_now(), self.inputs)
        if answer is not False:
            return False
        item.state, item.by = StepState.SKIPPED, "cockpit"
        item.finished_at = self.clock.now()
        item.detail = f"not needed: {why}"
        self._event(item, "skipped", item.detail)
        return True

    def _facts_now(self) -> Mapping[str, Any]:
        try:
            facts = self._facts()
        except Exception as err:  # noqa: BLE001 - a broken source means "cannot tell", not a crash
            return {"_error": str(err)}
        return facts if isinstance(facts, Mapping) else {}

    def _check(self, item: StepRun) -> None:
        step = item.step
        assert step.condition is not None
        facts = self._facts_now()
        answer, why = step.condition.evaluate(facts, self.inputs)
        notes = getattr(facts, "notes", {})
        said = [notes[name] for name in sorted(step.condition.facts()) if notes.get(name)]
        if said:
            why = f"{why}: {'; '.join(said)}"
        if answer is True:
            self._done(item, why)
        elif answer is None:
            unknown = unknown_facts(step.condition, facts)
            loading = [entry for entry in unknown if entry[1] != "unavailable"]
            if loading and not self._waited_too_long(item):
                # still loading: a wait, never "mark done" (nothing is judged on evidence not read yet)
                item.state = StepState.WAITING
                item.detail = f"{why}; looked at again as it arrives"
                return
            if step.safety:
                item.state = StepState.FAILED
                item.detail = (f"{why}. This is a safety check: it cannot be marked done, only overridden with a "
                               "reason (recorded and audited)")
                self.stop_reason = item.detail
                self._event(item, "failed", item.detail)
                return
            asked_before = item.state is StepState.NEEDS_PERSON
            item.state = StepState.NEEDS_PERSON
            item.detail = f"{why}; check it yourself ({step.condition.describe(self.inputs)}), then mark it done"
            if not asked_before:
                self._event(item, "asked", item.detail)
        elif step.on_fail == "warn":
            item.warned = True
            self._done(item, f"warning: {self.text(step.fail_message) or why}")
        else:
            item.state = StepState.FAILED
            item.detail = self.text(step.fail_message) or why
            self.stop_reason = item.detail
            self.next_runbook = step.next_runbook
            self._event(item, "failed", item.detail)

    def _waited_too_long(self, item: StepRun) -> bool:
        started = item.waiting_since or item.started_at or self.clock.now()
        return (self.clock.now() - started).total_seconds() >= item.step.timeout

    def _wait(self, item: StepRun) -> None:
        step = item.step
        assert step.condition is not None
        answer, why = step.condition.evaluate(self._facts_now(), self.inputs)
        if answer is True:
            self._done(item, why)
            return
        started = item.waiting_since or item.started_at or self.clock.now()
        elapsed = (self.clock.now() - started).total_seconds()
        if elapsed >= step.timeout:
            item.state = StepState.TIMED_OUT
            item.detail = f"still not {step.condition.describe(self.inputs)} after {int(elapsed)}s ({why})"
            self._event(item, "failed", item.detail)
        else:
            item.state = StepState.WAITING
            item.detail = f"waiting for {step.condition.describe(self.inputs)}: {why}"

    def _missing_inputs(self, item: StepRun) -> bool:
        """A step whose texts or parameters use an input without a value waits for it (NEEDS_INPUT)."""
        missing = tuple(sorted(name for name in item.step.needs() if self.inputs.get(name) in (None, "")))
        if not missing:
            return False
        item.state, item.missing = StepState.NEEDS_INPUT, missing
        item.detail = "needs " + ", ".join(
            f"{name} ({self.runbook.input(name).description if self.runbook.input(name) else name})"
            for name in missing)
        return True

    def _plan_action(self, item: StepRun) -> None:
        step = item.step
        if self._plan is None:
            raise RunError("this run has no planner: build it with RunbookRun.with_gateway or pass plan=")
        params = {key: self.text(value) for key, value in step.params.items()}
        try:
            planned = self._plan(step.action, params)
        except ActionRefused as err:
            if err.noop:
                self._done(item, f"nothing to do: {err}")
            else:
                item.state, item.detail = StepState.BLOCKED, str(err)
                self._event(item, "failed", item.detail)
            return
        except SourceError as err:
            item.state, item.detail = StepState.BLOCKED, str(err)
            self._event(item, "failed", item.detail)
            return
        item.planned, item.result = planned, None
        item.state = StepState.NEEDS_CONFIRMATION
        item.detail = getattr(planned, "summary", "") or step.title
        self._event(item, "asked", item.detail)

    def _done(self, item: StepRun, detail: str, by: str = "") -> None:
        item.state = StepState.DONE
        item.finished_at = self.clock.now()
        item.detail = detail
        if by:
            item.by = by
        self._event(item, "done", detail, by)

    def _finish_run(self) -> None:
        if self.finished_at is None:
            self.finished_at = self.clock.now()

    # ------------------------------------------------------------------------------------------------ the person

    def _expect(self, *states: StepState) -> StepRun:
        current = self.current
        if current is None or current.state not in states:
            now = current.state.value if current else "finished"
            raise RunError(f"the current step is {now}, not {' or '.join(s.value for s in states)}")
        return current

    def confirm(self, by: str, typed: str | None = None, reason: str | None = None) -> Any:
        """The person said yes: send the planned action through the injected ``execute``; returns its result.
        ``reason`` is the person's typed reason, which a RISKY/UNSAFE pre-mortem requires (the gateway refuses
        the write without it)."""
        item = self._expect(StepState.NEEDS_CONFIRMATION)
        if not by:
            raise RunError("a confirmation needs the name of who confirmed")
        if self._execute is None:
            raise RunError("this run has no executor: build it with RunbookRun.with_gateway or pass execute=")
        self._event(item, "confirmed", reason or "", by)
        result = (self._execute(item.planned, by, typed, reason) if reason
                  else self._execute(item.planned, by, typed))
        item.result, item.by = result, by
        if getattr(result, "ok", False):
            self._done(item, getattr(result, "message", "done"), by)
        else:
            item.state = StepState.FAILED
            outcome = getattr(getattr(result, "outcome", None), "value", "failed")
            item.detail = f"{outcome}: {getattr(result, 'message', '')}"
            self._event(item, "failed", item.detail, by)
        return result

    def cancel(self, by: str = "") -> None:
        """The person said no (Esc in the modal): nothing is sent; the run waits for retry/skip/abort."""
        item = self._expect(StepState.NEEDS_CONFIRMATION)
        item.state, item.by = StepState.CANCELLED, by
        item.detail = "cancelled: nothing was sent"
        self._event(item, "cancelled", item.detail, by)

    def mark_done(self, by: str, note: str = "") -> None:
        """A manual step done, or a check the cockpit could not decide confirmed by the person."""
        item = self._expect(StepState.NEEDS_PERSON)
        if item.step.safety:
            raise RunError("a safety check cannot be marked done: override it with a reason")
        if not by:
            raise RunError("marking a step done needs the name of who did it")
        if item.step.kind == "manual" and self._record_manual is not None:
            self._record_manual(context=self.context, runbook=self.runbook.id, step=item.step.id,
                                instruction=self.text(item.step.instruction), done_by=by, note=note)
        detail = f"marked done by {by}" + (f": {note}" if note else "")
        if item.step.kind == "check":
            detail = f"checked by {by}" + (f": {note}" if note else "")
        self._done(item, detail, by)

    def skip(self, by: str, reason: str) -> None:
        """Go past the current step on purpose (recorded with who and why); a failed stop-check can be overridden."""
        item = self.current
        if item is None:
            raise RunError("the runbook is finished")
        if not by or not reason:
            raise RunError("skipping a step needs who and why")
        if item.state is StepState.NEEDS_CONFIRMATION:
            self._event(item, "cancelled", "skipped instead of confirmed", by)
        if item.started_at is None:
            item.started_at = self.clock.now()
        overriding = item.step.safety
        item.state, item.by = (StepState.OVERRIDDEN if overriding else StepState.SKIPPED), by
        item.finished_at = self.clock.now()
        item.detail = f"{'overridden' if overriding else 'skipped'} by {by}: {reason}"
        if self.stop_reason:
            self.stop_reason, self.next_runbook = "", ""
        self._event(item, "overridden" if overriding else "skipped", item.detail, by)

    def override(self, by: str, reason: str) -> None:
        """Pass the current step (a failed or undecided safety check) on the person's word, with a reason.
        Shown as ↷ with the reason, never as done."""
        item = self.current
        if item is None:
            raise RunError("the runbook is finished")
        if not item.step.safety:
            raise RunError("only a safety check is overridden; skip this step instead")
        self.skip(by, reason)

    def retry(self) -> None:
        """Run the current step again (re-plan an action, re-evaluate a check, restart a wait's timeout)."""
        item = self.current
        if item is None or item.state not in (*STUCK, StepState.NEEDS_PERSON, StepState.NEEDS_INPUT,
                                              StepState.WAITING):
            raise RunError("nothing to retry")
        item.state, item.planned, item.missing = StepState.PENDING, None, ()
        self.stop_reason, self.next_runbook = "", ""

    def provide(self, **values: Any) -> None:
        """Fill inputs (a PITR target time entered during the run); a step waiting for them is re-planned."""
        unknown = sorted(name for name in values if self.runbook.input(name) is None)
        if unknown:
            raise RunError(f"not inputs of {self.runbook.id}: {', '.join(unknown)}")
        self.inputs.update({key: value for key, value in values.items() if value not in (None, "")})
        item = self.current
        if item is not None and item.state is StepState.NEEDS_INPUT:
            item.state, item.missing = StepState.PENDING, ()

    def restore_step(self, index: int, state: StepState, *, by: str, detail: str, started_at: datetime | None,
                     finished_at: datetime | None, target: str = "") -> None:
        """Put a step back as an earlier session left it (resuming a run from its recording).  An action step that
        was sent keeps what it created, so the facts that follow it (the recovery Cluster's phase) are found."""
        item = self.steps[index]
        item.state, item.by, item.detail = state, by, detail
        item.started_at, item.finished_at = started_at, finished_at
        if item.step.kind == "action" and target:
            from types import SimpleNamespace

            item.planned = SimpleNamespace(target=target, summary=detail)
            item.result = SimpleNamespace(ok=True, message=detail, outcome=SimpleNamespace(value="ok"))
        if self.started_at is None or (started_at is not None and started_at < self.started_at):
            self.started_at = started_at

    def reset_from(self, index: int) -> None:
        """Run the steps from ``index`` again (an input they use was corrected).  Done actions stay in the
        timeline (their events are kept); they will be planned again with the new values."""
        for item in self.steps[index:]:
            if item.state is not StepState.PENDING:
                self._event(item, "started", "reset: an input it uses was changed")
            item.state, item.planned, item.result, item.missing = StepState.PENDING, None, None, ()
            item.finished_at, item.detail, item.by, item.waiting_since = None, "", "", None
        self.stop_reason, self.next_runbook = "", ""
        self.finished_at = None

    def abort(self, by: str, reason: str) -> None:
        """End the run here; unfinished steps stay as they are in the timeline."""
        if not by:
            raise RunError("ending a run needs the name of who ended it")
        self.aborted_by = by
        self.stop_reason = f"ended by {by}: {reason}"
        item = self.current
        if item is not None:
            self._event(item, "skipped", self.stop_reason, by)
        self._finish_run()

    # ------------------------------------------------------------------------------------------------ events

    def _event(self, item: StepRun, state: str, detail: str = "", by: str = "") -> None:
        target = str(getattr(item.planned, "target", "") or "") if item.step.kind == "action" else ""
        event = StepEvent(self.clock.now(), self.runbook.id, item.step.id, item.index, self.text(item.step.title),
                          item.step.kind, state, detail, by, target)
        self.events.append(event)
        if self._on_event is not None:
            try:
                self._on_event(event.payload())
            except Exception:  # noqa: BLE001 - a recorder failure must not stop a rollback
                pass
