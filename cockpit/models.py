"""The shapes every pane, the decision engine and recordings see.

Frozen dataclasses only: parsers in ``cockpit.sources`` turn raw API objects into these,
widgets render them, the recorder stores their ``to_dict()``.  Nothing here does I/O.
All datetimes are timezone-aware UTC.  All strings that came from a cluster are untrusted:
they are stored as received and sanitised only when rendered (``cockpit.textsafe``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta
from enum import Enum
from typing import Any


def to_dict(obj: Any) -> Any:
    """A JSON-friendly copy of a model: dicts, lists, RFC 3339 datetimes (``Z`` for UTC), enum values.

    msgspec does the conversion in C (a 10 000-backup Velero view in ~30 ms, five times faster than the Python
    walk); anything it cannot convert (a tuple key, an odd object) falls back to the Python walk, where unknown
    values are kept as is.  (The recorder does not use this: see ``cockpit.recording.codec``.)
    """
    import msgspec

    try:
        return _lists(msgspec.to_builtins(obj, str_keys=True, enc_hook=_unknown))
    except (TypeError, ValueError, msgspec.EncodeError):
        return _to_dict_slow(obj)


def _unknown(obj: Any) -> Any:
    raise TypeError(f"{type(obj).__name__} is not a model value")


def _lists(value: Any) -> Any:
    """msgspec keeps tuples; JSON (and the redactor) see lists."""
    kind = type(value)
    if kind is dict:
        return {key: _lists(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_lists(item) for item in value]
    return value


def _to_dict_slow(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _to_dict_slow(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [_to_dict_slow(item) for item in obj]
    if isinstance(obj, dict):
        return {str(key): _to_dict_slow(value) for key, value in obj.items()}
    return obj


# --------------------------------------------------------------------------- Argo CD


@dataclass(frozen=True)
class HistoryEntry:
    """One ``Application.status.history[]`` record."""

    id: int
    deployed_at: datetime | None
    deploy_started_at: datetime | None
    revision: str  # full revision (commit SHA or chart version); "" for multi-source
    revisions: tuple[str, ...]  # multi-source apps
    source: dict[str, Any]  # the ApplicationSource used ({} when absent)
    sources: tuple[dict[str, Any], ...]  # multi-source apps
    initiated_by: str  # username, "automated", or ""
    change: str  # what the source changed vs the previous entry, in words

    @property
    def short_revision(self) -> str:
        revs = self.revisions or ((self.revision,) if self.revision else ())
        return ",".join(r[:7] if len(r) >= 40 else r for r in revs)

    @property
    def cli_revision(self) -> str:
        """``argocd app history``'s REVISION cell (argo-cd cmd/argocd/commands/app.go printApplicationHistoryTable):
        the source's ``targetRevision`` (branch, tag, chart version), then the synced revision's first 7
        characters in brackets when it has 7 or more; one per source, joined with ", ", for multi-source apps."""
        if self.sources:
            labels = []
            for index, source in enumerate(self.sources):
                label = _target_revision(source)
                if len(self.revisions) == len(self.sources) and len(self.revisions[index]) >= 7:
                    label = f"{label} ({self.revisions[index][:7]})"
                labels.append(label.strip())
            return ", ".join(labels)
        label = _target_revision(self.source)
        if len(self.revision) >= 7:
            label = f"{label} ({self.revision[:7]})"
        return label.strip()


def _target_revision(source: Any) -> str:
    value = source.get("targetRevision") if isinstance(source, dict) else None
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class AppHold:
    """An auto-sync hold the cockpit put on an Application (``cockpit.dev/hold-*`` annotations, read from the
    watched object, so every cockpit watching the app shows it).  Every field is untrusted text as received."""

    by: str  # who placed it
    since: datetime | None  # when (None when the annotation does not parse)
    reason: str  # why, in the person's words
    incident: str  # the incident it belongs to ("" when none was given)
    revision: str  # the revision the app is pinned at
    bad_revision: str = ""  # the revision that was live when the hold was placed (what the revert must undo)


@dataclass(frozen=True)
class ArgoApp:
    name: str
    namespace: str
    project: str
    repo_url: str
    path: str
    target_revision: str
    dest_server: str
    dest_namespace: str
    sync_status: str  # Synced | OutOfSync | Unknown | "" (no status yet)
    health_status: str  # Healthy | Progressing | Degraded | Suspended | Missing | Unknown | ""
    health_message: str
    auto_sync: bool  # `automated` present and `enabled` absent or true
    self_heal: bool
    prune: bool
    operation_running: bool  # `.operation` set (a sync is requested/in progress)
    operation_phase: str  # status.operationState.phase or ""
    operation_message: str
    history: tuple[HistoryEntry, ...]  # newest first
    owner_appset: str  # name of the owning ApplicationSet, "" if none
    conditions: tuple[str, ...]  # "Type: message"
    resource_version: str
    has_status: bool
    # Left out of repr so schema-1 recordings (whose golden digests hash repr) read back exactly as before.
    hold: AppHold | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- Argo Rollouts


@dataclass(frozen=True)
class PodInfo:
    """One pod of a rollout's ReplicaSet, as ``kubectl argo rollouts get`` shows it (info/pod_info.go newPodInfo)."""

    name: str
    namespace: str
    pod_hash: str  # label rollouts-pod-template-hash
    owner_uid: str  # the ReplicaSet's uid (ownerReference)
    status: str  # the CLI's STATUS column: Running, Pending, ImagePullBackOff, CrashLoopBackOff, OOMKilled, Init:0/1…
    phase: str  # status.phase as received
    ready_containers: int
    total_containers: int
    restarts: int
    created_at: datetime | None
    deleting: bool  # metadata.deletionTimestamp set
    last_reason: str = ""  # lastState.terminated.reason of a restarted container (OOMKilled, Error…), "" if none

    @property
    def ready(self) -> str:
        return f"{self.ready_containers}/{self.total_containers}"

    @property
    def icon(self) -> str:
        """The CLI's icon for this status (info/pod_info.go podIcon)."""
        return pod_icon(self.status)

    @property
    def severity(self) -> int:
        """0 fine, 1 on its way (Pending, Init…), 2 warning (ImagePullBackOff, *Error), 3 bad (CrashLoopBackOff…)."""
        return ICON_SEVERITY.get(self.icon, 1)


ICON_OK, ICON_PROGRESSING, ICON_WARNING, ICON_BAD, ICON_UNKNOWN = "✔", "◌", "⚠", "✖", "?"
ICON_SEVERITY = {ICON_OK: 0, ICON_PROGRESSING: 1, " ": 1, ICON_UNKNOWN: 1, ICON_WARNING: 2, ICON_BAD: 3}


def pod_icon(status: str) -> str:
    """argo-rollouts pkg/kubectl-argo-rollouts/info/pod_info.go ``podIcon``, rule for rule."""
    if status.startswith("Init:"):
        return ICON_PROGRESSING
    if status.startswith(("Signal:", "ExitCode:")):
        return ICON_BAD
    if status.endswith("Error") or status.startswith("Err"):
        return ICON_WARNING
    if status in ("Pending", "Terminating", "ContainerCreating"):
        return ICON_PROGRESSING
    if status in ("Running", "Completed"):
        return ICON_OK
    if status in ("Failed", "InvalidImageName", "CrashLoopBackOff"):
        return ICON_BAD
    if status in ("ImagePullBackOff", "RegistryUnavailable"):
        return ICON_WARNING
    if status == "Unknown":
        return ICON_UNKNOWN
    # OOMKilled is not in the CLI's table (it shows a blank icon); the cockpit ranks it bad, as CrashLoopBackOff.
    if status == "OOMKilled":
        return ICON_BAD
    return " "


@dataclass(frozen=True)
class ReplicaSetInfo:
    name: str
    pod_hash: str  # label rollouts-pod-template-hash
    revision: int | None  # annotation rollout.argoproj.io/revision
    images: tuple[str, ...]
    replicas: int
    ready_replicas: int
    available_replicas: int
    owner_uid: str
    template: dict[str, Any]  # spec.template as received (used by undo)
    uid: str = ""
    created_at: datetime | None = None
    # as `kubectl argo rollouts get` (info/replicaset_info.go getReplicaSetHealth):
    # Healthy | Progressing | ScaledDown | ReplicaFailure
    status: str = ""
    scale_down_deadline: datetime | None = None  # annotation scale-down-deadline
    pods: tuple[PodInfo, ...] = ()  # its pods (ownerReference), oldest first; () when pods are not watched

    @property
    def desired(self) -> int:
        return self.replicas


@dataclass(frozen=True)
class RolloutView:
    name: str
    namespace: str
    uid: str
    strategy: str  # canary | blueGreen | ""
    phase: str  # Healthy | Progressing | Paused | Degraded, or whatever status.phase says (GetRolloutPhase)
    message: str
    step_index: int | None
    step_count: int
    set_weight: int | None
    actual_weight: int | None
    stable_hash: str
    canary_hash: str
    stable_images: tuple[str, ...]
    canary_images: tuple[str, ...]
    replicas: int
    ready_replicas: int
    available_replicas: int
    updated_replicas: int
    paused: bool  # spec.paused or any pause condition
    pause_reasons: tuple[str, ...]
    controller_pause: bool
    aborted: bool
    aborted_at: datetime | None
    match_labels: dict[str, str]
    current_step_analysis: str  # name of status.canary.currentStepAnalysisRunStatus
    replica_sets: tuple[ReplicaSetInfo, ...]  # owned, newest revision first
    resource_version: str
    has_status: bool
    desired_replicas: int = 1  # spec.replicas (1 when unset), the CLI's "Desired"
    active_hash: str = ""  # blue-green status.blueGreen.activeSelector
    preview_hash: str = ""  # blue-green status.blueGreen.previewSelector
    restart_pending: bool = False  # spec.restartAt set and not yet reached by status.restartedAt
    generation_observed: bool = True  # metadata.generation seen by the controller (status.observedGeneration)
    promote_full: bool = False  # status.promoteFull
    revision: int | None = None  # annotation rollout.argoproj.io/revision
    pods_watched: bool = False  # pods were handed to the parser (False: no pod data, not "no pods")
    created_at: datetime | None = None
    # canary pingPong (info/replicaset_info.go): "" when off, else what the stable ReplicaSet is, "ping" or "pong"
    # (status.canary.stablePingPong; the canary is the other one)
    stable_ping_pong: str = field(default="", repr=False)  # repr=False: see ArgoApp.hold

    @property
    def step_text(self) -> str:
        """The CLI's ``Step:`` value: the raw ``currentStepIndex`` over the step count (``0/8``), "" without steps."""
        if self.step_index is None or not self.step_count:
            return ""
        return f"{self.step_index}/{self.step_count}"

    @property
    def pods(self) -> tuple[PodInfo, ...]:
        return tuple(pod for rs in self.replica_sets for pod in rs.pods)


# --------------------------------------------------------------------------- AnalysisRuns


@dataclass(frozen=True)
class MetricResult:
    name: str
    phase: str
    last_value: str  # last measurement's value ("" when none)
    last_message: str
    count: int
    successful: int
    failed: int
    inconclusive: int
    error: int
    message: str
    dry_run: bool = field(default=False, repr=False)  # metricResults[].dryRun: assessed, never fails the run


@dataclass(frozen=True)
class AnalysisRunView:
    name: str
    namespace: str
    phase: str  # Pending | Running | Successful | Failed | Error | Inconclusive | ""
    message: str
    pod_hash: str
    rollout_type: str  # Step | Background | PrePromotion | PostPromotion | ""
    step_index: int | None
    started_at: datetime | None
    created_at: datetime | None
    metrics: tuple[MetricResult, ...]
    revision: int | None = None  # annotation rollout.argoproj.io/revision
    owner_uid: str = ""

    @property
    def successful(self) -> int:
        return sum(metric.successful for metric in self.metrics)

    @property
    def failed(self) -> int:
        return sum(metric.failed for metric in self.metrics)

    @property
    def inconclusive(self) -> int:
        return sum(metric.inconclusive for metric in self.metrics)

    @property
    def errors(self) -> int:
        return sum(metric.error for metric in self.metrics)

    @property
    def counts_text(self) -> str:
        """The CLI's INFO column for a run (cmd/get/get_rollout.go PrintAnalysisRunInfo): ``✔ 4,✖ 4,? 1,⚠ 1``."""
        parts = [f"{icon} {count}" for icon, count in (("✔", self.successful), ("✖", self.failed),
                                                        ("?", self.inconclusive), ("⚠", self.errors)) if count > 0]
        return ",".join(parts)

    @property
    def failing_metric(self) -> MetricResult | None:
        """The first metric that failed the run; a dry-run metric never does (the controller leaves it out of the
        run's phase and message and counts it in ``status.dryRunSummary``)."""
        for metric in self.metrics:
            if metric.phase in ("Failed", "Error", "Inconclusive") and not metric.dry_run:
                return metric
        return None


# --------------------------------------------------------------------------- Prometheus


@dataclass(frozen=True)
class LatencyView:
    query: str
    slo_seconds: float
    value: float | None  # the instant query's value now; None = no data
    series: tuple[tuple[float, float], ...]  # (unix seconds, value) from the range query
    evaluated_at: datetime | None

    @property
    def over_slo(self) -> bool | None:
        if self.value is None:
            return None
        return self.value > self.slo_seconds


# --------------------------------------------------------------------------- CloudNativePG

ARCHIVE_TIMEOUT = timedelta(minutes=5)  # PostgreSQL archive_timeout as CloudNativePG sets it by default


@dataclass(frozen=True)
class WalArchiving:
    """Is WAL archiving working, and up to when is WAL archived (the end of the PITR window)?

    Built by :func:`cockpit.sources.cnpg.wal_archiving` from CNPG's ``cnpg_pg_stat_archiver_*`` metrics and the
    Cluster's ``ContinuousArchiving`` condition.
    """

    state: str  # ok | failing | disabled | starting | unknown  (kubectl cnpg status: OK / Failing / Disabled / Starting Up)
    last_archived_at: datetime | None  # the last successfully archived WAL (the window's end)
    last_failed_at: datetime | None
    failed_count: int | None
    source: str  # where the answer came from, in words ("metrics of pod x", "ContinuousArchiving condition", …)
    detail: str = ""  # the condition's message, a disagreement, …
    measured_at: datetime | None = None  # when the metrics were sampled

    @property
    def window_end(self) -> datetime | None:
        return self.last_archived_at


@dataclass(frozen=True)
class CnpgClusterView:
    name: str
    namespace: str
    phase: str
    instances: int
    ready_instances: int
    current_primary: str
    backup_method: str  # "barmanObjectStore" | "plugin" | "volumeSnapshot" | "" (none configured)
    object_store: str  # ObjectStore name for the Barman Cloud plugin, "" otherwise
    server_name: str
    first_recoverability_point: datetime | None
    last_successful_backup: datetime | None
    last_failed_backup: datetime | None
    window_source: str  # where the window came from, in words
    has_status: bool
    phase_reason: str = ""  # status.phaseReason
    reconciliation_suspended: bool = False  # annotation cnpg.io/reconciliationLoop: disabled
    hibernation_requested: bool = False  # annotation cnpg.io/hibernation: "on"
    hibernated: bool = False  # condition cnpg.io/hibernation status True
    hibernation_message: str = ""  # that condition's message ("Cluster has been hibernated", "Hibernation is in progress")
    hibernated_since: datetime | None = None  # its lastTransitionTime when hibernated
    fenced_instances: tuple[str, ...] = ()  # annotation cnpg.io/fencedInstances; ("*",) = every instance
    fencing_invalid: bool = False  # that annotation is not a JSON list of names
    wal_archiving_disabled: bool = False  # annotation cnpg.io/skipWalArchiving: enabled
    archiving_condition: str = ""  # ContinuousArchiving condition status: "True" | "False" | "" (absent)
    archiving_condition_message: str = ""
    archiving_condition_at: datetime | None = None  # its lastTransitionTime
    target_primary: str = ""
    archiving: WalArchiving | None = None  # filled in from the metrics (cockpit.sources.cnpg.with_archiving)
    # repr=False: see ArgoApp.hold.  `kubectl cnpg status` (status.go printBasicInfo) prints "Instances:" from the
    # spec and "Ready instances:" from the status; a replica cluster (api/v1 Cluster.IsReplica) has a designated
    # primary and a source cluster.
    spec_instances: int | None = field(default=None, repr=False)  # spec.instances
    replica: bool = field(default=False, repr=False)
    replica_source: str = field(default="", repr=False)  # spec.replica.source

    @property
    def primary_fenced(self) -> bool:
        return "*" in self.fenced_instances or (bool(self.current_primary) and
                                                 self.current_primary in self.fenced_instances)

    @property
    def healthy(self) -> bool:
        """Green only for a cluster in healthy state that is not hibernated, suspended or fenced and whose WAL
        archiving is not known to fail."""
        if self.reconciliation_suspended or self.hibernated or self.hibernation_requested or self.fenced_instances:
            return False
        if self.archiving is not None and self.archiving.state == "failing":
            return False
        return self.phase == "Cluster in healthy state"

    @property
    def status_line(self) -> str:
        """What ``kubectl cnpg status`` prints as Status (internal/cmd/plugin/status/status.go printBasicInfo:
        Hibernated, then "Primary instance is fenced", else phase + phaseReason); reconciliation suspended comes
        first, as in Argo CD's health check, since nothing else in the status moves while it holds."""
        if self.reconciliation_suspended:
            return "Reconciliation suspended"
        if self.hibernated:
            return "Hibernated"
        if self.primary_fenced:
            return "Primary instance is fenced"
        return " ".join(part for part in (self.phase, self.phase_reason) if part)

    def recoverable(self, when: datetime, now: datetime) -> tuple[bool | None, str]:
        """Is ``when`` inside the PITR window?  (answer, why).  None = cannot tell.

        The window runs from the first recoverability point to the last archived WAL.  With archiver metrics the
        end is measured; with the ``ContinuousArchiving`` condition alone only older times are answered, since
        WAL written in the last ``archive_timeout`` (5 min by default) may not be archived yet.
        """
        first = self.first_recoverability_point
        if first is None:
            return None, f"no recoverability point known ({self.window_source or 'no backups reported'})"
        if when < first:
            return False, f"before the first recoverability point {first.isoformat()}"
        if when > now:
            return False, "in the future"
        after = f"after the first recoverability point {first.isoformat()}"
        if self.wal_archiving_disabled:
            return None, f"{after}, but WAL archiving is disabled (cnpg.io/skipWalArchiving): no PITR past the last backup"
        archiving = self.archiving
        if archiving is not None and archiving.last_archived_at is not None:
            end = archiving.last_archived_at
            failing = archiving.state == "failing"
            note = f" (WAL archiving failing since {archiving.last_failed_at.isoformat()})" \
                if failing and archiving.last_failed_at else (" (WAL archiving failing)" if failing else "")
            if when > end:
                return False, f"after the last archived WAL {end.isoformat()}{note}"
            return True, f"{after}; WAL archived up to {end.isoformat()}{note}"
        if archiving is not None and archiving.state == "failing":
            return None, f"{after}, but WAL archiving is failing ({archiving.detail or archiving.source}): " \
                         "the window's end is unknown"
        if self.archiving_condition == "False":
            return None, f"{after}, but WAL archiving is failing (ContinuousArchiving: " \
                         f"{self.archiving_condition_message or 'False'}): the window's end is unknown"
        if self.archiving_condition == "True":
            if when <= now - ARCHIVE_TIMEOUT:
                return True, f"{after}; WAL archiving works (ContinuousArchiving True; no archiver metrics)"
            return None, f"{after}, within the last {int(ARCHIVE_TIMEOUT.total_seconds() // 60)} minutes: " \
                         "WAL may not be archived yet (no archiver metrics to tell)"
        return None, f"{after}, but WAL archiving state is unknown (no archiver metrics, no ContinuousArchiving condition)"


# --------------------------------------------------------------------------- Velero


BAD_BACKUP_PHASES = frozenset({"Failed", "PartiallyFailed", "FailedValidation",
                               "WaitingForPluginOperationsPartiallyFailed", "FinalizingPartiallyFailed"})


@dataclass(frozen=True)
class VeleroBackup:
    name: str
    phase: str
    schedule: str  # label velero.io/schedule-name
    started_at: datetime | None
    completed_at: datetime | None
    expiration: datetime | None
    included_namespaces: tuple[str, ...]
    errors: int
    warnings: int
    failure_reason: str
    storage_location: str
    created_at: datetime | None
    ttl_seconds: float | None = None  # spec.ttl (a Go duration) in seconds
    deleting: bool = False  # metadata.deletionTimestamp set
    validation_errors: tuple[str, ...] = ()
    queue_position: int = 0

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> VeleroBackup:
        """The backup ``cls(**fields)`` makes, for ``fields`` naming every field (``tests/unit/test_velero_pages.py``
        holds the decoder to that), without the frozen ``__init__``'s keyword parsing and ``object.__setattr__`` per
        field: a list of ten thousand backups is made three times faster.  The values are put into the instance's
        own dictionary one by one, which keeps its keys shared with every other backup's (a dictionary handed
        over whole would be a private one: 530 bytes a backup instead of 290, 225 through ``__init__``)."""
        obj = object.__new__(cls)
        own = obj.__dict__
        for name, value in fields.items():
            own[name] = value
        return obj

    @property
    def bad(self) -> bool:
        """Failed, or partially failed -- also while plugin operations or finalizing still run after the partial
        failure (backup_types.go ``WaitingForPluginOperationsPartiallyFailed``, ``FinalizingPartiallyFailed``)."""
        return self.phase in BAD_BACKUP_PHASES

    @property
    def status(self) -> str:
        """``velero backup get``'s STATUS (pkg/cmd/util/output/backup_printer.go printBackup): the phase, ``New``
        when empty, ``Deleting`` once a deletion timestamp is set."""
        if self.deleting:
            return "Deleting"
        return self.phase or "New"

    @property
    def expires_at(self) -> datetime | None:
        """``status.expiration``, else creation + ``spec.ttl`` when the TTL is positive (printBackup)."""
        if self.expiration is not None:
            return self.expiration
        if self.created_at is not None and self.ttl_seconds is not None and self.ttl_seconds > 0:
            try:
                return self.created_at + timedelta(seconds=self.ttl_seconds)
            except OverflowError:
                return None
        return None


@dataclass(frozen=True)
class VeleroSchedule:
    name: str
    phase: str
    schedule: str
    paused: bool
    last_backup: datetime | None
    included_namespaces: tuple[str, ...]
    validation_errors: tuple[str, ...] = ()
    storage_location: str = ""  # spec.template.storageLocation ("" = the default location)
    ttl_seconds: float | None = None  # spec.template.ttl
    created_at: datetime | None = None

    @property
    def status(self) -> str:
        """``velero schedule get``'s STATUS (schedule_printer.go printSchedule): the phase, ``New`` when empty."""
        return self.phase or "New"

    @property
    def bad(self) -> bool:
        return self.phase == "FailedValidation"


@dataclass(frozen=True)
class VeleroLocation:
    """A ``BackupStorageLocation``: where backups are written, and whether Velero can reach it."""

    name: str
    phase: str  # Available | Unavailable | ""
    provider: str
    bucket: str
    prefix: str
    default: bool
    access_mode: str  # ReadWrite | ReadOnly
    last_validated: datetime | None
    message: str

    @property
    def status(self) -> str:
        """``velero backup-location get``'s PHASE (backup_storage_location_printer.go): ``Unknown`` when empty."""
        return self.phase or "Unknown"


@dataclass(frozen=True)
class VeleroRestore:
    """A ``velero.io/v1 Restore`` (the one a restore runbook created, and any other in view)."""

    name: str
    phase: str  # New | InProgress | Completed | PartiallyFailed | Failed | FailedValidation | ...
    backup: str
    started_at: datetime | None
    completed_at: datetime | None
    included_namespaces: tuple[str, ...]
    errors: int
    warnings: int
    failure_reason: str
    created_at: datetime | None
    validation_errors: tuple[str, ...] = field(default=(), repr=False)  # repr=False: see ArgoApp.hold

    @property
    def status(self) -> str:
        """``velero restore get``'s STATUS (restore_printer.go printRestore): the phase, ``New`` when empty."""
        return self.phase or "New"


@dataclass(frozen=True)
class VeleroView:
    backups: tuple[VeleroBackup, ...]  # newest first
    schedules: tuple[VeleroSchedule, ...]
    restores: tuple[VeleroRestore, ...] = ()  # newest first
    locations: tuple[VeleroLocation, ...] = ()  # () when BackupStorageLocations are not watched

    @cached_property
    def failing(self) -> tuple[tuple[VeleroBackup, ...], int]:
        """The failed and partially failed backups (newest first) and how many backups are being deleted.

        One pass over every backup (ten thousand on a platform), made once per view: the live feed asks for it
        where it makes the view, in its own thread, so the pane that draws it (and its one-line summary) never
        walks the backups on the UI's event loop.  Not a field: it is derived, and neither compared nor recorded."""
        backups = self.backups
        return (tuple(b for b in backups if b.phase in BAD_BACKUP_PHASES), sum(1 for b in backups if b.deleting))


# --------------------------------------------------------------------------- pane state


class FeedState(str, Enum):
    LOADING = "loading"
    OK = "ok"
    ERROR = "error"  # last fetch failed; last good data (if any) is stale
    MISSING = "missing"  # CRD / API not installed in this cluster
    PICK = "pick"  # no target name given: choose one from a list
    EMPTY = "empty"  # target does not exist (yet)


@dataclass(frozen=True)
class FeedStatus:
    state: FeedState = FeedState.LOADING
    updated_at: datetime | None = None  # last good data
    error: str = ""  # the reason in words
    watch: str = ""  # "connected" | "relisting" | "reconnecting in 4s" | "" (polled source)
    choices: tuple[str, ...] = ()  # for PICK

    @property
    def stale(self) -> bool:
        return self.state is FeedState.ERROR and self.updated_at is not None


@dataclass(frozen=True)
class PaneSnapshot:
    """What one pane shows: its model (or None) and the freshness/error state."""

    pane: str  # argocd | rollout | analysis | latency | cnpg | velero
    context: str
    data: Any = None  # one of the views above (tuple of them for analysis/cnpg)
    status: FeedStatus = field(default_factory=FeedStatus)


PANES: tuple[str, ...] = ("argocd", "rollout", "analysis", "latency", "cnpg", "velero")
PANE_TITLES: dict[str, str] = {
    "argocd": "Argo CD history",
    "rollout": "Rollout",
    "analysis": "AnalysisRuns",
    "latency": "p99 latency",
    "cnpg": "CNPG recoverability",
    "velero": "Velero backups",
}


@dataclass(frozen=True)
class CnpgPaneData:
    """The CNPG pane: every cluster in view, and the one the recoverability question is about."""

    clusters: tuple[CnpgClusterView, ...]
    selected: str  # cluster name ("" = the first)

    @property
    def current(self) -> CnpgClusterView | None:
        for cluster in self.clusters:
            if cluster.name == self.selected:
                return cluster
        return self.clusters[0] if self.clusters else None
