"""The demo incident as Kubernetes objects: the bookstore catalog canary that raised p99 to 1.2 s.

Pure data built relative to ``now`` so ages read the same whenever the demo starts:
- Argo CD history 40 / 41 / 42 for bookstore-catalog-us-east; #42 (an image-tag bump v1.5.0 → v1.5.1) landed 5 min ago.
- Rollout ``catalog`` paused at canary step 4/8, weight 25; stable v1.5.0, canary v1.5.1; a background analysis
  failing on p99.
- CNPG ``bookstore-platform-cnpg-orders`` (in-tree barman, 5-day window) and ``bookstore-platform-cnpg-catalog``
  (Barman Cloud plugin, window in an ObjectStore).
- Velero: a daily schedule, an hourly one, and one PartiallyFailed backup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

APP_NAMESPACE = "bookstore-platform-acme-books"
ARGOCD_NAMESPACE = "argocd"
CNPG_NAMESPACE = "cnpg-system"
VELERO_NAMESPACE = "velero"
APP_NAME = "bookstore-catalog-us-east"
ROLLOUT = "catalog"
CNPG_CLUSTER = "bookstore-platform-cnpg-orders"
SERVICE = "catalog"
STABLE_HASH = "7d9f8b6c5d"
CANARY_HASH = "6b9f7c5d4c"
OLD_HASH = "5c8d7b6a4f"
IMAGE = "ghcr.io/acme/catalog"
REPO = "https://git.example.com/acme/bookstore-platform-config.git"
PATH = "apps/catalog"
FLAG = "catalog_v2_search_engine"
REVISIONS = {
    39: "4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a09",
    40: "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
    41: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    42: "d8f3c2a1b0e9f8d7c6b5a49382716f5e4d3c2b1a",
}
DEPLOYED_AGO = {39: timedelta(days=2, hours=1), 40: timedelta(hours=20, minutes=45), 41: timedelta(hours=3, minutes=19), 42: timedelta(minutes=5)}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def namespaces() -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "status": {"phase": "Active"}}
        for name in (ARGOCD_NAMESPACE, APP_NAMESPACE, CNPG_NAMESPACE, VELERO_NAMESPACE)
    ]


PROJECT = "bookstore-platform"


def app_project() -> dict[str, Any]:
    """The Argo CD AppProject the catalog app belongs to (no sync windows until someone freezes it)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": PROJECT, "namespace": ARGOCD_NAMESPACE},
        "spec": {
            "description": "the bookstore platform's tenants",
            "sourceRepos": [REPO],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "bookstore-platform-*"}],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        },
    }


def _source(tag: str, cpu: str) -> dict[str, Any]:
    return {
        "repoURL": REPO,
        "path": PATH,
        "targetRevision": "main",
        "kustomize": {
            "images": [f"{IMAGE}:{tag}"],
            "patches": [{"target": {"kind": "Rollout", "name": ROLLOUT},
                         "patch": f"- op: replace\n  path: /spec/template/spec/containers/0/resources/requests/cpu\n"
                                  f"  value: {cpu}\n"}],
        },
    }


def application(
    now: datetime,
    revisions: dict[int, str] | None = None,
    *,
    ages: dict[int, timedelta] | None = None,
    tags: dict[int, str] | None = None,
    health: tuple[str, str] = ("Suspended", "Rollout is paused"),
    auto_sync: bool = True,
    sync_status: str = "Synced",
    initiated_by: dict[int, dict[str, Any]] | None = None,
    images: tuple[str, ...] = (f"{IMAGE}:v1.5.0", f"{IMAGE}:v1.5.1"),
) -> dict[str, Any]:
    """The Argo CD Application with history 39..42; the keyword options shape the other scenarios."""
    revisions = revisions or REVISIONS
    ages = ages or DEPLOYED_AGO
    tags = tags or {39: "v1.5.0", 40: "v1.5.0", 41: "v1.5.0", 42: "v1.5.1"}
    initiated_by = initiated_by or {}
    # #40 raised the CPU request in the overlay's patch (a config change); #41 re-synced the same source;
    # #42 bumped the image tag only (in the default incident).
    cpus = {39: "250m", 40: "500m", 41: "500m", 42: "500m"}
    sources = {hid: _source(tags[hid], cpus[hid]) for hid in (39, 40, 41, 42)}
    history = []
    for hid in (39, 40, 41, 42):
        deployed = now - ages[hid]
        history.append({
            "id": hid,
            "revision": revisions[hid],
            "deployedAt": iso(deployed),
            "deployStartedAt": iso(deployed - timedelta(seconds=41)),
            "source": sources[hid],
            "initiatedBy": initiated_by.get(hid) or {"automated": True},
        })
    automated: dict[str, Any] = {"prune": True, "selfHeal": True}
    if not auto_sync:
        automated["enabled"] = False
    health_status, health_message = health
    status_health = {"status": health_status}
    if health_message:
        status_health["message"] = health_message
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": APP_NAME, "namespace": ARGOCD_NAMESPACE,
                     "labels": {"app.kubernetes.io/part-of": "bookstore-platform", "region": "us-east",
                                "tenant": "acme-books"}},
        "spec": {
            "project": PROJECT,
            "source": _source(tags[42], "500m"),
            "destination": {"server": "https://kubernetes.default.svc", "namespace": APP_NAMESPACE},
            "syncPolicy": {"automated": automated, "syncOptions": ["CreateNamespace=true"]},
            "revisionHistoryLimit": 10,
        },
        "status": {
            "sync": {"status": sync_status, "revision": revisions[42],
                     "comparedTo": {"source": _source(tags[42], "500m"),
                                    "destination": {"server": "https://kubernetes.default.svc",
                                                    "namespace": APP_NAMESPACE}}},
            "health": status_health,
            "history": history,
            "operationState": {
                "operation": {"sync": {"revision": revisions[42]},
                              "initiatedBy": initiated_by.get(42) or {"automated": True}},
                "phase": "Succeeded",
                "message": "successfully synced (all tasks run)",
                "startedAt": iso(now - ages[42] - timedelta(seconds=41)),
                "finishedAt": iso(now - ages[42]),
            },
            "reconciledAt": iso(now - timedelta(seconds=40)),
            "summary": {"images": list(images)},
        },
    }


CANARY_STEPS = [
    {"setWeight": 10},
    {"pause": {"duration": "2m"}},
    {"setWeight": 25},
    {"pause": {}},
    {"analysis": {"templates": [{"templateName": "catalog-p99"}]}},
    {"setWeight": 50},
    {"pause": {"duration": "10m"}},
    {"setWeight": 100},
]


def _template(tag: str, pod_hash: str | None = None) -> dict[str, Any]:
    labels = {"app": "catalog"}
    if pod_hash:
        labels["rollouts-pod-template-hash"] = pod_hash
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "catalog", "image": f"{IMAGE}:{tag}",
                                 "ports": [{"containerPort": 8080}],
                                 "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]},
    }


def rollout(now: datetime) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": ROLLOUT, "namespace": APP_NAMESPACE, "labels": {"app": "catalog"},
                     "annotations": {"rollout.argoproj.io/revision": "4"}},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "catalog"}},
            "template": _template("v1.5.1"),
            "minReadySeconds": 0,
            "progressDeadlineSeconds": 600,
            "strategy": {"canary": {
                "canaryService": "catalog-canary",
                "stableService": "catalog-stable",
                "maxUnavailable": 0,
                "analysis": {"templates": [{"templateName": "catalog-p99"}], "startingStep": 1},
                "steps": CANARY_STEPS,
            }},
        },
        "status": {
            "phase": "Paused",
            "message": "CanaryPauseStep",
            "currentStepIndex": 3,
            "currentStepHash": "5f8d9c7b6a",
            "currentPodHash": CANARY_HASH,
            "stableRS": STABLE_HASH,
            "observedGeneration": "4",
            "replicas": 5,
            "updatedReplicas": 1,
            "readyReplicas": 5,
            "availableReplicas": 5,
            "HPAReplicas": 5,
            "selector": "app=catalog",
            "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": iso(now - timedelta(minutes=3))}],
            "controllerPause": True,
            "canary": {
                "weights": {"canary": {"weight": 25, "podTemplateHash": CANARY_HASH, "serviceName": "catalog-canary"},
                            "stable": {"weight": 75, "podTemplateHash": STABLE_HASH,
                                       "serviceName": "catalog-stable"}},
                "currentBackgroundAnalysisRunStatus": {"name": f"catalog-{CANARY_HASH}-4", "status": "Running",
                                                       "message": ""},
            },
            "conditions": [],
        },
    }


def replica_sets(rollout_uid: str, now: datetime) -> list[dict[str, Any]]:
    out = []
    for pod_hash, tag, revision, replicas, created in (
        (OLD_HASH, "v1.4.2", 2, 0, timedelta(days=9)),
        (STABLE_HASH, "v1.5.0", 3, 4, timedelta(days=2)),
        (CANARY_HASH, "v1.5.1", 4, 1, DEPLOYED_AGO[42]),
    ):
        out.append({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{ROLLOUT}-{pod_hash}",
                "namespace": APP_NAMESPACE,
                "labels": {"app": "catalog", "rollouts-pod-template-hash": pod_hash},
                "annotations": {"rollout.argoproj.io/revision": str(revision)},
                "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": ROLLOUT,
                                     "uid": rollout_uid, "controller": True, "blockOwnerDeletion": True}],
                "creationTimestamp": iso(now - created),
            },
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "catalog",
                                                                         "rollouts-pod-template-hash": pod_hash}},
                     "template": _template(tag, pod_hash)},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
        })
    return out


def analysis_run(rollout_uid: str, now: datetime) -> dict[str, Any]:
    started = now - DEPLOYED_AGO[42] + timedelta(minutes=1)

    def measurement(minutes: float, value: str, phase: str) -> dict[str, Any]:
        at = started + timedelta(minutes=minutes)
        return {"phase": phase, "value": value, "startedAt": iso(at), "finishedAt": iso(at + timedelta(seconds=1))}

    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {
            "name": f"{ROLLOUT}-{CANARY_HASH}-4",
            "namespace": APP_NAMESPACE,
            "labels": {"app": "catalog", "rollouts-pod-template-hash": CANARY_HASH, "rollout-type": "Background"},
            "annotations": {"rollout.argoproj.io/revision": "4"},
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": ROLLOUT,
                                 "uid": rollout_uid, "controller": True, "blockOwnerDeletion": True}],
            "creationTimestamp": iso(started),
        },
        "spec": {"metrics": [
            {"name": "p99-latency", "interval": "1m", "failureLimit": 3,
             "successCondition": "result[0] < 0.5",
             "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090",
                                         "query": "histogram_quantile(0.99, sum by (le) (rate("
                                                  "http_request_duration_seconds_bucket{service=\"catalog\"}[5m])))"}}},
            {"name": "error-rate", "interval": "1m", "failureLimit": 2,
             "successCondition": "result[0] < 0.01",
             "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090",
                                         "query": "sum(rate(http_requests_total{service=\"catalog\",code=~\"5..\"}"
                                                  "[5m])) / sum(rate(http_requests_total{service=\"catalog\"}[5m]))"}}},
        ]},
        "status": {
            "phase": "Running",
            "startedAt": iso(started),
            "runSummary": {"count": 2, "successful": 1, "failed": 0, "inconclusive": 0, "error": 0},
            "metricResults": [
                {"name": "p99-latency", "phase": "Running", "count": 4, "successful": 1, "failed": 3,
                 "inconclusive": 0, "error": 0, "consecutiveError": 0,
                 "message": "p99 1.21s breaches successCondition result[0] < 0.5 (3 of failureLimit 3)",
                 "measurements": [measurement(0, "[0.21]", "Successful"), measurement(1, "[0.74]", "Failed"),
                                  measurement(2, "[1.08]", "Failed"), measurement(3, "[1.21]", "Failed")]},
                {"name": "error-rate", "phase": "Successful", "count": 4, "successful": 4, "failed": 0,
                 "inconclusive": 0, "error": 0, "consecutiveError": 0,
                 "measurements": [measurement(3, "[0.0021]", "Successful")]},
            ],
        },
    }


TAGS = {OLD_HASH: ("v1.4.2", 2), STABLE_HASH: ("v1.5.0", 3), CANARY_HASH: ("v1.5.1", 4)}


def rollout_settled(now: datetime, *, pod_hash: str, since: timedelta, replicas: int = 4,
                    available: int | None = None, message: str = "") -> dict[str, Any]:
    """The Rollout with no update in flight: every replica on ``pod_hash`` (the canary finished ``since`` ago).

    ``available`` below ``replicas`` (pods the ReplicaSet cannot create) makes it Progressing with ``message``.
    ``rollbackWindow`` lets a rollback to one of the last revisions skip the canary steps, as Argo Rollouts does.
    """
    tag, revision = TAGS[pod_hash]
    available = replicas if available is None else available
    healthy = available >= replicas
    finished = iso(now - since)
    obj = rollout(now)
    obj["metadata"]["annotations"] = {"rollout.argoproj.io/revision": str(revision)}
    obj["spec"]["replicas"] = replicas
    obj["spec"]["template"] = _template(tag)
    obj["spec"]["rollbackWindow"] = {"revisions": 3}
    condition = [
        {"type": "Available", "status": "True" if healthy else "False", "reason": "AvailableReason",
         "message": "Rollout has minimum availability" if healthy else "Rollout does not have minimum availability",
         "lastUpdateTime": finished, "lastTransitionTime": finished},
        {"type": "Completed", "status": "True", "reason": "RolloutCompleted", "message": "Rollout completed update to "
         f"revision {revision} ({pod_hash}): Completed Progressive Rollout", "lastUpdateTime": finished,
         "lastTransitionTime": finished},
        {"type": "Healthy", "status": "True" if healthy else "False",
         "reason": "RolloutHealthy" if healthy else "RolloutHealthy",
         "message": "Rollout is healthy" if healthy else "Rollout is not healthy", "lastUpdateTime": finished,
         "lastTransitionTime": finished},
        {"type": "Progressing", "status": "True",
         "reason": "NewReplicaSetAvailable" if healthy else "ReplicaSetUpdated",
         "message": f"ReplicaSet \"{ROLLOUT}-{pod_hash}\" has successfully progressed." if healthy
         else (message or f"ReplicaSet \"{ROLLOUT}-{pod_hash}\" is progressing."),
         "lastUpdateTime": finished, "lastTransitionTime": finished},
    ]
    obj["status"] = {
        "phase": "Healthy" if healthy else "Progressing",
        "message": "" if healthy else message,
        "currentStepIndex": len(CANARY_STEPS),
        "currentStepHash": "5f8d9c7b6a",
        "currentPodHash": pod_hash,
        "stableRS": pod_hash,
        "observedGeneration": str(revision),
        "replicas": available,
        "updatedReplicas": available,
        "readyReplicas": available,
        "availableReplicas": available,
        "HPAReplicas": available,
        "selector": "app=catalog",
        "controllerPause": False,
        "canary": {"weights": {"canary": {"weight": 0, "podTemplateHash": pod_hash, "serviceName": "catalog-canary"},
                               "stable": {"weight": 100, "podTemplateHash": pod_hash,
                                          "serviceName": "catalog-stable"}}},
        "conditions": condition,
    }
    if not message:
        del obj["status"]["message"]
    return obj


def replica_sets_settled(rollout_uid: str, now: datetime, *, pod_hash: str, replicas: int = 4,
                         available: int | None = None) -> list[dict[str, Any]]:
    """The three ReplicaSets with every replica on ``pod_hash`` (the others kept at 0 for a rollback)."""
    available = replicas if available is None else available
    out = replica_sets(rollout_uid, now)
    for rs in out:
        own = rs["metadata"]["labels"]["rollouts-pod-template-hash"] == pod_hash
        rs["spec"]["replicas"] = replicas if own else 0
        rs["status"] = ({"replicas": available, "readyReplicas": available, "availableReplicas": available,
                         "fullyLabeledReplicas": available} if own
                        else {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0})
    return out


def analysis_run_passed(rollout_uid: str, now: datetime, started_ago: timedelta) -> dict[str, Any]:
    """The canary's background analysis that passed: the regression stayed under the threshold at 25-50%."""
    obj = analysis_run(rollout_uid, now)
    started = now - started_ago
    obj["metadata"]["creationTimestamp"] = iso(started)
    values = ("[0.19]", "[0.31]", "[0.42]", "[0.47]")
    measurements = [{"phase": "Successful", "value": value, "startedAt": iso(started + timedelta(minutes=i)),
                     "finishedAt": iso(started + timedelta(minutes=i, seconds=1))} for i, value in enumerate(values)]
    obj["status"] = {
        "phase": "Successful",
        "startedAt": iso(started),
        "message": "Run Terminated",
        "runSummary": {"count": 2, "successful": 2, "failed": 0, "inconclusive": 0, "error": 0},
        "metricResults": [
            {"name": "p99-latency", "phase": "Successful", "count": 4, "successful": 4, "failed": 0,
             "inconclusive": 0, "error": 0, "consecutiveError": 0, "measurements": measurements},
            {"name": "error-rate", "phase": "Successful", "count": 4, "successful": 4, "failed": 0,
             "inconclusive": 0, "error": 0, "consecutiveError": 0,
             "measurements": [{"phase": "Successful", "value": "[0.0019]", "startedAt": iso(started),
                               "finishedAt": iso(started + timedelta(seconds=1))}]},
        ],
    }
    obj["spec"]["terminate"] = True
    return obj


def cnpg_conditions(now: datetime) -> list[dict[str, Any]]:
    """The conditions CloudNativePG keeps on a healthy, archiving cluster (api/v1 cluster_conditions.go)."""
    since = iso(now - timedelta(days=5, hours=2))
    return [
        {"type": "Ready", "status": "True", "reason": "ClusterIsReady", "message": "Cluster is Ready",
         "lastTransitionTime": since},
        {"type": "ContinuousArchiving", "status": "True", "reason": "ContinuousArchivingSuccess",
         "message": "Continuous archiving is working", "lastTransitionTime": since},
    ]


def cnpg_objects(now: datetime) -> list[dict[str, Any]]:
    orders = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": CNPG_CLUSTER, "namespace": CNPG_NAMESPACE},
        "spec": {
            "instances": 3,
            "storage": {"size": "100Gi", "storageClass": "gp3-encrypted"},
            "backup": {"barmanObjectStore": {"destinationPath": "s3://bookstore-platform-cnpg-orders-cold/",
                                             "s3Credentials": {"inheritFromIAMRole": True}},
                       "retentionPolicy": "7d"},
        },
        "status": {
            "phase": "Cluster in healthy state",
            "instances": 3,
            "readyInstances": 3,
            "currentPrimary": f"{CNPG_CLUSTER}-1",
            "targetPrimary": f"{CNPG_CLUSTER}-1",
            "firstRecoverabilityPoint": iso(now - timedelta(days=5, hours=2)),
            "firstRecoverabilityPointByMethod": {"barmanObjectStore": iso(now - timedelta(days=5, hours=2))},
            "lastSuccessfulBackup": iso(now - timedelta(hours=3, minutes=12)),
            "lastSuccessfulBackupByMethod": {"barmanObjectStore": iso(now - timedelta(hours=3, minutes=12))},
            "conditions": cnpg_conditions(now),
        },
    }
    catalog = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "bookstore-platform-cnpg-catalog", "namespace": CNPG_NAMESPACE},
        "spec": {
            "instances": 2,
            "storage": {"size": "20Gi"},
            "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": True,
                         "parameters": {"barmanObjectName": "catalog-store"}}],
        },
        "status": {"phase": "Cluster in healthy state", "instances": 2, "readyInstances": 2,
                   "currentPrimary": "bookstore-platform-cnpg-catalog-1", "conditions": cnpg_conditions(now)},
    }
    store = {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": {"name": "catalog-store", "namespace": CNPG_NAMESPACE},
        "spec": {"configuration": {"destinationPath": "s3://bookstore-platform-cnpg-catalog/"}},
        "status": {"serverRecoveryWindow": {"bookstore-platform-cnpg-catalog": {
            "firstRecoverabilityPoint": iso(now - timedelta(days=2, hours=6)),
            "lastSuccessfulBackupTime": iso(now - timedelta(hours=1, minutes=4)),
        }}},
    }
    return [orders, catalog, store]


def velero_objects(now: datetime) -> list[dict[str, Any]]:
    def backup(name: str, schedule: str, started: timedelta, phase: str, namespaces: list[str],
               errors: int = 0, warnings: int = 0, reason: str = "") -> dict[str, Any]:
        start = now - started
        status: dict[str, Any] = {
            "phase": phase, "version": 1, "formatVersion": "1.1.0",
            "startTimestamp": iso(start), "completionTimestamp": iso(start + timedelta(minutes=6)),
            "expiration": iso(start + timedelta(days=30)),
            "progress": {"totalItems": 412, "itemsBackedUp": 412 if phase == "Completed" else 398},
        }
        if errors:
            status["errors"] = errors
        if warnings:
            status["warnings"] = warnings
        if reason:
            status["failureReason"] = reason
        return {
            "apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": name, "namespace": VELERO_NAMESPACE,
                         "labels": {"velero.io/schedule-name": schedule, "velero.io/storage-location": "default"}},
            "spec": {"includedNamespaces": namespaces, "storageLocation": "default", "ttl": "720h0m0s",
                     "snapshotVolumes": True},
            "status": status,
        }

    tenant = [APP_NAMESPACE]
    objs = [
        backup(f"daily-acme-books-{(now - timedelta(days=d, hours=3)).strftime('%Y%m%d%H%M%S')}", "daily-acme-books",
               timedelta(days=d, hours=3), "Completed", tenant)
        for d in range(0, 4)
    ]
    objs.append(backup(f"hourly-cnpg-system-{(now - timedelta(minutes=47)).strftime('%Y%m%d%H%M%S')}",
                       "hourly-cnpg-system", timedelta(minutes=47), "PartiallyFailed", [CNPG_NAMESPACE],
                       errors=2, warnings=5))
    objs.append(backup(f"hourly-cnpg-system-{(now - timedelta(hours=1, minutes=47)).strftime('%Y%m%d%H%M%S')}",
                       "hourly-cnpg-system", timedelta(hours=1, minutes=47), "Completed", [CNPG_NAMESPACE]))
    for name, cron, namespaces, last in (
        ("daily-acme-books", "0 3 * * *", tenant, timedelta(hours=3)),
        ("hourly-cnpg-system", "13 * * * *", [CNPG_NAMESPACE], timedelta(minutes=47)),
    ):
        objs.append({
            "apiVersion": "velero.io/v1", "kind": "Schedule",
            "metadata": {"name": name, "namespace": VELERO_NAMESPACE},
            "spec": {"schedule": cron, "template": {"includedNamespaces": namespaces, "ttl": "720h0m0s"}},
            "status": {"phase": "Enabled", "lastBackup": iso(now - last)},
        })
    objs.append({  # where the backups go: `velero backup-location get` shows it Available
        "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
        "metadata": {"name": "default", "namespace": VELERO_NAMESPACE},
        "spec": {"provider": "aws", "default": True, "accessMode": "ReadWrite",
                 "objectStorage": {"bucket": "bookstore-platform-velero", "prefix": "us-east"},
                 "config": {"region": "us-east-1"}},
        "status": {"phase": "Available", "lastValidationTime": iso(now - timedelta(seconds=40)),
                   "lastSyncedTime": iso(now - timedelta(seconds=40))},
    })
    return objs


def latency(t: float, *, regress_at: float | None, recover_at: float | None = None,
            recovery_seconds: float = 60.0, peak: float = 1.2, climb_seconds: float = 240.0) -> float:
    """A p99 in seconds at unix time ``t``: the baseline, climbing to ``peak`` over ``climb_seconds`` from
    ``regress_at`` (None: no regression), falling back over ``recovery_seconds`` from ``recover_at``."""
    base = 0.18 + 0.02 * ((int(t) // 30) % 3) / 2
    if regress_at is None or t < regress_at:
        return base
    climb = min(1.0, (t - regress_at) / max(climb_seconds, 0.001))
    value = base + (peak - base) * climb
    if recover_at is not None and t >= recover_at:
        fall = min(1.0, (t - recover_at) / max(recovery_seconds, 0.001))
        value = value - (value - base) * fall
    return round(value, 4)


def p99_at(t: float, *, deploy_at: float, recover_at: float | None = None, recovery_seconds: float = 60.0) -> float:
    """The default incident's p99 in seconds at unix time ``t``: 0.18 s, climbing to 1.2 s in the 4 minutes after
    the deploy; back under the SLO within a minute of an abort."""
    return latency(t, regress_at=deploy_at, recover_at=recover_at, recovery_seconds=recovery_seconds)
