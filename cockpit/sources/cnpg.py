"""CloudNativePG ``Cluster`` (+ Barman Cloud ``ObjectStore``) raw dicts -> :class:`CnpgClusterView`.

Pure functions, no I/O, never raise; strings are kept as received.  The PITR question ("can we
recover to 13:43?") needs the first recoverability point, which lives in one of two places
(MECHANICS (f)):

* **in-tree** ``spec.backup.barmanObjectStore`` (deprecated since CNPG 1.26) or volume snapshots:
  ``Cluster.status.firstRecoverabilityPoint`` / ``lastSuccessfulBackup`` / ``lastFailedBackup``
  and their ``...ByMethod`` maps;
* the **Barman Cloud plugin** (``spec.plugins[name=barman-cloud.cloudnative-pg.io]``): those
  Cluster fields are never set; the window is in the ``ObjectStore`` named by the plugin's
  ``barmanObjectName`` parameter, under ``status.serverRecoveryWindow[<serverName>]``, where
  ``serverName`` defaults to the cluster name.

``window_source`` says in words which of these the window came from, so the pane can explain
an empty window instead of showing a bare dash.

The cluster's state follows ``kubectl cnpg status`` (cloudnative-pg internal/cmd/plugin/status/status.go
``printBasicInfo``/``getStatus``): phase + ``phaseReason``, "Hibernated" when the ``cnpg.io/hibernation`` condition
is True, "Primary instance is fenced" when the ``cnpg.io/fencedInstances`` annotation (a JSON list, ``"*"`` for
every instance; pkg/utils/fencing.go ``GetFencedInstances``) names the primary.  Reconciliation suspended
(annotation ``cnpg.io/reconciliationLoop: disabled``) is read as Argo CD's health check does
(resource_customizations/postgresql.cnpg.io/Cluster/health.lua).

The end of the PITR window is the last archived WAL.  :func:`wal_archiving` decides whether archiving works from
CNPG's ``pg_stat_archiver`` metrics (config/manager/default-monitoring.yaml) the way the status plugin's
``getWalArchivingStatus`` does from the same view (pkg/management/postgres/probes.go ``fillArchiverStatus``:
archiving works when the last archival is newer than the last failure), falling back to the Cluster's
``ContinuousArchiving`` condition when there are no metrics.  :data:`ARCHIVER_QUERY` is the PromQL that fetches
them; :func:`parse_archiver_samples` reads what prometheus-api-client's ``custom_query`` returns.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import datetime, timezone
from typing import Any

from cockpit.models import CnpgClusterView, WalArchiving
from cockpit.timefmt import parse_time
from cockpit.sources.raw import as_map as _map, as_text as _text, as_items as _items

BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
RECONCILIATION_ANNOTATION = "cnpg.io/reconciliationLoop"  # pkg/utils ReconciliationLoopAnnotationName
HIBERNATION_ANNOTATION = "cnpg.io/hibernation"  # pkg/utils HibernationAnnotationName ("on" | "off")
HIBERNATION_CONDITION = "cnpg.io/hibernation"  # pkg/reconciler/hibernation HibernationConditionType
FENCED_ANNOTATION = "cnpg.io/fencedInstances"  # pkg/utils FencedInstanceAnnotation
SKIP_WAL_ARCHIVING_ANNOTATION = "cnpg.io/skipWalArchiving"  # pkg/utils SkipWalArchiving ("enabled" disables)
ARCHIVING_CONDITION = "ContinuousArchiving"  # api/v1 ConditionContinuousArchiving
_MAX_FENCED_TEXT = 64 * 1024

# --------------------------------------------------------------------------- archiver metrics (PromQL)

ARCHIVER_METRICS = (
    "cnpg_pg_stat_archiver_last_archived_time",  # epoch of the last successful archival, -1 if never
    "cnpg_pg_stat_archiver_last_failed_time",  # epoch of the last failed archival, -1 if never
    "cnpg_pg_stat_archiver_failed_count",  # failed attempts (counter)
    "cnpg_pg_stat_archiver_seconds_since_last_archival",  # -1 if never
)
# One instant query for all four, for every instance pod of the cluster (only the primary reports them: the
# metric's predicate_query skips standbys).  Labels are those a PodMonitor gives (namespace, pod); instance pods
# are named <cluster>-<serial>.  Fill in with :func:`archiver_query`.
ARCHIVER_QUERY = (
    '{{__name__=~"cnpg_pg_stat_archiver_(last_archived_time|last_failed_time|failed_count'
    '|seconds_since_last_archival)",namespace="{namespace}",pod=~"{cluster}-[0-9]+"}}'
)
# The same per metric, for setups that prefer four queries (or rename labels): format with metric=..., too.
ARCHIVER_METRIC_QUERY = '{metric}{{namespace="{namespace}",pod=~"{cluster}-[0-9]+"}}'


def _promql_string(value: str) -> str:
    """``value`` safe inside a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _promql_regex(value: str) -> str:
    """``value`` matched literally inside a PromQL (RE2) regex in a double-quoted string."""
    return _promql_string(re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", value))


def archiver_query(namespace: str, cluster: str) -> str:
    """:data:`ARCHIVER_QUERY` for one cluster, its names escaped."""
    return ARCHIVER_QUERY.format(namespace=_promql_string(namespace), cluster=_promql_regex(cluster))


def archivers_query(namespace: str, clusters: Any) -> str:
    """:data:`ARCHIVER_QUERY` for several clusters of one namespace at once (the pod regex an alternation of each
    cluster's ``<cluster>-[0-9]+``); split the answer with :func:`samples_of`."""
    names = [str(name) for name in clusters]
    if len(names) == 1:
        return archiver_query(namespace, names[0])
    alternation = "|".join(re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", name) + "-[0-9]+" for name in names)
    return ('{__name__=~"cnpg_pg_stat_archiver_(last_archived_time|last_failed_time|failed_count'
            f'|seconds_since_last_archival)",namespace="{_promql_string(namespace)}",'
            f'pod=~"{_promql_string("(" + alternation + ")")}"}}')


def samples_of(samples: dict[str, "ArchiverSample"], cluster: str) -> dict[str, "ArchiverSample"]:
    """The samples of one cluster's instance pods (``<cluster>-<serial>``) out of a several-cluster answer."""
    pattern = re.compile(re.escape(cluster) + r"-[0-9]+")
    return {pod: sample for pod, sample in samples.items() if pattern.fullmatch(pod)}


def archiver_metric_query(metric: str, namespace: str, cluster: str) -> str:
    if metric not in ARCHIVER_METRICS:
        raise ValueError(f"not an archiver metric: {metric}")
    return ARCHIVER_METRIC_QUERY.format(metric=metric, namespace=_promql_string(namespace),
                                        cluster=_promql_regex(cluster))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plugin(cluster: dict[str, Any]) -> dict[str, Any] | None:
    """The enabled Barman Cloud plugin entry of ``spec.plugins``, if any."""
    for plugin in _items(_map(cluster.get("spec")).get("plugins")):
        if plugin.get("name") == BARMAN_PLUGIN and plugin.get("enabled") is not False:
            return plugin
    return None


def object_store_name(cluster_obj: Any) -> str:
    """The ``ObjectStore`` the cluster's Barman Cloud plugin writes to; "" without the plugin."""
    plugin = _plugin(_map(cluster_obj))
    if plugin is None:
        return ""
    return _text(_map(plugin.get("parameters")).get("barmanObjectName"))


def parse_cluster(obj: Any, object_stores: dict[str, dict[str, Any]] | None = None) -> CnpgClusterView:
    """A :class:`CnpgClusterView` with the PITR window read from wherever it lives.

    ``object_stores`` maps ObjectStore name (or ``namespace/name``) to the raw ObjectStore; it
    is only consulted for clusters using the Barman Cloud plugin.  The deprecated Cluster status
    fields are *not* used for plugin clusters: they would be stale leftovers of the in-tree era.
    """
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    name = _text(meta.get("name"))
    namespace = _text(meta.get("namespace"))
    backup = _map(spec.get("backup"))
    plugin = _plugin(obj)

    if plugin is not None:
        parameters = _map(plugin.get("parameters"))
        store = _text(parameters.get("barmanObjectName"))
        server_name = _text(parameters.get("serverName")) or name
        method = "plugin"
        first, last_ok, last_failed, source = _plugin_window(store, server_name, namespace, object_stores)
    else:
        store = ""
        barman = backup.get("barmanObjectStore")
        if isinstance(barman, dict):
            method = "barmanObjectStore"
            server_name = _text(barman.get("serverName")) or name
        else:
            method = "volumeSnapshot" if isinstance(backup.get("volumeSnapshot"), dict) else ""
            server_name = ""
        first, last_ok, last_failed, source = _status_window(status, method)

    instances = _count(status.get("instances"))
    annotations = _map(meta.get("annotations"))
    conditions = _items(status.get("conditions"))
    hibernation = _condition(conditions, HIBERNATION_CONDITION)
    archiving = _condition(conditions, ARCHIVING_CONDITION)
    fenced, fencing_invalid = fenced_instances(annotations)
    hibernated = hibernation is not None and hibernation.get("status") == "True"
    return CnpgClusterView(
        name=name,
        namespace=namespace,
        phase=_text(status.get("phase")),
        instances=instances if instances is not None else _count(spec.get("instances")) or 0,
        ready_instances=_count(status.get("readyInstances")) or 0,
        current_primary=_text(status.get("currentPrimary")),
        backup_method=method,
        object_store=store,
        server_name=server_name,
        first_recoverability_point=first,
        last_successful_backup=last_ok,
        last_failed_backup=last_failed,
        window_source=source,
        has_status=bool(status),
        phase_reason=_text(status.get("phaseReason")),
        reconciliation_suspended=annotations.get(RECONCILIATION_ANNOTATION) == "disabled",
        hibernation_requested=annotations.get(HIBERNATION_ANNOTATION) == "on",
        hibernated=hibernated,
        hibernation_message=_text(hibernation.get("message")) if hibernation else "",
        hibernated_since=parse_time(hibernation.get("lastTransitionTime")) if hibernated and hibernation else None,
        fenced_instances=fenced,
        fencing_invalid=fencing_invalid,
        wal_archiving_disabled=annotations.get(SKIP_WAL_ARCHIVING_ANNOTATION) == "enabled",
        archiving_condition=_text(archiving.get("status")) if archiving else "",
        archiving_condition_message=_text(archiving.get("message")) if archiving else "",
        archiving_condition_at=parse_time(archiving.get("lastTransitionTime")) if archiving else None,
        target_primary=_text(status.get("targetPrimary")),
        spec_instances=_count(spec.get("instances")),
        replica=is_replica(obj),
        replica_source=_text(_map(spec.get("replica")).get("source")),
    )


def is_replica(cluster: Any) -> bool:
    """api/v1/cluster_funcs.go ``Cluster.IsReplica``: ``spec.replica.enabled`` when given (the legacy API); else a
    replica unless ``spec.replica.primary`` names this cluster (``self``, by default its own name)."""
    cluster = _map(cluster)
    replica = _map(cluster.get("spec")).get("replica")
    if not isinstance(replica, dict):
        return False
    enabled = replica.get("enabled")
    if isinstance(enabled, bool):
        return enabled
    name = _text(replica.get("self")) or _text(_map(cluster.get("metadata")).get("name"))
    return name != _text(replica.get("primary"))


def _condition(conditions: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """The first condition of that type (apimachinery meta.FindStatusCondition)."""
    return next((cond for cond in conditions if cond.get("type") == kind), None)


def fenced_instances(annotations: Any) -> tuple[tuple[str, ...], bool]:
    """(fenced instance names sorted, annotation invalid?) from ``cnpg.io/fencedInstances``, as pkg/utils/fencing.go
    ``GetFencedInstances``: a JSON list of names, ``"*"`` meaning every instance.  An annotation that is not such
    a list is reported invalid (the operator refuses it too) and read as "every instance": the safe side."""
    raw = _map(annotations).get(FENCED_ANNOTATION)
    if raw is None:
        return (), False
    if not isinstance(raw, str) or len(raw) > _MAX_FENCED_TEXT:
        return ("*",), True
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return ("*",), True
    if value is None:  # json "null" unmarshals to an empty list in Go
        return (), False
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return ("*",), True
    return tuple(sorted(set(value))), False


# --------------------------------------------------------------------------- WAL archiving


@dataclasses.dataclass(frozen=True)
class ArchiverSample:
    """The four ``cnpg_pg_stat_archiver_*`` values of one pod (None where the series is missing or -1)."""

    pod: str
    last_archived_time: float | None
    last_failed_time: float | None
    failed_count: float | None
    seconds_since_last_archival: float | None
    sampled_at: float | None  # the sample's own timestamp (unix seconds)


def _number(value: Any) -> float | None:
    """A finite float from a Prometheus value (a string such as "1.7e9"); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_archiver_samples(result: Any) -> dict[str, ArchiverSample]:
    """``{pod: ArchiverSample}`` from an instant-query result: a list of ``{"metric": {...}, "value": [ts, "v"]}``
    as prometheus-api-client's ``custom_query`` returns (``__name__`` tells the metric apart; with four separate
    queries, concatenate their results).  CNPG writes -1 for "never"; that reads as None.  Never raises."""
    fields = {name: name.removeprefix("cnpg_pg_stat_archiver_") for name in ARCHIVER_METRICS}
    found: dict[str, dict[str, Any]] = {}
    for item in _items(result):
        metric = _map(item.get("metric"))
        field = fields.get(_text(metric.get("__name__")))
        value = item.get("value")
        if field is None or not isinstance(value, (list, tuple)) or len(value) != 2:
            continue
        pod = _text(metric.get("pod"))
        entry = found.setdefault(pod, {"sampled_at": None})
        number = _number(value[1])
        entry[field] = None if number is None or number < 0 else number
        stamp = _number(value[0])
        if stamp is not None:
            entry["sampled_at"] = max(entry["sampled_at"] or stamp, stamp)
    return {
        pod: ArchiverSample(
            pod=pod,
            last_archived_time=entry.get("last_archived_time"),
            last_failed_time=entry.get("last_failed_time"),
            failed_count=entry.get("failed_count"),
            seconds_since_last_archival=entry.get("seconds_since_last_archival"),
            sampled_at=entry["sampled_at"],
        )
        for pod, entry in found.items()
    }


def _epoch(seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def wal_archiving(
    cluster: CnpgClusterView, samples: dict[str, ArchiverSample] | None = None
) -> WalArchiving:
    """The cluster's WAL archiving state and the end of its PITR window.

    ``samples`` come from :func:`parse_archiver_samples` (None or empty: no metrics).  The primary's sample is
    used (``status.currentPrimary``), else the pod that archived last.  States follow the status plugin's
    ``getWalArchivingStatus``: disabled (annotation), ok (last archival newer than last failure), failing (a
    failure and no archival since), starting (neither yet).  Without metrics the ``ContinuousArchiving``
    condition decides between ok and failing, and the window's end stays unknown.
    """
    if cluster.wal_archiving_disabled:
        return WalArchiving("disabled", None, None, None, "annotation cnpg.io/skipWalArchiving")
    sample = None
    if samples:
        sample = samples.get(cluster.current_primary) if cluster.current_primary else None
        if sample is None:
            sample = max(samples.values(), key=lambda s: (s.last_archived_time or -1.0, s.pod))
    condition = cluster.archiving_condition
    condition_text = f"ContinuousArchiving {condition}" + (
        f": {cluster.archiving_condition_message}" if cluster.archiving_condition_message else "")
    if sample is not None:
        archived, failed = sample.last_archived_time, sample.last_failed_time
        last_archived = _epoch(archived)
        if last_archived is None and sample.seconds_since_last_archival is not None and sample.sampled_at:
            last_archived = _epoch(sample.sampled_at - sample.seconds_since_last_archival)
            archived = sample.sampled_at - sample.seconds_since_last_archival
        count = int(sample.failed_count) if sample.failed_count is not None else None
        if archived is not None and (failed is None or archived > failed):
            state = "ok"
        elif failed is not None:
            state = "failing"
        else:
            state = "starting"
        detail = ""
        if condition == "False" and state == "ok":
            detail = f"metrics say archiving works, the Cluster says otherwise ({condition_text})"
        elif condition == "False":
            detail = condition_text
        return WalArchiving(state, last_archived, _epoch(failed), count, f"archiver metrics of pod {sample.pod}",
                            detail, _epoch(sample.sampled_at))
    if condition == "True":
        return WalArchiving("ok", None, None, None, "ContinuousArchiving condition (no archiver metrics)",
                            cluster.archiving_condition_message)
    if condition == "False":
        return WalArchiving("failing", None, cluster.archiving_condition_at, None,
                            "ContinuousArchiving condition (no archiver metrics)", condition_text)
    return WalArchiving("unknown", None, None, None, "no archiver metrics and no ContinuousArchiving condition")


def with_archiving(cluster: CnpgClusterView, samples: dict[str, ArchiverSample] | None) -> CnpgClusterView:
    """The same view with :attr:`CnpgClusterView.archiving` filled in (what the store calls after its query)."""
    return dataclasses.replace(cluster, archiving=wal_archiving(cluster, samples))


Window = tuple[datetime | None, datetime | None, datetime | None, str]


def _status_window(status: dict[str, Any], method: str) -> Window:
    """The in-tree window from the (deprecated) Cluster status fields."""
    by_method = _map(status.get("firstRecoverabilityPointByMethod"))
    first = parse_time(status.get("firstRecoverabilityPoint"))
    if first is None:
        # WAL archive (barmanObjectStore) allows PITR; prefer it, else the earliest method.
        first = parse_time(by_method.get("barmanObjectStore")) or _earliest(by_method.values())
    last_ok = parse_time(status.get("lastSuccessfulBackup")) or _latest(
        _map(status.get("lastSuccessfulBackupByMethod")).values()
    )
    last_failed = parse_time(status.get("lastFailedBackup"))
    if method == "barmanObjectStore":
        source = "Cluster status (in-tree barmanObjectStore)"
    elif method == "volumeSnapshot":
        source = "Cluster status (volumeSnapshot)"
    elif first or last_ok or last_failed:
        source = "Cluster status"
    else:
        source = "no backups configured"
    return first, last_ok, last_failed, source


def _plugin_window(
    store: str, server_name: str, namespace: str, object_stores: dict[str, dict[str, Any]] | None
) -> Window:
    """The plugin window from ``ObjectStore.status.serverRecoveryWindow[serverName]``."""
    if not store:
        return None, None, None, "plugin configured without barmanObjectName"
    stores = object_stores if isinstance(object_stores, dict) else {}
    raw = stores.get(store)
    if not isinstance(raw, dict) and namespace:
        raw = stores.get(f"{namespace}/{store}")
    if not isinstance(raw, dict):
        return None, None, None, f"plugin configured but ObjectStore {store} not found"
    windows = _map(_map(raw.get("status")).get("serverRecoveryWindow"))
    window = windows.get(server_name)
    if not isinstance(window, dict):
        return None, None, None, f"ObjectStore {store} has no recovery window for server {server_name}"
    return (
        parse_time(window.get("firstRecoverabilityPoint")),
        parse_time(window.get("lastSuccessfulBackupTime")),
        parse_time(window.get("lastFailedBackupTime")),
        f"ObjectStore {store}",
    )


def _earliest(values: Any) -> datetime | None:
    times = [time for time in (parse_time(value) for value in values) if time is not None]
    return min(times) if times else None


def _latest(values: Any) -> datetime | None:
    times = [time for time in (parse_time(value) for value in values) if time is not None]
    return max(times) if times else None
