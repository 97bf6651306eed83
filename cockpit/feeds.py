"""The live feeds: per context, the watches and polls behind the six panes, combined into PaneSnapshots.

Reads flow one way: watch/poll thread -> ``ContextFeeds`` (raw caches, parsed views, freshness) -> ``emit`` ->
the session, which puts the snapshot into its pane store (the only truth widgets draw from).  The feeds never
touch the UI; ``emit`` is the only way out, and it may be called from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from cockpit.clock import Clock
from cockpit.models import CnpgPaneData, FeedState, FeedStatus, PaneSnapshot, RolloutView
from cockpit.sources.errors import ErrorKind, SourceError

Emit = Callable[[PaneSnapshot], None]


@dataclass
class _Track:
    """Raw cache and watch state of one ResourceWatch."""

    items: dict[str, dict[str, Any]]
    phase: str = "listing"
    error: SourceError | None = None
    retry_in: float = 0.0
    synced: bool = False
    changed_at: datetime | None = None


class ContextFeeds:
    """Everything one context's dashboard shows, kept current by list+watch (Kubernetes) and polling (Prometheus)."""

    def __init__(self, settings: Any, context: str, kube: Any, *, clock: Clock, emit: Emit, namespace: str) -> None:
        from cockpit.sources import kube as k

        self.settings = settings
        self.context = context
        self.kube = kube
        self.clock = clock
        self.emit = emit
        self.namespace = namespace
        self.cnpg_namespace = settings.cnpg_namespace or namespace
        self._lock = threading.RLock()
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

        def name_selector(name: str | None) -> str:
            return f"metadata.name={name}" if name else ""

        specs = [
            ("apps", k.APPLICATIONS, settings.argocd_namespace, "", name_selector(settings.app)),
            ("rollouts", k.ROLLOUTS, namespace, "", name_selector(settings.rollout)),
            ("replicasets", k.REPLICA_SETS, namespace, None, ""),
            ("analysisruns", k.ANALYSIS_RUNS, namespace, None, ""),
            # every cluster of the namespace: the pane picks one, and a PITR run's recovery Cluster must be seen
            ("clusters", k.CNPG_CLUSTERS, self.cnpg_namespace, "", ""),
            ("objectstores", k.OBJECT_STORES, self.cnpg_namespace, "", ""),
            ("backups", k.VELERO_BACKUPS, settings.velero_namespace, "", ""),
            ("schedules", k.VELERO_SCHEDULES, settings.velero_namespace, "", ""),
            ("restores", k.VELERO_RESTORES, settings.velero_namespace, "", ""),
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
            )

    # -- watch callbacks (watch threads) ---------------------------------------------------------------------

    def _changed(self, track: str) -> Callable[[dict[str, dict[str, Any]]], None]:
        def on_change(items: dict[str, dict[str, Any]]) -> None:
            with self._lock:
                entry = self.tracks[track]
                entry.items = items
                entry.synced = True
                entry.error = None
                entry.changed_at = self.clock.now()
                self._recompute(track)
                if track == "namespaces":  # not a pane: tell the decision tree the namespace changed
                    self.emit(PaneSnapshot("namespace", self.context, None, FeedStatus(FeedState.OK)))

        return on_change

    def _state(self, track: str) -> Callable[[Any], None]:
        def on_state(state: Any) -> None:
            with self._lock:
                entry = self.tracks[track]
                entry.phase = state.phase
                entry.retry_in = state.retry_in
                if state.error is not None:
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

    # -- combining ------------------------------------------------------------------------------------------

    def _status(self, tracks: tuple[str, ...], *, has_data: bool, optional: tuple[str, ...] = ()) -> FeedStatus:
        entries = [self.tracks[t] for t in tracks]
        errors = [(t, self.tracks[t].error) for t in tracks if self.tracks[t].error is not None]
        changed = [e.changed_at for e in entries if e.changed_at is not None]
        updated = max(changed) if changed else None
        watch = _watch_words([e for t, e in zip(tracks, entries) if e.phase != "idle"])
        for track, err in errors:
            if track in optional and err.kind is ErrorKind.MISSING:
                continue
            if err.kind is ErrorKind.MISSING:
                return FeedStatus(FeedState.MISSING, updated_at=updated, error=str(err), watch=watch)
            return FeedStatus(FeedState.ERROR, updated_at=updated if has_data else None, error=str(err), watch=watch)
        main = entries[0]
        if not main.synced:
            return FeedStatus(FeedState.LOADING, watch=watch)
        return FeedStatus(FeedState.OK, updated_at=updated, watch=watch)

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

    def _pane_rollout(self) -> PaneSnapshot:
        from cockpit.sources.rollouts import parse_rollout

        status = self._status(("rollouts", "replicasets"), has_data=self._previous("rollout") is not None)
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
        view = parse_rollout(obj, list(self.tracks["replicasets"].items.values()))
        self._set_rollout(view)
        return PaneSnapshot("rollout", self.context, view, status)

    def _set_rollout(self, view: RolloutView | None) -> None:
        """Narrow the ReplicaSet and AnalysisRun watches to this rollout (MECHANICS (d): label selectors)."""
        self._rollout = view
        if view is None:
            return
        labels = ",".join(f"{key}={value}" for key, value in sorted(view.match_labels.items()))
        self.watches["replicasets"].set_label_selector(labels or "rollouts-pod-template-hash")
        if view.canary_hash:
            # the pod hash only: the Rollouts CLI matches runs by ownerReference + this label, and controllers
            # before v1.6 never put the Rollout's selector labels on AnalysisRuns (analysisrun_info.go)
            self.watches["analysisruns"].set_label_selector(f"rollouts-pod-template-hash={view.canary_hash}")
        self._recompute_analysis()

    def _recompute_analysis(self) -> None:
        snap = self._pane_analysis()
        if self.snapshots.get("analysis") != snap:
            self.snapshots["analysis"] = snap
            self.emit(snap)

    def _pane_analysis(self) -> PaneSnapshot:
        from cockpit.sources.analysis import runs_for_rollout

        rollout = self._rollout
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
        from cockpit.sources.cnpg import parse_cluster

        status = self._status(("clusters", "objectstores"), has_data=self._previous("cnpg") is not None,
                              optional=("objectstores",))
        stores = {item.get("metadata", {}).get("name", ""): item for item in self.tracks["objectstores"].items.values()}
        clusters = tuple(
            sorted((parse_cluster(item, stores) for item in self.tracks["clusters"].items.values()),
                   key=lambda view: view.name)
        )
        if status.state is FeedState.OK and not clusters:
            status = replace(status, state=FeedState.EMPTY,
                             error=f"no CloudNativePG clusters in {self.cnpg_namespace}")
        if status.stale and not clusters:
            return PaneSnapshot("cnpg", self.context, self._previous("cnpg"), status)
        return PaneSnapshot("cnpg", self.context, CnpgPaneData(clusters, self.chosen.get("cnpg", "")), status)

    def _pane_velero(self) -> PaneSnapshot:
        from cockpit.models import VeleroView
        from cockpit.sources.velero import parse_velero

        from cockpit.sources.velero import parse_restores

        status = self._status(("backups", "schedules", "restores"), has_data=self._previous("velero") is not None,
                              optional=("restores",))
        if status.stale and not self.tracks["backups"].items:
            return PaneSnapshot("velero", self.context, self._previous("velero"), status)
        schedules = parse_velero((), list(self.tracks["schedules"].items.values())).schedules
        restores = parse_restores(list(self.tracks["restores"].items.values()))
        view = VeleroView(self._backups.newest_first(self.tracks["backups"].items), schedules, restores)
        return PaneSnapshot("velero", self.context, view, status)

    def stop(self) -> None:
        for watch in self.watches.values():
            watch.stop()


class ParsedBackups:
    """Velero backups parsed once per resourceVersion, in :func:`~cockpit.sources.velero.parse_velero`'s order.

    A platform keeps thousands of backups and every watch event hands the store the whole cache: parsing all of
    them again (timestamps, mostly) took ~140 ms for 10 000, so one new backup froze the pane that long.  Here an
    event re-parses the objects whose resourceVersion changed; the rest are the same objects as last time, so
    sorting is cheap and comparing the new snapshot with the old one is mostly identity checks.
    """

    def __init__(self) -> None:
        # key -> (the raw object last parsed, its resourceVersion, (order, VeleroBackup))
        self._parsed: dict[str, tuple[Any, str, tuple[Any, ...]]] = {}
        self._order: list[tuple[Any, ...]] = []  # the last result, kept sorted: a re-sort is then nearly free

    def newest_first(self, items: dict[str, dict[str, Any]]) -> tuple[Any, ...]:
        from cockpit.sources.velero import parse_backup

        parsed: dict[str, tuple[Any, str, tuple[Any, ...]]] = {}
        changed = len(items) != len(self._parsed)
        for key, obj in items.items():
            cached = self._parsed.get(key)
            if cached is not None and cached[0] is obj:  # the watch cache hands back the same object: unchanged
                parsed[key] = cached
                continue
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            version = meta.get("resourceVersion") if isinstance(meta, dict) else None
            version = version if isinstance(version, str) else ""
            if version and cached is not None and cached[1] == version:  # a relist: a new dict, the same object
                parsed[key] = (obj, version, cached[2])
                continue
            backup = parse_backup(obj)
            # parse_velero's order: newest first by start (else creation) time, then name
            order = ((backup.started_at or backup.created_at or _EPOCH), backup.name, key)
            parsed[key] = (obj, version, (order, backup))
            changed = True
        # without a resourceVersion an object is never trusted to be unchanged, unless it is the very same dict
        self._parsed = parsed
        if changed or len(parsed) != len(self._order):
            entries = [entry[2] for entry in parsed.values()]
            entries.sort(key=lambda pair: pair[0], reverse=True)
            self._order = entries
        return tuple(pair[1] for pair in self._order)


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


TRACK_PANES: dict[str, tuple[str, ...]] = {
    "apps": ("argocd",),
    "rollouts": ("rollout",),
    "replicasets": ("rollout",),
    "analysisruns": ("analysis",),
    "clusters": ("cnpg",),
    "objectstores": ("cnpg",),
    "backups": ("velero",),
    "schedules": ("velero",),
    "restores": ("velero",),
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
