"""Argo Rollouts ``Rollout`` + its ``ReplicaSet`` objects (raw dicts) -> :class:`RolloutView`.

Pure functions, no I/O, never raise; missing or wrongly typed fields read as defaults and
strings are kept exactly as received.  The logic mirrors what ``kubectl argo rollouts get``
shows (MECHANICS (d)), so the pane and the CLI agree during an incident:

* ReplicaSets belong to the rollout by ownerReference UID (by owner kind+name when the rollout
  object carries no UID, e.g. a hand-written fixture), never by labels;
* an RS is *stable* when its ``rollouts-pod-template-hash`` label equals ``status.stableRS`` and
  *canary* when it equals ``status.currentPodHash``; images come from the RS pod template;
* SetWeight is the weight of the last ``setWeight`` step at or before the current step
  (100 once every step is done, 0 after an abort); ActualWeight is the traffic router's
  ``status.canary.weights.canary.weight`` when present, else the canary's share of available pods.
"""

from __future__ import annotations

from typing import Any

from cockpit.models import ReplicaSetInfo, RolloutView
from cockpit.timefmt import parse_time
from cockpit.sources.raw import as_map as _map, as_text as _text, as_items as _items

POD_HASH_LABEL = "rollouts-pod-template-hash"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _count(value: Any) -> int:
    return _int(value) or 0


def _int_text(value: Any) -> int | None:
    """An integer kept in a string (labels, annotations); None unless it is plain digits."""
    text = _text(value).strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


# --------------------------------------------------------------------------- ReplicaSets


def parse_replica_set(rs: Any) -> ReplicaSetInfo:
    """A :class:`ReplicaSetInfo`; counts come from ``status`` (``spec.replicas`` when unreported)."""
    rs = _map(rs)
    meta = _map(rs.get("metadata"))
    spec = _map(rs.get("spec"))
    status = _map(rs.get("status"))
    template = _map(spec.get("template"))
    replicas = _int(status.get("replicas"))
    return ReplicaSetInfo(
        name=_text(meta.get("name")),
        pod_hash=_text(_map(meta.get("labels")).get(POD_HASH_LABEL)),
        revision=_int_text(_map(meta.get("annotations")).get(REVISION_ANNOTATION)),
        images=_images(template),
        replicas=replicas if replicas is not None else _count(spec.get("replicas")),
        ready_replicas=_count(status.get("readyReplicas")),
        available_replicas=_count(status.get("availableReplicas")),
        owner_uid=_controller_uid(meta),
        template=template,
    )


def _images(template: dict[str, Any]) -> tuple[str, ...]:
    containers = _items(_map(template.get("spec")).get("containers"))
    return tuple(_text(container.get("image")) for container in containers)


def _controller_uid(meta: dict[str, Any]) -> str:
    refs = _items(meta.get("ownerReferences"))
    for ref in refs:
        if ref.get("controller") is True:
            return _text(ref.get("uid"))
    for ref in refs:
        if ref.get("kind") == "Rollout":
            return _text(ref.get("uid"))
    return _text(refs[0].get("uid")) if refs else ""


def owned_by(obj: Any, rollout_meta: dict[str, Any]) -> bool:
    """Does ``obj`` (a ReplicaSet or AnalysisRun) belong to the rollout with this metadata?

    By ownerReference UID, as the Rollouts CLI does; when the rollout has no UID (a manifest that
    never went through an API server), by owner kind ``Rollout`` + name within the namespace.
    """
    meta = _map(_map(obj).get("metadata"))
    namespace = _text(rollout_meta.get("namespace"))
    if namespace and _text(meta.get("namespace")) not in ("", namespace):
        return False
    uid = _text(rollout_meta.get("uid"))
    name = _text(rollout_meta.get("name"))
    for ref in _items(meta.get("ownerReferences")):
        if uid:
            if ref.get("uid") == uid:
                return True
        elif name and ref.get("kind") == "Rollout" and ref.get("name") == name:
            return True
    return False


# --------------------------------------------------------------------------- the Rollout


def parse_rollout(obj: Any, replica_sets: Any = ()) -> RolloutView:
    """A :class:`RolloutView` from a Rollout and the namespace's ReplicaSets (any list; the
    rollout's own are picked out here).  Never raises."""
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    strategy_spec = _map(spec.get("strategy"))
    canary = strategy_spec.get("canary")
    if isinstance(canary, dict):
        strategy = "canary"
    else:
        strategy = "blueGreen" if isinstance(strategy_spec.get("blueGreen"), dict) else ""
    steps = _items(_map(canary).get("steps")) if strategy == "canary" else []
    step_index = _int(status.get("currentStepIndex")) if steps else None

    owned = [parse_replica_set(rs) for rs in _items(replica_sets) if owned_by(rs, meta)]
    owned.sort(key=lambda rs: (rs.revision is None, -(rs.revision or 0), rs.name))
    stable_hash = _text(status.get("stableRS"))
    canary_hash = _text(status.get("currentPodHash"))
    stable_rs = next((rs for rs in owned if stable_hash and rs.pod_hash == stable_hash), None)
    canary_rs = next((rs for rs in owned if canary_hash and rs.pod_hash == canary_hash), None)

    aborted = status.get("abort") is True
    pause_conditions = _items(status.get("pauseConditions"))
    pause_reasons = tuple(_text(cond.get("reason")) for cond in pause_conditions)
    if spec.get("paused") is True:
        pause_reasons += ("spec.paused",)
    set_weight = _set_weight(strategy, steps, step_index, aborted)
    phase, message = _phase(spec, status, strategy)
    canary_status = _map(status.get("canary"))
    return RolloutView(
        name=_text(meta.get("name")),
        namespace=_text(meta.get("namespace")),
        uid=_text(meta.get("uid")),
        strategy=strategy,
        phase=phase,
        message=message,
        step_index=step_index,
        step_count=len(steps),
        set_weight=set_weight,
        actual_weight=_actual_weight(strategy, canary_status, len(steps), step_index, status, canary_rs, owned),
        stable_hash=stable_hash,
        canary_hash=canary_hash,
        stable_images=stable_rs.images if stable_rs else (),
        # Without the canary RS (not created yet, or RS listing forbidden) the pod template is
        # what currentPodHash was computed from, so its images are the canary's.
        canary_images=canary_rs.images if canary_rs else _images(_map(spec.get("template"))),
        replicas=_count(status.get("replicas")),
        ready_replicas=_count(status.get("readyReplicas")),
        available_replicas=_count(status.get("availableReplicas")),
        updated_replicas=_count(status.get("updatedReplicas")),
        paused=spec.get("paused") is True or bool(pause_conditions),
        pause_reasons=pause_reasons,
        controller_pause=status.get("controllerPause") is True,
        aborted=aborted,
        aborted_at=parse_time(status.get("abortedAt")),
        match_labels={
            key: value
            for key, value in _map(_map(spec.get("selector")).get("matchLabels")).items()
            if isinstance(key, str) and isinstance(value, str)
        },
        current_step_analysis=_text(_map(canary_status.get("currentStepAnalysisRunStatus")).get("name")),
        replica_sets=tuple(owned),
        resource_version=_text(meta.get("resourceVersion")),
        has_status=bool(status),
    )


def _set_weight(strategy: str, steps: list[dict[str, Any]], step_index: int | None, aborted: bool) -> int | None:
    """The desired canary weight, as ``GetCurrentSetWeight`` in the Rollouts controller."""
    if strategy != "canary":
        return None
    if aborted:
        return 0
    index = step_index if step_index is not None else 0
    if index < 0:
        return 0
    if index >= len(steps):  # no steps, or every step done: fully promoted
        return 100
    for step in reversed(steps[: index + 1]):
        weight = _int(step.get("setWeight"))
        if weight is not None:
            return weight
    return 0


def _actual_weight(
    strategy: str,
    canary_status: dict[str, Any],
    step_count: int,
    step_index: int | None,
    status: dict[str, Any],
    canary_rs: ReplicaSetInfo | None,
    owned: list[ReplicaSetInfo],
) -> int | None:
    """Traffic actually on the canary: the router's reported weight, else its share of pods."""
    if strategy != "canary":
        return None
    weight = _int(_map(_map(_map(canary_status.get("weights")).get("canary"))).get("weight"))
    if weight is not None:
        return weight
    index = step_index if step_index is not None else 0
    if index >= step_count:  # fully promoted: all traffic is on the (now stable) new pods
        return 100
    total = _count(status.get("availableReplicas")) or sum(rs.available_replicas for rs in owned)
    if total <= 0 or canary_rs is None:
        return 0
    return min(100, canary_rs.available_replicas * 100 // total)


def _phase(spec: dict[str, Any], status: dict[str, Any], strategy: str) -> tuple[str, str]:
    """``status.phase``/``message``; when the controller wrote none, computed as the CLI does
    (``CalculateRolloutPhase``), so an aborted rollout still reads Degraded.  "" without status."""
    phase = _text(status.get("phase"))
    if phase or not status:
        return phase, _text(status.get("message"))
    for cond in _items(status.get("conditions")):
        if cond.get("type") == "InvalidSpec":
            return "Degraded", f"InvalidSpec: {_text(cond.get('message'))}"
        if cond.get("reason") in ("RolloutAborted", "ProgressDeadlineExceeded"):
            return "Degraded", f"{_text(cond.get('reason'))}: {_text(cond.get('message'))}"
    if spec.get("paused") is True:
        return "Paused", "manually paused"
    for cond in _items(status.get("pauseConditions")):
        return "Paused", _text(cond.get("reason"))
    desired = _int(spec.get("replicas"))
    desired = 1 if desired is None else desired
    updated = _count(status.get("updatedReplicas"))
    if updated < desired:
        return "Progressing", "more replicas need to be updated"
    if _count(status.get("availableReplicas")) < updated:
        return "Progressing", "updated replicas are still becoming available"
    current, stable = _text(status.get("currentPodHash")), _text(status.get("stableRS"))
    if strategy == "blueGreen":
        if _text(_map(status.get("blueGreen")).get("activeSelector")) != current or not current:
            return "Progressing", "active service cutover pending"
        if not stable or stable != current:
            return "Progressing", "waiting for analysis to complete"
    elif strategy == "canary":
        traffic_routing = _map(_map(spec.get("strategy")).get("canary")).get("trafficRouting")
        if traffic_routing is None and _count(status.get("replicas")) > updated:
            return "Progressing", "old replicas are pending termination"
        if not stable or stable != current:
            return "Progressing", "waiting for all steps to complete"
    return "Healthy", ""
