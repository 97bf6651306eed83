"""The auto-sync hold and the incident freeze against the emulator and a real git repository: the hold's
annotations, read back by the parser every cockpit uses; its release checklist (the revert on the tracked branch,
Argo CD reporting it) refusing, overridden, passing; the freeze's AppProject window and RollingSync pause, what
Argo CD's window rules make of them, and the unfreeze that puts everything back."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from cockpit.actions import argocd, freeze, hold
from cockpit.actions.requests import ActionRefused, Risk
from cockpit.actions.syncwindows import blocking_reason
from cockpit.sources.argocd import parse_application
from tests.plugins.actions import (  # noqa: F401 - fixtures
    NS,
    application,
    audit_log,
    body_of,
    clock,
    gateway,
    kube_ctx,
    real_writes,
)
from tests.plugins.git import build_gitops_repo

APP = "bookstore-catalog-us-east"
NOW = datetime(2026, 5, 20, 14, 27, tzinfo=timezone.utc)


def _app(emulator: Any, name: str = APP) -> dict[str, Any]:
    return emulator.get_object("argoproj.io/v1alpha1", "applications", "argocd", name)


def _send(gateway: Any, action: Any) -> Any:
    planned = gateway.plan(action)
    check = gateway.preflight(planned)
    assert check.ok, check.lines()
    result = gateway.execute(planned, "alice", typed=planned.confirm_word)
    assert result.ok, result.message
    return result


# --------------------------------------------------------------------------- the hold


def test_the_hold_is_written_read_back_and_pinned_by_the_rollback(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(application(automated={"prune": True, "selfHeal": True}))
    _send(gateway, argocd.disable_auto_sync(kube_ctx, "argocd", APP, reason="p99 after #42 [red]x[/]",
                                            incident="INC-42", username="alice", now=NOW))
    held = parse_application(_app(kube_emulator)).hold
    assert (held.by, held.since, held.incident) == ("alice", NOW, "INC-42")
    assert held.reason == "p99 after #42 [red]x[/]"  # kept as data; the pane renders it through textsafe
    assert held.revision == held.bad_revision == "d8f3c2a" + "0" * 33
    assert hold.describe(held).startswith("held by alice since 2026-05-20 14:27Z: p99 after #42")

    with pytest.raises(ActionRefused, match="release the hold instead"):
        argocd.enable_auto_sync(kube_ctx, "argocd", APP)
    _send(gateway, argocd.rollback(kube_ctx, "argocd", APP, 41, username="alice", now=NOW))
    pinned = parse_application(_app(kube_emulator)).hold
    assert pinned.revision == "a1b2c3d" + "0" * 33 and pinned.bad_revision == held.bad_revision
    assert pinned.reason == held.reason  # the rollback keeps the person's hold, it only moves the pin


def test_a_rollback_without_a_hold_places_one(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(application(automated={"enabled": False, "prune": True}))
    _send(gateway, argocd.rollback(kube_ctx, "argocd", APP, 41, username="bob", now=NOW))
    held = parse_application(_app(kube_emulator)).hold
    assert held.by == "bob" and held.reason == "rolled back to history id 41"
    assert held.bad_revision.startswith("d8f3c2a") and held.revision.startswith("a1b2c3d")


@pytest.fixture
def repo(tmp_path):
    return build_gitops_repo(tmp_path / "gitops")


def _held_app(repo: Any, *, compared: str) -> dict[str, Any]:
    bad = repo.shas["migration_release"]
    obj = application(automated={"enabled": False, "prune": True, "selfHeal": True})
    obj["metadata"]["annotations"] = hold.hold_annotations(by="alice", since=NOW, reason="INC-42", incident="INC-42",
                                                           revision=repo.shas["netpol_change"], bad_revision=bad)
    obj["status"]["sync"]["revision"] = compared
    return obj


def test_release_refuses_until_the_revert_has_landed_and_argo_cd_sees_it(kube_emulator, kube_ctx, repo, gateway,
                                                                         audit_log):
    bad = repo.shas["migration_release"]
    kube_emulator.seed(_held_app(repo, compared=bad))
    with pytest.raises(ActionRefused, match=f"no commit on origin/main reverts {bad[:12]} yet"):
        hold.release_hold(kube_ctx, "argocd", APP, gitops_repo=str(repo.work))

    repo.git(*("-c", "user.name=t", "-c", "user.email=t@example.invalid"), "revert", "--no-edit", bad)
    repo.git("push", "--quiet", "origin", "HEAD:main")
    revert = repo.git("rev-parse", "HEAD").strip()
    checklist = hold.release_checklist(_app(kube_emulator), str(repo.work))
    assert [item.ok for item in checklist.items] == [True, False]  # landed, but Argo CD compared an older commit
    assert f"does not contain {revert[:12]}" in checklist.items[1].detail
    with pytest.raises(ActionRefused, match="Argo CD reports the revert"):
        hold.release_hold(kube_ctx, "argocd", APP, gitops_repo=str(repo.work))

    overridden = hold.release_hold(kube_ctx, "argocd", APP, gitops_repo=str(repo.work), override="P0, Argo CD lags")
    assert overridden.risk is Risk.DESTRUCTIVE and overridden.audit_note == "override: P0, Argo CD lags"
    assert any("released over a failing checklist" in w for w in overridden.warnings)

    kube_emulator.seed(_held_app(repo, compared=revert))  # Argo CD's refresh: it compared the app with the revert
    action = hold.release_hold(kube_ctx, "argocd", APP, gitops_repo=str(repo.work))
    assert action.risk is Risk.LOW and action.audit_note == ""
    kube_emulator.clear_requests()
    _send(gateway, action)
    (write,) = real_writes(kube_emulator)
    body = body_of(write)
    assert body["spec"] == {"syncPolicy": {"automated": {"enabled": True}}}
    assert set(body["metadata"]["annotations"]) == set(hold.HOLD_ANNOTATIONS) and not any(
        body["metadata"]["annotations"].values())
    live = _app(kube_emulator)
    assert parse_application(live).hold is None and live["spec"]["syncPolicy"]["automated"] == {
        "enabled": True, "prune": True, "selfHeal": True}


def test_the_override_reason_is_in_the_audit_record(kube_emulator, kube_ctx, repo, gateway, audit_log):
    kube_emulator.seed(_held_app(repo, compared=repo.shas["migration_release"]))
    _send(gateway, hold.release_hold(kube_ctx, "argocd", APP, gitops_repo=str(repo.work), override="P0"))
    notes = {record.get("note") for record in audit_log.records()}
    assert notes == {"override: P0"}


def test_a_merge_commit_of_the_revert_counts(kube_emulator, kube_ctx, repo):
    bad = repo.shas["migration_release"]
    repo.git("switch", "--quiet", "-c", "revert-it")
    repo.git(*("-c", "user.name=t", "-c", "user.email=t@example.invalid"), "revert", "--no-edit", bad)
    repo.git("switch", "--quiet", "main")
    repo.git(*("-c", "user.name=t", "-c", "user.email=t@example.invalid"), "merge", "--no-ff", "--no-edit",
             "revert-it")
    repo.git("push", "--quiet", "origin", "HEAD:main")
    merge = repo.git("rev-parse", "HEAD").strip()
    kube_emulator.seed(_held_app(repo, compared=merge))
    assert hold.release_checklist(_app(kube_emulator), str(repo.work)).passed


def test_release_without_a_repository_cannot_tell(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(_held_app(repo, compared="0" * 40))
    checklist = hold.release_checklist(_app(kube_emulator), None)
    assert not checklist.passed and checklist.items[0].ok is None and "--gitops-repo" in checklist.items[0].detail


# --------------------------------------------------------------------------- the freeze


def _project(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "bookstore", "namespace": "argocd"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}], **spec}}


def _generated(name: str, tenant: str, env: str) -> dict[str, Any]:
    obj = application(name=name, project="bookstore", owner_appset="tenants")
    obj["metadata"]["labels"] = {"env": env}
    obj["spec"]["destination"]["namespace"] = tenant
    return obj


APPSET = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
    "metadata": {"name": "tenants", "namespace": "argocd"},
    "spec": {
        "generators": [{"list": {"elements": [{"tenant": "acme-books"}]}}],
        "template": {"metadata": {"name": "{{tenant}}"},
                     "spec": {"project": "bookstore", "destination": {"server": "https://kubernetes.default.svc"},
                              "source": {"repoURL": "https://git.example.com/x.git"}}},
        "strategy": {"type": "RollingSync", "rollingSync": {"steps": [
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["staging"]}]},
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}], "maxUpdate": "10%"},
        ]}},
    },
}


def test_freeze_writes_a_manual_only_deny_window_and_pauses_the_rolling_sync_step(kube_emulator, kube_ctx, gateway,
                                                                                  audit_log):
    other = {"kind": "allow", "schedule": "0 2 * * *", "duration": "2h", "applications": ["batch-*"],
             "manualSync": True}
    kube_emulator.seed(_project(syncWindows=[other]))
    kube_emulator.seed(APPSET)
    kube_emulator.seed(_generated(APP, NS, "prod"))
    kube_emulator.seed(_generated("other-tenant", "bookstore-platform-other", "staging"))
    action = freeze.freeze(kube_ctx, "argocd", APP, reason="INC-42: rollback in progress", incident="INC-42",
                           username="alice", now=NOW)
    assert action.risk is Risk.LOW and len(action.writes) == 2
    assert any("RollingSync step 2 paused" in w for w in action.warnings)
    _send(gateway, action)

    project = kube_emulator.get_object("argoproj.io/v1alpha1", "appprojects", "argocd", "bookstore")
    windows = project["spec"]["syncWindows"]
    assert windows[0] == other
    assert windows[1] == {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "manualSync": True,
                          "timeZone": "UTC", "clusters": ["https://kubernetes.default.svc"], "namespaces": [NS],
                          "andOperator": True,
                          "description": "cockpit-freeze by alice at 2026-05-20T14:27:00Z (INC-42): INC-42: "
                                         "rollback in progress"}
    assert project["metadata"]["annotations"][freeze.FREEZE_BY] == "alice"
    # what Argo CD makes of it: automation into the tenant is blocked, a person's sync is not, the neighbour is free
    app, neighbour = _app(kube_emulator), _app(kube_emulator, "other-tenant")
    assert "deny window '* * * * *'" in blocking_reason(project, app, NOW, manual=False)
    assert blocking_reason(project, app, NOW, manual=True) is None
    assert blocking_reason(project, neighbour, NOW, manual=False) is None
    state = freeze.read_freeze(project)
    assert state.windows == (1,) and state.incident == "INC-42"
    assert freeze.header_text(state).startswith("FREEZE bookstore: namespace bookstore-platform-acme-books on "
                                                "https://kubernetes.default.svc since 14:27Z by alice (INC-42)")

    appset = kube_emulator.get_object("argoproj.io/v1alpha1", "applicationsets", "argocd", "tenants")
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    assert steps[1]["maxUpdate"] == 0 and "maxUpdate" not in steps[0]  # only the frozen app's step
    assert appset["metadata"]["annotations"][freeze.PAUSED_STEPS] == '{"1": "10%"}'

    with pytest.raises(ActionRefused, match="already frozen") as again:
        freeze.freeze(kube_ctx, "argocd", APP, reason="again", now=NOW)
    assert again.value.noop

    _send(gateway, freeze.unfreeze(kube_ctx, "argocd", APP))
    project = kube_emulator.get_object("argoproj.io/v1alpha1", "appprojects", "argocd", "bookstore")
    assert project["spec"]["syncWindows"] == [other] and freeze.read_freeze(project) is None
    assert not any(key.startswith("cockpit.dev/") for key in project["metadata"].get("annotations") or {})
    appset = kube_emulator.get_object("argoproj.io/v1alpha1", "applicationsets", "argocd", "tenants")
    assert appset["spec"]["strategy"]["rollingSync"]["steps"] == APPSET["spec"]["strategy"]["rollingSync"]["steps"]
    assert freeze.PAUSED_STEPS not in (appset["metadata"].get("annotations") or {})
    actions = [(r["action"], r["event"]) for r in audit_log.records() if r.get("event") in ("before", "after")]
    assert ("argocd.freeze", "after") in actions and ("argocd.unfreeze", "after") in actions


def test_a_cluster_scoped_app_freezes_its_whole_cluster(kube_emulator, kube_ctx):
    kube_emulator.seed(_project())
    obj = application(project="bookstore")
    obj["spec"]["destination"] = {"name": "prod-us-east"}
    kube_emulator.seed(obj)
    action = freeze.freeze(kube_ctx, "argocd", APP, reason="INC-43", now=NOW)
    ops = action.writes[0].body
    window = next(op["value"] for op in ops if op["path"] == "/spec/syncWindows")[0]
    assert window["clusters"] == ["prod-us-east"] and "namespaces" not in window and "andOperator" not in window


def test_a_freeze_needs_a_reason_and_a_project(kube_emulator, kube_ctx):
    kube_emulator.seed(application(project="missing"))
    with pytest.raises(ActionRefused, match="needs a reason"):
        freeze.freeze(kube_ctx, "argocd", APP, reason="  ")
    with pytest.raises(ActionRefused, match="AppProject missing not found"):
        freeze.freeze(kube_ctx, "argocd", APP, reason="INC")


def test_an_unfreeze_with_nothing_frozen_is_a_noop(kube_emulator, kube_ctx):
    kube_emulator.seed(_project())
    kube_emulator.seed(application(project="bookstore"))
    with pytest.raises(ActionRefused) as err:
        freeze.unfreeze(kube_ctx, "argocd", APP)
    assert err.value.noop


def test_and_operator_windows_match_like_argo_cd():
    from cockpit.actions.syncwindows import Window

    app = application()
    both = Window.from_dict({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "andOperator": True,
                             "clusters": ["https://kubernetes.default.svc"], "namespaces": [NS]})
    assert both.applies_to(app)
    elsewhere = Window.from_dict({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "andOperator": True,
                                  "clusters": ["https://other"], "namespaces": [NS]})
    assert not elsewhere.applies_to(app)
    either = Window.from_dict({"kind": "deny", "schedule": "* * * * *", "duration": "1h",
                               "clusters": ["https://other"], "namespaces": [NS]})
    assert either.applies_to(app)
    named = Window.from_dict({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "andOperator": True,
                              "applications": ["bookstore-*"], "namespaces": ["other"]})
    assert not named.applies_to(app)
