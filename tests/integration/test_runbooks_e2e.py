"""Every runbook carried to its end, headless, through the session core, against the demo platform in the scenario
where that runbook is the right answer: real HTTP servers (the Kubernetes API emulator, the Prometheus API, the
flag service, moto's S3), real git.  The on-call here only does what a person does: confirms each action (typing
the confirm word), marks manual steps done.  No step is skipped and no safety check is overridden; every check and
wait resolves from a live read by the session.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import build_settings
from cockpit.demo.platform import DEMO_CONTEXT, DemoPlatform, Timing, demo_environment, demo_settings
from cockpit.models import PANES, FeedState
from cockpit.runbooks.executor import RunState, StepState
from cockpit.session import Session, connect, open_session, start_recording

pytestmark = pytest.mark.slow


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.03)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Oncall:
    """A session on a demo scenario, and a person who confirms and marks done -- nothing else."""

    def __init__(self, scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> None:
        self.platform = DemoPlatform(scenario, workdir=tmp_path / "demo", timing=Timing.fast()).start()
        base = build_settings({"prometheus_interval": 0.2, "verify_minutes": 0.02,
                               "drill_dir": str(tmp_path / "drills"), **overrides})
        self.settings = demo_settings(base, self.platform)
        for name, value in demo_environment(self.platform, self.settings).items():
            monkeypatch.setenv(name, value)
        self.audit = tmp_path / "audit.jsonl"
        self.reports = tmp_path / "drills"
        targets = connect(self.settings)
        self.sink, _ = start_recording(self.settings, targets, path=str(tmp_path / "session.cockpit"))
        self.session: Session = open_session(self.settings, targets, audit_path=str(self.audit), recorder=self.sink)
        self.context = DEMO_CONTEXT
        self.session.start()

    def close(self) -> None:
        self.session.stop()
        self.sink.close()
        self.platform.stop()

    def drill_verdict(self, timeout: float = 20.0) -> str:
        """The verdict line of the drill report the session wrote when the run ended."""
        report = wait_for("the drill report", lambda: next(iter(self.reports.glob("dr-drill-*.md")), None), timeout)
        text = report.read_text()
        return next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("verdict: "))

    # -- reading what the session knows -------------------------------------------------------------------

    def settled(self) -> "Oncall":
        session = self.session

        def ready() -> bool:
            entries = session.store.entries(self.context)
            loading = [p for p in PANES if entries[p].state is FeedState.LOADING]
            gathered = session.gathered(self.context)
            return not loading and gathered is not None and not session.evidence_pending(self.context)

        wait_for("the panes and the decision evidence", ready)
        return self

    def recommended(self) -> str:
        evaluation = self.session.refresh_decision(self.context)
        leaf = evaluation.leaf
        return leaf.runbook if leaf is not None else f"(no recommendation: {evaluation.ask})"

    # -- the person ---------------------------------------------------------------------------------------

    def run(self, runbook: str, timeout: float = 60.0, *, drill: bool = True) -> Any:
        control = self.session.run_control
        if drill and not self.session.drill:
            assert self.session.start_drill(runbook) is None
        run = control.open(self.context, runbook)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, current = run.state, run.current
            if state is RunState.DONE:
                break
            if current is None:
                time.sleep(0.02)
                continue
            if state in (RunState.STOPPED, RunState.ABORTED):
                raise AssertionError(f"{runbook} stopped at {current.step.id}: {current.detail or run.stop_reason}")
            if current.state is StepState.NEEDS_CONFIRMATION:
                result = control.confirm(run, current.planned.confirm_word)
                assert result.ok, f"{runbook} {current.step.id}: {result.message}"
            elif current.state is StepState.NEEDS_PERSON:
                assert current.step.kind == "manual", \
                    f"{runbook} {current.step.id} asks the person to judge a check: {current.detail}"
                control.mark_done(run, "done (test)")
            elif current.state in (StepState.WAITING, StepState.PENDING):
                time.sleep(0.03)
            else:
                raise AssertionError(f"{runbook} {current.step.id} is {current.state.value}: {current.detail}")
        else:
            at = run.current
            raise AssertionError(f"{runbook} did not finish; at {at and at.step.id}: {at and at.detail}")
        passed = [(i.step.id, i.state.value) for i in run.steps if i.state in (StepState.SKIPPED, StepState.OVERRIDDEN)
                  and i.by != "cockpit"]
        assert passed == [], f"{runbook}: steps passed by hand: {passed}"
        return run

    def audit_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()] if self.audit.exists() else []


@pytest.fixture
def oncall(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Oncall]:
    person = Oncall(request.param, tmp_path, monkeypatch)
    try:
        yield person.settled()
        assert person.platform.controller_errors == []
    finally:
        person.close()


def scenario(name: str) -> Any:
    return pytest.mark.parametrize("oncall", [name], indirect=True)


def sent(oncall: Oncall) -> list[str]:
    return [f"{r.get('action')} {r.get('target')}" for r in oncall.audit_records() if r.get("event") == "after"
            and r.get("outcome") == "ok"]


@scenario("rollouts-abort")
def test_rollouts_abort(oncall: Oncall) -> None:
    assert oncall.recommended() == "code-rollback-rollouts"
    run = oncall.run("code-rollback-rollouts")
    assert run.steps[0].state is StepState.DONE  # the pre-flight passed on the live verdict: additive
    assert "rollouts.abort catalog" in sent(oncall)
    wait_for("the tree to say MITIGATED", lambda: oncall.session.evaluation(oncall.context).outcome == "MITIGATED")
    assert oncall.drill_verdict() == "worked"


@scenario("argocd-rollback")
def test_argocd_rollback(oncall: Oncall) -> None:
    assert oncall.recommended() == "code-rollback-argocd"
    oncall.run("code-rollback-argocd")
    done = sent(oncall)
    for action in ("argocd.disable_auto_sync", "argocd.rollback", "git.revert", "argocd.enable_auto_sync"):
        assert any(line.startswith(action) for line in done), (action, done)
    # the cockpit's own rollback is not "the deploy": the tree does not recommend rolling back to #42
    assert oncall.recommended() != "code-rollback-argocd" or \
        oncall.session.evaluation(oncall.context).outcome == "MITIGATED"
    assert oncall.drill_verdict() == "worked"


@scenario("config-revert")
def test_config_revert(oncall: Oncall) -> None:
    assert oncall.recommended() == "config-rollback-argocd-app"
    oncall.run("config-rollback-argocd-app")
    assert any(line.startswith("argocd.sync") for line in sent(oncall))
    assert oncall.drill_verdict() == "worked"


@scenario("flag-flip")
def test_flag_flip(oncall: Oncall) -> None:
    assert oncall.recommended() == "flag-flip"
    run = oncall.run("flag-flip")
    assert any(line.startswith("flags.set") for line in sent(oncall))
    by_hand = next(item for item in run.steps if item.step.id == "flip-by-hand")
    assert by_hand.state is StepState.SKIPPED and by_hand.by == "cockpit"  # not needed: the API flipped it
    assert oncall.drill_verdict() == "worked"


@scenario("s3-restore")
def test_s3_restore(oncall: Oncall) -> None:
    assert oncall.recommended() == "data-rollback-s3-versioning"
    oncall.run("data-rollback-s3-versioning")
    assert any(line.startswith("s3.undelete") for line in sent(oncall))
    assert oncall.drill_verdict() == "worked"


@scenario("velero-restore")
def test_velero_restore(oncall: Oncall) -> None:
    assert oncall.recommended() == "data-rollback-velero"
    oncall.run("data-rollback-velero")
    assert any(line.startswith("velero.restore") for line in sent(oncall))
    assert oncall.drill_verdict() == "worked"


@scenario("forward-only")
def test_forward_only_pitr_then_code(oncall: Oncall) -> None:
    """The seed's order: DATA first (PITR), then CODE -- the code rollback's pre-flight passes on the fact that
    the data layer was rolled back to before the migration, not on an override."""
    assert oncall.recommended() == "data-rollback-postgres-pitr"
    oncall.run("data-rollback-postgres-pitr")
    assert oncall.drill_verdict() == "worked"  # the data layer restored: the PITR runbook did its job
    assert oncall.recommended() == "code-rollback-rollouts"
    run = oncall.run("code-rollback-rollouts")
    assert run.steps[0].state is StepState.DONE and "passed: data layer rolled back" in run.steps[0].detail


@scenario("helm-rollback")
def test_helm_rollback_stops_cleanly_without_helm(oncall: Oncall) -> None:
    import shutil

    session = oncall.session
    evaluation = session.refresh_decision(oncall.context)
    # the chart's migrations cannot be read from git here: the tree asks, the person answers (recorded, audited)
    assert evaluation.blocked_at == "migration", evaluation.ask
    session.answer(oncall.context, "migration", "no")
    assert oncall.recommended() == "code-rollback-helm"
    if shutil.which("helm"):
        pytest.skip("helm is installed here: this test is about its absence")
    assert session.start_drill("code-rollback-helm") is None
    run = oncall.session.run_control.open(oncall.context, "code-rollback-helm")
    wait_for("the helm check to stop the run", lambda: run.state is RunState.STOPPED)
    assert "helm" in run.stop_reason and "not installed" in run.stop_reason
    assert run.steps[0].state is StepState.DONE  # the pre-flight passed on the person's tree answer
    assert [r for r in oncall.audit_records() if r.get("event") == "before"] == []  # nothing was sent
    assert any(r.get("note") == "answer" for r in oncall.audit_records())  # the answer is audited
    # the person ends the drill there: the report says it failed, and why
    session.run_control.end(run, "helm is not installed on this bastion")
    assert oncall.drill_verdict() == "failed"
    report = next(oncall.reports.glob("dr-drill-*.md")).read_text()
    assert "helm is not installed on this bastion" in report
