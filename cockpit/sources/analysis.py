"""Argo Rollouts ``AnalysisRun`` objects (raw dicts) -> :class:`AnalysisRunView`.

Pure functions, no I/O, never raise; strings are kept as received.  Which runs belong to a
rollout is decided as the Rollouts CLI does (argo-rollouts pkg/kubectl-argo-rollouts/info/analysisrun_info.go
``getAnalysisRunInfo``): ownerReference UID equal to the rollout's, never labels, since controllers before v1.6
did not copy the rollout's selector labels onto its runs.  Of those, the pane keeps the runs of the version being
rolled out: ``rollouts-pod-template-hash`` equal to the rollout's current pod hash, or, for a run without that
label, the ``rollout.argoproj.io/revision`` annotation equal to the rollout's (the CLI groups runs by revision).
Per run the counters are summed over its metrics, as the CLI's INFO column (``✔ 4,✖ 4,? 1,⚠ 1``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cockpit.models import AnalysisRunView, MetricResult, RolloutView
from cockpit.sources.rollouts import POD_HASH_LABEL, REVISION_ANNOTATION, _int_text, owned_by
from cockpit.timefmt import parse_time
from cockpit.sources.raw import as_map as _map, as_text as _text, as_count as _count, as_items as _items

ROLLOUT_TYPE_LABEL = "rollout-type"
STEP_INDEX_LABEL = "step-index"
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def parse_analysis_run(obj: Any) -> AnalysisRunView:
    """An :class:`AnalysisRunView`; each metric shows its last measurement and its counters."""
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    labels = _map(meta.get("labels"))
    status = _map(obj.get("status"))
    step = _text(labels.get(STEP_INDEX_LABEL)).strip()
    return AnalysisRunView(
        name=_text(meta.get("name")),
        namespace=_text(meta.get("namespace")),
        phase=_text(status.get("phase")),
        message=_text(status.get("message")),
        pod_hash=_text(labels.get(POD_HASH_LABEL)),
        rollout_type=_text(labels.get(ROLLOUT_TYPE_LABEL)),
        step_index=int(step) if step.isdigit() and len(step) < 10 else None,
        started_at=parse_time(status.get("startedAt")),
        created_at=parse_time(meta.get("creationTimestamp")),
        metrics=tuple(_metric(result) for result in _items(status.get("metricResults"))),
        revision=_int_text(_map(meta.get("annotations")).get(REVISION_ANNOTATION)),
        owner_uid=_owner_uid(meta),
    )


def _owner_uid(meta: dict[str, Any]) -> str:
    for ref in _items(meta.get("ownerReferences")):
        if ref.get("kind") == "Rollout" or ref.get("controller") is True:
            return _text(ref.get("uid"))
    return ""


def _metric(result: dict[str, Any]) -> MetricResult:
    measurements = _items(result.get("measurements"))
    last = measurements[-1] if measurements else {}
    return MetricResult(
        name=_text(result.get("name")),
        phase=_text(result.get("phase")),
        last_value=_text(last.get("value")),
        last_message=_text(last.get("message")),
        count=_count(result.get("count")),
        successful=_count(result.get("successful")),
        failed=_count(result.get("failed")),
        inconclusive=_count(result.get("inconclusive")),
        error=_count(result.get("error")),
        message=_text(result.get("message")),
        dry_run=result.get("dryRun") is True,
    )


def runs_for_rollout(runs: Any, rollout: RolloutView) -> tuple[AnalysisRunView, ...]:
    """The rollout's runs for its current pod hash, newest first.

    Owned means ownerReference UID == the rollout's UID (owner kind+name when the rollout has
    no UID).  Of those, a run labelled with a pod hash is kept when it is the current one; a run without
    the label (older controllers, hand-made runs) when its revision annotation is the rollout's.  When the
    rollout reports no current pod hash yet, every owned run is kept.
    """
    rollout_meta = {"name": rollout.name, "namespace": rollout.namespace, "uid": rollout.uid}
    views = [parse_analysis_run(run) for run in _items(runs) if owned_by(run, rollout_meta)]
    if rollout.canary_hash:
        views = [view for view in views if _current(view, rollout)]
    views.sort(key=lambda view: (view.created_at or view.started_at or _EPOCH, view.name), reverse=True)
    return tuple(views)


def _current(view: AnalysisRunView, rollout: RolloutView) -> bool:
    if view.pod_hash:
        return view.pod_hash == rollout.canary_hash
    revision = rollout.revision
    if revision is None:
        canary = next((rs for rs in rollout.replica_sets if rs.pod_hash == rollout.canary_hash), None)
        revision = canary.revision if canary is not None else None
    return revision is None or view.revision is None or view.revision == revision
