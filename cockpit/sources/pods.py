"""Kubernetes ``Pod`` objects (raw dicts) -> :class:`PodInfo`, as ``kubectl argo rollouts get`` shows them.

Pure functions, no I/O, never raise; strings are kept as received.  The STATUS column is computed rule for rule
as argo-rollouts pkg/kubectl-argo-rollouts/info/pod_info.go ``newPodInfo`` does (itself kubectl's printPod):

* the pod's ``status.phase``, replaced by ``status.reason`` when set (``Evicted``, ``NodeLost``…);
* init containers first: a failed one gives ``Init:<reason>`` / ``Init:ExitCode:N`` / ``Init:Signal:N``, a waiting
  one ``Init:<reason>``, one still running ``Init:i/n``; a restartable (sidecar) init container that started counts
  as done once ready;
* then, when no init container holds the pod, the app containers from last to first: a waiting reason
  (``ImagePullBackOff``, ``CrashLoopBackOff``, ``CreateContainerConfigError``…) or a terminated reason (``OOMKilled``,
  ``Error``, ``Completed``) or ``ExitCode:N`` / ``Signal:N``; ``Completed`` reads ``Running`` while another container
  still runs; ready running containers are counted for READY ``x/y``; restarts are summed;
* a pod with a deletion timestamp is ``Terminating`` (``Unknown`` when its reason is ``NodeLost``).

Pods are attached to their ReplicaSet by ownerReference UID (info/pod_info.go ``addPodInfos``), oldest first.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cockpit.models import PodInfo
from cockpit.sources.raw import as_count as _count, as_items as _items, as_map as _map, as_text as _text
from cockpit.timefmt import parse_time

POD_HASH_LABEL = "rollouts-pod-template-hash"
NODE_UNREACHABLE_REASON = "NodeLost"  # k8s.io/kubernetes/pkg/util/node NodeUnreachablePodReason
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _terminated_reason(terminated: dict[str, Any], prefix: str = "") -> str:
    reason = _text(terminated.get("reason"))
    if reason:
        return prefix + reason
    signal = _int(terminated.get("signal")) or 0
    if signal:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode')) or 0}"


def parse_pod(obj: Any) -> PodInfo:
    """A :class:`PodInfo` from one Pod object (see the module docstring for the rules)."""
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))

    init_specs = _items(spec.get("initContainers"))
    restartable = {_text(c.get("name")): c.get("restartPolicy") == "Always" for c in init_specs}
    total = len(_items(spec.get("containers")))
    ready = 0
    restarts = 0
    phase = _text(status.get("phase"))
    reason = _text(status.get("reason")) or phase

    initializing = False
    init_statuses = _items(status.get("initContainerStatuses"))
    for index, container in enumerate(init_statuses):
        restarts += _count(container.get("restartCount"))
        state = _map(container.get("state"))
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if isinstance(terminated, dict) and (_int(terminated.get("exitCode")) or 0) == 0:
            continue
        if isinstance(terminated, dict):
            reason = _terminated_reason(terminated, "Init:")
            initializing = True
        elif restartable.get(_text(container.get("name"))) and container.get("started") is True:
            if container.get("ready") is True:
                continue
        elif isinstance(waiting, dict) and _text(waiting.get("reason")) and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + _text(waiting.get("reason"))
            initializing = True
        else:
            reason = f"Init:{index}/{len(init_specs)}"
            initializing = True
        break

    last_reason = ""
    if not initializing:
        restarts = 0
        has_running = False
        for container in reversed(_items(status.get("containerStatuses"))):
            restarts += _count(container.get("restartCount"))
            state = _map(container.get("state"))
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if isinstance(waiting, dict) and _text(waiting.get("reason")):
                reason = _text(waiting.get("reason"))
            elif isinstance(terminated, dict):
                reason = _terminated_reason(terminated)
            elif container.get("ready") is True and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
            previous = _map(_map(container.get("lastState")).get("terminated"))
            if previous and not last_reason:
                last_reason = _terminated_reason(previous)
        if reason == "Completed" and has_running:
            reason = "Running"

    deleting = meta.get("deletionTimestamp") not in (None, "")
    if deleting:
        reason = "Unknown" if _text(status.get("reason")) == NODE_UNREACHABLE_REASON else "Terminating"

    return PodInfo(
        name=_text(meta.get("name")),
        namespace=_text(meta.get("namespace")),
        pod_hash=_text(_map(meta.get("labels")).get(POD_HASH_LABEL)),
        owner_uid=_owner_uid(meta),
        status=reason,
        phase=phase,
        ready_containers=ready,
        total_containers=total,
        restarts=restarts,
        created_at=parse_time(meta.get("creationTimestamp")),
        deleting=deleting,
        last_reason=last_reason,
    )


def _owner_uid(meta: dict[str, Any]) -> str:
    refs = _items(meta.get("ownerReferences"))
    for ref in refs:
        if ref.get("controller") is True:
            return _text(ref.get("uid"))
    for ref in refs:
        if ref.get("kind") == "ReplicaSet":
            return _text(ref.get("uid"))
    return _text(refs[0].get("uid")) if refs else ""


def _owner_names(meta: dict[str, Any]) -> set[str]:
    return {_text(ref.get("name")) for ref in _items(meta.get("ownerReferences")) if ref.get("kind") == "ReplicaSet"}


def pods_by_replica_set(pods: Any, rs_uids: dict[str, str]) -> dict[str, tuple[PodInfo, ...]]:
    """``{replica set uid or name: its pods oldest first}`` for the ReplicaSets given as ``{uid: name}``.

    A pod belongs to a ReplicaSet by ownerReference UID, as the CLI decides; a ReplicaSet without a UID (a manifest
    that never went through an API server) is matched by owner name.  Pods of other ReplicaSets are left out.
    """
    by_uid = {uid: name for uid, name in rs_uids.items() if uid}
    by_name = {name: name for uid, name in rs_uids.items() if not uid and name}
    found: dict[str, list[tuple[Any, PodInfo]]] = {}
    for raw in _items(pods):
        meta = _map(raw.get("metadata"))
        key = ""
        for ref in _items(meta.get("ownerReferences")):
            uid = _text(ref.get("uid"))
            if uid and uid in by_uid:
                key = uid
                break
        if not key:
            names = _owner_names(meta) & set(by_name)
            key = min(names) if names else ""
        if not key:
            continue
        info = parse_pod(raw)
        found.setdefault(key, []).append((info.created_at or _EPOCH, info))
    return {key: tuple(info for _, info in sorted(items, key=lambda item: (item[0], item[1].name)))
            for key, items in found.items()}


def worst_pod(pods: tuple[PodInfo, ...]) -> PodInfo | None:
    """The pod whose status is the most serious (bad before warning before pending), else None when all are fine."""
    worst = max(pods, key=lambda pod: (pod.severity, pod.restarts), default=None)
    if worst is None or (worst.severity == 0 and worst.restarts == 0):
        return None
    return worst
