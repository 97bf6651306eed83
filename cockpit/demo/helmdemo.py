"""A Helm-owned release for the demo: its history as Helm 3 stores it, and the workload it deployed.

Helm 3's Secrets driver (pkg/storage/driver/secrets.go, util.go) keeps revision N of release R in the Secret
``sh.helm.release.v1.R.vN`` of the release namespace: type ``helm.sh/release.v1``, labels ``name``, ``owner=helm``,
``status``, ``version`` (plus ``createdAt`` / ``modifiedAt`` timestamps), and ``data.release`` =
base64(gzip(JSON of the Release)) -- which the API serves base64-encoded once more.  The Release JSON carries the
chart's metadata, the rendered manifest, the values and ``info`` (status, times, description).

The demo's release ``catalog-search`` has three revisions: 1 (install, 1.4.0), 2 (1.5.0) and 3 (1.5.1, six
minutes ago, the bad one, ``deployed``); 1 and 2 are ``superseded``.  The Deployment and Service carry Helm's
ownership labels and annotations, as ``helm install`` leaves them.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

from cockpit.actions.helm import encode_release

RELEASE = "catalog-search"
CHART = "catalog-search"
IMAGE = "ghcr.io/acme/catalog-search"
# revision: (chart version == app version, deployed ago, description)
REVISIONS: dict[int, tuple[str, timedelta, str]] = {
    1: ("1.4.0", timedelta(days=12, hours=4), "Install complete"),
    2: ("1.5.0", timedelta(days=2, hours=3), "Upgrade complete"),
    3: ("1.5.1", timedelta(minutes=6), "Upgrade complete"),
}
BAD_REVISION = 3
GOOD_VERSION = "1.5.0"


def _helm_time(when: datetime) -> str:
    """Helm's time format (RFC 3339 with nanoseconds)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def manifest(namespace: str, version: str, replicas: int = 3) -> str:
    return f"""---
# Source: {CHART}/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: {RELEASE}
  labels:
    app.kubernetes.io/name: {CHART}
    app.kubernetes.io/instance: {RELEASE}
    app.kubernetes.io/managed-by: Helm
spec:
  selector:
    app.kubernetes.io/name: {CHART}
    app.kubernetes.io/instance: {RELEASE}
  ports:
    - port: 80
      targetPort: 8080
---
# Source: {CHART}/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {RELEASE}
  labels:
    app.kubernetes.io/name: {CHART}
    app.kubernetes.io/instance: {RELEASE}
    app.kubernetes.io/version: "{version}"
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: {CHART}
      app.kubernetes.io/instance: {RELEASE}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {CHART}
        app.kubernetes.io/instance: {RELEASE}
    spec:
      containers:
        - name: {CHART}
          image: "{IMAGE}:{version}"
          ports:
            - containerPort: 8080
"""


def release(namespace: str, revision: int, now: datetime) -> dict[str, Any]:
    """The Release object Helm 3 marshals to JSON (pkg/release/release.go field names)."""
    version, ago, description = REVISIONS[revision]
    first = now - REVISIONS[1][1]
    status = "deployed" if revision == max(REVISIONS) else "superseded"
    template = base64.b64encode(b"apiVersion: apps/v1\nkind: Deployment\n# ...\n").decode()
    return {
        "name": RELEASE,
        "info": {
            "first_deployed": _helm_time(first),
            "last_deployed": _helm_time(now - ago),
            "deleted": "",
            "description": description,
            "status": status,
            "notes": f"{RELEASE} {version} is served at http://{RELEASE}.{namespace}.svc/\n",
        },
        "chart": {
            "metadata": {"name": CHART, "version": version, "description": "Search for the bookstore catalog",
                         "apiVersion": "v2", "appVersion": version, "type": "application"},
            "lock": None,
            "templates": [{"name": "templates/deployment.yaml", "data": template}],
            "values": {"replicaCount": 3, "image": {"repository": IMAGE, "tag": ""}},
            "schema": None,
            "files": [],
        },
        "config": {"replicaCount": 3},
        "manifest": manifest(namespace, version),
        "version": revision,
        "namespace": namespace,
    }


def secrets(namespace: str, now: datetime) -> list[dict[str, Any]]:
    """The release Secrets, oldest first, as the Secrets driver writes them."""
    out = []
    newest = max(REVISIONS)
    for revision, (_, ago, _) in sorted(REVISIONS.items()):
        rel = release(namespace, revision, now)
        created = now - ago
        labels = {"name": RELEASE, "owner": "helm", "status": rel["info"]["status"], "version": str(revision),
                  "createdAt": str(int(created.timestamp()))}
        if revision != newest:  # superseded by the next upgrade: Helm's Update sets modifiedAt
            labels["modifiedAt"] = str(int((now - REVISIONS[revision + 1][1]).timestamp()))
        out.append({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"sh.helm.release.v1.{RELEASE}.v{revision}", "namespace": namespace,
                         "labels": labels, "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "type": "helm.sh/release.v1",
            "data": {"release": encode_release(rel)},
        })
    return out


def workload(namespace: str, now: datetime, version: str = "1.5.1") -> list[dict[str, Any]]:
    """The Deployment and Service of the current revision, with Helm's ownership metadata."""
    labels = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE}
    owned = {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": namespace}
    since = (now - REVISIONS[BAD_REVISION][1]).strftime("%Y-%m-%dT%H:%M:%SZ")
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": RELEASE, "namespace": namespace, "annotations": dict(owned),
                     "labels": {**labels, "app.kubernetes.io/version": version,
                                "app.kubernetes.io/managed-by": "Helm"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [{"name": CHART, "image": f"{IMAGE}:{version}",
                                                       "ports": [{"containerPort": 8080}]}]}}},
        "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                   "availableReplicas": 3,
                   "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                   "message": "Deployment has minimum availability.", "lastUpdateTime": since,
                                   "lastTransitionTime": since}]},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": RELEASE, "namespace": namespace, "annotations": dict(owned),
                     "labels": {**labels, "app.kubernetes.io/managed-by": "Helm"}},
        "spec": {"selector": dict(labels), "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
                 "type": "ClusterIP"},
    }
    return [deployment, service]
