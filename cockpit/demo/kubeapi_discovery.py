"""Discovery documents and server-side tables, so ``kubectl get`` works against the emulator.

kubectl first asks ``/api`` and ``/apis`` (the legacy, non-aggregated discovery is enough: it
falls back when the answer is not an ``APIGroupDiscoveryList``), then ``/apis/<g>/<v>`` for the
resource list, then requests the objects as a ``meta.k8s.io/v1`` ``Table``.  Tables use the
CRD's ``additionalPrinterColumns`` with the simple ``.a.b[0].c`` JSONPaths the vendored CRDs use.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from cockpit.demo.kubeapi_kinds import STATUS_VERBS, KindRegistry, ResourceType

SERVER_VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.0-cockpit-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions() -> dict[str, Any]:
    return {"kind": "APIVersions", "apiVersion": "v1", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(registry: KindRegistry) -> dict[str, Any]:
    groups = [_group_entry(g, vs) for g, vs in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: KindRegistry, group: str) -> dict[str, Any] | None:
    versions = registry.group_versions().get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def api_resource_list(registry: KindRegistry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rt in types:
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        if rt.status_subresource:
            resources.append({"name": f"{rt.plural}/status", "singularName": "", "namespaced": rt.namespaced,
                              "kind": rt.kind, "verbs": list(STATUS_VERBS)})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": rt.api_version, "resources": resources}


AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def _scope(rt: ResourceType) -> str:
    return "Namespaced" if rt.namespaced else "Cluster"


def aggregated_group_list(registry: KindRegistry, *, core: bool = False) -> dict[str, Any]:
    """``/apis`` (or with ``core``, ``/api``) as aggregated discovery (``apidiscovery.k8s.io/v2``
    ``APIGroupDiscoveryList``, Kubernetes 1.30): every group, version and resource in one document, which kubectl
    and client-go ask for first (and use only when both ``/api`` and ``/apis`` answer with it)."""
    items = []
    for group, versions in registry.group_versions().items():
        if bool(group) == core:
            continue
        listed = []
        for version in versions:
            resources = []
            for rt in registry.in_group_version(group, version):
                kind = {"group": rt.group, "version": rt.version, "kind": rt.kind}
                entry: dict[str, Any] = {"resource": rt.plural, "responseKind": kind, "scope": _scope(rt),
                                         "singularResource": rt.singular, "verbs": list(rt.verbs)}
                if rt.short_names:
                    entry["shortNames"] = list(rt.short_names)
                if rt.categories:
                    entry["categories"] = list(rt.categories)
                if rt.status_subresource:
                    entry["subresources"] = [{"subresource": "status", "responseKind": kind,
                                              "verbs": list(STATUS_VERBS)}]
                resources.append(entry)
            listed.append({"version": version, "resources": resources, "freshness": "Current"})
        meta: dict[str, Any] = {"name": group, "creationTimestamp": None} if group else {"creationTimestamp": None}
        items.append({"metadata": meta, "versions": listed})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


# ---------------------------------------------------------------------------- tables

_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _jsonpath(obj: Any, path: str) -> Any:
    """Evaluate the simple JSONPaths printer columns use (``.status.phase``, ``.a[0].b``)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    current = obj
    for field_name, index in _TOKEN.findall(path):
        if field_name:
            current = current.get(field_name) if isinstance(current, dict) else None
        else:
            position = int(index)
            current = current[position] if isinstance(current, list) and position < len(current) else None
        if current is None:
            return None
    return current


def human_age(stamp: Any, now: datetime) -> str:
    """kubectl's short age ("45s", "3m", "5h", "12d") for an RFC 3339 timestamp."""
    try:
        then = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 2 * 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _columns(rt: ResourceType) -> list[dict[str, Any]]:
    if rt.printer_columns:
        return [dict(c) for c in rt.printer_columns]
    return [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


def to_table(rt: ResourceType, objects: list[dict[str, Any]], resource_version: str) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    columns = _columns(rt)
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += [
        {"name": c["name"], "type": c.get("type", "string"), "format": c.get("format", ""),
         "description": c.get("description", ""), "priority": int(c.get("priority", 0))}
        for c in columns
    ]
    rows = []
    for obj in objects:
        cells: list[Any] = [obj["metadata"]["name"]]
        for column in columns:
            value = _jsonpath(obj, column.get("jsonPath", ""))
            if value is not None and column.get("type") == "date":
                value = human_age(value, now)
            elif isinstance(value, (dict, list)):
                value = str(value)
            cells.append(value)
        rows.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                                "metadata": obj["metadata"]}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": definitions, "rows": rows}
