"""The write gateway against the Kubernetes API emulator: read-only sends nothing, RBAC denial sends nothing,
every write has its audit record before and after, and no secret reaches the audit file."""

from __future__ import annotations

import json
import os
import stat

import pytest

from cockpit.actions import argocd, rollouts
from cockpit.actions.audit import REDACTED, AuditLog, default_audit_path, redact
from cockpit.actions.gateway import Gateway, Outcome
from cockpit.actions.requests import JSON, Action, Risk, kube_write
from cockpit.sources.kube import SECRETS
from tests.plugins.actions import (  # noqa: F401 - fixtures
    NS,
    application,
    audit_log,
    clock,
    gateway,
    kube_ctx,
    real_writes,
    rollout,
    writes,
)


def _plan_abort(gw, ctx):
    return gw.plan(rollouts.abort(ctx, NS, "catalog"))


@pytest.mark.parametrize("reason", ["--read-only", "context us-east is read_only in the config", "replay"])
def test_read_only_sends_nothing_and_says_why(kube_emulator, kube_ctx, audit_log, clock, reason):
    kube_emulator.seed(rollout())
    gw = Gateway(read_only_reason=lambda context: reason, audit=audit_log, clock=clock)
    planned = _plan_abort(gw, kube_ctx)  # building the action reads the Rollout: reads are fine
    assert planned.read_only == f"read-only: {reason}; nothing was sent"
    kube_emulator.clear_requests()

    check = gw.preflight(planned)
    result = gw.execute(planned, "alice", typed="y")

    assert check.refused and not check.ok and check.reason.startswith("read-only:")
    assert result.outcome is Outcome.REFUSED and reason in result.message
    assert kube_emulator.count(write=True) == 0
    assert kube_emulator.requests == []  # not even an access review or a dry-run
    assert not audit_log.path.exists()


def test_read_only_per_context(kube_emulator, kube_ctx, audit_log, clock):
    kube_emulator.seed(rollout())
    gw = Gateway(read_only_reason=lambda context: "production is read-only" if context == "emulator" else None,
                 audit=audit_log, clock=clock)
    assert gw.read_only("staging") is None
    result = gw.execute(_plan_abort(gw, kube_ctx), "alice")
    assert result.outcome is Outcome.REFUSED
    assert kube_emulator.count(write=True) == 0


def test_rbac_denied_is_shown_with_the_reason_and_nothing_is_sent(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(rollout())
    kube_emulator.deny("patch", "rollouts/status", NS)
    planned = _plan_abort(gateway, kube_ctx)
    kube_emulator.clear_requests()

    check = gateway.preflight(planned)

    assert check.permitted is False and not check.ok
    assert check.access[0].check.attributes() == {
        "verb": "patch", "group": "argoproj.io", "resource": "rollouts", "namespace": NS, "name": "catalog",
        "subresource": "status",
    }
    assert check.reason.startswith("not permitted: patch rollouts/status.argoproj.io in " + NS)
    assert check.dry_run == ()  # a denied action is not even dry-run
    result = gateway.execute(planned, "alice")
    assert result.outcome is Outcome.DENIED and "nothing was sent" in result.message
    assert kube_emulator.count(write=True) == 0
    assert [r.path for r in kube_emulator.requests] == ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]


def test_server_side_denial_is_reported_as_denied(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(rollout())
    planned = _plan_abort(gateway, kube_ctx)
    assert gateway.preflight(planned).ok
    kube_emulator.deny("patch", "rollouts/status", NS)  # permission removed between check and send
    result = gateway.execute(planned, "alice")
    assert result.outcome is Outcome.DENIED and "403" in result.message


def test_audit_has_one_record_before_and_one_after_each_write(kube_emulator, kube_ctx, gateway, audit_log):
    kube_emulator.seed(rollout(paused=True))
    planned = gateway.plan(rollouts.promote(kube_ctx, NS, "catalog"))  # two requests
    gateway.preflight(planned)
    result = gateway.execute(planned, "alice")
    assert result.ok

    records = list(audit_log.records())
    assert [(r["event"], r["request_no"]) for r in records] == [("before", 1), ("after", 1), ("before", 2),
                                                                ("after", 2)]
    sent = real_writes(kube_emulator)
    assert len(sent) == 2
    for number, record in enumerate(sent, start=1):
        before, after = records[2 * number - 2], records[2 * number - 1]
        for entry in (before, after):
            assert entry["request"]["method"] == record.method and entry["request"]["path"] == record.path
            assert entry["request"]["content_type"] == record.content_type
            assert entry["request"]["body"] == json.loads(record.body)
            assert entry["context"] == "emulator" and entry["user"] == "emulator-user"
            assert entry["action"] == "rollouts.promote" and entry["target"] == "catalog"
            assert entry["confirmed_by"] == "alice" and entry["time"] == "2026-05-20T14:27:00+00:00"
            assert entry["dry_run"]["ok"] is True
        assert before["outcome"] == "sending" and after["outcome"] == "ok" and after["status"] == 200
    assert oct(stat.S_IMODE(os.stat(audit_log.path).st_mode)) == "0o600"


def test_no_write_without_its_record(kube_emulator, kube_ctx, tmp_path, clock):
    kube_emulator.seed(rollout())
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the state directory should be")
    gw = Gateway(audit=AuditLog(blocked / "audit.jsonl"), clock=clock)
    planned = _plan_abort(gw, kube_ctx)
    gw.preflight(planned)
    result = gw.execute(planned, "alice")
    assert result.outcome is Outcome.REFUSED and "audit log" in result.message
    assert real_writes(kube_emulator) == []
    assert "abort" not in kube_emulator.get_object("argoproj.io/v1alpha1", "rollouts", NS, "catalog")["status"]


def test_failed_write_is_audited_with_its_outcome(kube_emulator, kube_ctx, gateway, audit_log):
    kube_emulator.seed(rollout())
    planned = _plan_abort(gateway, kube_ctx)
    gateway.preflight(planned)
    kube_emulator.patch_status("argoproj.io/v1alpha1", "rollouts", NS, "catalog", {"message": "moved"})
    result = gateway.execute(planned, "alice")
    assert result.outcome is Outcome.CONFLICT
    before, after = audit_log.records()
    assert (before["event"], after["event"], after["outcome"], after["status"]) == ("before", "after", "conflict", 409)


def test_unconfirmed_and_mistyped_confirmations_are_refused(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(application(automated=None))
    planned = gateway.plan(argocd.rollback(kube_ctx, "argocd", "bookstore-catalog-us-east", 41))
    assert planned.risk is Risk.DESTRUCTIVE and planned.confirm_word == "bookstore-catalog-us-east"
    gateway.preflight(planned)
    assert gateway.execute(planned, "").outcome is Outcome.REFUSED
    assert gateway.execute(planned, "alice").outcome is Outcome.REFUSED  # typed nothing
    wrong = gateway.execute(planned, "alice", typed="y")
    assert wrong.outcome is Outcome.REFUSED and "type bookstore-catalog-us-east" in wrong.message
    assert real_writes(kube_emulator) == []
    assert gateway.execute(planned, "alice", typed="bookstore-catalog-us-east").ok


def test_low_risk_accepts_y_only(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(rollout())
    planned = _plan_abort(gateway, kube_ctx)
    assert gateway.execute(planned, "alice", typed="n").outcome is Outcome.REFUSED
    assert real_writes(kube_emulator) == []


def test_execute_runs_the_preflight_when_the_ui_did_not(kube_emulator, kube_ctx, gateway, audit_log):
    kube_emulator.seed(rollout())
    result = gateway.execute(_plan_abort(gateway, kube_ctx), "alice")
    assert result.ok
    assert [r.query for r in writes(kube_emulator)] == [{"dryRun": "All"}, {}]
    assert next(audit_log.records())["dry_run"]["ok"] is True


def test_a_failing_dry_run_blocks_the_write(kube_emulator, kube_ctx, gateway):
    # A Restore body the CRD rejects (restorePVs must be a boolean): the dry-run says so, nothing is created.
    from cockpit.sources.kube import VELERO_RESTORES

    body = {"apiVersion": "velero.io/v1", "kind": "Restore", "metadata": {"name": "bad", "namespace": "velero"},
            "spec": {"backupName": "b", "restorePVs": "yes please"}}
    action = Action("test.bad", "create", "Restore", "bad", "velero", kube_ctx.name, kube_ctx.user,
                    (kube_write(kube_ctx, VELERO_RESTORES, "velero", "bad", method="POST", body=body,
                                content_type=JSON),), risk=Risk.LOW)
    planned = gateway.plan(action)
    check = gateway.preflight(planned)
    assert check.dry_run[0].ok is False and "would refuse" in check.dry_run[0].summary
    result = gateway.execute(planned, "alice")
    assert result.outcome is Outcome.REFUSED and "dry-run failed" in result.message
    assert real_writes(kube_emulator) == []


def test_no_secret_reaches_the_audit_file(kube_emulator, kube_ctx, gateway, audit_log):
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "catalog-db", "namespace": NS},
              "data": {"password": "aHVudGVyMg=="}, "stringData": {"url": "postgres://app:hunter2@db/app"}}
    write = kube_write(kube_ctx, SECRETS, NS, "catalog-db", method="POST", body=secret, content_type=JSON)
    action = Action("test.secret", "create", "Secret", "catalog-db", NS, kube_ctx.name, kube_ctx.user, (write,),
                    warnings=(f"Authorization: Bearer {token}",))
    planned = gateway.plan(action)
    assert gateway.execute(planned, "alice").ok
    audit_log.append({"event": "note", "headers": {"Authorization": f"Bearer {token}"},
                      "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                      "access_key_id": "AKIAIOSFODNN7EXAMPLE", "note": f"token {token} url https://u:pw@host/x"})
    text = audit_log.path.read_text()
    for leaked in ("aHVudGVyMg==", "hunter2", token, "wJalrXUtnFEMI", "AKIAIOSFODNN7EXAMPLE", "u:pw@"):
        assert leaked not in text
    first = next(audit_log.records())
    assert first["request"]["body"]["data"] == {"password": REDACTED}  # which key changed stays visible
    assert first["request"]["body"]["metadata"]["name"] == "catalog-db"


def test_redact_keeps_secret_references():
    ref = {"s3Credentials": {"secretAccessKey": {"name": "pg-backup-creds", "key": "ACCESS_SECRET_KEY"}},
           "token": "abc", "resourceVersion": "12"}
    assert redact(ref) == {
        "s3Credentials": {"secretAccessKey": {"name": "pg-backup-creds", "key": "ACCESS_SECRET_KEY"}},
        "token": REDACTED, "resourceVersion": "12",
    }


def test_default_audit_path_is_in_the_state_dir(tmp_path):
    path = default_audit_path()
    assert path.name == "audit.jsonl" and path.parent.name == "cockpit"
    assert str(path).startswith(os.environ["XDG_STATE_HOME"])


def test_audit_is_append_only(audit_log):
    audit_log.append({"event": "one"})
    audit_log.append({"event": "two"})
    assert [r["event"] for r in audit_log.records()] == ["one", "two"]


def test_manual_steps_are_recorded(gateway, audit_log):
    record = gateway.record_manual(context="emulator", runbook="flag-flip", step="flip",
                                   instruction="flip catalog_v2_search_engine", done_by="alice")
    assert record["event"] == "manual" and record["confirmed_by"] == "alice"
    assert list(audit_log.records()) == [record]


def test_on_record_sees_every_audit_record(kube_emulator, kube_ctx, audit_log, clock):
    seen = []
    kube_emulator.seed(rollout())
    gw = Gateway(audit=audit_log, clock=clock, on_record=seen.append)
    assert gw.execute(_plan_abort(gw, kube_ctx), "alice").ok
    assert [r["event"] for r in seen] == ["before", "after"]


def test_rollouts_runbook_aborts_through_the_gateway(kube_emulator, kube_ctx, gateway, audit_log):
    """The demo path: code-rollback-rollouts aborts through the gateway, audited; read-only sends nothing."""
    from cockpit.actions.registry import ActionEnv
    from cockpit.runbooks import get
    from cockpit.runbooks.executor import RunbookRun, StepState
    from cockpit.runbooks.facts import facts_from
    from cockpit.sources.rollouts import parse_rollout

    kube_emulator.seed(rollout())

    def facts():
        live = kube_emulator.get_object("argoproj.io/v1alpha1", "rollouts", NS, "catalog")
        return {**facts_from(rollout=parse_rollout(live, [])), "preflight.verdict": "safe"}

    def run_with(gw):
        return RunbookRun.with_gateway(get("code-rollback-rollouts"), gw, ActionEnv(kube=kube_ctx),
                                       inputs={"namespace": NS, "rollout": "catalog"}, facts=facts)

    read_only = Gateway(read_only_reason=lambda context: "--read-only", audit=audit_log, clock=gateway.clock)
    blocked = run_with(read_only)
    step = blocked.advance()
    assert step.step.id == "abort" and step.planned.read_only == "read-only: --read-only; nothing was sent"
    result = blocked.confirm("alice", "y")
    assert result.outcome is Outcome.REFUSED and step.state is StepState.FAILED
    assert kube_emulator.count(write=True) == 0 and not audit_log.path.exists()

    run = run_with(gateway)
    step = run.advance()
    assert step.state is StepState.NEEDS_CONFIRMATION and step.planned.path.endswith("/rollouts/catalog/status")
    assert gateway.preflight(step.planned).ok
    assert run.confirm("alice", "y").ok
    assert run.advance().step.id == "canary-gone"  # waits for the controller to scale the canary down
    assert [r["event"] for r in audit_log.records()] == ["before", "after"]
    assert kube_emulator.get_object("argoproj.io/v1alpha1", "rollouts", NS, "catalog")["status"]["abort"] is True
