"""Domain parsers: raw Kubernetes objects -> cockpit.models, on the vendored CRD examples.

Every YAML document under tests/fixtures/crd-examples/ is parsed (or deliberately skipped by
kind); the values asserted below were read from those files.  The seed scenario (history
40/41/42, a canary at step 4/8) is built inline, as are the shapes the fixtures lack (the
Barman Cloud plugin, multi-source history).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from cockpit.models import CnpgClusterView
from cockpit.sources.analysis import parse_analysis_run, runs_for_rollout
from cockpit.sources.argocd import describe_change, is_auto_sync_enabled, parse_application
from cockpit.sources.cnpg import object_store_name, parse_archiver_samples, parse_cluster, with_archiving
from cockpit.sources.rollouts import parse_replica_set, parse_rollout
from cockpit.sources.velero import parse_backup, parse_schedule, parse_velero
from cockpit.timefmt import parse_time

UTC = timezone.utc
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "crd-examples"
SKIPPED_KINDS = {
    ("argoproj.io", "AnalysisTemplate"),
    ("postgresql.cnpg.io", "Backup"),
    ("velero.io", "BackupStorageLocation"),
    ("velero.io", "Restore"),
}


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _documents() -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for path in sorted(FIXTURES.rglob("*.yaml")):
        with path.open(encoding="utf-8") as stream:
            for index, doc in enumerate(yaml.safe_load_all(stream)):
                if doc is not None:  # a comment-only document before the first ---
                    found.append((path.relative_to(FIXTURES).as_posix(), index, doc))
    return found


DOCUMENTS = _documents()


def fixture(name: str, index: int = 0) -> dict[str, Any]:
    for rel, doc_index, doc in DOCUMENTS:
        if rel == name and doc_index == index:
            return copy.deepcopy(doc)
    raise LookupError(f"{name}#{index}")


def _parser_for(doc: dict[str, Any]) -> Callable[[dict[str, Any]], Any] | None:
    group = str(doc.get("apiVersion", "")).split("/")[0]
    return {
        ("argoproj.io", "Application"): parse_application,
        ("argoproj.io", "Rollout"): lambda obj: parse_rollout(obj, []),
        ("argoproj.io", "AnalysisRun"): parse_analysis_run,
        ("postgresql.cnpg.io", "Cluster"): parse_cluster,
        ("velero.io", "Backup"): parse_backup,
        ("velero.io", "Schedule"): parse_schedule,
    }.get((group, doc.get("kind")))


def test_fixtures_are_all_found() -> None:
    assert len(DOCUMENTS) >= 28
    assert {rel.split("/")[0] for rel, _, _ in DOCUMENTS} == {"argocd", "argo-rollouts", "cnpg", "velero"}


@pytest.mark.parametrize(("rel", "index", "doc"), DOCUMENTS, ids=[f"{rel}#{index}" for rel, index, _ in DOCUMENTS])
def test_every_fixture_document_parses(rel: str, index: int, doc: dict[str, Any]) -> None:
    parser = _parser_for(doc)
    if parser is None:
        group = str(doc.get("apiVersion", "")).split("/")[0]
        assert (group, doc.get("kind")) in SKIPPED_KINDS, f"{rel}#{index}: no parser for {doc.get('kind')}"
        return
    model = parser(doc)
    assert model.name == doc["metadata"]["name"]


# --------------------------------------------------------------------------- Argo CD fixtures

AUTOSYNC_APP = "argocd/application-automated-sync-running-operation.DERIVED.yaml"
REFERENCE_APP = "argocd/application-reference.argo-cd-docs-operator-manual-application.yaml"
HISTORY_APP = "argocd/application-with-history.argo-cd-controller-testdata-diff-cache.yaml"


def test_application_auto_sync_in_progress() -> None:
    app = parse_application(fixture(AUTOSYNC_APP))
    assert (app.name, app.namespace, app.project) == ("guestbook", "argocd", "default")
    assert app.repo_url == "https://github.com/argoproj/argocd-example-apps.git"
    assert (app.path, app.target_revision) == ("guestbook", "HEAD")
    assert (app.dest_server, app.dest_namespace) == ("https://kubernetes.default.svc", "guestbook")
    assert (app.sync_status, app.health_status) == ("Synced", "Progressing")
    assert app.auto_sync and app.self_heal and app.prune
    assert app.operation_running
    assert (app.operation_phase, app.operation_message) == ("Running", "one or more tasks are running")
    assert [entry.id for entry in app.history] == [2, 1, 0]
    assert [entry.revision for entry in app.history] == [
        "9b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2b4d6f8a0c",
        "1c0e2a7b9d3f5e8a4c6b2d0f9e7a5c3b1d8f6e4a",
        "53e28ff20cc530b9ada2173fbbd64d48338583ba",
    ]
    assert [entry.initiated_by for entry in app.history] == ["automated", "admin", "automated"]
    assert [entry.change for entry in app.history] == ["revision only", "revision only", "first entry"]
    newest = app.history[0]
    assert newest.deployed_at == _t("2025-11-03T07:30:19Z")
    assert newest.deploy_started_at == _t("2025-11-03T07:30:12Z")
    assert newest.short_revision == "9b4d6f8"
    assert newest.source["path"] == "guestbook"
    assert (app.owner_appset, app.resource_version, app.has_status) == ("", "4471932", True)


def test_application_reference_without_status() -> None:
    app = parse_application(fixture(REFERENCE_APP))
    assert app.name == "guestbook"
    assert app.auto_sync and app.prune and app.self_heal  # automated.enabled: true
    assert app.history == () and not app.has_status
    assert (app.sync_status, app.health_status, app.operation_phase) == ("", "", "")
    assert not app.operation_running
    assert app.repo_url == "https://github.com/argoproj/argocd-example-apps.git"
    assert app.dest_namespace == "guestbook"


def test_application_with_history_from_an_applicationset() -> None:
    app = parse_application(fixture(HISTORY_APP))
    assert (app.name, app.namespace, app.project) == ("velero-test", "argo-cd", "sre")
    assert app.owner_appset == "velero"
    assert not app.auto_sync  # syncPolicy has retry and options, no `automated`
    assert app.dest_server == "gke-alpha-01-europe-west1"  # destination by cluster name
    assert [entry.id for entry in app.history] == list(range(23, 13, -1))
    assert {entry.revision for entry in app.history} == {"ea8759964626a583667a2bfd08f334ec2070040a"}
    assert [entry.change for entry in app.history] == ["no changes"] * 9 + ["first entry"]
    assert {entry.initiated_by for entry in app.history} == {""}  # no initiatedBy recorded
    assert app.history[-1].deployed_at == _t("2024-03-04T22:00:06Z")
    assert (app.operation_phase, app.operation_running) == ("Succeeded", False)
    assert (app.sync_status, app.health_status) == ("Synced", "Healthy")


@pytest.mark.parametrize(
    ("sync_policy", "expected"),
    [
        (None, False),
        ({}, False),
        ({"automated": None}, False),
        ({"automated": {}}, True),
        ({"automated": {"enabled": True}}, True),
        ({"automated": {"enabled": False, "selfHeal": True}}, False),
        ({"automated": {"enabled": "false"}}, True),  # wrong type reads as absent: on
        ({"automated": "yes"}, False),
    ],
)
def test_is_auto_sync_enabled(sync_policy: Any, expected: bool) -> None:
    obj = {"spec": {"syncPolicy": sync_policy}}
    assert is_auto_sync_enabled(obj) is expected
    assert parse_application(obj).auto_sync is expected


# --------------------------------------------------------------------------- seed scenario: Argo CD

CATALOG_SOURCE = {
    "repoURL": "https://github.com/acme/bookstore-platform-config.git",
    "path": "tenants/acme-books/catalog/us-east",
    "targetRevision": "main",
    "kustomize": {"images": ["ghcr.io/acme/catalog:v1.5.0"]},
}


def _seed_application() -> dict[str, Any]:
    def entry(history_id: int, sha: str, deployed: str, tag: str) -> dict[str, Any]:
        source = copy.deepcopy(CATALOG_SOURCE)
        source["kustomize"]["images"] = [f"ghcr.io/acme/catalog:{tag}"]
        return {
            "id": history_id,
            "revision": sha,
            "deployedAt": deployed,
            "initiatedBy": {"automated": True},
            "source": source,
        }

    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "bookstore-catalog-us-east", "namespace": "argocd"},
        "spec": {
            "project": "acme-books",
            "source": CATALOG_SOURCE,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "bookstore-platform-acme-books"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
        "status": {
            "sync": {"status": "Synced", "revision": "d8f3c2a" + "0" * 33},
            "health": {"status": "Degraded"},
            # deliberately out of order: the parser sorts by id
            "history": [
                entry(41, "a1b2c3d" + "1" * 33, "2026-05-20T11:08:51Z", "v1.5.0"),
                entry(42, "d8f3c2a" + "0" * 33, "2026-05-20T14:22:13Z", "v1.5.1"),
                entry(40, "9e8d7c6" + "2" * 33, "2026-05-19T17:42:09Z", "v1.5.0"),
            ],
        },
    }


def test_seed_history_names_the_image_tag_bump() -> None:
    app = parse_application(_seed_application())
    assert app.auto_sync and app.self_heal  # automated without `enabled`: on
    assert [entry.id for entry in app.history] == [42, 41, 40]
    assert [entry.short_revision for entry in app.history] == ["d8f3c2a", "a1b2c3d", "9e8d7c6"]
    assert [entry.deployed_at for entry in app.history] == [
        _t("2026-05-20T14:22:13Z"),
        _t("2026-05-20T11:08:51Z"),
        _t("2026-05-19T17:42:09Z"),
    ]
    assert app.history[0].change == "image tag catalog v1.5.0 → v1.5.1"
    assert app.history[1].change == "revision only"  # new commit, same Application source
    assert app.history[2].change == "first entry"
    assert {entry.initiated_by for entry in app.history} == {"automated"}


# --------------------------------------------------------------------------- describe_change


def _entry(source: dict[str, Any], revision: str = "a" * 40, history_id: int = 1) -> dict[str, Any]:
    return {"id": history_id, "revision": revision, "source": source}


GIT = {"repoURL": "https://git.example/cfg.git", "path": "apps/catalog", "targetRevision": "main"}
CHART = {"repoURL": "https://charts.example", "chart": "catalog", "targetRevision": "1.2.0"}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    merged.update(changes)
    return merged


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (GIT, GIT, "no changes"),
        (_with(GIT, path="apps/a"), _with(GIT, path="apps/b"), "path apps/a → apps/b"),
        (
            GIT,
            _with(GIT, repoURL="https://git.example/other.git"),
            "repo https://git.example/cfg.git → https://git.example/other.git",
        ),
        (GIT, _with(GIT, targetRevision="release-2"), "target revision main → release-2"),
        (CHART, _with(CHART, targetRevision="1.3.0"), "chart version 1.2.0 → 1.3.0"),
        (
            _with(GIT, kustomize={"images": ["catalog=ghcr.io/acme/catalog:v1.5.0"]}),
            _with(GIT, kustomize={"images": ["catalog=ghcr.io/acme/catalog:v1.5.1"]}),
            "image tag catalog v1.5.0 → v1.5.1",
        ),
        (
            _with(GIT, kustomize={"images": ["ghcr.io/acme/catalog@sha256:aaa"]}),
            _with(GIT, kustomize={"images": ["ghcr.io/acme/catalog@sha256:bbb"]}),
            "image tag catalog sha256:aaa → sha256:bbb",
        ),
        (
            _with(GIT, kustomize={"images": []}),
            _with(GIT, kustomize={"images": ["ghcr.io/acme/catalog:v2"]}),
            "image catalog added (ghcr.io/acme/catalog:v2)",
        ),
        (
            _with(GIT, kustomize={"patches": [{"patch": "a"}]}),
            _with(GIT, kustomize={"patches": [{"patch": "b"}]}),
            "kustomize patches",
        ),
        (
            _with(GIT, kustomize={"namePrefix": "a-"}),
            _with(GIT, kustomize={"namePrefix": "b-"}),
            "kustomize namePrefix",
        ),
        (
            _with(CHART, helm={"parameters": [{"name": "image.tag", "value": "v1.5.0"}]}),
            _with(CHART, helm={"parameters": [{"name": "image.tag", "value": "v1.5.1"}]}),
            "image tag v1.5.0 → v1.5.1",
        ),
        (
            _with(CHART, helm={"parameters": [{"name": "catalog.image.tag", "value": "v1.5.0"}]}),
            _with(CHART, helm={"parameters": [{"name": "catalog.image.tag", "value": "v1.5.1"}]}),
            "image tag catalog v1.5.0 → v1.5.1",
        ),
        (
            _with(CHART, helm={"values": "image:\n  repository: ghcr.io/acme/catalog\n  tag: v1.5.0\n"}),
            _with(CHART, helm={"values": "image:\n  repository: ghcr.io/acme/catalog\n  tag: v1.5.1\n"}),
            "image tag catalog v1.5.0 → v1.5.1",
        ),
        (
            _with(CHART, helm={"valuesObject": {"api": {"image": "ghcr.io/acme/api:v1"}}}),
            _with(CHART, helm={"valuesObject": {"api": {"image": "ghcr.io/acme/api:v2"}}}),
            "image tag api v1 → v2",
        ),
        (
            _with(CHART, helm={"valuesObject": {"resources": {"requests": {"cpu": "500m"}}}}),
            _with(CHART, helm={"valuesObject": {"resources": {"requests": {"cpu": "1"}}}}),
            "chart values",
        ),
        (
            _with(CHART, helm={"values": "replicas: 2\n"}),
            _with(CHART, helm={"values": "replicas: 3\n"}),
            "chart values",
        ),
        (
            _with(CHART, helm={"valueFiles": ["values.yaml"]}),
            _with(CHART, helm={"valueFiles": ["values.yaml", "values-prod.yaml"]}),
            "chart values",
        ),
        (
            _with(CHART, helm={"parameters": [{"name": "replicas", "value": "2"}]}),
            _with(CHART, helm={"parameters": [{"name": "replicas", "value": "3"}]}),
            "chart values",
        ),
        (
            _with(CHART, helm={"values": "image:\n  tag: v1\nreplicas: 2\n"}),
            _with(CHART, targetRevision="1.3.0", helm={"values": "image:\n  tag: v2\nreplicas: 3\n"}),
            "chart version 1.2.0 → 1.3.0, image tag v1 → v2, chart values",
        ),
        (
            _with(CHART, helm={"releaseName": "a"}),
            _with(CHART, helm={"releaseName": "b"}),
            "helm releaseName",
        ),
        (
            _with(GIT, plugin={"name": "cmp", "env": [{"name": "A", "value": "1"}]}),
            _with(GIT, plugin={"name": "cmp", "env": [{"name": "A", "value": "2"}]}),
            "plugin settings",
        ),
        (
            _with(CHART, helm={"values": "{unclosed: [\n"}),
            _with(CHART, helm={"values": "{still unclosed: [\n"}),
            "chart values",
        ),
    ],
)
def test_describe_change(old: dict[str, Any], new: dict[str, Any], expected: str) -> None:
    assert describe_change(_entry(old, "a" * 40), _entry(new, "a" * 40)) == expected


def test_describe_change_revision_only_and_first_entry() -> None:
    assert describe_change(_entry(GIT, "a" * 40), _entry(GIT, "b" * 40)) == "revision only"
    assert describe_change(None, _entry(GIT)) == "first entry"
    assert describe_change({"id": 1}, {"id": 2}) == "no changes"  # pre-v0.11 entries had no source


@pytest.mark.parametrize("junk", [None, "x", 3, [], {"source": "x", "sources": "y", "revisions": 5}])
def test_describe_change_never_raises_on_junk(junk: Any) -> None:
    assert isinstance(describe_change(junk, _entry(GIT)), str)
    assert isinstance(describe_change(_entry(GIT), junk), str)


def test_describe_change_survives_a_yaml_alias_bomb() -> None:
    layers = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        layers.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join(layers)
    started = time.monotonic()
    old, new = _entry(_with(CHART, helm={"values": bomb})), _entry(_with(CHART, helm={"values": bomb + "\n"}))
    change = describe_change(old, new)
    assert time.monotonic() - started < 5
    assert change == "chart values"


def test_describe_change_survives_deep_nesting() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    change = describe_change(
        _entry(_with(CHART, helm={"valuesObject": deep})), _entry(_with(CHART, helm={"valuesObject": {"y": deep}}))
    )
    assert isinstance(change, str) and change


def test_multi_source_history_is_described_per_source() -> None:
    def entry(history_id: int, values_sha: str, chart_version: str, value_files: list[str]) -> dict[str, Any]:
        return {
            "id": history_id,
            "source": {"repoURL": ""},  # multi-source entries still carry an empty `source`
            "revisions": [values_sha, chart_version],
            "sources": [
                {"repoURL": "https://git.example/values.git", "targetRevision": "main", "ref": "values"},
                {
                    "repoURL": "https://charts.example",
                    "chart": "catalog",
                    "targetRevision": chart_version,
                    "helm": {"valueFiles": value_files},
                },
            ],
            "deployedAt": f"2026-05-{10 + history_id:02d}T00:00:00Z",
        }

    files = ["$values/catalog/values.yaml"]
    app = parse_application(
        {
            "metadata": {"name": "catalog"},
            "spec": {"sources": [entry(7, "c" * 40, "1.3.0", files)["sources"][0]]},
            "status": {
                "history": [
                    entry(5, "a" * 40, "1.2.0", files),
                    entry(6, "b" * 40, "1.2.0", files),
                    entry(7, "b" * 40, "1.3.0", files),
                    entry(8, "b" * 40, "1.3.0", [*files, "$values/catalog/prod.yaml"]),
                    entry(9, "b" * 40, "1.3.0", [*files, "$values/catalog/prod.yaml"]),
                ]
            },
        }
    )
    assert app.repo_url == "https://git.example/values.git"  # the first source
    assert [entry.id for entry in app.history] == [9, 8, 7, 6, 5]
    assert [entry.change for entry in app.history] == [
        "no changes",
        "catalog: chart values",
        "catalog: chart version 1.2.0 → 1.3.0",
        "values: revision only",
        "first entry",
    ]
    assert app.history[0].revisions == ("b" * 40, "1.3.0")
    assert app.history[0].revision == ""
    assert app.history[0].short_revision == "bbbbbbb,1.3.0"
    assert len(app.history[0].sources) == 2


def test_switch_to_multi_source_is_reported() -> None:
    single = {"id": 1, "revision": "a" * 40, "source": GIT}
    multi = {"id": 2, "revisions": ["a" * 40, "1.2.0"], "sources": [GIT, CHART]}
    assert describe_change(single, multi).startswith("sources 1 (single-source) → 2")


# --------------------------------------------------------------------------- Rollout fixtures

ABORTED = "argo-rollouts/rollout-canary-aborted.argo-rollouts-info-testdata.yaml"
HEALTHY = "argo-rollouts/rollout-canary-healthy-completed.argo-cd-resource-customizations.yaml"
PAUSED = "argo-rollouts/rollout-canary-paused-step.argo-cd-resource-customizations.yaml"
PAUSED0 = "argo-rollouts/rollout-canary-paused-step0.argo-cd-resource-customizations.yaml"
ANALYSIS_STEP = "argo-rollouts/rollout-analysis-step.argo-rollouts-examples.yaml"


def _replica_set(
    name: str,
    pod_hash: str,
    revision: str,
    image: str,
    owner: dict[str, Any],
    *,
    replicas: int = 1,
    available: int | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": owner.get("namespace", "default"),
            "labels": {"rollouts-pod-template-hash": pod_hash},
            "annotations": {"rollout.argoproj.io/revision": revision},
            "ownerReferences": [{"kind": "Rollout", "controller": True, **owner}],
        },
        "spec": {
            "replicas": replicas,
            "template": {
                "metadata": {"labels": {"rollouts-pod-template-hash": pod_hash}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": replicas if available is None else available,
            "availableReplicas": replicas if available is None else available,
        },
    }


def test_aborted_rollout() -> None:
    obj = fixture(ABORTED)
    owner = {"name": "rollout-background-analysis", "uid": obj["metadata"]["uid"], "namespace": "default"}
    replica_sets = [
        _replica_set("rba-7d84d44bb8", "7d84d44bb8", "1", "argoproj/rollouts-demo:blue", owner),
        _replica_set("rba-db976bc44", "db976bc44", "2", "argoproj/rollouts-demo:yellow", owner, replicas=0),
        _replica_set("other-5b6c", "5b6c", "9", "other:1", {"name": "other", "uid": "not-this-rollout"}),
    ]
    ro = parse_rollout(obj, replica_sets)
    assert ro.aborted is True
    assert ro.aborted_at == _t("2020-09-22T09:10:05Z")
    assert ro.phase == "Degraded"  # no status.phase: computed from the RolloutAborted condition
    assert ro.message == 'RolloutAborted: metric "web" assessed Failed due to failed (1) > failureLimit (0)'
    assert (ro.step_index, ro.step_count, ro.set_weight, ro.actual_weight) == (0, 2, 0, 0)
    assert (ro.stable_hash, ro.canary_hash) == ("7d84d44bb8", "db976bc44")
    assert ro.stable_images == ("argoproj/rollouts-demo:blue",)
    assert ro.canary_images == ("argoproj/rollouts-demo:yellow",)
    assert [rs.name for rs in ro.replica_sets] == ["rba-db976bc44", "rba-7d84d44bb8"]  # newest revision first
    assert ro.replica_sets[1].template["spec"]["containers"][0]["image"] == "argoproj/rollouts-demo:blue"
    assert ro.match_labels == {"app": "rollout-background-analysis"}
    assert not ro.paused


def test_healthy_fully_promoted_rollout() -> None:
    ro = parse_rollout(fixture(HEALTHY), [])
    assert (ro.name, ro.uid) == ("guestbook-canary", "d6105ccd-6c5b-11e9-b8d7-025000000001")
    assert (ro.step_index, ro.step_count) == (4, 4)
    assert (ro.set_weight, ro.actual_weight) == (100, 100)
    assert ro.phase == "Healthy"
    assert ro.stable_hash == ro.canary_hash == "84ccfddd66"
    assert ro.canary_images == ("quay.io/argoprojlabs/argocd-e2e-container:0.1",)  # from spec.template
    assert (ro.replicas, ro.ready_replicas, ro.available_replicas, ro.updated_replicas) == (5, 5, 5, 5)
    assert not ro.paused and not ro.aborted


def test_rollout_paused_at_a_pause_step() -> None:
    ro = parse_rollout(fixture(PAUSED), [])
    assert (ro.phase, ro.message) == ("Paused", "CanaryPauseStep")
    assert (ro.step_index, ro.step_count, ro.set_weight) == (1, 8, 21)
    assert ro.paused and ro.controller_pause
    assert ro.pause_reasons == ("CanaryPauseStep",)
    assert (ro.stable_hash, ro.canary_hash) == ("77f4f8ff97", "8566c77b97")
    assert ro.updated_replicas == 2 and ro.replicas == 6


def test_rollout_paused_at_step_zero_without_weights() -> None:
    ro = parse_rollout(fixture(PAUSED0), [])
    assert (ro.step_index, ro.step_count, ro.set_weight) == (0, 2, 0)  # only pause steps
    assert ro.paused and ro.pause_reasons == ("CanaryPauseStep",)
    assert ro.uid == "" and ro.namespace == "rollout-test-custom-actions"


def test_rollout_without_status() -> None:
    ro = parse_rollout(fixture(ANALYSIS_STEP), [])
    assert not ro.has_status
    # the CLI's reading of the empty status (rolloututil.go CalculateRolloutPhase): 0 updated of 4 replicas
    assert (ro.phase, ro.message) == ("Progressing", "more replicas need to be updated")
    assert (ro.step_index, ro.step_count, ro.set_weight) == (None, 2, 25)
    assert ro.canary_images == ("argoproj/rollouts-demo:blue",)


def test_replica_sets_match_by_owner_name_when_the_rollout_has_no_uid() -> None:
    obj = fixture(PAUSED0)
    owner = {"name": "rollouts-demo", "uid": "whatever", "namespace": "rollout-test-custom-actions"}
    elsewhere = dict(owner, namespace="another-namespace")
    ro = parse_rollout(
        obj,
        [
            _replica_set("rollouts-demo-6cf78c66c5", "6cf78c66c5", "1", "argoproj/rollouts-demo:blue", owner),
            _replica_set("rollouts-demo-687d76d795", "687d76d795", "2", "argoproj/rollouts-demo:green", owner),
            _replica_set("rollouts-demo-aaaa", "aaaa", "3", "x", elsewhere),
        ],
    )
    assert [rs.revision for rs in ro.replica_sets] == [2, 1]
    assert ro.stable_images == ("argoproj/rollouts-demo:blue",)
    assert ro.canary_images == ("argoproj/rollouts-demo:green",)


def test_parse_replica_set() -> None:
    owner = {"name": "catalog", "uid": "u-1"}
    raw = _replica_set("catalog-abc", "abc", "7", "ghcr.io/acme/catalog:v1.5.1", owner, replicas=3, available=2)
    rs = parse_replica_set(raw)
    assert (rs.name, rs.pod_hash, rs.revision, rs.owner_uid) == ("catalog-abc", "abc", 7, "u-1")
    assert rs.images == ("ghcr.io/acme/catalog:v1.5.1",)
    assert (rs.replicas, rs.ready_replicas, rs.available_replicas) == (3, 2, 2)
    assert rs.template["metadata"]["labels"] == {"rollouts-pod-template-hash": "abc"}
    assert parse_replica_set({"metadata": {"annotations": {"rollout.argoproj.io/revision": "x7"}}}).revision is None


def test_actual_weight_prefers_the_traffic_router() -> None:
    # Corrected per argo-rollouts info/rollout_info.go NewRolloutInfo: the router's weight counts only under
    # spec.strategy.canary.trafficRouting; without it the CLI uses the canary's share of available pods.
    obj = fixture(PAUSED)
    obj["status"]["canary"] = {"weights": {"canary": {"weight": 17, "podTemplateHash": "8566c77b97"}}}
    assert parse_rollout(obj, []).actual_weight == 0  # no trafficRouting, no canary RS given: 0 pods
    obj["spec"]["strategy"]["canary"]["trafficRouting"] = {"nginx": {"stableIngress": "web"}}
    assert parse_rollout(obj, []).actual_weight == 17
    del obj["status"]["canary"]["weights"]
    assert parse_rollout(obj, []).actual_weight == parse_rollout(obj, []).set_weight == 21


def test_blue_green_rollout_has_no_weights() -> None:
    obj = {"spec": {"strategy": {"blueGreen": {"activeService": "a"}}}, "status": {"phase": "Healthy"}}
    ro = parse_rollout(obj, [])
    assert ro.strategy == "blueGreen"
    assert (ro.set_weight, ro.actual_weight, ro.step_index, ro.step_count) == (None, None, None, 0)


# --------------------------------------------------------------------------- seed scenario: Rollout

CATALOG_UID = "5d1f7c2e-0b8a-4e61-9c3d-7a2b4f6e8d10"


def _seed_rollout() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "catalog", "namespace": "bookstore-platform-acme-books", "uid": CATALOG_UID},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "catalog"}},
            "template": {"spec": {"containers": [{"name": "catalog", "image": "ghcr.io/acme/catalog:v1.5.1"}]}},
            "strategy": {
                "canary": {
                    "steps": [
                        {"setWeight": 10},
                        {"pause": {"duration": "2m"}},
                        {"setWeight": 25},
                        {"analysis": {"templates": [{"templateName": "catalog-p99"}]}},
                        {"pause": {}},
                        {"setWeight": 50},
                        {"pause": {"duration": "5m"}},
                        {"setWeight": 100},
                    ]
                }
            },
        },
        "status": {
            "phase": "Paused",
            "message": "CanaryPauseStep",
            "currentStepIndex": 4,
            "stableRS": "6f9c8d7b5",
            "currentPodHash": "7b4d9f6c8",
            "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-05-20T14:25:40Z"}],
            "replicas": 4,
            "updatedReplicas": 1,
            "readyReplicas": 4,
            "availableReplicas": 4,
            "canary": {"currentStepAnalysisRunStatus": {"name": "catalog-7b4d9f6c8-3-3", "status": "Successful"}},
        },
    }
    owner = {"name": "catalog", "uid": CATALOG_UID, "namespace": "bookstore-platform-acme-books"}
    replica_sets = [
        _replica_set("catalog-6f9c8d7b5", "6f9c8d7b5", "2", "ghcr.io/acme/catalog:v1.5.0", owner, replicas=3),
        _replica_set("catalog-7b4d9f6c8", "7b4d9f6c8", "3", "ghcr.io/acme/catalog:v1.5.1", owner, replicas=1),
        _replica_set("catalog-5c3b2a1d0", "5c3b2a1d0", "1", "ghcr.io/acme/catalog:v1.4.9", owner, replicas=0),
    ]
    return rollout, replica_sets


def test_seed_rollout_at_step_4_of_8() -> None:
    ro = parse_rollout(*_seed_rollout())
    assert (ro.strategy, ro.phase) == ("canary", "Paused")
    assert (ro.step_index, ro.step_count, ro.set_weight) == (4, 8, 25)
    assert ro.actual_weight == 25  # 1 of 4 available pods is canary
    assert ro.stable_images == ("ghcr.io/acme/catalog:v1.5.0",)
    assert ro.canary_images == ("ghcr.io/acme/catalog:v1.5.1",)
    assert [rs.revision for rs in ro.replica_sets] == [3, 2, 1]
    assert ro.current_step_analysis == "catalog-7b4d9f6c8-3-3"
    assert ro.paused and ro.pause_reasons == ("CanaryPauseStep",)


def test_seed_rollout_after_abort_and_full_promotion() -> None:
    rollout, replica_sets = _seed_rollout()
    rollout["status"]["abort"] = True
    assert parse_rollout(rollout, replica_sets).set_weight == 0
    rollout["status"]["abort"] = False
    rollout["status"]["currentStepIndex"] = 8
    assert parse_rollout(rollout, replica_sets).set_weight == 100
    rollout["spec"]["paused"] = True
    assert parse_rollout(rollout, replica_sets).pause_reasons == ("CanaryPauseStep", "spec.paused")


# --------------------------------------------------------------------------- AnalysisRuns

AR_FAILED = "argo-rollouts/analysisrun-failed.argo-rollouts-info-testdata.yaml"
AR_RUNNING = "argo-rollouts/analysisrun-running.argo-rollouts-info-testdata.yaml"
AR_LEGACY = "argo-rollouts/analysisrun-successful-legacy-analysisSpec.argo-cd-resource-customizations.yaml"
AR_TERMINATED = "argo-rollouts/analysisrun-terminated-successful.argo-cd-resource-customizations.yaml"


def test_failed_background_analysis_run() -> None:
    run = parse_analysis_run(fixture(AR_FAILED))
    assert (run.name, run.phase) == ("rollout-background-analysis-db976bc44-2", "Failed")
    assert run.message == 'metric "web" assessed Failed due to failed (1) > failureLimit (0)'
    assert (run.pod_hash, run.rollout_type, run.step_index) == ("db976bc44", "Background", None)
    assert run.started_at == run.created_at == _t("2020-09-22T09:10:04Z")
    metric = run.metrics[0]
    assert (metric.name, metric.phase, metric.last_value) == ("web", "Failed", "false")
    assert (metric.count, metric.failed, metric.successful) == (1, 1, 0)
    assert run.failing_metric == metric


def test_running_analysis_run_from_an_experiment() -> None:
    run = parse_analysis_run(fixture(AR_RUNNING))
    assert (run.phase, run.pod_hash, run.rollout_type) == ("Running", "", "")
    assert run.created_at == _t("2019-11-07T22:38:23Z") and run.started_at is None
    assert [(m.name, m.phase, m.last_value, m.count) for m in run.metrics] == [("stress", "Running", "", 0)]
    assert run.failing_metric is None


def test_successful_legacy_analysis_run() -> None:
    run = parse_analysis_run(fixture(AR_LEGACY))
    assert run.phase == "Successful"
    metric = run.metrics[0]
    assert (metric.name, metric.last_value, metric.successful, metric.count) == (
        "memory-usage",
        "[0.965324384787472]",
        1,
        1,
    )


def test_terminated_step_analysis_run() -> None:
    run = parse_analysis_run(fixture(AR_TERMINATED))
    assert (run.rollout_type, run.step_index, run.pod_hash) == ("Step", 0, "ff68867ff")
    assert run.message == "run terminated"
    metric = run.metrics[0]
    assert (metric.last_message, metric.message) == ("metric terminated", "metric terminated")
    assert metric.phase == "Successful"


def test_runs_for_rollout_filters_by_owner_uid_and_current_hash() -> None:
    rollout = parse_rollout(fixture(ABORTED), [])
    failed = fixture(AR_FAILED)
    older_hash = copy.deepcopy(failed)
    older_hash["metadata"].update(name="rba-7d84d44bb8-1", labels={"rollouts-pod-template-hash": "7d84d44bb8"})
    newer = copy.deepcopy(failed)
    newer["metadata"].update(name="rba-db976bc44-2-retry", creationTimestamp="2020-09-22T09:20:00Z")
    runs = [
        failed,
        older_hash,
        newer,
        fixture(AR_TERMINATED),  # owned by another rollout
        fixture(AR_RUNNING),  # owned by an Experiment
        "not a run",
    ]
    selected = runs_for_rollout(runs, rollout)
    assert [run.name for run in selected] == ["rba-db976bc44-2-retry", "rollout-background-analysis-db976bc44-2"]


def test_runs_for_rollout_by_owner_name_without_uid() -> None:
    rollout = parse_rollout({"metadata": {"name": "rollout-canary", "namespace": "default"}}, [])
    selected = runs_for_rollout([fixture(AR_TERMINATED), fixture(AR_FAILED)], rollout)
    assert [run.name for run in selected] == ["rollout-canary-ff68867ff-2-0"]


# --------------------------------------------------------------------------- CloudNativePG

CNPG_BACKUP_STATUS = "cnpg/cluster-with-backup-status.DERIVED.yaml"
CNPG_NO_BACKUP = "cnpg/cluster-healthy-with-status.argo-cd-resource-customizations.yaml"
CNPG_SPEC_ONLY = "cnpg/cluster-example-with-backup.cnpg-docs-samples.yaml"
NOW = datetime(2026, 5, 20, 14, 27, tzinfo=UTC)


def test_cluster_with_in_tree_backup_status() -> None:
    cluster = parse_cluster(fixture(CNPG_BACKUP_STATUS))
    assert (cluster.name, cluster.namespace) == ("cluster-example", "default")
    assert cluster.phase == "Cluster in healthy state"
    assert (cluster.instances, cluster.ready_instances, cluster.current_primary) == (3, 3, "cluster-example-1")
    assert (cluster.backup_method, cluster.object_store) == ("barmanObjectStore", "")
    assert cluster.server_name == "cluster-example"
    assert cluster.first_recoverability_point == _t("2025-04-25T21:00:12Z")
    assert cluster.last_successful_backup == _t("2025-04-27T00:00:39Z")
    assert cluster.last_failed_backup is None
    assert cluster.window_source == "Cluster status (in-tree barmanObjectStore)"


def test_cluster_first_point_from_by_method_map() -> None:
    obj = fixture(CNPG_BACKUP_STATUS)
    del obj["status"]["firstRecoverabilityPoint"], obj["status"]["lastSuccessfulBackup"]
    cluster = parse_cluster(obj)
    assert cluster.first_recoverability_point == _t("2025-04-25T21:00:12Z")
    assert cluster.last_successful_backup == _t("2025-04-27T00:00:39Z")


def test_cluster_without_backups() -> None:
    cluster = parse_cluster(fixture(CNPG_NO_BACKUP))
    assert (cluster.backup_method, cluster.window_source) == ("", "no backups configured")
    assert cluster.first_recoverability_point is None and cluster.has_status
    answer, why = cluster.recoverable(NOW - timedelta(hours=1), NOW)
    assert answer is None and "no backups configured" in why


def test_cluster_spec_only() -> None:
    cluster = parse_cluster(fixture(CNPG_SPEC_ONLY))
    assert (cluster.backup_method, cluster.instances, cluster.has_status) == ("barmanObjectStore", 3, False)
    assert cluster.first_recoverability_point is None
    assert cluster.window_source == "Cluster status (in-tree barmanObjectStore)"


def test_recoverable_before_inside_and_unknown() -> None:
    cluster = parse_cluster(fixture(CNPG_BACKUP_STATUS))
    first = _t("2025-04-25T21:00:12Z")
    now = _t("2025-04-27T12:00:00Z")
    assert cluster.recoverable(first - timedelta(minutes=1), now)[0] is False
    assert cluster.recoverable(first + timedelta(hours=5), now)[0] is True
    assert cluster.recoverable(now + timedelta(hours=1), now)[0] is False  # the future
    unknown = parse_cluster({"metadata": {"name": "x"}})
    assert isinstance(unknown, CnpgClusterView)
    assert unknown.recoverable(now, now)[0] is None


def _plugin_cluster(**parameters: str) -> dict[str, Any]:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "bookstore-platform-cnpg-orders", "namespace": "cnpg-system"},
        "spec": {
            "instances": 3,
            "plugins": [
                {"name": "some-other-plugin.example", "parameters": {"barmanObjectName": "wrong"}},
                {
                    "name": "barman-cloud.cloudnative-pg.io",
                    "isWALArchiver": True,
                    "parameters": {"barmanObjectName": "orders-store", **parameters},
                },
            ],
        },
        "status": {
            "phase": "Cluster in healthy state",
            "instances": 3,
            "readyInstances": 3,
            "currentPrimary": "orders-1",
        },
    }


def _object_store(server: str) -> dict[str, Any]:
    return {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": {"name": "orders-store", "namespace": "cnpg-system"},
        "status": {
            "serverRecoveryWindow": {
                server: {
                    "firstRecoverabilityPoint": "2026-05-15T12:00:00Z",
                    "lastSuccessfulBackupTime": "2026-05-20T00:00:07Z",
                    "lastFailedBackupTime": "2026-05-19T00:00:04Z",
                }
            }
        },
    }


def test_cluster_with_barman_cloud_plugin() -> None:
    obj = _plugin_cluster()
    assert object_store_name(obj) == "orders-store"
    cluster = parse_cluster(obj, {"orders-store": _object_store("bookstore-platform-cnpg-orders")})
    assert (cluster.backup_method, cluster.object_store) == ("plugin", "orders-store")
    assert cluster.server_name == "bookstore-platform-cnpg-orders"  # serverName defaults to the cluster name
    assert cluster.window_source == "ObjectStore orders-store"
    assert cluster.first_recoverability_point == _t("2026-05-15T12:00:00Z")
    assert cluster.last_successful_backup == _t("2026-05-20T00:00:07Z")
    assert cluster.last_failed_backup == _t("2026-05-19T00:00:04Z")
    # The seed's PITR target, in PostgreSQL form, lies inside the window.
    target = parse_time("2026-05-20 13:43:00.000000+00")
    assert target is not None
    # Corrected: inside the window only once WAL is known archived past it (no metrics, no condition: unknown).
    assert cluster.recoverable(target, NOW)[0] is None
    archived = with_archiving(cluster, parse_archiver_samples([
        {"metric": {"__name__": "cnpg_pg_stat_archiver_last_archived_time", "pod": "bookstore-platform-cnpg-orders-1"},
         "value": [NOW.timestamp(), str(NOW.timestamp() - 60)]},
    ]))
    assert archived.recoverable(target, NOW)[0] is True
    assert cluster.recoverable(_t("2026-05-14T00:00:00Z"), NOW)[0] is False


def test_plugin_server_name_parameter_and_namespaced_store_key() -> None:
    obj = _plugin_cluster(serverName="orders-v2")
    cluster = parse_cluster(obj, {"cnpg-system/orders-store": _object_store("orders-v2")})
    assert cluster.server_name == "orders-v2"
    assert cluster.first_recoverability_point == _t("2026-05-15T12:00:00Z")


def test_plugin_store_missing_or_without_window() -> None:
    obj = _plugin_cluster()
    obj["status"]["firstRecoverabilityPoint"] = "2020-01-01T00:00:00Z"  # stale in-tree leftover: ignored
    missing = parse_cluster(obj)
    assert missing.window_source == "plugin configured but ObjectStore orders-store not found"
    assert missing.first_recoverability_point is None
    assert missing.recoverable(NOW, NOW)[0] is None
    other = parse_cluster(obj, {"orders-store": _object_store("someone-else")})
    assert other.window_source == (
        "ObjectStore orders-store has no recovery window for server bookstore-platform-cnpg-orders"
    )
    disabled = _plugin_cluster()
    disabled["spec"]["plugins"][1]["enabled"] = False
    assert object_store_name(disabled) == ""
    assert parse_cluster(disabled).backup_method == ""


# --------------------------------------------------------------------------- Velero

VELERO_BACKUPS = "velero/backups-completed-and-partiallyfailed.DERIVED.yaml"
VELERO_MIXED = "velero/restore-schedule-bsl.DERIVED.yaml"
VELERO_SCHEDULE_REF = "velero/schedule-reference.velero-docs-api-types.yaml"


def test_completed_scheduled_backup() -> None:
    backup = parse_backup(fixture(VELERO_BACKUPS, 0))
    assert (backup.name, backup.phase, backup.schedule) == ("daily-20251117020003", "Completed", "daily")
    assert (backup.errors, backup.warnings, backup.bad) == (0, 3, False)
    assert backup.started_at == _t("2025-11-17T02:00:03Z")
    assert backup.completed_at == _t("2025-11-17T02:01:27Z")
    assert backup.expiration == _t("2025-12-17T02:00:03Z")
    assert (backup.included_namespaces, backup.storage_location) == (("*",), "default")


def test_partially_failed_backup() -> None:
    backup = parse_backup(fixture(VELERO_BACKUPS, 1))
    assert (backup.name, backup.phase, backup.schedule) == ("pre-upgrade-billing", "PartiallyFailed", "")
    assert (backup.errors, backup.warnings, backup.bad) == (2, 1, True)
    assert backup.included_namespaces == ("billing", "billing-db")
    assert backup.failure_reason == ""
    assert backup.created_at == _t("2025-11-18T09:15:42Z")


def test_schedules() -> None:
    daily = parse_schedule(fixture(VELERO_MIXED, 1))
    assert (daily.name, daily.phase, daily.schedule, daily.paused) == ("daily", "Enabled", "0 2 * * *", False)
    assert daily.last_backup == _t("2025-11-17T02:00:03Z")
    assert daily.included_namespaces == ("*",)
    reference = parse_schedule(fixture(VELERO_SCHEDULE_REF))
    assert (reference.name, reference.phase, reference.schedule) == ("a", "", "0 7 * * *")
    assert reference.last_backup is None  # `lastBackup:` is null (nullable in the CRD)


def test_parse_velero_orders_newest_first() -> None:
    no_start = {"metadata": {"name": "queued", "creationTimestamp": "2025-11-18T12:00:00Z"}, "status": {"phase": "New"}}
    view = parse_velero(
        [fixture(VELERO_BACKUPS, 0), no_start, fixture(VELERO_BACKUPS, 1), None, "junk"],
        [fixture(VELERO_SCHEDULE_REF), fixture(VELERO_MIXED, 1)],
    )
    assert [backup.name for backup in view.backups] == ["queued", "pre-upgrade-billing", "daily-20251117020003"]
    assert [schedule.name for schedule in view.schedules] == ["a", "daily"]
    assert parse_velero(None, None).backups == ()


# --------------------------------------------------------------------------- robustness

PARSERS: dict[str, Callable[[Any], Any]] = {
    "application": parse_application,
    "rollout": lambda obj: parse_rollout(obj, [obj]),
    "replicaset": parse_replica_set,
    "analysisrun": parse_analysis_run,
    "runs_for_rollout": lambda obj: runs_for_rollout([obj], parse_rollout(obj, [])),
    "cluster": lambda obj: parse_cluster(obj, {"orders-store": obj}),
    "object_store_name": object_store_name,
    "backup": parse_backup,
    "schedule": parse_schedule,
    "velero": lambda obj: parse_velero([obj], [obj]),
}

MALFORMED: list[Any] = [
    {},
    None,
    "x",
    [],
    {"metadata": None, "status": "x"},
    {"metadata": "x", "spec": [], "status": []},
    {"metadata": {"name": 5, "labels": "x", "annotations": [], "ownerReferences": "x"}, "spec": None},
    {
        "metadata": {"name": None, "ownerReferences": [None, 3, {"uid": None}], "labels": {"step-index": 7}},
        "spec": {
            "strategy": {"canary": {"steps": ["x", None, {"setWeight": "25"}, {"setWeight": True}]}},
            "syncPolicy": {"automated": []},
            "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "parameters": None}],
            "backup": {"barmanObjectStore": "x"},
            "template": {"spec": {"containers": [None, {"image": 3}]}},
            "selector": {"matchLabels": {"a": 1, 2: "b"}},
            "includedNamespaces": [1, None, "ns"],
        },
        "status": {
            "history": [None, 1, {"id": "x"}, {"id": True}, {"id": 3, "source": [], "sources": "x"}],
            "currentStepIndex": "4",
            "abort": "true",
            "pauseConditions": {"reason": "x"},
            "metricResults": [None, {"measurements": "x", "count": "1"}],
            "firstRecoverabilityPoint": 12,
            "firstRecoverabilityPointByMethod": {"barmanObjectStore": None, "x": "garbage"},
            "serverRecoveryWindow": {"orders": "x"},
            "conditions": [None, {"type": None}],
            "operationState": [],
            "canary": {"weights": {"canary": {"weight": None}}},
            "startTimestamp": "yesterday",
            "errors": "2",
        },
    },
]


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("obj", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_objects_never_raise(name: str, obj: Any) -> None:
    PARSERS[name](copy.deepcopy(obj))


def test_malformed_parse_keeps_defaults() -> None:
    obj = MALFORMED[-1]
    ro = parse_rollout(obj, [])
    assert (ro.step_index, ro.aborted, ro.paused, ro.set_weight) == (None, False, False, 0)
    assert ro.match_labels == {}
    app = parse_application(obj)
    assert [entry.id for entry in app.history] == [3]
    assert app.auto_sync is False  # `automated: []` is not the automated block
    assert parse_backup(obj).errors == 0 and parse_backup(obj).started_at is None
    assert parse_backup(obj).included_namespaces == ("ns",)  # the non-strings are dropped
    assert parse_cluster(obj).first_recoverability_point is None


def _mutations(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a document (dict keys and list indexes)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*path, key)
            yield from _mutations(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*path, index)
            yield from _mutations(value, (*path, index))


WRONG_VALUES: list[Any] = [None, "x", 7, [], {}, True, [None], {"x": None}]


@pytest.mark.parametrize(("rel", "index", "doc"), DOCUMENTS, ids=[f"{rel}#{index}" for rel, index, _ in DOCUMENTS])
def test_every_field_of_every_fixture_can_be_wrong(rel: str, index: int, doc: dict[str, Any]) -> None:
    """Replace each field in turn with a value of another type: parsing still succeeds."""
    parser = _parser_for(doc)
    if parser is None:
        return
    for count, path in enumerate(_mutations(doc)):
        mutated = copy.deepcopy(doc)
        node = mutated
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = WRONG_VALUES[count % len(WRONG_VALUES)]
        parser(mutated)


HOSTILE = [
    "n" * 10_000,
    "[bold]red[/bold]",
    "[@click=quit]",
    "[@click=app.quit]x[/]",
    "[/",
    "\x1b[31mred\x1b[0m",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x00\x07\r\n\t",
    "‮evil",
    "$(rm -rf /)",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_are_kept_verbatim(text: str) -> None:
    app = _seed_application()
    app["metadata"]["name"] = text
    app["status"]["health"]["message"] = text
    app["status"]["history"][1]["source"]["kustomize"]["images"] = [f"ghcr.io/acme/catalog:{text}"]
    app["status"]["history"][1]["initiatedBy"] = {"username": text}
    parsed = parse_application(app)
    assert parsed.name == text and parsed.health_message == text
    assert parsed.history[0].initiated_by == text
    assert parsed.history[0].source["kustomize"]["images"] == [f"ghcr.io/acme/catalog:{text}"]
    old = _entry(_with(CHART, helm={"parameters": [{"name": "image.tag", "value": "v1"}]}))
    new = _entry(_with(CHART, helm={"parameters": [{"name": "image.tag", "value": text}]}))
    assert describe_change(old, new) == f"image tag v1 → {text}"

    rollout, replica_sets = _seed_rollout()
    rollout["metadata"]["name"] = text
    rollout["status"]["message"] = text
    rollout["status"]["pauseConditions"][0]["reason"] = text
    replica_sets[1]["spec"]["template"]["spec"]["containers"][0]["image"] = text
    ro = parse_rollout(rollout, replica_sets)
    assert (ro.name, ro.message, ro.pause_reasons, ro.canary_images) == (text, text, (text,), (text,))

    run = fixture(AR_FAILED)
    run["status"]["message"] = text
    run["status"]["metricResults"][0]["measurements"][0]["value"] = text
    parsed_run = parse_analysis_run(run)
    assert parsed_run.message == text and parsed_run.metrics[0].last_value == text

    cluster = _plugin_cluster()
    cluster["status"]["phase"] = text
    cluster["spec"]["plugins"][1]["parameters"]["barmanObjectName"] = text
    parsed_cluster = parse_cluster(cluster)
    assert parsed_cluster.phase == text and parsed_cluster.object_store == text
    assert text in parsed_cluster.window_source

    backup = fixture(VELERO_BACKUPS, 1)
    backup["status"]["failureReason"] = text
    backup["metadata"]["labels"]["velero.io/schedule-name"] = text
    parsed_backup = parse_backup(backup)
    assert parsed_backup.failure_reason == text and parsed_backup.schedule == text
