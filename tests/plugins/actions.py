"""Fixtures and object builders for the write-path tests (gateway, actions, runbooks).

The fixtures build on ``tests/plugins/kube.py`` (``kube_emulator``, ``kubeconfig``): a real ``KubeContext`` against the
emulator, an audit log in ``tmp_path`` and a gateway with a fixed clock.  Test modules import what they use
(``from tests.plugins.actions import ...``), so they work whether or not this plugin is registered globally.
The builders return plain dicts shaped like the seed's Bookstore objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from cockpit.actions.audit import AuditLog
from cockpit.actions.gateway import Gateway
from cockpit.clock import FixedClock

T0 = datetime(2026, 5, 20, 14, 27, 0, tzinfo=timezone.utc)
NS = "bookstore-platform-acme-books"
ROLLOUT_UID = "5f0c8f1e-6a43-4c51-9d3e-0d7a1c2b3e40"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def kube_ctx(kubeconfig: Path) -> Iterator[Any]:
    """A ``KubeContext`` on the emulator (the same object the app builds), closed after the test."""
    from cockpit.sources.kube import KubeContext

    ctx = KubeContext.from_kubeconfig(kubeconfig, "emulator")
    try:
        yield ctx
    finally:
        ctx.api_client.close()


@pytest.fixture
def audit_log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "state" / "audit.jsonl")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def gateway(audit_log: AuditLog, clock: FixedClock) -> Gateway:
    return Gateway(audit=audit_log, clock=clock)


# --------------------------------------------------------------------------- emulator helpers


def writes(emulator: Any) -> list[Any]:
    """The mutating requests the emulator saw (dry-runs included; access reviews excluded)."""
    return [record for record in emulator.requests if record.write]


def real_writes(emulator: Any) -> list[Any]:
    """Mutating requests that were not dry-runs."""
    return [record for record in writes(emulator) if record.query.get("dryRun") != "All"]


def body_of(record: Any) -> Any:
    return json.loads(record.body) if record.body else None


# --------------------------------------------------------------------------- objects


def rollout(
    *,
    name: str = "catalog",
    namespace: str = NS,
    image: str = "ghcr.io/acme/catalog:v1.5.1",
    step: int | None = 1,
    paused: bool = False,
    pause_reason: str | None = "CanaryPauseStep",
    stable: str = "6d4b5c7f9",
    current: str = "7f8c9d6b5",
    aborted: bool = False,
    analysis: str | None = None,
    controller_pause: bool = False,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The seed's catalog Rollout: 8 canary steps, paused at step ``step`` with the canary on v1.5.1."""
    status: dict[str, Any] = {
        "stableRS": stable,
        "currentPodHash": current,
        "phase": "Paused" if pause_reason else "Progressing",
        "replicas": 5,
        "availableReplicas": 5,
        "updatedReplicas": 1,
        "readyReplicas": 5,
        "observedGeneration": "3",
    }
    if step is not None:
        status["currentStepIndex"] = step
    if pause_reason:
        status["pauseConditions"] = [{"reason": pause_reason, "startTime": "2026-05-20T14:22:40Z"}]
    if aborted:
        status["abort"] = True
        status["abortedAt"] = "2026-05-20T14:25:00Z"
    if controller_pause:
        status["controllerPause"] = True
    if analysis:
        status["canary"] = {"currentStepAnalysisRunStatus": {"name": "catalog-7f8c9d6b5-3", "status": analysis}}
    spec: dict[str, Any] = {
        "replicas": 4,
        "selector": {"matchLabels": {"app": "catalog"}},
        "strategy": {
            "canary": {
                "steps": [
                    {"setWeight": 10}, {"pause": {}}, {"setWeight": 25}, {"pause": {"duration": "5m"}},
                    {"setWeight": 50}, {"pause": {"duration": "5m"}}, {"setWeight": 75}, {"pause": {"duration": "5m"}},
                ]
            }
        },
        "template": _template(image),
    }
    if paused:
        spec["paused"] = True
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": ROLLOUT_UID}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": meta, "spec": spec,
            "status": status}


def _template(image: str, pod_hash: str | None = None) -> dict[str, Any]:
    labels = {"app": "catalog"}
    if pod_hash:
        labels["rollouts-pod-template-hash"] = pod_hash
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "catalog", "image": image,
                                 "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]},
    }


def replica_set(pod_hash: str, image: str, revision: int | None, *, name: str = "catalog",
                namespace: str = NS, owner_uid: str = ROLLOUT_UID, replicas: int = 4) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": f"{name}-{pod_hash}",
        "namespace": namespace,
        "labels": {"app": "catalog", "rollouts-pod-template-hash": pod_hash},
        "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": name,
                             "uid": owner_uid, "controller": True, "blockOwnerDeletion": True}],
    }
    if revision is not None:
        meta["annotations"] = {"rollout.argoproj.io/revision": str(revision)}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta,
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "catalog",
                                                                   "rollouts-pod-template-hash": pod_hash}},
                 "template": _template(image, pod_hash)},
        "status": {"replicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas},
    }


def application(
    *,
    name: str = "bookstore-catalog-us-east",
    namespace: str = "argocd",
    automated: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    operation: dict[str, Any] | None = None,
    owner_appset: str | None = None,
    sync_options: list[str] | None = None,
    project: str = "default",
) -> dict[str, Any]:
    """The seed's catalog Application with its history 40, 41, 42 (42 = the bad image bump)."""
    source = {"repoURL": "https://github.com/acme/bookstore-platform-config.git", "path": "apps/catalog",
              "targetRevision": "main"}
    policy: dict[str, Any] = {}
    if automated is not None:
        policy["automated"] = automated
    if sync_options:
        policy["syncOptions"] = sync_options
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner_appset:
        meta["ownerReferences"] = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
                                    "name": owner_appset, "uid": "0b7e1f44-1111-2222-3333-444455556666",
                                    "controller": True}]
    obj: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": project,
            "source": source,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NS},
            "syncPolicy": policy,
        },
        "status": {
            "sync": {"status": "Synced", "revision": "d8f3c2a" + "0" * 33},
            "health": {"status": "Degraded"},
            "operationState": {
                "operation": {"sync": {"revision": "d8f3c2a" + "0" * 33}},
                "phase": "Succeeded",
                "startedAt": "2026-05-20T14:22:10Z",
                "finishedAt": "2026-05-20T14:22:13Z",
            },
            "history": history if history is not None else [
                _history(40, "9e8d7c6", "2026-05-19T17:42:09Z", source),
                _history(41, "a1b2c3d", "2026-05-20T11:08:51Z", source),
                _history(42, "d8f3c2a", "2026-05-20T14:22:13Z", source),
            ],
        },
    }
    if operation is not None:
        obj["operation"] = operation
    return obj


def _history(history_id: int, short: str, deployed: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"id": history_id, "revision": short + "0" * 33, "deployedAt": deployed,
            "deployStartedAt": deployed, "source": dict(source), "initiatedBy": {"automated": True}}


def cnpg_cluster(name: str = "bookstore-platform-cnpg-orders", namespace: str = "cnpg-system",
                 first_point: str = "2026-05-15T12:00:00Z") -> dict[str, Any]:
    """An in-tree barmanObjectStore cluster whose recovery window starts at ``first_point``."""
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "instances": 3,
            "imageName": "ghcr.io/cloudnative-pg/postgresql:16.4",
            "storage": {"size": "100Gi", "storageClass": "gp3-encrypted"},
            "backup": {
                "barmanObjectStore": {
                    "destinationPath": "s3://bookstore-pg-backups/orders",
                    "endpointURL": "https://s3.us-east-1.amazonaws.com",
                    "s3Credentials": {
                        "accessKeyId": {"name": "pg-backup-creds", "key": "ACCESS_KEY_ID"},
                        "secretAccessKey": {"name": "pg-backup-creds", "key": "ACCESS_SECRET_KEY"},
                    },
                    "wal": {"compression": "gzip"},
                },
                "retentionPolicy": "30d",
            },
        },
        "status": {
            "phase": "Cluster in healthy state",
            "instances": 3,
            "readyInstances": 3,
            "currentPrimary": f"{name}-1",
            "firstRecoverabilityPoint": first_point,
            "firstRecoverabilityPointByMethod": {"barmanObjectStore": first_point},
            "lastSuccessfulBackup": "2026-05-20T00:00:39Z",
        },
    }


def velero_backup(name: str = "acme-books-daily-20260520000012", phase: str = "Completed",
                  namespaces: tuple[str, ...] = (NS,)) -> dict[str, Any]:
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {"name": name, "namespace": "velero", "labels": {"velero.io/schedule-name": "acme-books-daily"}},
        "spec": {"includedNamespaces": list(namespaces), "storageLocation": "default", "ttl": "720h0m0s"},
        "status": {"phase": phase, "startTimestamp": "2026-05-20T00:00:12Z",
                   "completionTimestamp": "2026-05-20T00:03:40Z", "errors": 0 if phase == "Completed" else 3},
    }


def helm_secret(release: str, revision: int, status: str, *, namespace: str = NS, chart_version: str = "1.5.0",
                app_version: str = "1.5.0", gzipped: bool = True,
                description: str = "Upgrade complete") -> dict[str, Any]:
    """A ``sh.helm.release.v1`` Secret as Helm stores it (data.release is base64 of Helm's base64)."""
    import base64
    import gzip

    release_obj = {
        "name": release,
        "namespace": namespace,
        "version": revision,
        "info": {"status": status, "description": description, "first_deployed": "2026-05-01T10:00:00Z",
                 "last_deployed": f"2026-05-{10 + revision:02d}T10:00:00Z"},
        "chart": {"metadata": {"name": "catalog", "version": chart_version, "appVersion": app_version}},
        "config": {"db": {"password": "s3cr3t-do-not-log"}},
        "manifest": "---\n# Source: catalog/templates/deployment.yaml\n",
    }
    raw = json.dumps(release_obj).encode()
    helm_value = base64.b64encode(gzip.compress(raw, compresslevel=9) if gzipped else raw)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": f"sh.helm.release.v1.{release}.v{revision}",
            "namespace": namespace,
            "labels": {"owner": "helm", "name": release, "status": status, "version": str(revision)},
        },
        "data": {"release": base64.b64encode(helm_value).decode()},
    }
