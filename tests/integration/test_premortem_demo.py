"""The pre-mortem through the session's planning, on the demo platform (scenario ``forward-only``, the default):
the Argo CD rollback is UNSAFE -- the DROP COLUMN and the skipped migration hook -- and the Rollouts abort is SAFE.
The tree's leaf gets the same verdict, and the hold and the freeze work end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.actions.registry import build_action
from cockpit.demo import scenario as demo
from cockpit.premortem import Level, Verdict, text_lines
from tests.integration.test_runbooks_e2e import Oncall, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def oncall(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    person = Oncall(getattr(request, "param", "forward-only"), tmp_path, monkeypatch)
    try:
        yield person.settled()
        assert person.platform.controller_errors == []
    finally:
        person.close()


def plan(oncall: Oncall, action: str, **params: str) -> Any:
    session = oncall.session
    planned = session.plan(oncall.context, lambda env: build_action(action, params, env))
    return session.assess(planned)


def send(oncall: Oncall, planned: Any, reason: str | None = None) -> Any:
    result = oncall.session.execute(planned, planned.confirm_word, reason=reason)
    assert result.ok, result.message
    return result


def test_forward_only_argocd_rollback_is_unsafe_and_the_abort_is_safe(oncall: Oncall) -> None:
    abort = plan(oncall, "rollouts.abort", namespace=demo.APP_NAMESPACE, name=demo.ROLLOUT)
    assert abort.premortem.verdict is Verdict.SAFE, "\n".join(text_lines(abort.premortem))
    migration = next(r for r in abort.premortem.reasons if r.key == "migration")
    assert migration.level is Level.OK and "starts no binary that is not already serving" in migration.text

    send(oncall, plan(oncall, "argocd.disable_auto_sync", namespace="argocd", name=demo.APP_NAME))
    rollback = plan(oncall, "argocd.rollback", namespace="argocd", name=demo.APP_NAME, history_id="41")
    premortem = rollback.premortem
    lines = "\n".join(text_lines(premortem))
    assert premortem.verdict is Verdict.UNSAFE, lines
    migration = next(r for r in premortem.reasons if r.key == "migration")
    assert migration.level is Level.UNSAFE and "DROP COLUMN legacy_status" in migration.text
    hooks = next(r for r in premortem.reasons if r.key == "hooks")
    assert hooks.level is Level.RISKY and "Job/catalog-migrate" in hooks.text
    assert any("PreSync" in e.fact for e in hooks.evidence)
    assert premortem.reasons[0] is migration  # the weightiest reason first
    window = next(r for r in premortem.reasons if r.key == "rollback-window")
    assert window.level is Level.OK and "stable ReplicaSet" in window.text

    refused = oncall.session.execute(rollback, rollback.confirm_word)
    assert not refused.ok and "UNSAFE" in refused.message  # nothing sent without the person's reason
    records = [r for r in oncall.audit_records() if r.get("action") == "argocd.rollback"]
    assert records == []


def test_the_audit_record_of_a_risky_write_carries_the_verdict_and_the_reason(oncall: Oncall) -> None:
    send(oncall, plan(oncall, "argocd.disable_auto_sync", namespace="argocd", name=demo.APP_NAME))
    rollback = plan(oncall, "argocd.rollback", namespace="argocd", name=demo.APP_NAME, history_id="41")
    send(oncall, rollback, reason="drill: rolling back over the migration on purpose")
    after = [r for r in oncall.audit_records() if r.get("action") == "argocd.rollback" and r.get("event") == "after"]
    assert after[0]["premortem"]["verdict"] == "unsafe"
    assert after[0]["reason"] == "drill: rolling back over the migration on purpose"
    assert any(r["key"] == "hooks" for r in after[0]["premortem"]["reasons"])


def test_the_leaf_gets_the_same_verdict(oncall: Oncall) -> None:
    assert oncall.recommended() == "data-rollback-postgres-pitr"
    assert oncall.session.leaf_premortem(oncall.context) is None  # a data leaf makes no rollback write first


@pytest.mark.parametrize("oncall", ["argocd-rollback"], indirect=True)
def test_the_argocd_leaf_premortem(oncall: Oncall) -> None:
    assert oncall.recommended() == "code-rollback-argocd"
    premortem = oncall.session.leaf_premortem(oncall.context)
    assert premortem is not None and premortem.intent.action == "argocd.rollback"
    lines = "\n".join(text_lines(premortem))
    assert premortem.verdict is Verdict.RISKY, lines  # auto-sync is still on; the migration is additive
    assert next(r for r in premortem.reasons if r.key == "migration").level is Level.OK
    assert next(r for r in premortem.reasons if r.key == "auto-sync").level is Level.RISKY
    hooks = next(r for r in premortem.reasons if r.key == "hooks")  # skipped, but nothing needs migrating back
    assert hooks.level is Level.OK and "Job/catalog-migrate" in hooks.text


@pytest.mark.parametrize("oncall", ["argocd-rollback"], indirect=True)
def test_the_hold_blocks_an_early_release_and_the_freeze_holds_automation(oncall: Oncall) -> None:
    from cockpit.actions.requests import ActionRefused

    session, ctx = oncall.session, oncall.context
    send(oncall, plan(oncall, "argocd.disable_auto_sync", namespace="argocd", name=demo.APP_NAME,
                      reason="p99 1.1s after #42", incident="INC-42"))
    hold = wait_for("the hold in pane 1", lambda: (a := session.current(ctx, "argocd")) and a.hold)
    assert hold.reason == "p99 1.1s after #42" and hold.incident == "INC-42" and hold.by == session.person
    with pytest.raises(ActionRefused, match="the hold on .* stays: the revert has landed: no commit"):
        session.plan(ctx, lambda env: build_action("argocd.release_hold", {"namespace": "argocd",
                                                                            "name": demo.APP_NAME}, env))

    freeze = plan(oncall, "argocd.freeze", namespace="argocd", name=demo.APP_NAME, reason="INC-42 rollback",
                  incident="INC-42")
    assert freeze.premortem is None  # not a rollback write
    send(oncall, freeze)
    from cockpit.actions.freeze import freeze_of_app, header_text
    from cockpit.sources.kube import APPLICATIONS

    app = session.contexts[ctx].kube.get(APPLICATIONS, "argocd", demo.APP_NAME)
    state = freeze_of_app(session.contexts[ctx].kube, app)
    assert state is not None and "FREEZE bookstore-platform" in header_text(state)
    send(oncall, plan(oncall, "argocd.unfreeze", namespace="argocd", name=demo.APP_NAME))
    assert freeze_of_app(session.contexts[ctx].kube, app) is None
    done = [f"{r['action']} {r['outcome']}" for r in oncall.audit_records() if r.get("event") == "after"]
    assert "argocd.freeze ok" in done and "argocd.unfreeze ok" in done


def test_a_runbook_write_carries_its_premortem_and_needs_the_reason(oncall: Oncall) -> None:
    """The runbook path plans through the same pre-mortem: in the forward-only incident, overriding the
    migration pre-flight (with a reason) brings the Argo CD rollback step to its confirmation UNSAFE; a yes
    without a reason is refused by the gateway (nothing sent), a retry with the person's reason is sent and
    the reason is in the audit record."""
    import time

    from cockpit.runbooks.executor import RunState, StepState

    control = oncall.session.run_control
    run = control.open(oncall.context, "code-rollback-argocd")
    deadline = time.monotonic() + 60
    refused_once = False
    while run.state is not RunState.DONE and time.monotonic() < deadline:
        current = run.current
        if current is None or current.state in (StepState.WAITING, StepState.PENDING):
            time.sleep(0.03)
            continue
        if current.state in (StepState.NEEDS_PERSON, StepState.FAILED) and current.step.safety:
            control.skip(run, "drill: the data layer is handled by the DBA on call")  # an override, audited
        elif current.state is StepState.NEEDS_PERSON:
            control.mark_done(run, "done (test)")
        elif current.state is StepState.NEEDS_CONFIRMATION:
            premortem = getattr(current.planned, "premortem", None)
            if current.planned.action.name != "argocd.rollback":
                assert control.confirm(run, current.planned.confirm_word).ok
                continue
            assert premortem is not None and premortem.verdict is Verdict.UNSAFE
            if not refused_once:
                result = control.confirm(run, current.planned.confirm_word)
                assert not result.ok and "UNSAFE" in result.message and result.sent == 0
                refused_once = True
                control.retry(run)
                continue
            result = control.confirm(run, current.planned.confirm_word, "p99 burning; DBA restores the column")
            assert result.ok, result.message
            break
        elif current.state is StepState.FAILED and not refused_once:
            raise AssertionError(current.detail)
        else:
            time.sleep(0.03)
    assert refused_once
    rollback = [r for r in oncall.audit_records() if r.get("action") == "argocd.rollback"]
    assert [r.get("event") for r in rollback][-2:] == ["before", "after"]
    assert all("DBA restores the column" in str(r) for r in rollback[-2:])
    assert not any(r.get("outcome") == "ok" for r in rollback[:-2])  # the refused yes sent nothing
