"""Argo CD actions against the emulator: auto-sync toggled the way Argo CD's UI does it, and the rollback written
the way Argo CD's API server writes it (MECHANICS (a)); sync windows evaluated like ``SyncWindows.CanSync``."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cockpit.actions import argocd
from cockpit.actions.gateway import Outcome
from cockpit.actions.requests import ActionRefused, Risk
from cockpit.actions.syncwindows import Cron, blocking_reason, parse_duration
from tests.plugins.actions import (  # noqa: F401 - fixtures
    application,
    audit_log,
    body_of,
    clock,
    gateway,
    kube_ctx,
    real_writes,
)

APP = "bookstore-catalog-us-east"
PATH = f"/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/{APP}"
AUTOMATED = {"prune": True, "selfHeal": True}


def _get(emulator):
    return emulator.get_object("argoproj.io/v1alpha1", "applications", "argocd", APP)


def _send(gateway, action, typed=None):
    planned = gateway.plan(action)
    check = gateway.preflight(planned)
    assert check.ok, check.lines()
    return gateway.execute(planned, "alice", typed=typed)


def test_disable_auto_sync_keeps_prune_and_self_heal(kube_emulator, kube_ctx, gateway):
    seeded = kube_emulator.seed(application(automated=dict(AUTOMATED)))
    kube_emulator.clear_requests()
    action = argocd.disable_auto_sync(kube_ctx, "argocd", APP, reason="INC-7 rollback", incident="INC-7",
                                      username="alice", now=NOW)
    assert action.risk is Risk.LOW and "prune=true, selfHeal=true kept" in action.summary
    assert _send(gateway, action).ok
    (real,) = real_writes(kube_emulator)
    assert (real.method, real.path, real.content_type) == ("PATCH", PATH, "application/merge-patch+json")
    live = "d8f3c2a" + "0" * 33
    assert body_of(real) == {"spec": {"syncPolicy": {"automated": {"enabled": False}}},
                             "metadata": {"resourceVersion": seeded["metadata"]["resourceVersion"], "annotations": {
                                 "cockpit.dev/hold-by": "alice", "cockpit.dev/hold-since": "2026-05-20T14:27:00Z",
                                 "cockpit.dev/hold-reason": "INC-7 rollback", "cockpit.dev/hold-incident": "INC-7",
                                 "cockpit.dev/hold-revision": live, "cockpit.dev/hold-bad-revision": live}}}
    assert _get(kube_emulator)["spec"]["syncPolicy"]["automated"] == {"enabled": False, "prune": True,
                                                                      "selfHeal": True}


def test_disable_auto_sync_warns_about_an_owning_application_set(kube_emulator, kube_ctx):
    kube_emulator.seed(application(automated=dict(AUTOMATED), owner_appset="bookstore-tenants"))
    action = argocd.disable_auto_sync(kube_ctx, "argocd", APP)
    assert any("ApplicationSet bookstore-tenants owns this app" in w for w in action.warnings)


def test_disable_auto_sync_twice_is_a_noop(kube_emulator, kube_ctx):
    kube_emulator.seed(application(automated={"enabled": False, "prune": True}))
    with pytest.raises(ActionRefused) as err:
        argocd.disable_auto_sync(kube_ctx, "argocd", APP)
    assert err.value.noop


def test_rollback_is_refused_while_auto_sync_is_on(kube_emulator, kube_ctx):
    kube_emulator.seed(application(automated=dict(AUTOMATED)))
    with pytest.raises(ActionRefused, match="rollback cannot be initiated when auto-sync is enabled"):
        argocd.rollback(kube_ctx, "argocd", APP, 41)


def test_rollback_writes_the_operation_like_the_api_server(kube_emulator, kube_ctx, gateway):
    seeded = kube_emulator.seed(application(automated={"enabled": False, **AUTOMATED},
                                            sync_options=["CreateNamespace=true"]))
    kube_emulator.clear_requests()
    action = argocd.rollback(kube_ctx, "argocd", APP, 41, username="alice")
    assert action.risk is Risk.DESTRUCTIVE and action.confirm_word == APP
    assert any("skips PreSync/PostSync hooks" in w for w in action.warnings)
    result = _send(gateway, action, typed=APP)
    assert result.ok, result.message

    (real,) = real_writes(kube_emulator)
    assert (real.method, real.path, real.content_type) == ("PUT", PATH, "application/json")
    sent = body_of(real)
    source = seeded["status"]["history"][1]["source"]
    assert sent["operation"] == {
        "sync": {
            "revision": "a1b2c3d" + "0" * 33,
            "syncOptions": ["CreateNamespace=true"],
            "syncStrategy": {"apply": {}},
            "source": source,
        },
        "initiatedBy": {"username": "alice"},
    }
    assert "operationState" not in sent["status"]  # status.operationState = nil, as SetAppOperation does
    assert sent["metadata"]["resourceVersion"] == seeded["metadata"]["resourceVersion"]
    assert sent["spec"] == seeded["spec"]  # a full Update of the object as read, not a patch
    live = _get(kube_emulator)
    assert live["operation"] == sent["operation"] and "operationState" not in live["status"]


def test_rollback_defaults_to_the_entry_before_the_newest(kube_emulator, kube_ctx):
    kube_emulator.seed(application(automated=None))
    action = argocd.rollback(kube_ctx, "argocd", APP)
    assert "history id 41" in action.summary
    assert action.writes[0].body["operation"]["sync"]["revision"].startswith("a1b2c3d")


def test_rollback_with_prune_and_multi_source(kube_emulator, kube_ctx):
    sources = [{"repoURL": "https://github.com/acme/charts.git", "path": "catalog", "targetRevision": "1.5.0"},
               {"repoURL": "https://github.com/acme/values.git", "ref": "values", "targetRevision": "main"}]
    history = [{"id": 7, "revisions": ["1.4.0", "abc"], "sources": sources, "source": {"repoURL": ""},
                "deployedAt": "2026-05-19T10:00:00Z"},
               {"id": 8, "revisions": ["1.5.0", "def"], "sources": sources, "source": {"repoURL": ""},
                "deployedAt": "2026-05-20T10:00:00Z"}]
    kube_emulator.seed(application(automated=None, history=history))
    op = argocd.rollback(kube_ctx, "argocd", APP, 7, prune=True, username="alice").writes[0].body["operation"]
    assert op["sync"] == {"prune": True, "syncStrategy": {"apply": {}}, "source": {"repoURL": ""},
                          "revisions": ["1.4.0", "abc"], "sources": sources}


def test_rollback_refusals(kube_emulator, kube_ctx):
    kube_emulator.seed(application(automated=None, operation={"sync": {"revision": "x"}}))
    with pytest.raises(ActionRefused, match="does not have deployment with id 99"):
        argocd.rollback(kube_ctx, "argocd", APP, 99)
    with pytest.raises(ActionRefused, match="another operation is already in progress"):
        argocd.rollback(kube_ctx, "argocd", APP, 41)
    kube_emulator.seed(application(automated=None, history=[{"id": 1, "revision": "x",
                                                               "deployedAt": "2026-05-19T10:00:00Z"},
                                                              {"id": 2, "revision": "y",
                                                               "deployedAt": "2026-05-20T10:00:00Z"}]))
    with pytest.raises(ActionRefused, match="v0.11 or lower"):
        argocd.rollback(kube_ctx, "argocd", APP, 1)


def test_rollback_conflict_is_not_retried(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(application(automated=None))
    planned = gateway.plan(argocd.rollback(kube_ctx, "argocd", APP, 41))
    assert gateway.preflight(planned).ok
    # The controller writes status meanwhile (Argo CD's SetAppOperation would retry; the cockpit does not).
    kube_emulator.patch_object("argoproj.io/v1alpha1", "applications", "argocd", APP,
                               {"status": {"health": {"status": "Progressing"}}})
    kube_emulator.clear_requests()
    result = gateway.execute(planned, "alice", typed=APP)
    assert result.outcome is Outcome.CONFLICT
    assert [r.status for r in real_writes(kube_emulator)] == [409]
    assert "operation" not in _get(kube_emulator)


def test_enable_auto_sync_is_destructive_and_warns_about_git(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(application(automated={"enabled": False, **AUTOMATED}))
    action = argocd.enable_auto_sync(kube_ctx, "argocd", APP)
    assert action.risk is Risk.DESTRUCTIVE and "revert has merged" in action.warnings[0]
    assert _send(gateway, action, typed=APP).ok
    (real,) = real_writes(kube_emulator)
    assert body_of(real)["spec"] == {"syncPolicy": {"automated": {"enabled": True}}}
    assert _get(kube_emulator)["spec"]["syncPolicy"]["automated"] == {"enabled": True, **AUTOMATED}


def test_sync_writes_a_sync_operation(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(application(automated=None))
    action = argocd.sync(kube_ctx, "argocd", APP, prune=True, username="alice")
    assert action.risk is Risk.DESTRUCTIVE
    assert _send(gateway, action, typed=APP).ok
    op = _get(kube_emulator)["operation"]
    assert op["sync"]["revision"] == "main" and op["sync"]["prune"] is True
    assert op["initiatedBy"] == {"username": "alice"}


# --------------------------------------------------------------------------- sync windows

NOW = datetime(2026, 5, 20, 14, 27, tzinfo=timezone.utc)  # a Wednesday


def _project(*windows):
    return {"spec": {"syncWindows": list(windows)}}


def _app():
    return application()


def test_an_active_deny_window_blocks_unless_manual_sync_is_allowed():
    deny = {"kind": "deny", "schedule": "0 14 * * *", "duration": "1h", "applications": ["bookstore-*"]}
    assert "deny window '0 14 * * *'" in blocking_reason(_project(deny), _app(), NOW)
    assert blocking_reason(_project({**deny, "manualSync": True}), _app(), NOW) is None
    assert blocking_reason(_project({**deny, "schedule": "0 16 * * *"}), _app(), NOW) is None
    assert blocking_reason(_project({**deny, "applications": ["other-*"]}), _app(), NOW) is None


def test_outside_every_allow_window_is_blocked():
    allow = {"kind": "allow", "schedule": "0 2 * * 1-5", "duration": "2h", "namespaces": ["bookstore-*"]}
    assert blocking_reason(_project(allow), _app(), NOW).startswith("outside every allow window")
    assert blocking_reason(_project({**allow, "schedule": "0 13 * * wed"}), _app(), NOW) is None


APPPROJECT_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: appprojects.argoproj.io}
spec:
  group: argoproj.io
  names: {kind: AppProject, plural: appprojects, singular: appproject}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def test_rollback_reports_a_blocking_window(tmp_path):
    from cockpit.demo.kubeapi import KubeEmulator
    from cockpit.demo.kubeapi_kinds import DEFAULT_CRD_DIR
    from cockpit.sources.kube import KubeContext

    crds = tmp_path / "crds"
    crds.mkdir()
    for crd in DEFAULT_CRD_DIR.glob("*.yaml"):
        (crds / crd.name).symlink_to(crd)
    (crds / "zz-appproject.yaml").write_text(APPPROJECT_CRD)
    deny = {"kind": "deny", "schedule": "*/30 * * * *", "duration": "1h", "clusters": ["https://kubernetes.*"]}
    with KubeEmulator(crd_dir=crds) as emulator:
        emulator.seed(application(automated=None))
        emulator.seed({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                       "metadata": {"name": "default", "namespace": "argocd"}, "spec": {"syncWindows": [deny]}})
        ctx = KubeContext.from_kubeconfig(emulator.write_kubeconfig(tmp_path / "kubeconfig"), "emulator")
        try:
            action = argocd.rollback(ctx, "argocd", APP, 41, now=NOW)
        finally:
            ctx.api_client.close()
    assert any(w.startswith("sync window of project default: an active deny window") for w in action.warnings)


def test_cron_and_duration_parsing():
    cron = Cron.parse("15 9-17/2 * * mon-fri")
    assert cron.matches(datetime(2026, 5, 20, 11, 15, tzinfo=timezone.utc))
    assert not cron.matches(datetime(2026, 5, 20, 10, 15, tzinfo=timezone.utc))
    assert not cron.matches(datetime(2026, 5, 23, 11, 15, tzinfo=timezone.utc))  # Saturday
    assert parse_duration("1h30m").total_seconds() == 5400
