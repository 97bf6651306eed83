"""What the cockpit has done in this session, and whether it worked.

* Rollbacks the cockpit sent are not "the deploy": their Argo CD history entries are left out of the evidence, so
  the tree keeps pointing at the bad release, never at the rollback.
* A completed Postgres PITR run is the data layer rolled back: the code rollback's migration pre-flight then passes
  on that fact (not on an override), and the tree moves from "DATA first" to the code leaf.
* After a mitigating write (abort, undo, Argo CD rollback, Helm rollback, config sync, flag flip, undelete, restore)
  the session verifies it: p99 under the SLO for the verification window (and the Rollout not degraded by anything
  but the abort itself) -> MITIGATED; p99 still over it after twice the window -> NOT MITIGATED, and the tree
  escalates to the next layer (flag -> code -> config).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# action id -> the layer it mitigates
MITIGATING: dict[str, str] = {
    "rollouts.abort": "code",
    "rollouts.undo": "code",
    "argocd.rollback": "code",
    "helm.rollback": "code",
    "argocd.sync": "config",
    "flags.set": "flag",
    "s3.undelete": "data",
    "velero.restore": "data",
}
# a mitigation that did not work: the answer that routes the tree to the next layer
ESCALATE: dict[str, dict[str, str]] = {
    "flag": {"flag_flip": "no"},
    "code": {"flag_flip": "no", "what_changed": "no"},
}


@dataclass(frozen=True)
class Done:
    at: datetime
    action: str  # action id (argocd.rollback, ...)
    layer: str
    target: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Mitigation:
    action: str
    layer: str
    since: datetime  # when the write was answered
    state: str  # verifying | mitigated | not-mitigated
    under_since: datetime | None = None  # p99 under the SLO continuously since
    detail: str = ""


class Outcomes:
    def __init__(self, session: Any) -> None:
        self.session = session
        self._lock = threading.Lock()
        self.done: dict[str, list[Done]] = {}
        self.mitigation: dict[str, Mitigation] = {}
        self.failed_layers: dict[str, set[str]] = {}
        self.data_rollback: dict[str, tuple[datetime, datetime, str]] = {}  # ctx -> (target time, when, cluster)

    # -- what was written --------------------------------------------------------------------------------------

    def written(self, planned: Any, result: Any) -> None:
        if not getattr(result, "ok", False):
            return
        action = planned.action
        context = planned.context
        now = self.session.clock.now()
        detail: dict[str, Any] = {}
        body = planned.body if isinstance(planned.body, dict) else {}
        if action.name == "argocd.rollback":
            sync = ((body.get("operation") or {}).get("sync") or {}) if isinstance(body.get("operation"), dict) else {}
            detail["revision"] = str(sync.get("revision") or "")
            detail["revisions"] = tuple(str(r) for r in sync.get("revisions") or ())
        if action.name == "cnpg.recover":
            recovery = (((body.get("spec") or {}).get("bootstrap") or {}).get("recovery") or {})
            detail["target_time"] = str((recovery.get("recoveryTarget") or {}).get("targetTime") or "")
        done = Done(now, action.name, MITIGATING.get(action.name, ""), action.target, detail)
        with self._lock:
            self.done.setdefault(context, []).append(done)
        from cockpit.recording.format import marker_payload

        self.session.record_event("marker", marker_payload("action-done", at=now, action=action.name,
                                                            target=action.target, detail=detail,
                                                            text=f"{action.verb} {action.kind} {action.target}"),
                                  context=context)
        if action.name == "cnpg.recover":
            self._rpo_markers(context, detail.get("target_time", ""), action.target)
        if action.name in MITIGATING:
            self.start_verifying(context, action.name, MITIGATING[action.name], now)
        self.session.evidence_soon(context)
        self.session.refresh_decision(context)

    def _rpo_markers(self, context: str, target_text: str, cluster: str) -> None:
        """The two points the drill report measures the RPO between: the time the data was restored to, and the
        bad mutation (the bad release's deploy, which ran its migration)."""
        from cockpit.recording.format import marker_payload
        from cockpit.timefmt import parse_time

        target = parse_time(target_text)
        if target is not None:
            self.session.record_event("marker", marker_payload("recovery-target", at=target, tool="cnpg",
                                                               text=f"PITR of {cluster}"), context=context)
        bad = _bad_deploy_time(self.decision_app(context))
        if bad is not None:
            self.session.record_event("marker", marker_payload(
                "bad-mutation", at=bad, text="the bad release's deploy (its migration ran then)"), context=context)

    def run_finished(self, context: str, run: Any) -> None:
        """A runbook ended DONE: a PITR run is the data layer rolled back."""
        from cockpit.runbooks.executor import RunState

        if run.state is not RunState.DONE:
            return
        if run.runbook.id == "data-rollback-postgres-pitr":
            from cockpit.timefmt import parse_time

            target = parse_time(run.inputs.get("target_time"))
            if target is not None:
                with self._lock:
                    self.data_rollback[context] = (target, self.session.clock.now(),
                                                   str(run.inputs.get("cluster") or ""))
                from cockpit.recording.format import marker_payload

                self.session.record_event("marker", marker_payload(
                    "data-rolled-back", at=self.session.clock.now(), runbook=run.runbook.id,
                    target=target.isoformat(), cluster=str(run.inputs.get("cluster") or ""),
                    text=f"data layer rolled back to {target.isoformat()}"), context=context)
        self.session.evidence_soon(context)
        self.session.refresh_decision(context)

    def restore(self, context: str, markers: list[Any]) -> None:
        """What an earlier session of this incident did (resuming from its recording): its own rollbacks and a
        completed data rollback keep steering the tree."""
        from cockpit.timefmt import parse_time

        for event in markers:
            payload = event.payload if isinstance(event.payload, dict) else {}
            name = payload.get("name")
            if name == "action-done" and payload.get("action") == "argocd.rollback":
                detail = payload.get("detail") if isinstance(payload.get("detail"), dict) else {}
                done = Done(event.at, "argocd.rollback", "code", str(payload.get("target", "")),
                            {"revision": str(detail.get("revision") or ""),
                             "revisions": tuple(str(r) for r in detail.get("revisions") or ())})
                with self._lock:
                    self.done.setdefault(context, []).append(done)
            elif name == "data-rolled-back":
                target = parse_time(payload.get("target"))
                if target is not None:
                    with self._lock:
                        self.data_rollback[context] = (target, event.at, str(payload.get("cluster") or ""))

    def own_rollbacks(self, context: str) -> list[Done]:
        with self._lock:
            return [d for d in self.done.get(context, ()) if d.action == "argocd.rollback"]

    # -- mitigation --------------------------------------------------------------------------------------------

    def start_verifying(self, context: str, action: str, layer: str, at: datetime) -> None:
        with self._lock:
            self.mitigation[context] = Mitigation(action, layer, at, "verifying",
                                                  detail=f"verifying {action}: waiting for p99 under the SLO")
        self.latency_changed(context)

    def latency_changed(self, context: str) -> None:
        """Called on every p99 sample: move the verification along."""
        with self._lock:
            current = self.mitigation.get(context)
        if current is None or current.state != "verifying":
            return
        session = self.session
        latency = session.current(context, "latency")
        now = session.clock.now()
        window = session.verification_window()
        value = getattr(latency, "value", None)
        slo = getattr(latency, "slo_seconds", None)
        under_since = current.under_since
        if value is not None and slo is not None and value <= slo:
            under_since = under_since or now
        elif value is not None:
            under_since = None
        state, detail = "verifying", ""
        if under_since is not None and now - under_since >= window:
            problem = self._rollout_problem(context, current)
            if problem:
                detail = f"p99 under the SLO for {_minutes(now - under_since)}, but {problem}"
            else:
                state = "mitigated"
                detail = (f"{current.action} worked: p99 {value * 1000:.0f} ms under the {slo * 1000:.0f} ms SLO "
                          f"for {_minutes(now - under_since)}")
        elif under_since is None and now - current.since >= 2 * window:
            state = "not-mitigated"
            shown = f"{value * 1000:.0f} ms" if value is not None else "unknown"
            detail = (f"{current.action} did not bring p99 under the SLO in {_minutes(now - current.since)} "
                      f"(now {shown}): escalate to the next layer")
        else:
            shown = f"{value * 1000:.0f} ms" if value is not None else "no data yet"
            if under_since is not None:
                detail = (f"verifying {current.action}: p99 {shown} under the SLO for "
                          f"{_minutes(now - under_since)} of {_minutes(window)}")
            else:
                detail = f"verifying {current.action}: p99 {shown}, waiting for it to fall under the SLO"
        updated = dataclasses.replace(current, state=state, under_since=under_since, detail=detail)
        with self._lock:
            self.mitigation[context] = updated
            if state == "not-mitigated":
                self.failed_layers.setdefault(context, set()).add(current.layer)
        if updated.state != current.state or updated.detail != current.detail:
            if updated.state != current.state:
                from cockpit.recording.format import marker_payload

                session.record_event("marker", marker_payload(updated.state, at=now, text=detail), context=context)
                session.notice(detail, severity="information" if state == "mitigated" else "warning", timeout=10,
                               context=context)
            from cockpit.session.events import StatusChanged

            session.emit(StatusChanged(context))
            session.refresh_decision(context)

    def _rollout_problem(self, context: str, mitigation: Mitigation) -> str:
        """Beyond p99: the Rollout must not be degraded (an abort's own Degraded excepted), analysis not failing."""
        rollout = self.session.current(context, "rollout")
        if rollout is not None and rollout.phase == "Degraded" and not rollout.aborted:
            return f"Rollout {rollout.name} is Degraded ({rollout.message or 'no message'})"
        runs = self.session.current(context, "analysis")
        for run in runs or ():
            if getattr(run, "phase", "") in ("Running", "Pending") and run.failing_metric is not None \
                    and not rollout_aborted(rollout):
                return f"AnalysisRun {run.name} has a failing metric"
        return ""

    def status(self, context: str) -> Mitigation | None:
        with self._lock:
            return self.mitigation.get(context)

    def escalation_answers(self, context: str) -> dict[str, str]:
        with self._lock:
            failed = set(self.failed_layers.get(context, ()))
        answers: dict[str, str] = {}
        for layer in ("flag", "code"):
            if layer in failed:
                answers.update(ESCALATE[layer])
        return answers

    # -- what the decision sees --------------------------------------------------------------------------------

    def decision_app(self, context: str) -> Any:
        """The Argo CD app without the history entries of rollbacks the cockpit itself made."""
        app = self.session.current(context, "argocd")
        own = self.own_rollbacks(context)
        if app is None or not own or not getattr(app, "history", None):
            return app
        keep = tuple(entry for entry in app.history if not _is_own(entry, own))
        return dataclasses.replace(app, history=keep) if len(keep) != len(app.history) else app

    def decision_input(self, context: str, decision: Any) -> Any:
        from cockpit.decide import SessionDone

        own = self.own_rollbacks(context)
        with self._lock:
            mitigation = self.mitigation.get(context)
            data = self.data_rollback.get(context)
        app = self.session.current(context, "argocd")
        notes = []
        for entry in getattr(app, "history", ()) or ():
            if _is_own(entry, own):
                notes.append(f"history #{entry.id} is the cockpit's own rollback (revision {entry.short_revision}), "
                             "not a deploy")
        done = SessionDone(
            own_rollback_notes=tuple(notes),
            data_rolled_back_to=data[0] if data else None,
            data_rollback_detail=(f"the data layer was rolled back to {data[0]:%Y-%m-%d %H:%M:%S}Z by the PITR "
                                  f"run ({data[2] or 'cluster'}) at {data[1]:%H:%M:%S}Z") if data else "",
            mitigation=mitigation.state if mitigation else "",
            mitigation_detail=mitigation.detail if mitigation else "",
        )
        return dataclasses.replace(decision, done=done, app=self.decision_app(context) or decision.app)

    def data_rolled_back_before(self, context: str, when: datetime | None) -> str:
        """Words saying the data layer was rolled back to before ``when`` (the bad deploy), or ""."""
        with self._lock:
            data = self.data_rollback.get(context)
        if data is None or when is None or data[0] > when:
            return ""
        return (f"data layer rolled back to {data[0]:%Y-%m-%d %H:%M:%S}Z, before the deploy at "
                f"{when:%H:%M:%S}Z (PITR run of {data[2] or 'the cluster'})")

    # -- before a write ----------------------------------------------------------------------------------------

    def warnings(self, context: str, planned: Any) -> tuple[str, ...]:
        session = self.session
        out: list[str] = []
        name = planned.action.name
        if name in ("rollouts.abort", "rollouts.undo", "argocd.rollback", "helm.rollback"):
            gathered = session.gathered(context)
            verdict = gathered.decision.migrations if gathered not in (None, True) else None
            if verdict is not None and getattr(verdict.verdict, "value", "") == "data_first":
                bad_at = _bad_deploy_time(self.decision_app(context))
                passed = self.data_rolled_back_before(context, bad_at)
                if passed:
                    out.append(f"migration pre-flight: {verdict.summary} — passed: {passed}")
                else:
                    out.append(f"migration pre-flight: {verdict.summary}")
            elif verdict is None and session.settings.gitops_repo:
                out.append("migration pre-flight: not known yet (the evidence is still being gathered)")
        if name == "rollouts.promote":
            for run in session.current(context, "analysis") or ():
                metric = run.failing_metric or next((m for m in run.metrics if m.failed or m.error), None)
                if metric is not None or run.phase in ("Failed", "Error", "Inconclusive"):
                    what = (f"metric {metric.name} {metric.phase or 'running'} ({metric.failed} failed, "
                            f"{metric.error} errors)") if metric is not None else run.phase
                    out.append(f"analysis is not passing: AnalysisRun {run.name} {what} — promoting ships the "
                               "canary anyway")
            latency = session.current(context, "latency")
            if latency is not None and latency.over_slo:
                out.append(f"p99 is {latency.value * 1000:.0f} ms, over the {latency.slo_seconds * 1000:.0f} ms SLO")
        return tuple(out)


def rollout_aborted(rollout: Any) -> bool:
    return bool(getattr(rollout, "aborted", False))


def _is_own(entry: Any, own: list[Done]) -> bool:
    revisions = set(getattr(entry, "revisions", ()) or ()) | ({entry.revision} if entry.revision else set())
    when = entry.deployed_at or entry.deploy_started_at
    for done in own:
        wanted = {done.detail.get("revision") or ""} | set(done.detail.get("revisions") or ())
        wanted.discard("")
        if wanted & revisions and (when is None or when >= done.at - timedelta(seconds=5)):
            return True
    return False


def _bad_deploy_time(app: Any) -> datetime | None:
    history = getattr(app, "history", None)
    if not history:
        return None
    newest = history[0]
    return newest.deploy_started_at or newest.deployed_at


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    return f"{seconds // 60}m"
