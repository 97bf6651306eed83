"""The live facts runbook conditions are written against, and how to get them from the panes' models.

A runbook file never names a widget or an API: its checks and waits say ``rollout.aborted is true`` or
``latency.p99 < latency.slo``.  This module is the one vocabulary both sides agree on: the loader rejects a runbook
naming an unknown fact, and :func:`facts_from` turns the models the dashboard already holds into that vocabulary.
A fact that cannot be known right now is simply absent (the condition then reads "cannot tell", never "false").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from cockpit.models import ArgoApp, CnpgClusterView, LatencyView, RolloutView

FACTS: dict[str, tuple[str, str]] = {
    # name: (type, meaning)
    "deploy.recent": ("bool", "a deploy landed within the recent-deploy window (Argo CD history)"),
    "flag.available": ("bool", "a feature flag for the bad change is configured and readable"),
    "flag.enabled": ("bool", "that flag's current state"),
    "preflight.verdict": ("str", "migration pre-flight: safe | data_first | unknown"),
    "preflight.summary": ("str", "migration pre-flight, in words"),
    "rollout.exists": ("bool", "the Rollout exists"),
    "rollout.phase": ("str", "Rollout phase: Healthy | Progressing | Paused | Degraded"),
    "rollout.aborted": ("bool", "status.abort is true"),
    "rollout.paused": ("bool", "paused by spec or a pause condition"),
    "rollout.promoted": ("bool", "the new version is the stable one (currentPodHash == stableRS)"),
    "rollout.canary_weight": ("number", "traffic on the canary, percent"),
    "rollout.canary_available": ("number", "available pods of the canary ReplicaSet"),
    "rollout.stable_available": ("number", "available pods of the stable ReplicaSet"),
    "latency.p99": ("number", "the p99 latency now, seconds"),
    "latency.slo": ("number", "the p99 SLO, seconds"),
    "latency.over_slo": ("bool", "p99 above the SLO"),
    "argocd.exists": ("bool", "the Application exists"),
    "argocd.auto_sync": ("bool", "auto-sync is on"),
    "argocd.health": ("str", "Healthy | Progressing | Degraded | Suspended | Missing | Unknown"),
    "argocd.sync": ("str", "Synced | OutOfSync | Unknown"),
    "argocd.operation_running": ("bool", "an operation (sync/rollback) is set on the app"),
    "argocd.operation_phase": ("str", "Running | Succeeded | Failed | Error | Terminating"),
    "argocd.revision": ("str", "revision of the newest history entry"),
    "argocd.appset": ("str", "owning ApplicationSet (empty when none)"),
    "helm.installed": ("bool", "the helm binary is on PATH"),
    "helm.release_found": ("bool", "the release has sh.helm.release.v1 Secrets"),
    "cnpg.target_recoverable": ("bool", "the chosen target time is inside the PITR window"),
    "cnpg.recovered_phase": ("str", "phase of the recovery Cluster"),
    "cnpg.recovered_ready": ("bool", "every instance of the recovery Cluster is ready"),
    "s3.deleted_keys": ("number", "keys under the prefix that read as deleted (latest version is a marker)"),
    "velero.backup_phase": ("str", "phase of the chosen backup"),
    "velero.restore_phase": ("str", "phase of the Restore being watched"),
    "namespace.exists": ("bool", "the tenant namespace exists and is Active"),
    "git.revert_pushed": ("bool", "the revert branch was pushed"),
    "git.revert_merged": ("bool", "the base branch contains a commit reverting the bad commit"),
}


class Facts(dict):
    """Known facts by name, plus why each unknown one is unknown.

    ``pending``: still loading (a step waits for it); ``unavailable``: cannot be read here, with the reason (a
    safety check then stops: only an override with a reason passes it).  A name in neither is simply unknown.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[str, str] = {}
        self.unavailable: dict[str, str] = {}

    def why_unknown(self, name: str) -> tuple[str, str]:
        """("pending" | "unavailable" | "unknown", reason) for a fact that has no value."""
        if name in self.pending:
            return "pending", self.pending[name]
        if name in self.unavailable:
            return "unavailable", self.unavailable[name]
        return "unknown", f"{name} is not known"


def facts_from(
    *,
    app: ArgoApp | None = None,
    rollout: RolloutView | None = None,
    latency: LatencyView | None = None,
    preflight: Any = None,  # cockpit.preflight.PreflightVerdict
    cnpg_source: CnpgClusterView | None = None,
    cnpg_recovered: CnpgClusterView | None = None,
    target_time: datetime | None = None,
    now: datetime | None = None,
    recent_deploy: bool | None = None,
    flag: Any = None,  # cockpit.sources.flags.FlagState
    helm_installed: bool | None = None,
    helm_revisions: Sequence[Any] | None = None,
    s3_deleted: int | None = None,
    velero_backup_phase: str | None = None,
    velero_restore_phase: str | None = None,
    namespace_exists: bool | None = None,
    revert_pushed: bool | None = None,
    revert_merged: bool | None = None,
) -> dict[str, Any]:
    """The facts the given models establish (None arguments contribute nothing)."""
    facts: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if value is not None:
            facts[name] = value

    put("deploy.recent", recent_deploy)
    if flag is not None:
        facts["flag.available"] = True
        put("flag.enabled", getattr(flag, "enabled", None))
    if preflight is not None:
        verdict = getattr(preflight, "verdict", None)
        put("preflight.verdict", getattr(verdict, "value", verdict))
        put("preflight.summary", getattr(preflight, "summary", None))
    if rollout is not None:
        facts.update({
            "rollout.exists": True,
            "rollout.phase": rollout.phase,
            "rollout.aborted": rollout.aborted,
            "rollout.paused": rollout.paused,
            "rollout.promoted": bool(rollout.stable_hash) and rollout.stable_hash == rollout.canary_hash,
        })
        put("rollout.canary_weight", rollout.actual_weight)
        for rs in rollout.replica_sets:
            if rollout.canary_hash and rs.pod_hash == rollout.canary_hash and rs.pod_hash != rollout.stable_hash:
                facts["rollout.canary_available"] = rs.available_replicas
            if rollout.stable_hash and rs.pod_hash == rollout.stable_hash:
                facts["rollout.stable_available"] = rs.available_replicas
        if rollout.canary_hash and rollout.canary_hash == rollout.stable_hash:
            facts.setdefault("rollout.canary_available", 0)
    if latency is not None:
        put("latency.p99", latency.value)
        facts["latency.slo"] = latency.slo_seconds
        put("latency.over_slo", latency.over_slo)
    if app is not None:
        facts.update({
            "argocd.exists": True,
            "argocd.auto_sync": app.auto_sync,
            "argocd.operation_running": app.operation_running,
            "argocd.appset": app.owner_appset,
        })
        put("argocd.health", app.health_status or None)
        put("argocd.sync", app.sync_status or None)
        put("argocd.operation_phase", app.operation_phase or None)
        if app.history:
            facts["argocd.revision"] = app.history[0].revision or ",".join(app.history[0].revisions)
    put("helm.installed", helm_installed)
    if helm_revisions is not None:
        facts["helm.release_found"] = bool(helm_revisions)
    if cnpg_source is not None and target_time is not None:
        ok, _ = cnpg_source.recoverable(target_time, now or datetime.now(timezone.utc))
        put("cnpg.target_recoverable", ok)
    if cnpg_recovered is not None:
        put("cnpg.recovered_phase", cnpg_recovered.phase or None)
        facts["cnpg.recovered_ready"] = (
            cnpg_recovered.instances > 0 and cnpg_recovered.ready_instances >= cnpg_recovered.instances
        )
    put("s3.deleted_keys", s3_deleted)
    put("velero.backup_phase", velero_backup_phase or None)
    put("velero.restore_phase", velero_restore_phase or None)
    put("namespace.exists", namespace_exists)
    put("git.revert_pushed", revert_pushed)
    put("git.revert_merged", revert_merged)
    return facts
