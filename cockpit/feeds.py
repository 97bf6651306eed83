"""The live feeds: per context, the watches and polls behind the six panes, combined into PaneSnapshots.

Reads flow one way: watch/poll thread -> ``ContextFeeds`` (raw caches, parsed views, freshness) -> ``emit`` ->
the session, which puts the snapshot into its pane store (the only truth widgets draw from).  The feeds never
touch the UI; ``emit`` is the only way out, and it may be called from any thread.

**Discovery first.**  :meth:`ContextFeeds.discover` asks the API server which of the watched APIs it serves
(:func:`cockpit.sources.kube.discover`: one request with aggregated discovery) before the watches start; the watch
of an API that is not served is *parked* -- it sends nothing -- and its pane says "… not installed in this cluster"
(``FeedState.MISSING``), or, for an optional part of a pane (a Velero Schedule, a Barman Cloud ObjectStore, the
pods), a note under the data that stays.  Discovery runs again when a watch meets a 404 (the CRD was removed), and
a missing CRD is watched by name (``customresourcedefinitions`` with ``fieldSelector=metadata.name=…``), so an API
installed later is picked up at once without asking the API server anything on a timer.  Only when CRDs cannot be
read (RBAC) is discovery repeated every :data:`REDISCOVER_SECONDS` while something is missing.

**WAL archiving.**  :class:`ArchivingFeed` reads CloudNativePG's ``cnpg_pg_stat_archiver_*`` metrics from
Prometheus for every cluster in view and the CNPG pane's views get :func:`cockpit.sources.cnpg.with_archiving`
(the end of the PITR window); without Prometheus the ``ContinuousArchiving`` condition decides.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cockpit.clock import Clock
from cockpit.models import CnpgPaneData, FeedState, FeedStatus, PaneSnapshot, RolloutView
from cockpit.sources.errors import ErrorKind, SourceError

Emit = Callable[[PaneSnapshot], None]
Later = Callable[[str, float, Callable[[], Any]], Any]  # Scheduler.later
Start = Callable[[str, Any], Any]  # start a ResourceWatch's loop under a track name

REDISCOVER_SECONDS = 300.0  # discovery again this often while an API is missing and CRDs cannot be watched
REDISCOVER_RETRY = 30.0  # after a failed discovery
REDISCOVER_GAP = 30.0  # discovery asked for by a watch's 404 runs at most this often
CRD_SETTLE = 1.0  # a CRD just created is served a moment later (Established): look then

# The part of a pane each optional watch feeds, in words ("… not shown").
OPTIONAL_WHAT = {
    "pods": "pods",
    "objectstores": "the recovery window of a cluster on the plugin is unknown",
    "schedules": "Velero schedules",
    "restores": "Velero restores",
    "locations": "backup storage locations",
}
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")


@dataclass
class _Track:
    """Raw cache and watch state of one ResourceWatch."""

    items: dict[str, dict[str, Any]]
    phase: str = "listing"
    error: SourceError | None = None
    retry_in: float = 0.0
    synced: bool = False
    changed_at: datetime | None = None
    note: str = ""  # what the watch wants said (objects of another kind dropped)


class ContextFeeds:
    """Everything one context's dashboard shows, kept current by list+watch (Kubernetes) and polling (Prometheus).

    ``later`` (the session scheduler's) runs discovery again when it is due, ``start`` starts a watch the feeds
    create later (a missing CRD watched by name); without them (a unit test) the feeds do neither."""

    def __init__(self, settings: Any, context: str, kube: Any, *, clock: Clock, emit: Emit, namespace: str,
                 later: Later | None = None, start: Start | None = None,
                 on_clusters: Callable[[], None] | None = None, memory: SelectorMemory | None = None) -> None:
        from cockpit.sources import kube as k

        self.settings = settings
        self.context = context
        self.kube = kube
        self.clock = clock
        self.emit = emit
        self.namespace = namespace
        self.cnpg_namespace = settings.cnpg_namespace or namespace
        self.later = later
        self.start_watch = start
        self.on_clusters = on_clusters
        self._lock = threading.RLock()
        self._discover_lock = threading.Lock()
        self.chosen: dict[str, str] = {}
        if settings.app:
            self.chosen["argocd"] = settings.app
        if settings.rollout:
            self.chosen["rollout"] = settings.rollout
        if settings.cnpg_cluster:
            self.chosen["cnpg"] = settings.cnpg_cluster
        self.tracks: dict[str, _Track] = {}
        self.snapshots: dict[str, PaneSnapshot] = {}
        self._rollout: RolloutView | None = None
        self._backups = ParsedBackups()
        self.discovery: Any = None  # the last cockpit.sources.kube.Discovery
        self._discovered_at = 0.0  # time.monotonic() of the last discovery
        self._missing_at = -REDISCOVER_GAP  # when the last discovery asked for by a 404 runs
        self.crd_watches: dict[str, Any] = {}  # CRD name -> its ResourceWatch, while that API is missing
        self._crd_seen: dict[str, tuple[tuple[str, str], ...]] = {}
        self.crds_unwatchable = ""  # why CRDs cannot be watched ("" = they can, or not tried yet)
        self._cluster_keys: frozenset[tuple[str, str]] | None = None
        self._archiving: dict[tuple[str, str], Any] | None = None  # (ns, cluster) -> samples; None: not polled
        self._archiving_note = ""

        def name_selector(name: str | None) -> str:
            return f"metadata.name={name}" if name else ""

        # The ReplicaSet, pod and AnalysisRun selectors come from the Rollout; the last session's (SelectorMemory)
        # let those watches list at once, and the Rollout corrects them when it arrives
        self.memory = memory
        self._memory_key = f"{context}/{namespace}/{settings.rollout}" if settings.rollout else ""
        self._remembered = memory.recall(self._memory_key) if memory is not None and self._memory_key else {}
        known = self._remembered

        specs = [
            ("apps", k.APPLICATIONS, settings.argocd_namespace, "", name_selector(settings.app)),
            ("rollouts", k.ROLLOUTS, namespace, "", name_selector(settings.rollout)),
            ("replicasets", k.REPLICA_SETS, namespace, known.get("replicasets"), ""),
            # the pods of the rollout's stable and canary ReplicaSets only (by pod hash), never the namespace's
            ("pods", k.PODS, namespace, known.get("pods"), ""),
            ("analysisruns", k.ANALYSIS_RUNS, namespace, known.get("analysisruns"), ""),
            # every cluster of the namespace: the pane picks one, and a PITR run's recovery Cluster must be seen
            ("clusters", k.CNPG_CLUSTERS, self.cnpg_namespace, "", ""),
            ("objectstores", k.OBJECT_STORES, self.cnpg_namespace, "", ""),
            ("backups", k.VELERO_BACKUPS, settings.velero_namespace, "", ""),
            ("schedules", k.VELERO_SCHEDULES, settings.velero_namespace, "", ""),
            ("restores", k.VELERO_RESTORES, settings.velero_namespace, "", ""),
            ("locations", k.VELERO_LOCATIONS, settings.velero_namespace, "", ""),
            # the tenant namespace, for the decision tree's "is the whole namespace gone?" (watched, not polled)
            ("namespaces", k.NAMESPACES, None, "", name_selector(settings.tenant_namespace or namespace)),
        ]
        self.watches: dict[str, Any] = {}
        for track, resource, ns, selector, fields in specs:
            self.tracks[track] = _Track(items={})
            self.watches[track] = k.ResourceWatch(
                kube,
                resource,
                ns,
                label_selector=selector,
                field_selector=fields,
                on_change=self._changed(track),
                on_state=self._state(track),
                on_missing=self._missing,
                transform=compact_backup if track == "backups" else None,
                decode_page=decode_backup_page if track == "backups" else None,
            )

    def start_order(self) -> list[tuple[str, Any]]:
        """The watches in the order their threads start: the Rollout's first (three watches wait for the
        selectors it gives when none are remembered: a short chain of small reads), then the Backups' (the one
        long list: a platform keeps thousands, one page of 500 after another, each parsed into rows), then the
        rest, each a few objects.  Asked at once behind eleven other threads starting and the first panes
        painting, the long list and the chain were what the panes waited for last."""
        first = ("rollouts", "backups")
        return sorted(self.watches.items(), key=lambda pair: first.index(pair[0]) if pair[0] in first else 2)

    # -- discovery -------------------------------------------------------------------------------------------

    def discover(self) -> Any:
        """Ask which APIs are served; park the watches of those that are not, wake those that are.  Blocking."""
        from cockpit.sources import kube as k

        with self._discover_lock:
            resources = [watch.resource for watch in self.watches.values()] + [k.CRDS]
            found = k.discover(self.kube, resources)
            with self._lock:
                self.discovery = found
                self._discovered_at = time.monotonic()
                for watch in self.watches.values():
                    if found.serves(watch.resource) is False:
                        watch.mark_missing()
                    else:  # served, or unknown (discovery failed): the watch tries and finds out
                        watch.mark_present()
                self._follow_crds(found)
                missing = {watch.resource for watch in self.watches.values() if found.serves(watch.resource) is False}
            if found.error is not None:
                self._rediscover(REDISCOVER_RETRY, "retry")
            elif missing and self.crds_unwatchable:
                self._rediscover(REDISCOVER_SECONDS, "periodic")
            return found

    def _rediscover(self, delay: float, why: str) -> None:
        if self.later is not None:
            self.later(f"discover:{self.context}:{why}", delay, self.discover)

    def _missing(self, error: SourceError) -> None:
        """A watch met a 404 (its API went away, or never was): look at discovery again -- at once the first time,
        then at most every :data:`REDISCOVER_GAP` (a server whose discovery lists an API that answers 404 would
        otherwise have the watch and discovery take turns)."""
        now = time.monotonic()
        with self._lock:
            delay = max(0.2, self._missing_at + REDISCOVER_GAP - now)
            self._missing_at = now + delay
        self._rediscover(delay, "soon")

    def _follow_crds(self, found: Any) -> None:
        """Watch, by name, the CRD of every missing custom API (and stop watching those now served)."""
        from cockpit.sources import kube as k

        if self.start_watch is None:
            return
        wanted = {watch.resource.full_name for watch in self.watches.values()
                  if found.serves(watch.resource) is False and watch.resource.group not in k.BUILTIN_GROUPS}
        if found.serves(k.CRDS) is False:
            self.crds_unwatchable = "the API server serves no customresourcedefinitions"
        if self.crds_unwatchable:
            wanted = set()
        for name in list(self.crd_watches):
            if name not in wanted:
                self.crd_watches.pop(name).stop()
                self._crd_seen.pop(name, None)
        for name in sorted(wanted - set(self.crd_watches)):
            watch = k.ResourceWatch(self.kube, k.CRDS, None, field_selector=f"metadata.name={name}",
                                    on_change=self._crd_changed(name), on_state=self._crd_state(name))
            self.crd_watches[name] = watch
            self.start_watch(f"crd-{name}", watch)

    def _crd_changed(self, name: str) -> Callable[[dict[str, dict[str, Any]]], None]:
        def on_change(items: dict[str, dict[str, Any]]) -> None:
            seen = tuple(sorted((key, str((item.get("metadata") or {}).get("resourceVersion") or ""))
                                for key, item in items.items()))
            with self._lock:
                first = name not in self._crd_seen
                changed = self._crd_seen.get(name) != seen
                self._crd_seen[name] = seen
            if changed and (items or not first):  # created, changed (Established) or deleted: look again
                self._rediscover(CRD_SETTLE, "crd")

        return on_change

    def _crd_state(self, name: str) -> Callable[[Any], None]:
        def on_state(state: Any) -> None:
            error = state.error
            if error is None or error.kind not in (ErrorKind.FORBIDDEN, ErrorKind.AUTH, ErrorKind.MISSING):
                return
            # CRDs cannot be read with these credentials: stop trying, look at discovery every few minutes instead
            with self._lock:
                self.crds_unwatchable = f"customresourcedefinitions cannot be watched ({error})"
                for watch in self.crd_watches.values():
                    watch.stop()
                self.crd_watches.clear()
            self._rediscover(REDISCOVER_SECONDS, "periodic")

        return on_state

    # -- watch callbacks (watch threads) ---------------------------------------------------------------------

    def _changed(self, track: str) -> Callable[[dict[str, dict[str, Any]]], None]:
        def on_change(items: dict[str, dict[str, Any]]) -> None:
            clusters_changed = False
            with self._lock:
                entry = self.tracks[track]
                entry.items = items
                entry.synced = True
                entry.error = None
                entry.changed_at = self.clock.now()
                if track == "clusters":
                    keys = frozenset(_ns_name(item) for item in items.values())
                    clusters_changed = keys != self._cluster_keys
                    self._cluster_keys = keys
                self._recompute(track)
                if track == "namespaces":  # not a pane: tell the decision tree the namespace changed
                    self.emit(PaneSnapshot("namespace", self.context, None, FeedStatus(FeedState.OK)))
            if clusters_changed and self.on_clusters is not None:
                self.on_clusters()

        return on_change

    def _state(self, track: str) -> Callable[[Any], None]:
        def on_state(state: Any) -> None:
            with self._lock:
                entry = self.tracks[track]
                entry.phase = state.phase
                entry.retry_in = state.retry_in
                entry.note = getattr(state, "note", "") or ""
                if state.phase in ("missing", "idle"):
                    entry.items, entry.synced = {}, False
                    entry.error = state.error
                elif state.error is not None:
                    entry.error = state.error
                elif state.phase == "connected":
                    entry.error = None
                self._recompute(track)

        return on_state

    def crashed(self, track: str, message: str, delay: float) -> None:
        """A watch thread died (a bug, not a server error): its pane says so until the restarted watch lists."""
        from cockpit.sources.kube import WatchState

        if track in self.tracks:
            self._state(track)(WatchState("retrying", error=SourceError(ErrorKind.SERVER, message),
                                          retry_in=delay, synced=self.tracks[track].synced))

    def watched_namespaces(self) -> dict[str, Any] | None:
        """{tenant: Namespace object or None (gone)} once the namespace watch has listed; None before."""
        with self._lock:
            entry = self.tracks["namespaces"]
            if not entry.synced or entry.error is not None:
                return None
            name = self.settings.tenant_namespace or self.namespace
            found = next((item for item in entry.items.values()
                          if item.get("metadata", {}).get("name") == name), None)
            return {name: found}

    # -- picking --------------------------------------------------------------------------------------------

    def choose(self, pane: str, name: str) -> None:
        """Remember the person's pick for this session and show it."""
        with self._lock:
            self.chosen[pane] = name
            for track in PANE_TRACKS.get(pane, ()):
                self._recompute(track)

    # -- WAL archiving (the metrics poll's thread) ----------------------------------------------------------

    def archiving_targets(self) -> list[tuple[str, str]] | None:
        """(namespace, cluster) of every CNPG cluster in view, or None while the clusters are not listed yet."""
        with self._lock:
            entry = self.tracks["clusters"]
            if not entry.synced:
                return None
            return sorted(_ns_name(item) for item in entry.items.values())

    def set_archiving(self, samples: dict[tuple[str, str], Any], note: str = "") -> None:
        """The archiver samples per (namespace, cluster) (None for a cluster: no metrics could be read), and what
        the pane should say about reading them."""
        with self._lock:
            self._archiving = dict(samples)
            self._archiving_note = note
            self._recompute("clusters")

    # -- combining ------------------------------------------------------------------------------------------

    def _status(self, tracks: tuple[str, ...], *, has_data: bool, optional: tuple[str, ...] = (),
                notes: tuple[str, ...] = (), quiet: tuple[str, ...] = ()) -> FeedStatus:
        """The pane's freshness from its watches.  An optional watch that is missing or forbidden never fails the
        pane: it becomes a note (``FeedStatus.error`` of an OK pane; none for a ``quiet`` one), as do ``notes``."""
        entries = [self.tracks[t] for t in tracks]
        changed = [e.changed_at for e in entries if e.changed_at is not None]
        updated = max(changed) if changed else None
        said = [words for words in notes if words]
        live: list[_Track] = []
        for track, entry in zip(tracks, entries):
            err = entry.error
            if track in optional and err is not None and err.kind in (
                    ErrorKind.MISSING, ErrorKind.FORBIDDEN, ErrorKind.AUTH):
                if track not in quiet:
                    said.append(self._optional_words(track, err))
                continue
            if entry.note:
                said.append(entry.note)
            if entry.phase not in ("idle", "missing"):
                live.append(entry)
        watch = _watch_words(live)
        for track, entry in zip(tracks, entries):
            err = entry.error
            if err is None or (track in optional and err.kind in (ErrorKind.MISSING, ErrorKind.FORBIDDEN,
                                                                   ErrorKind.AUTH)):
                continue
            if err.kind is ErrorKind.MISSING:
                return FeedStatus(FeedState.MISSING, updated_at=updated, error=str(err), watch="")
            return FeedStatus(FeedState.ERROR, updated_at=updated if has_data else None, error=str(err), watch=watch)
        main = entries[0]
        if not main.synced:
            return FeedStatus(FeedState.LOADING, watch=watch)
        return FeedStatus(FeedState.OK, updated_at=updated, watch=watch, error="; ".join(dict.fromkeys(said)))

    def _optional_words(self, track: str, err: SourceError) -> str:
        what = OPTIONAL_WHAT.get(track, track)
        if err.kind is ErrorKind.MISSING:
            resource = self.watches[track].resource
            if track == "objectstores":  # a product of its own: "the Barman Cloud plugin not installed …"
                return f"{err}: {what}"
            return f"no {resource.full_name} API in this cluster: {what} not shown"
        return f"{what} not shown: {err}"

    def _recompute(self, track: str) -> None:
        for pane in TRACK_PANES.get(track, ()):
            snap = getattr(self, f"_pane_{pane}")()
            if self.snapshots.get(pane) != snap:
                self.snapshots[pane] = snap
                self.emit(snap)

    def _previous(self, pane: str) -> Any:
        snap = self.snapshots.get(pane)
        return snap.data if snap is not None else None

    def _pick(self, pane: str, track: str, status: FeedStatus, what: str, where: str) -> PaneSnapshot | None:
        """None when a name is chosen; otherwise the PICK (or EMPTY) snapshot listing what exists."""
        if self.chosen.get(pane):
            return None
        if status.state is not FeedState.OK:
            return PaneSnapshot(pane, self.context, self._previous(pane), status)
        names = tuple(sorted(item.get("metadata", {}).get("name", "") for item in self.tracks[track].items.values()))
        if not names:
            return PaneSnapshot(pane, self.context, None, replace(status, state=FeedState.EMPTY,
                                                                  error=f"no {what} in {where}"))
        return PaneSnapshot(pane, self.context, None, replace(status, state=FeedState.PICK, choices=names))

    def _find(self, track: str, name: str) -> dict[str, Any] | None:
        for item in self.tracks[track].items.values():
            if item.get("metadata", {}).get("name") == name:
                return item
        return None

    def _pane_argocd(self) -> PaneSnapshot:
        from cockpit.sources.argocd import parse_application

        status = self._status(("apps",), has_data=self._previous("argocd") is not None)
        picked = self._pick("argocd", "apps", status, "Argo CD Applications", self.settings.argocd_namespace)
        if picked is not None:
            return picked
        name = self.chosen["argocd"]
        obj = self._find("apps", name)
        if obj is None:
            if status.state is FeedState.OK:
                status = replace(status, state=FeedState.EMPTY,
                                 error=f"Application {name} not found in {self.settings.argocd_namespace}")
            return PaneSnapshot("argocd", self.context, self._previous("argocd") if status.stale else None, status)
        return PaneSnapshot("argocd", self.context, parse_application(obj), status)

    def _pods(self) -> list[dict[str, Any]] | None:
        """The pods of the rollout's ReplicaSets, or None while their watch is not listed (or cannot be)."""
        entry = self.tracks["pods"]
        if not entry.synced or entry.error is not None or not self.watches["pods"].label_selector:
            return None
        return list(entry.items.values())

    def _pane_rollout(self) -> PaneSnapshot:
        from cockpit.sources.rollouts import parse_rollout

        status = self._status(("rollouts", "replicasets", "pods"), has_data=self._previous("rollout") is not None,
                              optional=("pods",))
        picked = self._pick("rollout", "rollouts", status, "Rollouts", self.namespace)
        if picked is not None:
            self._set_rollout(None)
            return picked
        name = self.chosen["rollout"]
        obj = self._find("rollouts", name)
        if obj is None:
            self._set_rollout(None)
            if status.state is FeedState.OK:
                status = replace(status, state=FeedState.EMPTY, error=f"Rollout {name} not found in {self.namespace}")
            return PaneSnapshot("rollout", self.context, self._previous("rollout") if status.stale else None, status)
        view = parse_rollout(obj, list(self.tracks["replicasets"].items.values()), self._pods())
        self._set_rollout(view)
        return PaneSnapshot("rollout", self.context, view, status)

    def _set_rollout(self, view: RolloutView | None) -> None:
        """Narrow the ReplicaSet, Pod and AnalysisRun watches to this rollout (MECHANICS (d): label selectors)."""
        self._rollout = view
        if view is None:
            return
        labels = ",".join(f"{key}={value}" for key, value in sorted(view.match_labels.items()))
        self.watches["replicasets"].set_label_selector(labels or "rollouts-pod-template-hash")
        # the pods of the ReplicaSets the CLI shows first: stable and canary (active and preview for blue-green)
        hashes = sorted({h for h in (view.stable_hash, view.canary_hash, view.active_hash, view.preview_hash)
                         if h and _LABEL_VALUE.match(h)})
        pods = ",".join(([labels] if labels else []) + [f"rollouts-pod-template-hash in ({','.join(hashes)})"])
        self.watches["pods"].set_label_selector(pods if hashes else None)
        if view.canary_hash and _LABEL_VALUE.match(view.canary_hash):
            # the pod hash only: the Rollouts CLI matches runs by ownerReference + this label, and controllers
            # before v1.6 never put the Rollout's selector labels on AnalysisRuns (analysisrun_info.go)
            self.watches["analysisruns"].set_label_selector(f"rollouts-pod-template-hash={view.canary_hash}")
        if view.name == self.settings.rollout:
            self._remember()
        self._recompute_analysis()

    def _remember(self) -> None:
        """Keep the selectors the Rollout gave for the next session (written only when they changed)."""
        if self.memory is None or not self._memory_key:
            return
        selectors = {track: self.watches[track].label_selector for track in SelectorMemory.TRACKS}
        kept = {track: value for track, value in selectors.items() if value}
        if kept != self._remembered:
            self._remembered = kept
            self.memory.remember(self._memory_key, kept)

    def _recompute_analysis(self) -> None:
        snap = self._pane_analysis()
        if self.snapshots.get("analysis") != snap:
            self.snapshots["analysis"] = snap
            self.emit(snap)

    def _pane_analysis(self) -> PaneSnapshot:
        from cockpit.sources.analysis import runs_for_rollout

        rollout = self._rollout
        runs_missing = self.tracks["analysisruns"].error
        if runs_missing is not None and runs_missing.kind is ErrorKind.MISSING:  # no Argo Rollouts: say that
            return PaneSnapshot("analysis", self.context, None, FeedStatus(FeedState.MISSING, error=str(runs_missing)))
        if rollout is None:
            rollout_status = self.snapshots.get("rollout")
            words = "waiting for the Rollout"
            if rollout_status is not None and rollout_status.status.state is FeedState.PICK:
                words = "pick a Rollout in pane 2 first"
            return PaneSnapshot("analysis", self.context, None, FeedStatus(FeedState.EMPTY, error=words))
        status = self._status(("analysisruns",), has_data=self._previous("analysis") is not None)
        runs = runs_for_rollout(list(self.tracks["analysisruns"].items.values()), rollout)
        return PaneSnapshot("analysis", self.context, runs, status)

    def _pane_cnpg(self) -> PaneSnapshot:
        from cockpit.sources.cnpg import parse_cluster, with_archiving

        stores = {item.get("metadata", {}).get("name", ""): item for item in self.tracks["objectstores"].items.values()}
        views = [parse_cluster(item, stores) for item in self.tracks["clusters"].items.values()]
        archiving = self._archiving
        if archiving is not None:
            views = [with_archiving(view, archiving.get((view.namespace, view.name))) for view in views]
        clusters = tuple(sorted(views, key=lambda view: view.name))
        # without a cluster on the Barman Cloud plugin, the plugin's absence is not worth a word
        uses_plugin = any(view.backup_method == "plugin" for view in clusters)
        status = self._status(("clusters", "objectstores"), has_data=self._previous("cnpg") is not None,
                              optional=("objectstores",), quiet=() if uses_plugin else ("objectstores",),
                              notes=(self._archiving_note if clusters else "",))
        if status.state is FeedState.OK and not clusters:
            status = replace(status, state=FeedState.EMPTY,
                             error=f"no CloudNativePG clusters in {self.cnpg_namespace}")
        if status.stale and not clusters:
            return PaneSnapshot("cnpg", self.context, self._previous("cnpg"), status)
        return PaneSnapshot("cnpg", self.context, CnpgPaneData(clusters, self.chosen.get("cnpg", "")), status)

    def _pane_velero(self) -> PaneSnapshot:
        from cockpit.models import VeleroView
        from cockpit.sources.velero import parse_location, parse_restores, parse_velero

        status = self._status(("backups", "schedules", "restores", "locations"),
                              has_data=self._previous("velero") is not None,
                              optional=("schedules", "restores", "locations"))
        if status.stale and not self.tracks["backups"].items:
            return PaneSnapshot("velero", self.context, self._previous("velero"), status)
        if status.state is FeedState.MISSING:
            return PaneSnapshot("velero", self.context, None, status)
        schedules = parse_velero((), list(self.tracks["schedules"].items.values())).schedules
        restores = parse_restores(list(self.tracks["restores"].items.values()))
        locations = tuple(sorted((parse_location(item) for item in self.tracks["locations"].items.values()),
                                 key=lambda location: location.name))
        view = VeleroView(self._backups.newest_first(self.tracks["backups"].items), schedules, restores, locations)
        self._backups.warm(view)
        return PaneSnapshot("velero", self.context, view, status)

    def stop(self) -> None:
        with self._lock:
            watches = [*self.watches.values(), *self.crd_watches.values()]
        for watch in watches:
            watch.stop()


class SelectorMemory:
    """The label selectors a Rollout gave its ReplicaSet, pod and AnalysisRun watches, kept between sessions.

    Those watches cannot know their selector before the Rollout is read (its labels, its pod hashes); with the
    last session's, they list at the same moment as the Rollout instead of after it.  When the Rollout arrives its
    selectors replace the remembered ones (a changed selector restarts the watch with a fresh list), and the panes
    filter by owner and pod hash whatever was listed.  One small JSON file (``selectors.json`` in the state
    directory, 0600), at most :data:`KEEP` targets, written in the watch thread, only when a selector changed."""

    TRACKS = ("replicasets", "pods", "analysisruns")
    KEEP = 50
    _SELECTOR = re.compile(r"[A-Za-z0-9_./=!,() -]{1,1024}")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def recall(self, key: str) -> dict[str, str]:
        """The selectors remembered for ``key`` (only well-formed ones); {} when none."""
        entry = self._read().get(key)
        if not isinstance(entry, dict):
            return {}
        return {track: value for track, value in entry.items()
                if track in self.TRACKS and isinstance(value, str) and self._SELECTOR.fullmatch(value)}

    def remember(self, key: str, selectors: dict[str, str]) -> None:
        """Keep ``selectors`` for ``key`` (the most recent :data:`KEEP` keys); a failure to write is ignored."""
        with self._lock:
            data = self._read()
            data.pop(key, None)
            data[key] = dict(selectors)
            data = dict(list(data.items())[-self.KEEP:])
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
                fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out)
                os.replace(scratch, self.path)
            except OSError:
                pass


def _ns_name(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


PARSED = "cockpit.parsed"  # the key of a compacted object's parsed row (never a Kubernetes field name)


def compact_backup(obj: dict[str, Any]) -> dict[str, Any]:
    """What the Backup watch keeps of a Backup: its parsed row and the metadata that identifies it.

    A cluster keeps thousands of backups; their raw objects (34 MiB for the bench's 10 000 lean ones, several times
    that with a real Velero's managedFields and spec) were kept only to be parsed again.  The row is parsed once
    per object the watch receives, in the watch thread, as before."""
    from cockpit.sources.velero import parse_backup

    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return {"metadata": {key: meta[key] for key in ("name", "namespace", "resourceVersion") if key in meta},
            PARSED: parse_backup(obj)}


def decode_backup_page(raw: bytes) -> tuple[Any, Any, list[dict[str, Any]], set[tuple[Any, Any]]] | None:
    """A Backup list page's bytes straight into :func:`compact_backup`'s objects (the Backup watch's
    ``decode_page``): :func:`cockpit.sources.velero_pages.backup_rows`, or None for the general path."""
    from cockpit.sources.velero_pages import backup_rows

    return backup_rows(raw, PARSED)


class ParsedBackups:
    """Velero backups parsed once per resourceVersion, in :func:`~cockpit.sources.velero.parse_velero`'s order.

    A platform keeps thousands of backups and every watch event hands the store the whole cache: parsing all of
    them again (timestamps, mostly) took ~140 ms for 10 000, so one new backup froze the pane that long.  Here an
    event re-parses the objects whose resourceVersion changed, and the order is kept, not made again: a changed,
    new or deleted backup is taken out of and put into the sorted list by bisection (re-sorting 10 000 rows took
    ~10 ms of the watch thread at every event); many changes at once (the first list, a relist) sort once.  When
    the watch says which keys an event touched (:class:`~cockpit.sources.kube.Items`, chained to the copy this
    saw last) only those are looked at; otherwise every object is, by identity and resourceVersion.  When nothing
    changed the last tuple itself is handed back, so comparing the new snapshot with the old one is free.  The
    failed ones and the count being deleted (``VeleroView.failing``) are kept the same way.
    """

    RESORT_ABOVE = 256  # changes in one call beyond which one sort is cheaper than that many bisections

    def __init__(self) -> None:
        # key -> (the raw object last parsed, its resourceVersion, (order, VeleroBackup))
        self._parsed: dict[str, tuple[Any, str, tuple[Any, ...]]] = {}
        self._order: list[tuple[Any, ...]] = []  # (order, VeleroBackup), oldest first (the result is its reverse)
        self._bad: list[tuple[Any, ...]] = []  # the same, of the failed and partially failed ones only
        self._deleting = 0
        self._result: tuple[Any, ...] = ()
        self._failing: tuple[tuple[Any, ...], Any] | None = None  # (the result, VeleroView.failing of it)
        self._serial: int | None = None  # the serial of the last Items seen

    def newest_first(self, items: dict[str, dict[str, Any]]) -> tuple[Any, ...]:
        from bisect import bisect_left, insort
        from operator import itemgetter

        from cockpit.sources.velero import parse_backup

        serial = getattr(items, "serial", None)
        if serial is not None and serial == self._serial and len(self._result) == len(self._parsed):
            return self._result  # the very copy seen last (another Velero list changed)
        touched = getattr(items, "touched", None)
        chained = touched is not None and self._serial is not None and getattr(items, "previous", None) == \
            self._serial
        self._serial = serial
        parsed = self._parsed
        if chained:
            gone = [parsed.pop(key)[2] for key in touched if key in parsed and key not in items]
            looked = [(key, items[key]) for key in touched if key in items]
        else:
            gone = [parsed.pop(key)[2] for key in (parsed.keys() - items.keys())] if parsed else []
            looked = items.items()
        came: list[tuple[Any, ...]] = []
        for key, obj in looked:
            cached = parsed.get(key)
            if cached is not None and cached[0] is obj:  # the watch cache hands back the same object: unchanged
                continue
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            version = meta.get("resourceVersion") if isinstance(meta, dict) else None
            version = version if isinstance(version, str) else ""
            if version and cached is not None and cached[1] == version:  # a relist: a new dict, the same object
                parsed[key] = (obj, version, cached[2])
                continue
            # without a resourceVersion an object is never trusted to be unchanged, unless it is the very same dict
            backup = obj.get(PARSED) if isinstance(obj, dict) and PARSED in obj else parse_backup(obj)
            # parse_velero's order: newest first by start (else creation) time, then name (the key: unique)
            entry = ((backup.started_at or backup.created_at or _EPOCH), backup.name, key)
            if cached is not None:
                gone.append(cached[2])
            parsed[key] = (obj, version, (entry, backup))
            came.append((entry, backup))
        if not gone and not came and len(self._result) == len(parsed):
            return self._result
        order, bad = self._order, self._bad
        first = itemgetter(0)
        if len(gone) + len(came) > self.RESORT_ABOVE or len(order) - len(gone) + len(came) != len(parsed):
            order = [value[2] for value in parsed.values()]
            order.sort(key=first)
            bad = [pair for pair in order if pair[1].bad]
            self._deleting = sum(1 for pair in order if pair[1].deleting)
        else:
            for old in gone:
                for rows in (order, bad) if old[1].bad else (order,):
                    at = bisect_left(rows, old[0], key=first)
                    if at < len(rows) and rows[at][0] == old[0]:
                        del rows[at]
                self._deleting -= old[1].deleting
            for pair in came:
                insort(order, pair, key=first)
                if pair[1].bad:
                    insort(bad, pair, key=first)
                self._deleting += pair[1].deleting
        self._order, self._bad = order, bad
        self._result = tuple(map(itemgetter(1), reversed(order)))
        self._failing = (self._result, (tuple(map(itemgetter(1), reversed(bad))), self._deleting))
        return self._result

    def warm(self, view: Any) -> None:
        """Hand ``view`` its ``failing`` (kept here, in the feed's thread; the pane reads it on the UI's event
        loop) when it shows the backups this made last; any other view works it out here."""
        last = self._failing
        if last is not None and last[0] is view.backups:
            view.__dict__["failing"] = last[1]  # where functools.cached_property keeps it
        else:
            view.failing  # noqa: B018 - worked out now, in this thread


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


TRACK_PANES: dict[str, tuple[str, ...]] = {
    "apps": ("argocd",),
    "rollouts": ("rollout",),
    "replicasets": ("rollout",),
    "pods": ("rollout",),
    "analysisruns": ("analysis",),  # and, through the Rollout, from "rollout" (_set_rollout)
    "clusters": ("cnpg",),
    "objectstores": ("cnpg",),
    "backups": ("velero",),
    "schedules": ("velero",),
    "restores": ("velero",),
    "locations": ("velero",),
}
PANE_TRACKS: dict[str, tuple[str, ...]] = {}
for _track, _panes in TRACK_PANES.items():
    for _pane in _panes:
        PANE_TRACKS.setdefault(_pane, ())
        PANE_TRACKS[_pane] += (_track,)


def _watch_words(entries: list[_Track]) -> str:
    if not entries:
        return ""
    phases = {entry.phase for entry in entries}
    if "retrying" in phases:
        delay = max(entry.retry_in for entry in entries if entry.phase == "retrying")
        return f"reconnecting in {delay:.0f}s"
    if "relisting" in phases:
        return "relisting"
    if "listing" in phases:
        return "listing"
    if phases <= {"connected"}:
        return "watch connected"
    return "/".join(sorted(phases))


class LatencyFeed:
    """The p99 pane's feed: one Prometheus fetch at a time, from a worker thread; keeps the last good data."""

    def __init__(self, context: str, *, clock: Clock, emit: Emit) -> None:
        self.context = context
        self.clock = clock
        self.emit = emit
        self.snapshot = PaneSnapshot("latency", context)

    def poll(self, source: Any) -> PaneSnapshot:
        now = self.clock.now()
        previous = self.snapshot
        try:
            view = source.fetch(now)
        except SourceError as err:
            snap = PaneSnapshot("latency", self.context, previous.data,
                                FeedStatus(FeedState.ERROR, updated_at=previous.status.updated_at, error=str(err)))
        else:
            snap = PaneSnapshot("latency", self.context, view, FeedStatus(FeedState.OK, updated_at=now))
        self.snapshot = snap
        self.emit(snap)
        return snap

    def failed(self, reason: str) -> None:
        """The poll itself crashed (a bug): keep the last good data, say why."""
        previous = self.snapshot
        self.snapshot = PaneSnapshot("latency", self.context, previous.data,
                                     FeedStatus(FeedState.ERROR, updated_at=previous.status.updated_at, error=reason))
        self.emit(self.snapshot)

    def unconfigured(self, reason: str) -> None:
        self.snapshot = PaneSnapshot("latency", self.context, None, FeedStatus(FeedState.MISSING, error=reason))
        self.emit(self.snapshot)


ARCHIVER_SECONDS = 60.0  # the archiver metrics are read this often (CNPG's exporter is scraped every 30-60 s)
ARCHIVER_WAIT = 2.0  # ... or sooner while the clusters are not listed yet
ARCHIVER_BATCH = 50  # clusters per query (one regex of pod names, a few KB of URL); a namespace with more takes several


class ArchivingFeed:
    """WAL archiving health of the CNPG clusters in view, from CloudNativePG's ``cnpg_pg_stat_archiver_*`` metrics.

    One instant query per namespace (:func:`cockpit.sources.cnpg.archivers_query`, the pods of up to
    :data:`ARCHIVER_BATCH` clusters) every :data:`ARCHIVER_SECONDS`, through the p99 pane's Prometheus client
    (bounded, with its deadline); the samples go to :meth:`ContextFeeds.set_archiving`.  When Prometheus cannot be
    read, every cluster gets None (the ``ContinuousArchiving`` condition then decides) and the pane says why.
    Polls never overlap (the periodic one and one asked for because the clusters changed)."""

    def __init__(self, context: str, *, clock: Clock) -> None:
        self.context = context
        self.clock = clock
        self.queries = 0
        self._lock = threading.Lock()

    def poll(self, source: Any, feeds: Any) -> float:
        """Read the metrics of the clusters ``feeds`` shows; the seconds until the next poll.  Blocking."""
        from cockpit.sources.cnpg import archivers_query, parse_archiver_samples, samples_of

        with self._lock:
            targets = feeds.archiving_targets() if feeds is not None else None
            if targets is None:
                return ARCHIVER_WAIT
            if not targets:
                return ARCHIVER_SECONDS
            by_namespace: dict[str, list[str]] = {}
            for namespace, name in targets:
                by_namespace.setdefault(namespace, []).append(name)
            now = self.clock.now()
            found: dict[tuple[str, str], Any] = {}
            try:
                for namespace, names in sorted(by_namespace.items()):
                    for start in range(0, len(names), ARCHIVER_BATCH):
                        batch = names[start:start + ARCHIVER_BATCH]
                        self.queries += 1
                        samples = parse_archiver_samples(source.instant(archivers_query(namespace, batch), now))
                        for name in batch:
                            found[(namespace, name)] = samples_of(samples, name)
            except SourceError as err:
                feeds.set_archiving({target: None for target in targets},
                                    f"WAL archiving metrics not read ({err}): the ContinuousArchiving condition "
                                    "decides")
                return ARCHIVER_SECONDS
            feeds.set_archiving(found)
            return ARCHIVER_SECONDS
