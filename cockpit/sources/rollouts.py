"""Argo Rollouts ``Rollout`` + its ``ReplicaSet`` objects (raw dicts) -> :class:`RolloutView`.

Pure functions, no I/O, never raise; missing or wrongly typed fields read as defaults and
strings are kept exactly as received.  The logic mirrors what ``kubectl argo rollouts get``
shows (MECHANICS (d)), so the pane and the CLI agree during an incident:

* ReplicaSets belong to the rollout by ownerReference UID (by owner kind+name when the rollout
  object carries no UID, e.g. a hand-written fixture), never by labels;
* an RS is *stable* when its ``rollouts-pod-template-hash`` label equals ``status.stableRS`` and
  *canary* when it equals ``status.currentPodHash``; images come from the RS pod template;
* SetWeight is the weight of the last ``setWeight`` step at or before the current step
  (``maxTrafficWeight``, 100 by default, once every step is done; 0 after an abort), as
  utils/replicaset/canary.go ``GetCurrentSetWeight``;
* ActualWeight follows info/rollout_info.go ``NewRolloutInfo``: the max weight when there is no current step,
  0 while no replica is available, else without traffic routing the canary's share of available pods, and with
  traffic routing the router's ``status.canary.weights.canary.weight``, or the SetWeight when the router reports
  none;
* the phase is utils/rollout/rolloututil.go ``GetRolloutPhase``: a spec change the controller has not observed
  yet and a pause being lifted read as Progressing whatever ``status.phase`` says; ``CalculateRolloutPhase`` when
  the controller wrote no phase (pre-1.0 controllers);
* each ReplicaSet's status is info/replicaset_info.go ``getReplicaSetHealth`` and its pods, when given, are
  attached by ownerReference (info/pod_info.go ``addPodInfos``).

Where Argo CD's health check (resource_customizations/argoproj.io/Rollout/health.lua) words or decides things
differently from the Rollouts CLI, this module follows the CLI: it is what the on-call would type.
"""

from __future__ import annotations

from typing import Any

import dataclasses

from cockpit.models import ReplicaSetInfo, RolloutView
from cockpit.timefmt import parse_time
from cockpit.sources.pods import pods_by_replica_set
from cockpit.sources.raw import as_map as _map, as_text as _text, as_items as _items

POD_HASH_LABEL = "rollouts-pod-template-hash"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
WORKLOAD_GENERATION_ANNOTATION = "rollout.argoproj.io/workload-generation"
SCALE_DOWN_DEADLINE_ANNOTATION = "scale-down-deadline"  # v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey


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
    annotations = _map(meta.get("annotations"))
    return ReplicaSetInfo(
        name=_text(meta.get("name")),
        pod_hash=_text(_map(meta.get("labels")).get(POD_HASH_LABEL)),
        revision=_int_text(annotations.get(REVISION_ANNOTATION)),
        images=_images(template),
        replicas=replicas if replicas is not None else _count(spec.get("replicas")),
        ready_replicas=_count(status.get("readyReplicas")),
        available_replicas=_count(status.get("availableReplicas")),
        owner_uid=_controller_uid(meta),
        template=template,
        uid=_text(meta.get("uid")),
        created_at=parse_time(meta.get("creationTimestamp")),
        status=replica_set_health(rs),
        scale_down_deadline=parse_time(annotations.get(SCALE_DOWN_DEADLINE_ANNOTATION)),
    )


def replica_set_health(rs: Any) -> str:
    """argo-rollouts info/replicaset_info.go ``getReplicaSetHealth``: Healthy | Progressing | ScaledDown |
    ReplicaFailure.  ``spec.replicas`` unset counts as "not given" there, as here."""
    rs = _map(rs)
    meta, spec, status = _map(rs.get("metadata")), _map(rs.get("spec")), _map(rs.get("status"))
    desired = _int(spec.get("replicas"))
    if (_int(meta.get("generation")) or 0) <= (_int(status.get("observedGeneration")) or 0):
        for cond in _items(status.get("conditions")):
            if cond.get("type") == "ReplicaFailure":
                if cond.get("status") == "True":
                    return "ReplicaFailure"
                break
        if desired is not None and _count(status.get("availableReplicas")) < desired:
            return "Progressing"
    else:
        return "Progressing"
    if desired == 0:
        return "ScaledDown"
    return "Healthy"


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


def parse_rollout(obj: Any, replica_sets: Any = (), pods: Any = None) -> RolloutView:
    """A :class:`RolloutView` from a Rollout, the namespace's ReplicaSets and (optionally) Pods; any list will do,
    the rollout's own are picked out here by ownerReference.  ``pods=None`` means pods are not watched (the view
    then says so rather than showing "no pods").  Never raises."""
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
    max_weight = _max_traffic_weight(_map(canary)) if strategy == "canary" else 100

    owned = [parse_replica_set(rs) for rs in _items(replica_sets) if owned_by(rs, meta)]
    if pods is not None:
        grouped = pods_by_replica_set(pods, {rs.uid: rs.name for rs in owned})
        owned = [dataclasses.replace(rs, pods=grouped.get(rs.uid or rs.name, ())) for rs in owned]
    # info/replicaset_info.go GetReplicaSetInfo: newest revision first, then by name
    owned.sort(key=lambda rs: (rs.revision is None, -(rs.revision or 0), rs.name))
    stable_hash = _text(status.get("stableRS"))
    canary_hash = _text(status.get("currentPodHash"))
    blue_green = _map(status.get("blueGreen"))
    stable_rs = next((rs for rs in owned if stable_hash and rs.pod_hash == stable_hash), None)
    canary_rs = next((rs for rs in owned if canary_hash and rs.pod_hash == canary_hash), None)

    aborted = status.get("abort") is True
    pause_conditions = _items(status.get("pauseConditions"))
    pause_reasons = tuple(_text(cond.get("reason")) for cond in pause_conditions)
    if spec.get("paused") is True:
        pause_reasons += ("spec.paused",)
    set_weight = _set_weight(strategy, steps, step_index, aborted, max_weight)
    phase, message = rollout_phase(obj)
    canary_status = _map(status.get("canary"))
    desired = _int(spec.get("replicas"))
    restart_at = parse_time(spec.get("restartAt"))
    restarted_at = parse_time(status.get("restartedAt"))
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
        actual_weight=_actual_weight(strategy, spec, status, steps, step_index, set_weight, max_weight,
                                     canary_rs, stable_hash),
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
        desired_replicas=desired if desired is not None else 1,
        active_hash=_text(blue_green.get("activeSelector")),
        preview_hash=_text(blue_green.get("previewSelector")),
        restart_pending=restart_at is not None and restart_at != restarted_at,
        generation_observed=_generation_observed(meta, status),
        promote_full=status.get("promoteFull") is True,
        revision=_int_text(_map(meta.get("annotations")).get(REVISION_ANNOTATION)),
        pods_watched=pods is not None,
        created_at=parse_time(meta.get("creationTimestamp")),
        stable_ping_pong=_stable_ping_pong(strategy, _map(canary), canary_status),
    )


def _stable_ping_pong(strategy: str, canary: dict[str, Any], canary_status: dict[str, Any]) -> str:
    """rollout/trafficrouting/service_helper.go ``IsPingPongEnabled`` / ``IsStablePing``: "" without
    ``spec.strategy.canary.pingPong``; else "ping" when ``status.canary.stablePingPong`` is ``ping``, "pong"
    otherwise (the canary ReplicaSet is then the other one)."""
    if strategy != "canary" or not isinstance(canary.get("pingPong"), dict):
        return ""
    return "ping" if canary_status.get("stablePingPong") == "ping" else "pong"


def _max_traffic_weight(canary: dict[str, Any]) -> int:
    """utils/weightutil/weight.go ``MaxTrafficWeight``: ``trafficRouting.maxTrafficWeight``, else 100."""
    weight = _int(_map(canary.get("trafficRouting")).get("maxTrafficWeight"))
    return weight if weight is not None and weight > 0 else 100


def _set_weight(
    strategy: str, steps: list[dict[str, Any]], step_index: int | None, aborted: bool, max_weight: int = 100
) -> int | None:
    """The desired canary weight, as utils/replicaset/canary.go ``GetCurrentSetWeight``."""
    if strategy != "canary":
        return None
    if aborted:
        return 0
    index = step_index if step_index is not None else 0
    if index < 0:
        return 0
    if index >= len(steps):  # no steps, or every step done: fully promoted
        return max_weight
    for step in reversed(steps[: index + 1]):
        weight = _int(step.get("setWeight"))
        if weight is not None:
            return weight
    return 0


def _actual_weight(
    strategy: str,
    spec: dict[str, Any],
    status: dict[str, Any],
    steps: list[dict[str, Any]],
    step_index: int | None,
    set_weight: int | None,
    max_weight: int,
    canary_rs: ReplicaSetInfo | None,
    stable_hash: str,
) -> int | None:
    """Traffic actually on the canary, as info/rollout_info.go ``NewRolloutInfo`` computes ActualWeight."""
    if strategy != "canary":
        return None
    index = step_index if step_index is not None else 0
    if not steps or index >= len(steps) or index < 0:  # GetCurrentCanaryStep returns no step
        return max_weight
    available = _count(status.get("availableReplicas"))
    if available <= 0:
        return 0
    canary_spec = _map(_map(spec.get("strategy")).get("canary"))
    if canary_spec.get("trafficRouting") is None:
        # the CLI marks an RS canary only when it is not also the stable one
        if canary_rs is None or canary_rs.pod_hash == stable_hash:
            return 0
        return canary_rs.available_replicas * max_weight // available
    weights = _map(_map(status.get("canary")).get("weights"))
    if weights:
        return _int(_map(weights.get("canary")).get("weight")) or 0
    return set_weight if set_weight is not None else 0


def _generation_observed(meta: dict[str, Any], status: dict[str, Any]) -> bool:
    """rolloututil.go ``isGenerationObserved``: a numeric ``status.observedGeneration`` below
    ``metadata.generation`` means the controller has not seen the latest spec; a v0.9 hash (not a number) or a
    number above the generation counts as observed."""
    observed = _text(status.get("observedGeneration")).strip()
    if not observed or not observed.lstrip("-").isdigit() or len(observed) > 18:
        return True
    generation = _int(meta.get("generation")) or 0
    return int(observed) >= generation


def _workload_generation_observed(meta: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> bool:
    """rolloututil.go ``isWorkloadGenerationObserved``, applied when the template comes from ``spec.workloadRef``.

    The CLI only applies it when the controller resolved the template (``TemplateResolvedFromRef``, never set on
    an object read from the API); Argo CD's health check applies it whenever ``spec.workloadRef`` is set.  We
    follow the latter here: the intent of the rule, and the only way to see it from a raw object."""
    if not isinstance(spec.get("workloadRef"), dict):
        return True
    wanted = _int_text(_map(meta.get("annotations")).get(WORKLOAD_GENERATION_ANNOTATION))
    if wanted is None:
        return True
    observed = _text(status.get("workloadObservedGeneration")).strip()
    if not observed.isdigit() or len(observed) > 18:
        return True
    value = int(observed)
    if value >= 2**31:  # the CLI parses it as 32 bits and gives up on overflow
        return True
    return value == wanted


def rollout_phase(obj: Any) -> tuple[str, str]:
    """(phase, message) as utils/rollout/rolloututil.go ``GetRolloutPhase``.

    A rollout the controller has not written a status for yet gets what the CLI prints for it too: its status is
    the zero value there, so ``CalculateRolloutPhase`` decides (``Progressing`` / "more replicas need to be
    updated" for most); :attr:`RolloutView.has_status` tells the pane it is only that."""
    obj = _map(obj)
    meta, spec, status = _map(obj.get("metadata")), _map(obj.get("spec")), _map(obj.get("status"))
    if not _generation_observed(meta, status):
        return "Progressing", "waiting for rollout spec update to be observed"
    if status.get("controllerPause") is True and not _items(status.get("pauseConditions")):
        return "Progressing", "waiting for rollout to unpause"
    if not _workload_generation_observed(meta, spec, status):
        return "Progressing", "waiting for rollout spec update to be observed for the reference workload"
    phase = _text(status.get("phase"))
    if phase:  # controllers 1.0+ compute phase/message themselves
        return phase, _text(status.get("message"))
    return calculate_rollout_phase(spec, status)


def calculate_rollout_phase(spec: dict[str, Any], status: dict[str, Any]) -> tuple[str, str]:
    """rolloututil.go ``CalculateRolloutPhase``, for controllers that wrote no ``status.phase`` (v0.10 and below)."""
    for cond in _items(status.get("conditions")):
        if cond.get("type") == "InvalidSpec":
            return "Degraded", f"InvalidSpec: {_text(cond.get('message'))}"
        if cond.get("reason") in ("RolloutAborted", "ProgressDeadlineExceeded"):
            return "Degraded", f"{_text(cond.get('reason'))}: {_text(cond.get('message'))}"
    if spec.get("paused") is True:
        return "Paused", "manually paused"
    for cond in _items(status.get("pauseConditions")):
        return "Paused", _text(cond.get("reason"))
    restart_at = parse_time(spec.get("restartAt"))
    if restart_at is not None and restart_at != parse_time(status.get("restartedAt")):
        return "Progressing", "rollout is restarting"
    desired = _int(spec.get("replicas"))
    desired = 1 if desired is None else desired
    updated = _count(status.get("updatedReplicas"))
    if updated < desired:
        return "Progressing", "more replicas need to be updated"
    if _count(status.get("availableReplicas")) < updated:
        return "Progressing", "updated replicas are still becoming available"
    current, stable = _text(status.get("currentPodHash")), _text(status.get("stableRS"))
    strategy = _map(spec.get("strategy"))
    if isinstance(strategy.get("blueGreen"), dict):
        active = _text(_map(status.get("blueGreen")).get("activeSelector"))
        if not active or active != current:
            return "Progressing", "active service cutover pending"
        if not stable or stable != current:
            post = strategy["blueGreen"].get("postPromotionAnalysis")
            run_status = _map(_map(status.get("blueGreen")).get("postPromotionAnalysisRunStatus"))
            if post is not None and _text(run_status.get("status")) not in _COMPLETED_RUN_PHASES:
                return "Progressing", "waiting for analysis to complete"
            return "Progressing", "waiting for post-promotion verification to complete"
    elif isinstance(strategy.get("canary"), dict):
        if strategy["canary"].get("trafficRouting") is None and _count(status.get("replicas")) > updated:
            return "Progressing", "old replicas are pending termination"
        if not stable or stable != current:
            return "Progressing", "waiting for all steps to complete"
    return "Healthy", ""


# v1alpha1.AnalysisPhase.Completed(): every phase but Pending/Running/"" is final
_COMPLETED_RUN_PHASES = frozenset({"Successful", "Failed", "Error", "Inconclusive"})
