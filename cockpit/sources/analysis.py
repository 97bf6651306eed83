"""Argo Rollouts ``AnalysisRun`` objects (raw dicts) -> :class:`AnalysisRunView`.

Pure functions, no I/O, never raise; strings are kept as received.  Which runs belong to a
rollout is decided as the Rollouts CLI does (MECHANICS (d)): ownerReference UID equal to the
rollout's, then the ``rollouts-pod-template-hash`` label equal to the rollout's current pod hash,
so the pane shows the analysis of the version being rolled out rather than of older attempts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cockpit.models import AnalysisRunView, MetricResult, RolloutView
from cockpit.sources.rollouts import POD_HASH_LABEL, owned_by
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
    )


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
    )


def runs_for_rollout(runs: Any, rollout: RolloutView) -> tuple[AnalysisRunView, ...]:
    """The rollout's runs for its current pod hash, newest first.

    Owned means ownerReference UID == the rollout's UID (owner kind+name when the rollout has
    no UID).  When the rollout reports no current pod hash yet, every owned run is kept.
    """
    rollout_meta = {"name": rollout.name, "namespace": rollout.namespace, "uid": rollout.uid}
    views = [parse_analysis_run(run) for run in _items(runs) if owned_by(run, rollout_meta)]
    if rollout.canary_hash:
        views = [view for view in views if view.pod_hash == rollout.canary_hash]
    views.sort(key=lambda view: (view.created_at or view.started_at or _EPOCH, view.name), reverse=True)
    return tuple(views)
