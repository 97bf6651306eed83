"""The pre-mortem's reasons, each against the Kubernetes API emulator and a real git repository: hooks skipped, a
Rollout outside its rollbackWindow, a parent app or an ApplicationSet putting auto-sync back, a manual-only or a
blocking sync window, an operation already running, a forward-only migration, a flag touched, the blast radius --
and the rule that a RISKY/UNSAFE write goes out only with a typed reason, which the audit record keeps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cockpit.actions import argocd, rollouts
from cockpit.actions.gateway import Outcome
from cockpit.premortem import Intent, Level, Premortem, Verdict, View, assess, needs_reason, text_lines
from tests.plugins.actions import (  # noqa: F401 - fixtures
    NS,
    audit_log,
    clock,
    gateway,
    kube_ctx,
    replica_set,
    rollout,
)
from tests.plugins.git import GitopsRepo, run_git

NOW = datetime(2026, 5, 20, 14, 27, tzinfo=timezone.utc)  # a Wednesday
APP = "bookstore-catalog-us-east"
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: bookstore-platform-acme-books
resources:
  - rollout.yaml
  - migrate-job.yaml
  - schema-check.yaml
  - config.yaml
images:
  - name: ghcr.io/acme/catalog
    newTag: {tag}
"""
MIGRATE_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: catalog-migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: ghcr.io/acme/catalog, args: [migrate, --up]}]
"""
HELM_HOOK = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: schema-check
  annotations:
    helm.sh/hook: pre-upgrade,pre-install
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: check, image: ghcr.io/acme/catalog, args: [check]}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: never-applied
  annotations:
    argocd.argoproj.io/hook: Skip
"""
CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: catalog-config
data:
  FEATURE_SEARCH_V2: "{search}"
  SEARCH_ENGINE: {engine}
"""
DROP = "ALTER TABLE orders DROP COLUMN legacy_status;\n"
ADD = "ALTER TABLE books ADD COLUMN search_rank integer;\n"


# --------------------------------------------------------------------------- a GitOps repository and its app


@pytest.fixture
def repo(tmp_path: Path) -> GitopsRepo:
    root = tmp_path / "gitops"
    root.mkdir()
    origin, work = root / "origin.git", root / "work"
    run_git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    run_git(root, "clone", "--quiet", str(origin), str(work))
    run_git(work, "checkout", "--quiet", "-B", "main")
    repo = GitopsRepo(origin, work)
    repo.commit("good", {
        "apps/catalog/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.0"),
        "apps/catalog/rollout.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: catalog}\n",
        "apps/catalog/migrate-job.yaml": MIGRATE_JOB,
        "apps/catalog/schema-check.yaml": HELM_HOOK,
        "apps/catalog/config.yaml": CONFIG.format(search="false", engine="legacy_postgres_ilike"),
        "migrations/0041_add_status.sql": "ALTER TABLE orders ADD COLUMN status text;\n",
    }, "catalog v1.5.0")
    repo.commit("additive", {"apps/catalog/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.1"),
                             "migrations/0042_search_rank.sql": ADD}, "catalog v1.5.1: rank search results")
    repo.commit("flag", {"apps/catalog/config.yaml": CONFIG.format(search="true", engine="meilisearch_v1")},
                "catalog: search v2 on")
    repo.commit("drop", {"apps/catalog/kustomization.yaml": KUSTOMIZATION.format(tag="v1.6.0"),
                         "migrations/0043_drop_legacy.sql": DROP}, "catalog v1.6.0: drop orders.legacy_status")
    return repo


def _entry(hid: int, sha: str, tag: str, ago: timedelta) -> dict[str, Any]:
    source = {"repoURL": "https://git.example.com/acme/config.git", "path": "apps/catalog", "targetRevision": "main",
              "kustomize": {"images": [f"ghcr.io/acme/catalog:{tag}"]}}
    when = (NOW - ago).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": hid, "revision": sha, "deployedAt": when, "deployStartedAt": when, "source": source,
            "initiatedBy": {"automated": True}}


def application(repo: GitopsRepo, *, live: str = "drop", automated: dict[str, Any] | None = None,
                meta: dict[str, Any] | None = None, operation: dict[str, Any] | None = None,
                project: str = "bookstore", destination: dict[str, Any] | None = None) -> dict[str, Any]:
    order = ["good", "additive", "flag", "drop"]
    tags = {"good": "v1.5.0", "additive": "v1.5.1", "flag": "v1.5.1", "drop": "v1.6.0"}
    names = order[: order.index(live) + 1]
    history = [_entry(40 + index, repo.shas[name], tags[name], timedelta(hours=len(names) - index))
               for index, name in enumerate(names)]
    obj: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": APP, "namespace": "argocd", **(meta or {})},
        "spec": {"project": project, "source": dict(history[-1]["source"]),
                 "destination": destination or {"server": "https://kubernetes.default.svc", "namespace": NS},
                 "syncPolicy": {"automated": automated if automated is not None else
                                {"enabled": False, "prune": True, "selfHeal": True}}},
        "status": {"sync": {"status": "Synced", "revision": repo.shas[live]}, "health": {"status": "Degraded"},
                   "history": history},
    }
    if operation is not None:
        obj["operation"] = operation
    return obj


def view(ctx: Any, repo: GitopsRepo | None, **extra: Any) -> View:
    return View(context="emulator", kube=ctx, gitops_repo=str(repo.work) if repo else None, app_name=APP,
                argocd_namespace="argocd", rollout=(NS, "catalog"), contexts=("emulator",), now=lambda: NOW, **extra)


def rollback_intent(repo: GitopsRepo, target: str) -> Intent:
    return Intent("argocd.rollback", "emulator", "argocd", APP, revision=repo.shas[target])


def reason(premortem: Premortem, key: str) -> Any:
    found = [r for r in premortem.reasons if r.key == key]
    assert found, f"no {key} reason in:\n" + "\n".join(text_lines(premortem))
    return found[0]


def facts(item: Any) -> str:
    return "\n".join(f"{e.fact} @ {e.source}" for e in item.evidence)


def project(*windows: dict[str, Any], name: str = "bookstore") -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                     "syncWindows": list(windows)}}


# --------------------------------------------------------------------------- what will change / not happen


def test_forward_only_migration_between_the_exact_pair_is_unsafe(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="drop"))
    premortem = assess(view(kube_ctx, repo), rollback_intent(repo, "flag"))
    migration = reason(premortem, "migration")
    assert premortem.verdict is Verdict.UNSAFE and migration.level is Level.UNSAFE
    assert "DROP COLUMN legacy_status" in facts(migration) and "migrations/0043_drop_legacy.sql:1" in facts(migration)
    assert "0042" not in facts(migration)  # only the migrations between the live revision and the target
    change = reason(premortem, "change")
    assert "image tag catalog v1.6.0 → v1.5.1" in change.text
    assert "+    newTag: v1.5.1" in facts(change) and "-    newTag: v1.6.0" in facts(change)
    assert needs_reason(premortem) and premortem.needs_reason


def test_a_data_rollback_before_the_deploy_passes_the_migration(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="drop"))
    passed = view(kube_ctx, repo, data_rolled_back=lambda when: "data layer rolled back to 13:43Z, before the deploy")
    migration = reason(assess(passed, rollback_intent(repo, "flag")), "migration")
    assert migration.level is Level.OK and "passed: data layer rolled back" in migration.text


def test_an_additive_pair_is_not_a_migration_problem(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="additive"))
    migration = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "migration")
    assert migration.level is Level.OK and "all additive" in migration.text


def test_hooks_at_the_target_revision_are_listed_as_skipped(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="drop"))
    hooks = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "flag")), "hooks")
    assert hooks.level is Level.RISKY and "Job/catalog-migrate" in hooks.text and "no migration runs" in hooks.text
    listed = facts(hooks)
    assert "Job/catalog-migrate (PreSync, argocd.argoproj.io/hook)" in listed
    assert "Job/schema-check (pre-upgrade,pre-install, helm.sh/hook)" in listed
    assert "never-applied" not in listed  # hook: Skip is never applied at all
    assert f"manifests at {repo.shas['flag'][:7]}" in listed


def test_a_flag_touched_by_the_diff(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="flag"))
    premortem = assess(view(kube_ctx, repo, flag_keys=("meilisearch_v1",)), rollback_intent(repo, "additive"))
    flags = reason(premortem, "flags")
    assert flags.level is Level.RISKY and "FEATURE_SEARCH_V2" in flags.text and "meilisearch_v1" in flags.text
    assert '-  FEATURE_SEARCH_V2: "true"' in facts(flags) and '+  FEATURE_SEARCH_V2: "false"' in facts(flags)
    assert premortem.verdict is Verdict.RISKY


def test_no_flag_reason_when_the_diff_touches_none(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="additive"))
    premortem = assess(view(kube_ctx, repo), rollback_intent(repo, "good"))
    assert not [r for r in premortem.reasons if r.key == "flags"]


# --------------------------------------------------------------------------- Argo Rollouts: the rollback window


TEMPLATE = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
            "metadata": {"name": "catalog-p99", "namespace": NS},
            "spec": {"metrics": [{"name": "p99", "interval": "1m", "count": 5, "successCondition": "result[0] < 0.5",
                                  "provider": {"prometheus": {"address": "http://prometheus:9090", "query": "p99"}}}]}}


def _rollout_with_history(kube_emulator: Any, window: int | None) -> dict[str, Any]:
    obj = rollout(image="ghcr.io/acme/catalog:v1.6.0", step=8, pause_reason=None, stable="c3", current="c3")
    obj["spec"]["strategy"]["canary"]["steps"].insert(2, {"analysis": {"templates": [{"templateName": "catalog-p99"}]}})
    if window is not None:
        obj["spec"]["rollbackWindow"] = {"revisions": window}
    kube_emulator.seed(obj)
    created = {"a1": 30, "b2": 20, "c3": 10}
    for revision, (pod_hash, tag) in enumerate((("a1", "v1.5.0"), ("b2", "v1.5.1"), ("c3", "v1.6.0")), start=1):
        rs = replica_set(pod_hash, f"ghcr.io/acme/catalog:{tag}", revision, replicas=4 if pod_hash == "c3" else 0)
        rs["metadata"]["creationTimestamp"] = (NOW - timedelta(days=created[pod_hash])).strftime("%Y-%m-%dT%H:%M:%SZ")
        kube_emulator.seed(rs)
    kube_emulator.seed(TEMPLATE)
    return obj


def _undo_to(kube_ctx: Any, revision: int) -> Any:
    return rollouts.undo(kube_ctx, NS, "catalog", to_revision=revision)


def test_outside_the_rollback_window_every_step_and_analysis_runs_again(kube_emulator, kube_ctx):
    _rollout_with_history(kube_emulator, window=1)
    premortem = assess(view(kube_ctx, None), _undo_to(kube_ctx, 1))  # a1: b2 lies between it and the stable c3
    window = reason(premortem, "rollback-window")
    assert window.level is Level.RISKY and "outside its rollbackWindow" in window.text
    # 3 timed pauses of 5m + the analysis step (5 measurements a minute apart: 4m); step 2 waits for a person
    assert "re-runs all 9 steps" in window.text and "at least 19m" in window.text
    assert "step 2 pauses until a person promotes" in window.text
    assert "1 ReplicaSet(s) between the target a1 and stable c3" in facts(window)
    change = reason(premortem, "change")
    image = "spec.containers[catalog].image: ghcr.io/acme/catalog:v1.6.0 → ghcr.io/acme/catalog:v1.5.0"
    assert image in facts(change)


def test_inside_the_rollback_window_it_is_fast_tracked(kube_emulator, kube_ctx):
    _rollout_with_history(kube_emulator, window=3)
    window = reason(assess(view(kube_ctx, None), _undo_to(kube_ctx, 1)), "rollback-window")
    assert window.level is Level.OK and "fast-tracked" in window.text


def test_without_a_rollback_window_even_the_previous_revision_runs_every_step(kube_emulator, kube_ctx):
    _rollout_with_history(kube_emulator, window=None)
    window = reason(assess(view(kube_ctx, None), _undo_to(kube_ctx, 2)), "rollback-window")
    assert window.level is Level.RISKY and "rollbackWindow.revisions not set" in facts(window)


def test_undo_with_self_heal_on_is_unsafe(kube_emulator, kube_ctx, repo):
    _rollout_with_history(kube_emulator, window=3)
    kube_emulator.seed(application(repo, automated={"prune": True, "selfHeal": True}))
    premortem = assess(view(kube_ctx, repo), _undo_to(kube_ctx, 2))
    heal = reason(premortem, "auto-sync")
    assert heal.level is Level.UNSAFE and "undoes the undo" in heal.text and premortem.verdict is Verdict.UNSAFE


# --------------------------------------------------------------------------- what will fight back


def test_a_parent_app_with_self_heal_re_enables_auto_sync(kube_emulator, kube_ctx, repo):
    tracking = {"annotations": {"argocd.argoproj.io/tracking-id": f"apps:argoproj.io/Application:argocd/{APP}"}}
    kube_emulator.seed(application(repo, live="additive", meta=tracking))
    parent = application(repo, live="additive", automated={"prune": True, "selfHeal": True})
    parent["metadata"]["name"] = "apps"
    kube_emulator.seed(parent)
    premortem = assess(view(kube_ctx, repo), rollback_intent(repo, "good"))
    found = reason(premortem, "parent")
    assert found.level is Level.UNSAFE and "parent app apps" in found.text and "within seconds" in found.text
    assert premortem.verdict is Verdict.UNSAFE

    parent["spec"]["syncPolicy"]["automated"] = {"prune": True}  # no self-heal: at the next commit
    kube_emulator.seed(parent)
    assert reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "parent").level is Level.RISKY

    parent["spec"]["ignoreDifferences"] = [{"group": "argoproj.io", "kind": "Application",
                                            "jsonPointers": ["/spec/syncPolicy"]}]
    parent["spec"]["syncPolicy"]["syncOptions"] = ["RespectIgnoreDifferences=true"]
    kube_emulator.seed(parent)
    assert reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "parent").level is Level.OK


def test_a_parent_found_by_its_instance_label(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="additive", meta={"labels": {"app.kubernetes.io/instance": "apps"}}))
    parent = application(repo, live="additive", automated={"prune": True, "selfHeal": True})
    parent["metadata"]["name"] = "apps"
    kube_emulator.seed(parent)
    assert reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "parent").level is Level.UNSAFE


def test_an_application_set_owner_puts_the_sync_policy_back(kube_emulator, kube_ctx, repo):
    owner = {"ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
                                  "name": "tenants", "uid": "0b7e1f44-1111-2222-3333-444455556666",
                                  "controller": True}]}
    kube_emulator.seed(application(repo, live="additive", meta=owner))
    appset = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
              "metadata": {"name": "tenants", "namespace": "argocd"},
              "spec": {"generators": [{"list": {"elements": [{"tenant": "acme-books"}]}}],
                       "template": {"metadata": {"name": "{{tenant}}"},
                                    "spec": {"project": "bookstore", "destination": {"server": "https://x"},
                                             "source": {"repoURL": "https://git.example.com/x.git"}}}}}
    kube_emulator.seed(appset)
    found = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "appset")
    assert found.level is Level.UNSAFE and "puts spec.syncPolicy back" in found.text

    appset["spec"]["ignoreApplicationDifferences"] = [{"jsonPointers": ["/spec/syncPolicy"]}]
    kube_emulator.seed(appset)
    assert reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "appset").level is Level.OK


def test_a_manual_only_sync_window_and_a_blocking_one(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="additive"))
    deny = {"kind": "deny", "schedule": "0 14 * * *", "duration": "1h", "namespaces": ["bookstore-*"],
            "manualSync": True}
    kube_emulator.seed(project(deny))
    found = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "sync-window")
    assert found.level is Level.RISKY and "allows only manual syncs" in found.text
    assert "deny window '0 14 * * *' for 1h (UTC, manual syncs allowed) — active" in facts(found)

    kube_emulator.seed(project({**deny, "manualSync": False}))
    found = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "sync-window")
    assert found.level is Level.UNSAFE and "blocked by sync window" in found.text

    outside = {"kind": "allow", "schedule": "0 2 * * *", "duration": "1h", "applications": ["*"]}
    kube_emulator.seed(project(outside))
    assert reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "sync-window").level is Level.UNSAFE
    kube_emulator.seed(project({**outside, "manualSync": True}))
    assert reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "sync-window").level is Level.RISKY


def test_an_operation_already_running(kube_emulator, kube_ctx, repo):
    operation = {"sync": {"revision": repo.shas["drop"]}, "initiatedBy": {"username": "bob"}}
    kube_emulator.seed(application(repo, live="additive", operation=operation))
    found = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "operation")
    assert found.level is Level.UNSAFE and "started by bob" in found.text and "refuses another" in found.text


def test_auto_sync_on_is_named_before_an_argo_rollback(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="additive", automated={"prune": True, "selfHeal": True}))
    found = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "auto-sync")
    assert found.level is Level.RISKY and "refuses a rollback" in found.text


# --------------------------------------------------------------------------- reach, and what cannot be read


def test_a_cluster_wide_app_is_risky_and_a_tenant_is_not(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="additive", destination={"server": "https://kubernetes.default.svc"}))
    blast = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "blast-radius")
    assert blast.level is Level.RISKY and "cluster-wide" in blast.text
    kube_emulator.seed(application(repo, live="additive"))
    blast = reason(assess(view(kube_ctx, repo), rollback_intent(repo, "good")), "blast-radius")
    assert blast.level is Level.OK and "one tenant" in blast.text and NS in blast.text


def test_what_cannot_be_read_is_said_and_never_safe(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="additive"))
    premortem = assess(view(kube_ctx, None), rollback_intent(repo, "good"))
    unreadable = reason(premortem, "unreadable")
    assert unreadable.level is Level.RISKY and "--gitops-repo" in unreadable.text
    assert premortem.verdict is not Verdict.SAFE


def test_hostile_strings_stay_data(kube_emulator, kube_ctx, repo):
    evil = "[bold red]x[/]\x1b[2J[@click=app.quit]"
    operation = {"sync": {"revision": evil}, "initiatedBy": {"username": evil}}
    kube_emulator.seed(application(repo, live="additive", operation=operation))
    premortem = assess(view(kube_ctx, repo), rollback_intent(repo, "good"))
    json.dumps(premortem.to_dict())  # plain data all the way down
    from rich.console import Console

    from cockpit.widgets.premortem import render_premortem

    console = Console(width=200, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(render_premortem(premortem, evidence=9))
    shown = console.export_text()
    assert "started by [bold red]x[/]\\x1b[2J[@click=app.quit]" in shown  # literal, the escape made visible


# --------------------------------------------------------------------------- the rule and the audit record


def test_the_gateway_needs_a_reason_for_a_risky_write_and_audits_the_verdict(kube_emulator, kube_ctx, repo, gateway,
                                                                              audit_log):
    kube_emulator.seed(application(repo, live="drop"))
    planned = gateway.plan(argocd.rollback(kube_ctx, "argocd", APP, 42, username="alice", now=NOW))
    premortem = assess(view(kube_ctx, repo), planned)
    assert premortem.verdict is Verdict.UNSAFE
    import dataclasses

    planned = dataclasses.replace(planned, premortem=premortem)
    refused = gateway.execute(planned, "alice", typed=APP)
    assert refused.outcome is Outcome.REFUSED and "UNSAFE" in refused.message and not list(audit_log.records())
    result = gateway.execute(planned, "alice", typed=APP, reason="customer data loss is worse than the schema risk")
    assert result.ok, result.message
    before, after = [r for r in audit_log.records() if r.get("plan_id") == planned.id]
    for record in (before, after):
        assert record["premortem"]["verdict"] == "unsafe"
        assert record["reason"] == "customer data loss is worse than the schema risk"
        keys = {r["key"] for r in record["premortem"]["reasons"]}
        assert {"migration", "hooks", "change"} <= keys


# --------------------------------------------------------------------------- a config revert, a Helm rollback


def test_a_config_revert_of_a_forward_only_release_is_unsafe(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="drop", automated={"prune": True}))
    revert = Intent("git.revert", "emulator", "", str(repo.work), revision=repo.shas["drop"])
    premortem = assess(view(kube_ctx, repo), revert)
    assert premortem.verdict is Verdict.UNSAFE
    assert "DROP COLUMN legacy_status" in facts(reason(premortem, "migration"))
    assert "the revert undoes" in reason(premortem, "change").text
    assert "auto-sync deploys the revert" in reason(premortem, "auto-sync").text

    flag = assess(view(kube_ctx, repo), Intent("git.revert", "emulator", "", str(repo.work),
                                               revision=repo.shas["flag"]))
    assert reason(flag, "flags").level is Level.RISKY and flag.verdict is Verdict.RISKY


def test_a_revert_waits_for_a_window_that_holds_automation(kube_emulator, kube_ctx, repo):
    kube_emulator.seed(application(repo, live="flag", automated={"prune": True}))
    kube_emulator.seed(project({"kind": "deny", "schedule": "0 14 * * *", "duration": "1h", "applications": ["*"]}))
    premortem = assess(view(kube_ctx, repo), Intent("git.revert", "emulator", "", str(repo.work),
                                                    revision=repo.shas["flag"]))
    window = reason(premortem, "sync-window")
    assert window.level is Level.RISKY and "only by hand until it ends" in window.text


def test_helm_rollback_runs_only_the_rollback_hooks():
    from cockpit.actions.helm import HelmRevision
    from cockpit.premortem import verdict_of
    from cockpit.premortem.gather import Facts
    from cockpit.premortem.judge import judge

    history = (HelmRevision("catalog-search", 3, "deployed", "catalog-search-1.5.1", "1.5.1", NOW, "Upgrade", "s3"),
               HelmRevision("catalog-search", 2, "superseded", "catalog-search-1.5.0", "1.5.0", NOW, "Install", "s2"))
    release = {"name": "catalog-search", "version": 2, "hooks": [
        {"name": "db-migrate", "kind": "Job", "events": ["pre-upgrade", "pre-install"]},
        {"name": "cache-flush", "kind": "Job", "events": ["pre-rollback"]}]}
    facts_ = Facts(Intent("helm.rollback", "emulator", NS, "catalog-search", helm_revision=2), NOW,
                   helm_history=history, helm_target=release, live_revision="3", target_revision="2")
    reasons = judge(facts_)
    hooks = next(r for r in reasons if r.key == "hooks")
    assert hooks.level is Level.RISKY and "Job/db-migrate will not run" in hooks.text
    assert "Job/cache-flush (pre-rollback): runs" in facts(hooks)
    change = next(r for r in reasons if r.key == "change")
    assert "revision 3 (catalog-search-1.5.1) back to 2 (catalog-search-1.5.0)" in change.text
    assert verdict_of(reasons) is Verdict.RISKY


def test_hostile_objects_never_break_the_judge():
    from cockpit.premortem.gather import Facts
    from cockpit.premortem.judge import judge

    weird: list[Any] = [None, 7, "x", [], {"a": [1, {"b": None}]}, {"name": ["list"]}, True]
    for value in weird:
        obj = rollout()
        obj["spec"]["strategy"]["canary"]["steps"] = [{"pause": {"duration": value}}, {"analysis": value}, value]
        obj["spec"]["rollbackWindow"] = {"revisions": value}
        obj["spec"]["template"]["spec"]["containers"] = [value, {"name": value, "image": value}]
        obj["status"]["stableRS"] = value
        rs = replica_set("a1", "img", None)
        rs["metadata"]["creationTimestamp"] = value
        rs["spec"]["template"] = value
        app = {"metadata": {"annotations": value, "labels": value, "ownerReferences": value},
               "spec": {"destination": value, "syncPolicy": {"automated": value}}, "status": {"history": value},
               "operation": value}
        for action in ("rollouts.undo", "rollouts.abort", "argocd.rollback", "git.revert"):
            facts_ = Facts(Intent(action, "c", NS, "catalog", template=value if isinstance(value, dict) else None),
                           NOW, app=app, rollout=obj, replica_sets=[rs, value] if isinstance(value, dict) else [rs],
                           project={"spec": {"syncWindows": [value]}}, appset={"spec": value}, parent=app,
                           manifests={"k/kustomization.yaml": "images: [{name: x, newTag: [1]}]", "h.yaml": "a: [b"})
            judge(facts_)


def test_a_failing_pre_mortem_is_risky_not_safe(kube_emulator, kube_ctx, repo, monkeypatch):
    from cockpit.premortem import judge

    kube_emulator.seed(application(repo, live="additive"))

    def broken(facts_: Any) -> list:
        raise KeyError("a bug")

    monkeypatch.setattr(judge, "judge", broken)
    premortem = assess(view(kube_ctx, repo), rollback_intent(repo, "good"))
    assert premortem.verdict is Verdict.RISKY and "the pre-mortem itself failed (KeyError" in premortem.headline
