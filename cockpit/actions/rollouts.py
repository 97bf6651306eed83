"""Argo Rollouts actions, built exactly as ``kubectl argo rollouts`` sends them (MECHANICS (b)).

=========================  ==========================================================  ===========================
action                     request                                                      upstream
=========================  ==========================================================  ===========================
abort                      merge patch ``{"status":{"abort":true}}`` on ``.../status``   cmd/abort/abort.go
retry                      merge patch ``{"status":{"abort":false}}`` on ``.../status``  cmd/retry/retry.go
promote                    status patch on ``.../status`` (pause conditions / step),     cmd/promote/promote.go
                           then ``{"spec":{"paused":false}}`` on the main resource        ``getPatches``
promote --full             ``{"status":{"promoteFull":true}}`` on ``.../status`` (only
                           when currentPodHash != stableRS), then the spec unpause
undo [--to-revision N]     JSON patch replace ``/spec/template`` with the chosen RS's     cmd/undo/undo.go
                           template minus ``rollouts-pod-template-hash``
=========================  ==========================================================  ===========================

The only difference from the CLI is the concurrency guard the cockpit adds (issue 4, "a conflict is shown,
never clobbered"): merge patches carry ``metadata.resourceVersion`` of the object as read, JSON patches start
with a ``test`` of ``/metadata/resourceVersion``.  When an action needs two requests (promote), only the first
carries it: the second is part of the same confirmed step and would otherwise always conflict with the first.

The CLI's fallback to the main resource on a 404 from ``/status`` exists only for pre-v0.10 CRDs and is not
reproduced: every Rollout CRD since v0.10 has the status subresource (FIELDS.md section 1).
"""

from __future__ import annotations

import copy
from typing import Any

from cockpit.actions.requests import (
    JSON_PATCH,
    MERGE_PATCH,
    Action,
    ActionRefused,
    KubeWrite,
    Risk,
    kube_write,
)
from cockpit.sources.errors import SourceError
from cockpit.sources.kube import REPLICA_SETS, ROLLOUTS, KubeContext, Resource
from cockpit.sources.rollouts import POD_HASH_LABEL, REVISION_ANNOTATION

DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", product="Kubernetes")
POD_TEMPLATES = Resource("", "v1", "podtemplates", "PodTemplate", product="Kubernetes")
_WORKLOADS = {"Deployment": DEPLOYMENTS, "ReplicaSet": REPLICA_SETS, "PodTemplate": POD_TEMPLATES}

ABORT_LEAVES_SPEC = (
    "abort only stops the canary: spec.template still names the new version, and leaving the aborted state "
    "(retry, or the next sync) rolls it out again; the durable fix is an Argo CD rollback or a git revert"
)
SELF_HEAL_REVERTS = (
    "undo changes the Rollout's spec: Argo CD shows it OutOfSync and, with self-heal on, puts the new version "
    "back within seconds; disable auto-sync first, or roll back through Argo CD / git instead"
)
UNDO_ONE_OBJECT = (
    "undo reverts this Rollout only: ConfigMaps, Secrets and other objects of the release stay as they are"
)


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def get_rollout(ctx: KubeContext, namespace: str, name: str) -> dict[str, Any]:
    """The Rollout as the server has it now; ActionRefused when it does not exist."""
    try:
        obj = ctx.get(ROLLOUTS, namespace, name)
    except SourceError as err:
        raise ActionRefused(f"cannot read Rollout {name} in {namespace}: {err}") from None
    if obj is None:
        raise ActionRefused(f"Rollout {name} not found in namespace {namespace}")
    return obj


def _rv(obj: dict[str, Any]) -> str:
    return str(_map(obj.get("metadata")).get("resourceVersion") or "")


def _guarded(patch: dict[str, Any], resource_version: str) -> dict[str, Any]:
    """The upstream merge patch plus the resourceVersion precondition."""
    body = copy.deepcopy(patch)
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    return body


def _status_patch(ctx: KubeContext, namespace: str, name: str, patch: dict[str, Any], rv: str) -> KubeWrite:
    return kube_write(ctx, ROLLOUTS, namespace, name, method="PATCH", body=_guarded(patch, rv),
                      content_type=MERGE_PATCH, subresource="status", precondition=rv)


def _spec_patch(ctx: KubeContext, namespace: str, name: str, patch: dict[str, Any], rv: str) -> KubeWrite:
    return kube_write(ctx, ROLLOUTS, namespace, name, method="PATCH", body=_guarded(patch, rv),
                      content_type=MERGE_PATCH, precondition=rv)


def _action(ctx: KubeContext, name: str, verb: str, target: str, namespace: str, writes: list[KubeWrite],
            obj: dict[str, Any], *, risk: Risk = Risk.LOW, warnings: list[str] | None = None, summary: str = "",
            preview: str = "", follow_up: str = "") -> Action:
    return Action(
        name=name, verb=verb, kind="Rollout", target=target, namespace=namespace, context=ctx.name, user=ctx.user,
        writes=tuple(writes), risk=risk, warnings=tuple(warnings or ()), summary=summary, preview=preview,
        follow_up=follow_up, current=obj,
    )


def _argo_tracking(obj: dict[str, Any]) -> str:
    meta = _map(obj.get("metadata"))
    tracking = _map(meta.get("annotations")).get("argocd.argoproj.io/tracking-id")
    instance = _map(meta.get("labels")).get("app.kubernetes.io/instance") or _map(meta.get("labels")).get(
        "argocd.argoproj.io/instance")
    if isinstance(tracking, str) and tracking:
        return f"tracking-id {tracking}"
    if isinstance(instance, str) and instance:
        return f"instance label {instance}"
    return ""


# --------------------------------------------------------------------------- abort / retry


def abort(ctx: KubeContext, namespace: str, name: str) -> Action:
    """``kubectl argo rollouts abort``: ``{"status":{"abort":true}}`` on the status subresource."""
    obj = get_rollout(ctx, namespace, name)
    status, spec = _map(obj.get("status")), _map(obj.get("spec"))
    if status.get("abort") is True:
        raise ActionRefused(f"Rollout {name} is already aborted", noop=True)
    warnings = [ABORT_LEAVES_SPEC]
    current, stable = status.get("currentPodHash"), status.get("stableRS")
    if current and current == stable and not status.get("pauseConditions") and not spec.get("paused"):
        warnings.append("nothing is in progress: the new version is already the stable one; abort will not "
                        "bring the previous version back (use undo, or an Argo CD rollback)")
    if isinstance(spec.get("workloadRef"), dict):
        warnings.append("this Rollout uses workloadRef: some Rollouts versions ignore abort there "
                        "(argo-rollouts#2929); watch that the canary really scales down")
    rv = _rv(obj)
    return _action(
        ctx, "rollouts.abort", "abort", name, namespace,
        [_status_patch(ctx, namespace, name, {"status": {"abort": True}}, rv)], obj, warnings=warnings,
        summary=f"stop the canary of {name}: the controller scales the canary ReplicaSet to 0 and sends all "
                "traffic to the stable one",
        follow_up="watch the Rollout turn Degraded (aborted) and the p99 fall back under the SLO",
    )


def retry(ctx: KubeContext, namespace: str, name: str) -> Action:
    """``kubectl argo rollouts retry rollout``: ``{"status":{"abort":false}}`` on the status subresource."""
    obj = get_rollout(ctx, namespace, name)
    if _map(obj.get("status")).get("abort") is not True:
        raise ActionRefused(f"Rollout {name} is not aborted: there is nothing to retry", noop=True)
    rv = _rv(obj)
    return _action(
        ctx, "rollouts.retry", "retry", name, namespace,
        [_status_patch(ctx, namespace, name, {"status": {"abort": False}}, rv)], obj,
        warnings=["retry rolls the new version out again from the first step: only after the fix is in"],
        summary=f"leave the aborted state: {name} starts the canary of spec.template again",
    )


# --------------------------------------------------------------------------- promote


def _current_step(obj: dict[str, Any]) -> int | None:
    """``GetCurrentCanaryStep``'s index: None without canary steps, else status.currentStepIndex (0 if unset)."""
    steps = _items(_map(_map(_map(obj.get("spec")).get("strategy")).get("canary")).get("steps"))
    if not isinstance(_map(_map(obj.get("spec")).get("strategy")).get("canary"), dict) or not steps:
        return None
    index = _map(obj.get("status")).get("currentStepIndex")
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


def _step_count(obj: dict[str, Any]) -> int:
    return len(_items(_map(_map(_map(obj.get("spec")).get("strategy")).get("canary")).get("steps")))


def promote_patches(obj: dict[str, Any], *, full: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(spec patch, status patch) exactly as ``getPatches`` in cmd/promote/promote.go builds them."""
    spec, status = _map(obj.get("spec")), _map(obj.get("status"))
    canary = isinstance(_map(spec.get("strategy")).get("canary"), dict)
    spec_patch: dict[str, Any] | None = {"spec": {"paused": False}} if spec.get("paused") is True else None
    status_patch: dict[str, Any] | None = None
    pause_conditions = bool(_items(status.get("pauseConditions")))
    if full:
        if status.get("currentPodHash") != status.get("stableRS"):
            status_patch = {"status": {"promoteFull": True}}
        return spec_patch, status_patch
    analysis = _map(_map(status.get("canary")).get("currentStepAnalysisRunStatus"))
    inconclusive = canary and analysis.get("status") == "Inconclusive"
    if inconclusive and pause_conditions and status.get("controllerPause") is True:
        index = _current_step(obj)
        if index is not None:
            index = index + 1 if index < _step_count(obj) else index
            status_patch = {"status": {"pauseConditions": None, "controllerPause": False, "currentStepIndex": index}}
    elif pause_conditions:
        status_patch = {"status": {"pauseConditions": None}}
    elif canary:
        index = _current_step(obj)
        if index is not None:
            index = index + 1 if index < _step_count(obj) else index
            status_patch = {"status": {"pauseConditions": None, "currentStepIndex": index}}
    return spec_patch, status_patch


def promote(ctx: KubeContext, namespace: str, name: str, *, full: bool = False) -> Action:
    """``kubectl argo rollouts promote [--full]``: the status patch first, then the spec patch (promote.go)."""
    obj = get_rollout(ctx, namespace, name)
    spec_patch, status_patch = promote_patches(obj, full=full)
    if spec_patch is None and status_patch is None:
        raise ActionRefused(f"Rollout {name} has nothing to promote (not paused, no step to advance)", noop=True)
    rv = _rv(obj)
    writes: list[KubeWrite] = []
    if status_patch is not None:
        writes.append(_status_patch(ctx, namespace, name, status_patch, rv))
    if spec_patch is not None:
        writes.append(_spec_patch(ctx, namespace, name, spec_patch, "" if writes else rv))
    warnings = []
    if _map(obj.get("status")).get("abort") is True:
        warnings.append("the Rollout is aborted: promoting does not leave the aborted state (use retry)")
    if full:
        warnings.append("--full skips every remaining step, pause and analysis: all traffic goes to the new version")
        verb, summary = "promote --full", f"send {name} straight to the new version, skipping steps and analysis"
    else:
        verb, summary = "promote", f"let {name} continue to its next canary step"
    return _action(ctx, "rollouts.promote_full" if full else "rollouts.promote", verb, name, namespace, writes, obj,
                   risk=Risk.DESTRUCTIVE if full else Risk.LOW, warnings=warnings, summary=summary)


# --------------------------------------------------------------------------- undo


def _revision(rs: dict[str, Any]) -> int:
    """The ``rollout.argoproj.io/revision`` annotation; 0 when absent (as undo.go's ``revision``)."""
    text = _map(_map(rs.get("metadata")).get("annotations")).get(REVISION_ANNOTATION)
    if text is None:
        return 0
    text = str(text).strip()
    if not text.lstrip("-").isdigit():
        return -1  # undo.go skips RSs whose annotation does not parse
    return int(text)


def _controlled_by(rs: dict[str, Any], rollout: dict[str, Any]) -> bool:
    uid = _map(rollout.get("metadata")).get("uid")
    for ref in _items(_map(rs.get("metadata")).get("ownerReferences")):
        if ref.get("controller") is True and uid and ref.get("uid") == uid:
            return True
    return False


def owned_replica_sets(ctx: KubeContext, rollout: dict[str, Any]) -> list[dict[str, Any]]:
    """The rollout's ReplicaSets: listed by its selector, kept when their controller ref is the rollout."""
    meta, spec = _map(rollout.get("metadata")), _map(rollout.get("spec"))
    labels = _map(_map(spec.get("selector")).get("matchLabels"))
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()) if isinstance(value, str))
    try:
        items, _ = ctx.list(REPLICA_SETS, str(meta.get("namespace") or ""), label_selector=selector)
    except SourceError as err:
        raise ActionRefused(f"cannot list the ReplicaSets of Rollout {meta.get('name')}: {err}") from None
    return [rs for rs in items if _controlled_by(rs, rollout)]


def pick_revision(replica_sets: list[dict[str, Any]], to_revision: int) -> tuple[dict[str, Any], int]:
    """``rolloutRevision`` in undo.go: the RS of ``to_revision``, or (0) the second-newest revision."""
    latest: tuple[int, dict[str, Any] | None] = (-1, None)
    previous: tuple[int, dict[str, Any] | None] = (-1, None)
    for rs in replica_sets:
        value = _revision(rs)
        if value < 0:
            continue
        if to_revision == 0:
            if latest[0] < value:
                previous, latest = latest, (value, rs)
            elif previous[0] < value:
                previous = (value, rs)
        elif to_revision == value:
            return rs, value
    if to_revision > 0:
        raise ActionRefused(f"unable to find revision {to_revision} in the Rollout's ReplicaSets")
    if previous[1] is None:
        raise ActionRefused("no previous revision found: the Rollout has only one ReplicaSet")
    return previous[1], previous[0]


def _without_hash(template: Any) -> dict[str, Any]:
    out = copy.deepcopy(_map(template))
    labels = _map(_map(out.get("metadata")).get("labels"))
    if POD_HASH_LABEL in labels:
        labels = {k: v for k, v in labels.items() if k != POD_HASH_LABEL}
        if labels:
            out["metadata"]["labels"] = labels
        else:
            out["metadata"].pop("labels", None)
    return out


def derivative(a: Any, b: Any) -> bool:
    """``apiequality.Semantic.DeepDerivative(a, b)`` on JSON values: unset/empty parts of ``a`` match anything."""
    if isinstance(a, dict):
        if not a:
            return True
        if not isinstance(b, dict) or len(a) > len(b):
            return False
        return all(key in b and derivative(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(derivative(x, y) for x, y in zip(a, b))
    if a is None:
        return True
    return a == b


def _images(template: dict[str, Any]) -> str:
    containers = _items(_map(template.get("spec")).get("containers"))
    return ", ".join(str(c.get("image") or "?") for c in containers) or "?"


def undo(ctx: KubeContext, namespace: str, name: str, *, to_revision: int = 0) -> Action:
    """``kubectl argo rollouts undo [--to-revision N]``: JSON patch of ``/spec/template`` from the chosen RS."""
    obj = get_rollout(ctx, namespace, name)
    rs, revision = pick_revision(owned_replica_sets(ctx, obj), to_revision)
    rs_template = _map(_map(rs.get("spec")).get("template"))
    spec = _map(obj.get("spec"))
    if "template" in spec and derivative(_without_hash(spec.get("template")), _without_hash(rs_template)):
        raise ActionRefused(
            f"skipped rollback (current template already matches revision {revision})", noop=True
        )
    template = _without_hash(rs_template)
    warnings = [SELF_HEAL_REVERTS, UNDO_ONE_OBJECT]
    tracking = _argo_tracking(obj)
    if tracking:
        warnings.insert(0, f"this Rollout is managed by Argo CD ({tracking}): self-heal will undo the undo")

    workload = _map(spec.get("workloadRef"))
    if workload:
        resource = _WORKLOADS.get(str(workload.get("kind") or ""))
        if resource is None:
            raise ActionRefused(f"workload of type {workload.get('kind')} is not supported by undo")
        ref_name = str(workload.get("name") or "")
        try:
            target_obj = ctx.get(resource, namespace, ref_name)
        except SourceError as err:
            raise ActionRefused(f"cannot read {resource.kind} {ref_name}: {err}") from None
        if target_obj is None:
            raise ActionRefused(f"{resource.kind} {ref_name} (the Rollout's workloadRef) not found")
        path_owner, kind_label = target_obj, f"{resource.kind} {ref_name}"
        write_resource, write_name = resource, ref_name
    else:
        path_owner, kind_label = obj, f"Rollout {name}"
        write_resource, write_name = ROLLOUTS, name
    rv = _rv(path_owner)
    ops: list[dict[str, Any]] = []
    if rv:
        ops.append({"op": "test", "path": "/metadata/resourceVersion", "value": rv})
    ops.append({"op": "replace", "path": "/spec/template", "value": template})
    write = kube_write(ctx, write_resource, namespace, write_name, method="PATCH", body=ops,
                       content_type=JSON_PATCH, precondition=rv)
    return _action(
        ctx, "rollouts.undo", "undo", name, namespace, [write], path_owner, risk=Risk.DESTRUCTIVE, warnings=warnings,
        summary=f"put {kind_label} back on revision {revision} ({_images(template)}; "
                f"now {_images(_map(spec.get('template')))})",
        preview=f"revision {revision} from ReplicaSet {_map(rs.get('metadata')).get('name')}",
        follow_up="watch the new ReplicaSet roll out; then fix git, or Argo CD will bring the new version back",
    )
