"""Runbook runs inside a session: created with the live context and the inputs the cockpit already knows, driven
by the live facts, every person's operation recorded (and the ones that pass or end something audited).

The executor (``cockpit.runbooks.executor``) is the state machine; this module gives it the session's facts, plans
its actions against the context's client *when the step comes* (never with a client captured before the context
connected), fills inputs as they become known, validates what the person types, and advances waiting runs when
their facts change.  Blocking methods (marked) are called from a worker thread.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from typing import Any

from cockpit.session.events import RunChanged

PITR_MARGIN = timedelta(minutes=2)  # the default PITR target: this long before the bad deploy started
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class Runs:
    def __init__(self, session: Any) -> None:
        self.session = session
        self._locks: dict[int, threading.RLock] = {}
        self._given: dict[int, set[str]] = {}  # run id -> inputs the person typed (never refilled)
        self._reported: set[int] = set()
        self._inputs_recorded: dict[int, dict[str, str]] = {}
        self._guard = threading.Lock()

    # ------------------------------------------------------------------------------------------------ runs

    def open(self, context: str, runbook_id: str) -> Any:
        """The run of ``runbook_id`` in ``context``: the one in progress, else a new one.  Reads a runbook file."""
        from cockpit.recording.format import marker_payload
        from cockpit.runbooks import get
        from cockpit.runbooks.executor import RunbookRun, RunState

        session = self.session
        key = (context, runbook_id)
        with self._guard:
            run = session.runs.get(key)
            if run is not None and run.state not in (RunState.DONE, RunState.ABORTED):
                return run
            book = get(runbook_id)
            run = RunbookRun(
                book,
                inputs=self.known_inputs(context, book),
                clock=session.clock,
                plan=lambda action_id, params: self._plan(context, action_id, params),
                execute=lambda planned, by, typed, reason=None: session.execute(planned, typed, reason),
                record_manual=session.gateway.record_manual if session.live else None,
                on_event=lambda payload: self._event(context, runbook_id, payload),
                context=context,
            )
            run._facts = lambda: session.facts.collect(context, run)
            session.runs[key] = run
            self._locks[id(run)] = threading.RLock()
            self._given[id(run)] = set()
        session.record_event("marker", marker_payload("runbook-chosen", runbook=runbook_id,
                                                      inputs={k: str(v) for k, v in run.inputs.items()}),
                             context=context)
        evaluation = session.evaluation(context)
        if evaluation is not None:
            session._record_decision(context, evaluation, session.contexts[context].problems, chosen=True)
        self.soon(context, delay=0.0)
        return run

    def get(self, context: str, runbook_id: str) -> Any:
        return self.session.runs.get((context, runbook_id))

    def active(self) -> list[Any]:
        if not self.session.runs:  # none yet (the first frame): the executor's import can wait
            return []
        from cockpit.runbooks.executor import RunState

        return [run for run in self.session.runs.values() if run.state not in (RunState.DONE, RunState.ABORTED)]

    def _plan(self, context: str, action_id: str, params: dict[str, Any]) -> Any:
        from cockpit.actions.registry import build_action

        session = self.session
        planned = session.plan(context, lambda env: build_action(action_id, params, env))
        return session.assess(planned)  # the pre-mortem of a rollback write: the modal shows it, the audit keeps it

    def _event(self, context: str, runbook_id: str, payload: dict[str, Any]) -> None:
        session = self.session
        session.record_event("step", payload, context=context)
        state = payload.get("state")
        if state in ("skipped", "overridden") and payload.get("by") and payload.get("by") != "cockpit":
            session.audit_note(str(state), context, target=str(payload.get("step", "")),
                               detail=str(payload.get("detail", "")), runbook=runbook_id)
        session.emit(RunChanged(context, runbook_id))

    def restore(self, run: Any, inputs: dict[str, str]) -> None:
        """Inputs of a run resumed from a recording: kept as they were (never refilled by the cockpit)."""
        with self._lock(run):
            run.inputs.update({k: v for k, v in inputs.items() if v not in (None, "")})
            self._given.setdefault(id(run), set()).update(inputs)

    def _lock(self, run: Any) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(id(run), threading.RLock())

    # ------------------------------------------------------------------------------------------------ driving

    def soon(self, context: str, *, delay: float = 0.2) -> None:
        """Advance the runs of ``context`` that wait on facts, shortly (coalesced)."""
        from cockpit.runbooks.executor import RunState

        for (ctx, runbook_id), run in list(self.session.runs.items()):
            if ctx != context or run.state in (RunState.DONE, RunState.ABORTED):
                continue
            self.session.scheduler.later(f"run:{ctx}:{runbook_id}", delay, lambda r=run: self.advance(r))

    def advance(self, run: Any) -> None:
        """Go as far as the run can without the person.  Blocking."""
        from cockpit.runbooks.executor import RunState

        session = self.session
        with self._lock(run):
            if run.state not in (RunState.DONE, RunState.ABORTED):
                self._fill(run)
                self._record_inputs(run)
            run.advance()  # (a finished run only records its end time)
            state = run.state
        session.emit(RunChanged(run.context, run.runbook.id))
        waiting_check = state is RunState.NEEDS_PERSON and run.current is not None \
            and run.current.state.value == "waiting"
        if state is RunState.WAITING or waiting_check:
            session.scheduler.later(f"run:{run.context}:{run.runbook.id}",
                                    _poll_seconds(session), lambda: self.advance(run))
        self._maybe_finished(run)

    def _record_inputs(self, run: Any) -> None:
        """The run's inputs into the recording whenever they change (a resumed run starts from them)."""
        from cockpit.recording.format import marker_payload

        now = {key: str(value) for key, value in run.inputs.items() if value not in (None, "")}
        if self._inputs_recorded.get(id(run)) == now:
            return
        self._inputs_recorded[id(run)] = now
        shown = ", ".join(f"{key}={value}" for key, value in now.items())
        self.session.record_event("marker", marker_payload("run-inputs", runbook=run.runbook.id, inputs=now,
                                                           text=shown[:300]), context=run.context)

    def _fill(self, run: Any) -> None:
        """Inputs the cockpit learned since the run started, for those the person has not typed and no started
        step has used yet."""
        given = self._given.get(id(run), set())
        used: set[str] = set()
        for item in run.steps:
            if item.started_at is not None and item.state.value not in ("pending", "needs_input"):
                used |= item.step.needs()
        known = self.known_inputs(run.context, run.runbook)
        for name, value in known.items():
            if name in given or name in used:
                continue
            run.inputs[name] = value  # a better-informed value (a pane loaded since) until a step uses it

    # ------------------------------------------------------------------------------------------------ the person

    def confirm(self, run: Any, typed: str | None, reason: str | None = None) -> Any:
        """Send the planned action the person confirmed (``reason``: theirs, required by a RISKY/UNSAFE
        pre-mortem).  Blocking; returns the WriteResult."""
        with self._lock(run):
            result = run.confirm(self.session.person, typed, reason)
        self._after_person(run)
        return result

    def cancel(self, run: Any) -> None:
        with self._lock(run):
            run.cancel(self.session.person)
        self._after_person(run)

    def mark_done(self, run: Any, note: str = "") -> None:
        with self._lock(run):
            run.mark_done(self.session.person, note)
        self._after_person(run)

    def skip(self, run: Any, reason: str) -> None:
        """Skip the current step (a safety check: override it) with a reason; recorded and audited."""
        with self._lock(run):
            run.skip(self.session.person, reason)
        self._after_person(run)

    def retry(self, run: Any) -> None:
        with self._lock(run):
            run.retry()
        self._after_person(run)

    def end(self, run: Any, reason: str) -> None:
        session = self.session
        with self._lock(run):
            run.abort(session.person, reason)
        session.audit_note("run-ended", run.context, target=run.runbook.id, detail=reason, runbook=run.runbook.id)
        session.emit(RunChanged(run.context, run.runbook.id))
        self._maybe_finished(run)

    def provide(self, run: Any, values: dict[str, str]) -> dict[str, str]:
        """Set inputs the person typed (asked for, or corrected mid-run).  Returns {name: error} for the values
        refused (nothing is set then).  Steps from the first that uses a changed input run again."""
        checked: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, text in values.items():
            value, error = self.validate_input(run, name, text)
            if error:
                errors[name] = error
            else:
                checked[name] = value
        if errors:
            return errors
        session = self.session
        with self._lock(run):
            changed = {name for name, value in checked.items() if str(run.inputs.get(name, "")) != str(value)}
            self._given.setdefault(id(run), set()).update(checked)
            first = next((item.index for item in run.steps if item.step.needs() & changed
                          and item.state.value != "pending"), None)
            current = run.current
            run.provide(**checked)
            if first is not None and current is not None and first <= current.index:
                run.reset_from(first)
        for name in changed:
            session.audit_note("input", run.context, target=name, detail=f"{name} = {checked[name]}",
                               runbook=run.runbook.id)
        self._after_person(run)
        return {}

    def _after_person(self, run: Any) -> None:
        self.session.emit(RunChanged(run.context, run.runbook.id))
        self.advance(run)

    # ------------------------------------------------------------------------------------------------ inputs

    def known_inputs(self, context: str, book: Any) -> dict[str, Any]:
        """What the cockpit already knows for a runbook's inputs (the person is asked for the rest)."""
        session = self.session
        settings = session.settings
        target = session.target(context)
        app = session.outcomes.decision_app(context)  # the cockpit's own rollbacks are not "the deploy"
        rollout = session.current(context, "rollout")
        cnpg = session.current(context, "cnpg")
        velero = session.current(context, "velero")
        known: dict[str, Any] = {
            "namespace": target.namespace if target else settings.namespace,
            "argocd_namespace": settings.argocd_namespace,
            "app": settings.app or (app.name if app is not None else None),
            "rollout": settings.rollout or (rollout.name if rollout is not None else None),
            "velero_namespace": settings.velero_namespace,
            "bucket": settings.s3_bucket,
            "key": settings.s3_prefix or None,
            # the configured S3 location is a prefix (a folder of objects), not one key
            "prefix": "true" if settings.s3_prefix and settings.s3_prefix.endswith("/") else None,
            "flag": settings.flag_key,
            "release": getattr(settings, "helm_release", None),
        }
        if app is not None and app.history:
            newest = app.history[0]
            known["bad_commit"] = newest.revision or None
            if len(app.history) >= 2:
                known["history_id"] = str(app.history[1].id)  # `argocd app rollback` default: the entry before
            started = newest.deploy_started_at or newest.deployed_at
            if started is not None and book.id == "data-rollback-postgres-pitr":
                known["target_time"] = f"{started - PITR_MARGIN:%Y-%m-%dT%H:%M:%SZ}"
        current = getattr(cnpg, "current", None)
        if book.id == "data-rollback-postgres-pitr":
            known["namespace"] = settings.cnpg_namespace or (target.namespace if target else settings.namespace)
            known["cluster"] = settings.cnpg_cluster
        if current is not None:
            known["cluster"] = current.name
            if book.id == "data-rollback-postgres-pitr":
                known["namespace"] = current.namespace
        if book.id == "data-rollback-velero":
            tenant = settings.tenant_namespace or (app.dest_namespace if app is not None else None)
            if velero is not None:
                usable = [b for b in velero.backups if b.phase == "Completed"
                          and (not tenant or not b.included_namespaces or tenant in b.included_namespaces)]
                if usable:
                    known["backup"] = usable[0].name
            if tenant:
                known["namespace"] = tenant
        names = {item.name for item in book.inputs}
        return {key: value for key, value in known.items() if key in names and value not in (None, "")}

    def validate_input(self, run: Any, name: str, text: Any) -> tuple[Any, str]:
        """(value to use, "") or (None, why it is refused), by the input's declared type."""
        from cockpit.textsafe import clean
        from cockpit.timefmt import parse_when

        spec = run.runbook.input(name)
        if spec is None:
            return None, f"{run.runbook.id} has no input {name}"
        value = str(text).strip()
        if not value:
            return None, "a value is needed"
        if len(value) > 512 or clean(value, limit=600) != value:
            return None, "not a value the cockpit can use (too long, or control characters)"
        session = self.session
        now = session.clock.now()
        kind = spec.type
        if kind == "time":
            when = parse_when(value, now)
            if when is None:
                return None, "not a time (2026-05-20T13:43:00Z, 2026-05-20 13:43, 13:43 or -15m, UTC)"
            if when > now + timedelta(seconds=5):
                return None, f"{when:%Y-%m-%d %H:%M:%S}Z is in the future"
            return f"{when:%Y-%m-%dT%H:%M:%SZ}", ""
        if kind == "history_id":
            if not value.isdigit():
                return None, "a history id is a number (see pane 1)"
            app = session.current(run.context, "argocd")
            if app is not None and app.history and int(value) not in {entry.id for entry in app.history}:
                ids = ", ".join(str(entry.id) for entry in app.history[:10])
                return None, f"no history entry {value} in {app.name} (ids: {ids})"
            return value, ""
        if kind == "commit":
            if not _COMMIT.match(value):
                return None, "a commit is 7 to 64 hexadecimal characters"
            return value.lower(), ""
        if kind == "backup":
            velero = session.current(run.context, "velero")
            if velero is not None and velero.backups:
                backup = next((b for b in velero.backups if b.name == value), None)
                if backup is None:
                    return None, f"no Backup {value} in the Velero pane"
            return value, ""
        if kind in ("name", "cluster", "namespace", "release"):
            if not _NAME.match(value):
                return None, "a Kubernetes name: lower case letters, digits, '-' and '.'"
            return value, ""
        if kind == "revision":
            if not value.isdigit():
                return None, "a revision is a number"
            return value, ""
        return value, ""

    # ------------------------------------------------------------------------------------------------ the end

    def _maybe_finished(self, run: Any) -> None:
        from cockpit.runbooks.executor import RunState

        if run.state not in (RunState.DONE, RunState.ABORTED):
            return
        with self._guard:
            if id(run) in self._reported:
                return
            self._reported.add(id(run))
        session = self.session
        session.outcomes.run_finished(run.context, run)
        if session.live:
            session.scheduler.submit(f"after-run:{run.runbook.id}", lambda: self._write_after(run))

    def _write_after(self, run: Any) -> None:
        """A rollback is a debt: write the postmortem stub; a drill also writes its report (and a marker)."""
        from cockpit.recording.format import marker_payload
        from cockpit.runbooks.executor import StepState

        session = self.session
        if session.recorder is None:
            session.notice("runbook ended. Not recording, so no postmortem stub or drill report was written.",
                           timeout=8)
            return
        overridden = tuple(f"step '{run.text(item.step.title)}' {item.detail}" for item in run.steps
                           if item.state in (StepState.SKIPPED, StepState.OVERRIDDEN) and item.by != "cockpit")
        if session.drill:
            session.record_event("marker", marker_payload("drill-end", runbook=run.runbook.id), context=run.context)
        session.recorder.flush()
        try:
            lines = write_after_run(session, run, overridden)
        except Exception as err:  # noqa: BLE001 - say it, keep running
            session.notice(f"could not write the postmortem/drill report: {type(err).__name__}: {err}",
                           severity="error", timeout=10)
            return
        for line in lines:
            session.notice(line, timeout=12)
        if session.drill:  # this drill is now a sample of its runbook's forecast
            session.scheduler.later("forecasts", 0.5, session.refresh_forecasts)


def write_after_run(session: Any, run: Any, overrides: tuple[str, ...] = ()) -> list[str]:
    """The postmortem stub next to the recording (a rollback is a debt); for a drill, its report.

    The drill's verdict says what happened: FAILED when the run was ended or nothing was mitigated, WORKED WITH
    CHANGES when the person had to skip or override a step (the runbook did not fit as written), else WORKED."""
    from cockpit import drill
    from cockpit.recording.player import Player
    from cockpit.runbooks.executor import RunState
    from cockpit.safefile import write_postmortem_stub

    lines = []
    path = session.recorder.path
    with Player(path) as player:
        stub = drill.postmortem_stub(player)
        stub_path = write_postmortem_stub(path.with_suffix(".postmortem.md"), stub)
        lines.append(f"postmortem / forward-fix stub: {stub_path}")
        if session.drill:
            result = drill.analyse_recording(player, slo=session.settings.slo)
            if run.state is RunState.ABORTED or result.mitigated_at is None:
                verdict = drill.Verdict.FAILED
            elif overrides:  # a step the person had to skip: the runbook did not fit the situation as written
                verdict = drill.Verdict.WORKED_WITH_CHANGES
            else:
                verdict = drill.Verdict.WORKED
            updates = [f"review: {text}" for text in overrides]
            if run.state is RunState.ABORTED:
                updates.append(f"the run was ended: {run.stop_reason}")
            read_only = session.why_read_only(run.context) is not None
            report = drill.write_report(result, session.settings.reports_dir(), verdict=verdict,
                                        notes="; ".join(result.notes), updates=updates, recording=path,
                                        commit=bool(session.settings.drill_dir), read_only=read_only)
            lines.append(f"drill report: {report.path} ({report.message})")
    session.refresh_staleness()
    return lines


def _poll_seconds(session: Any) -> float:
    from cockpit.session.core import RUN_POLL_SECONDS

    return float(getattr(session.settings, "run_poll_seconds", RUN_POLL_SECONDS) or RUN_POLL_SECONDS)


def _now(session: Any) -> datetime:
    return session.clock.now()
