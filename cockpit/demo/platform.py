"""The embedded demo platform: a Kubernetes API emulator, a Prometheus HTTP API, a Flagsmith-shaped flag service,
a GitOps origin and (for the no-deploy scenarios) moto's S3, all on 127.0.0.1, playing one incident per scenario
(``cockpit.demo.scenarios``) and reacting to the cockpit's writes the way the real controllers would:

* **Argo Rollouts**: ``status.abort`` scales the canary to 0 (stable keeps 100%), ``abort: false`` re-rolls it; a
  pod template set back to an earlier ReplicaSet's (``undo``, or an Argo CD sync of an older revision) is
  fast-tracked within ``rollbackWindow``;
* **Argo CD**: an ``.operation.sync`` (rollback to a history id, or a sync of ``targetRevision``) is resolved against
  the GitOps origin, deploys what that revision says (image tag, ResourceQuota), appends history and sets
  sync/health; with auto-sync on, a new commit on the tracked branch is synced by itself;
* **a reviewer on the forge**: a pushed branch whose tip is a ``git revert`` is merged into the tracked branch on
  the origin after a short review;
* **Velero**: a ``Restore`` goes InProgress -> Finalizing -> Completed (``startTimestamp``, ``progress``,
  ``completionTimestamp``) and recreates what the backup held (the tenant namespace and its objects);
* **CloudNativePG**: a recovery ``Cluster`` (``bootstrap.recovery``) goes "Setting up primary" -> "Creating a new
  replica" -> "Cluster in healthy state", ``readyInstances`` climbing to ``instances``;
* **Flagsmith**: ``PATCH .../featurestates/{id}/`` turns a flag off; **S3**: removing the delete markers brings the
  objects back (moto); **Helm**: a new ``deployed`` release Secret (what ``helm rollback`` writes) -- the demo
  cannot run helm itself when the binary is missing, and says so through the cockpit's own check;
* **the p99** (``promapi``) climbs when the scenario's regression starts and falls back after the mitigation that
  cures it (``Scenario.cures``); the PITR cut-over is manual, so in ``forward-only`` the p99 follows the code
  rollback.

The cockpit talks to all of it through exactly the same clients as to real systems.  Controller work runs on one
scheduler thread (:class:`_Scheduler`), so it never races itself; delays come from :class:`Timing`
(``Timing.fast()`` for tests).
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
import itertools
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cockpit.demo import scenario
from cockpit.demo.scenarios import DEFAULT_SCENARIO, SCENARIO_FOR_RUNBOOK, SCENARIOS, Scenario, scenario_for

__all__ = ["DEMO_CONTEXT", "SCENARIOS", "SCENARIO_FOR_RUNBOOK", "DemoPlatform", "DemoUnavailable", "Timing",
           "demo_settings"]

DEMO_CONTEXT = "demo-us-east"
GOOD_TAG = "v1.5.0"
FLAG_ADMIN_TOKEN_ENV = "FLAGSMITH_ADMIN_TOKEN"
_APPS = ("argoproj.io/v1alpha1", "applications")
_ROLLOUTS = ("argoproj.io/v1alpha1", "rollouts")
_RS = ("apps/v1", "replicasets")
_QUOTAS = ("v1", "resourcequotas")


class DemoUnavailable(RuntimeError):
    """The scenario cannot run on this machine (moto missing for S3); the message says what to install."""


@dataclass(frozen=True)
class Timing:
    """How long the demo's controllers take: realistic-but-short by default, near zero in tests."""

    abort: float = 0.5  # Argo Rollouts reacting to status.abort
    rollout: float = 2.0  # a pod template change rolled out (fast-tracked rollback)
    sync: float = 1.0  # Argo CD running a sync operation
    autosync: float = 3.0  # Argo CD noticing a new commit (really every 3 minutes)
    review: float = 8.0  # a pushed revert branch is reviewed and merged
    poll: float = 0.5  # the forge and S3 are looked at this often
    restore_start: float = 1.5  # Velero picking a Restore up
    restore_items: float = 5.0  # restoring the items
    restore_finalize: float = 1.0
    cnpg_primary: float = 4.0  # base backup restored + WAL replayed up to the target
    cnpg_replica: float = 3.0  # each replica cloned from the primary
    recovery: float = 60.0  # the p99 falls back over this long after the cure

    @classmethod
    def fast(cls) -> "Timing":
        return cls(abort=0.05, rollout=0.05, sync=0.05, autosync=0.1, review=0.2, poll=0.05, restore_start=0.05,
                   restore_items=0.2, restore_finalize=0.05, cnpg_primary=0.1, cnpg_replica=0.1, recovery=0.5)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Scheduler:
    """One thread running the controllers' work in due order; ``stop()`` drops what is left and joins it."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # tracebacks of controller bugs (no worker dies silently)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="demo-controllers")
        self._thread.start()

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._queue, (time.monotonic() + max(0.0, delay), next(self._counter), fn))
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._queue)
            try:
                fn()
            except Exception:  # noqa: BLE001 - recorded, the other controllers keep going
                self.errors.append(traceback.format_exc())


class DemoPlatform:
    """Every server, seeded for one scenario; ``start()`` / ``stop()``; ``kubeconfig``, ``prometheus_url`` and
    :func:`demo_settings` point the cockpit at it."""

    def __init__(self, scenario: str = DEFAULT_SCENARIO, *, now: datetime | None = None,
                 workdir: Path | None = None, recovery_seconds: float | None = None,
                 timing: Timing | None = None, absent_apis: tuple[str, ...] = ()) -> None:
        self.scenario: Scenario = scenario_for(scenario)
        self.absent_apis = tuple(absent_apis)  # CRDs this cluster lacks ("schedules.velero.io"): objects not seeded
        self.archiving_broken: dict[str, float] = {}  # CNPG cluster -> unix time its WAL archiving began failing
        self.now = now or _now()
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
        self.timing = timing or Timing()
        if recovery_seconds is not None:
            self.timing = dataclasses.replace(self.timing, recovery=recovery_seconds)
        self.kube: Any = None
        self.prom: Any = None
        self.flags: Any = None
        self.s3: Any = None  # cockpit.demo.s3demo.S3Demo when the scenario has S3
        self.kubeconfig: Path = self.workdir / "kubeconfig"
        self.gitops_repo: Path | None = None
        self.origin: Path | None = None
        self.revisions: dict[int, str] = _default_revisions()  # the real SHAs arrive in start()
        sc = self.scenario
        regress = sc.regress_ago if sc.regress_ago is not None else sc.ages[42]
        self.regress_at: float | None = (self.now - regress).timestamp()
        self.recover_at: float | None = None
        self.gone_at: float | None = None  # velero-restore: the namespace has no pods, so no p99 at all
        self.restored_at: float | None = None
        self.rollout_uid = ""
        self.notes: list[str] = []  # what the platform could not set up (shown by run_demo)
        self.events: list[tuple[float, str, str]] = []  # (time, controller, what it did)
        self.merged: dict[str, str] = {}  # revert branch -> merge commit on the origin
        self.backup_contents: dict[str, list[dict[str, Any]]] = {}  # Velero backup -> the objects it holds
        self._seen_branches: dict[str, str] = {}
        self._pr_numbers = itertools.count(43)
        self._lock = threading.RLock()
        self._scheduler = _Scheduler()
        self._started = False

    # ------------------------------------------------------------------ compatibility and settings

    @property
    def deploy_at(self) -> float | None:
        return self.regress_at

    @deploy_at.setter
    def deploy_at(self, value: float | None) -> None:
        self.regress_at = value

    @property
    def recovery_seconds(self) -> float:
        return self.timing.recovery

    @property
    def prometheus_url(self) -> str:
        return self.prom.url

    @property
    def controller_errors(self) -> list[str]:
        return list(self._scheduler.errors)

    def _event(self, controller: str, what: str) -> None:
        self.events.append((time.time(), controller, what))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "DemoPlatform":
        from cockpit.demo import gitops
        from cockpit.demo.flags import FlagServer
        from cockpit.demo.kubeapi import KubeEmulator
        from cockpit.demo.promapi import PromApi

        sc = self.scenario
        s3_module = None
        if sc.s3:
            from cockpit.demo import s3demo

            s3_module = s3demo
        try:
            if s3_module is not None:
                try:
                    self.s3 = s3_module.start_server()
                except s3_module.S3Unavailable as err:
                    if sc.s3 == "required":
                        raise DemoUnavailable(f"scenario {sc.name} needs S3: {err}") from None
                    self.notes.append(f"no S3 in this demo: {err}")
                if self.s3 is not None:
                    s3_module.seed(self.s3.client(), cleanup_ran=sc.name == "s3-restore")
            deployed = {hid: self.now - ago for hid, ago in sc.ages.items()}
            self.gitops_repo, self.revisions = gitops.build(self.workdir / "gitops", deployed, sc.release)
            self.origin = self.workdir / "gitops" / "origin.git"
            self._seen_branches = gitops.origin_refs(self.origin)
            self.kube = KubeEmulator(absent=self.absent_apis).start()
            self.prom = PromApi(self.p99, metrics=self.archiver_series)
            self.prom.start()
            updated = {scenario.FLAG: self.now - sc.flag_on_ago} if sc.flag_on_ago else None
            self.flags = FlagServer({scenario.FLAG: (sc.flag_on, "meilisearch_v1"), "checkout_express": (False, None)},
                                    updated=updated, on_change=self._flag_changed).start()
            self.seed()
            self.kube.write_kubeconfig(self.kubeconfig, context=DEMO_CONTEXT, namespace=scenario.APP_NAMESPACE)
            self.kube.on_write(self._on_write)
            self._scheduler.start()
            self._started = True
            self._scheduler.call_later(self.timing.poll, self._watch_origin)
            if self.s3 is not None and sc.name == "s3-restore":
                self._scheduler.call_later(self.timing.poll, self._watch_s3)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._scheduler.stop()
        for server in (self.kube, self.prom, self.flags, self.s3):
            if server is not None:
                try:
                    server.stop()
                except Exception:  # noqa: BLE001 - stopping the rest matters more
                    pass
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "DemoPlatform":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the p99

    def p99(self, t: float) -> float | None:
        if self.gone_at is not None and t >= self.gone_at and (self.restored_at is None or t < self.restored_at):
            return None  # no pods, no histogram: Prometheus has no sample
        if self.scenario.name == "forward-only":  # the default incident, exactly as before
            return scenario.p99_at(t, deploy_at=self.regress_at or 0.0, recover_at=self.recover_at,
                                   recovery_seconds=self.recovery_seconds)
        return scenario.latency(t, regress_at=self.regress_at, recover_at=self.recover_at,
                                recovery_seconds=self.recovery_seconds, peak=self.scenario.peak)

    def _cure(self, event: str) -> None:
        """A mitigation took effect: when it is the one this scenario's regression needs, the p99 falls back."""
        self._event("p99", f"mitigation {event}")
        if event in self.scenario.cures and self.recover_at is None:
            self.recover_at = time.time()

    # ------------------------------------------------------------------ CloudNativePG's archiver metrics

    def archiver_series(self, t: float) -> list[tuple[dict[str, str], float]]:
        """What CloudNativePG's exporter reports for each cluster's primary at unix time ``t`` (the default
        monitoring queries' ``cnpg_pg_stat_archiver_*``, labelled as a PodMonitor scrape labels them): a WAL
        segment archived every :data:`ARCHIVE_EVERY` seconds and no failure, or, for a cluster in
        ``archiving_broken``, every attempt failing since then (the failed count rising, the last archival old)."""
        try:
            clusters = self.kube.list_objects("postgresql.cnpg.io/v1", "clusters") if self.kube is not None else []
        except KeyError:  # CloudNativePG is not installed in this cluster
            return []
        out: list[tuple[dict[str, str], float]] = []
        for cluster in clusters:
            meta, status = _map(cluster.get("metadata")), _map(cluster.get("status"))
            primary = str(status.get("currentPrimary") or "")
            if not primary or not status.get("readyInstances"):
                continue
            if _map(meta.get("annotations")).get("cnpg.io/skipWalArchiving") == "enabled":
                continue
            tick = t // ARCHIVE_EVERY * ARCHIVE_EVERY
            broken = self.archiving_broken.get(str(meta.get("name") or ""))
            if broken is not None and t >= broken:
                last_archived, last_failed = broken - ARCHIVE_EVERY, tick
                failed = float(int((t - broken) // ARCHIVE_EVERY) + 1)
            else:
                last_archived, last_failed, failed = tick - 2.0, -1.0, 0.0
            labels = {"namespace": str(meta.get("namespace") or ""), "pod": primary, "container": "postgres",
                      "job": "cnpg-system/cnpg-monitoring", "instance": f"{primary}:9187"}
            for name, value in (("last_archived_time", last_archived), ("last_failed_time", last_failed),
                                ("failed_count", failed), ("seconds_since_last_archival", t - last_archived)):
                out.append(({"__name__": f"cnpg_pg_stat_archiver_{name}", **labels}, value))
        return out

    # ------------------------------------------------------------------ seeding

    def _seed(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Seed one object as a controller writes it; a ReplicaSet's pods follow it (the ReplicaSet controller).
        An object of an API this cluster lacks (``absent_apis``) is not stored."""
        if self.kube.registry.by_kind(str(obj.get("apiVersion")), str(obj.get("kind"))) is None and \
                str(obj.get("kind")) in self._absent_kinds():
            return copy.deepcopy(obj)
        stored = self.kube.seed(obj)
        if stored.get("kind") == "ReplicaSet":
            self._sync_pods(stored)
        return stored

    def _absent_kinds(self) -> set[str]:
        return {rt.kind for rt in self.kube.uninstalled.values()}

    def _sync_pods(self, rs: dict[str, Any]) -> None:
        """The ReplicaSet's pods: ``status.replicas`` of them, the first ``readyReplicas`` Running and ready, the
        rest still ContainerCreating; pods beyond that are deleted."""
        meta, status = _map(rs.get("metadata")), _map(rs.get("status"))
        ns, name, uid = str(meta.get("namespace") or ""), str(meta.get("name") or ""), str(meta.get("uid") or "")
        count, ready = int(status.get("replicas") or 0), int(status.get("readyReplicas") or 0)
        template = _map(_map(rs.get("spec")).get("template"))
        existing = {pod["metadata"]["name"]: pod for pod in self.kube.list_objects("v1", "pods", ns)
                    if any(ref.get("uid") == uid for ref in pod["metadata"].get("ownerReferences") or [])}
        wanted = [f"{name}-{_pod_suffix(name, index)}" for index in range(count)]
        for extra in set(existing) - set(wanted):
            self.kube.delete_object("v1", "pods", ns, extra)
        created = str(meta.get("creationTimestamp") or _iso(_now()))
        for index, pod_name in enumerate(wanted):
            running = index < ready
            old = existing.get(pod_name)
            if old is not None and (_map(old.get("status")).get("phase") == "Running") == running:
                continue
            self.kube.seed(_pod(pod_name, ns, name, uid, template, running,
                                created if old is None and index < ready else _iso(_now())))


    def seed(self) -> None:
        sc, now = self.scenario, self.now
        workload = sc.workload
        for obj in scenario.namespaces():
            if workload == "gone" and obj["metadata"]["name"] == scenario.APP_NAMESPACE:
                continue
            self._seed(obj)
        if workload != "helm":
            self._seed(scenario.app_project())
            self._seed(self._application())
        if workload == "canary":
            stored = self._seed(scenario.rollout(now))
            self.rollout_uid = stored["metadata"]["uid"]
            for rs in scenario.replica_sets(self.rollout_uid, now):
                self._seed(rs)
            self._seed(scenario.analysis_run(self.rollout_uid, now))
        elif workload in ("promoted", "gone"):
            objects = self._promoted_objects(now)
            if workload == "promoted":
                self._seed_tenant(objects)
            else:
                self.gone_at = (now - timedelta(minutes=9)).timestamp()
        elif workload == "quota":
            self._seed_tenant(self._quota_objects(now, cpu="2"))
        elif workload == "helm":
            from cockpit.demo import helmdemo

            for obj in helmdemo.secrets(scenario.APP_NAMESPACE, now) + helmdemo.workload(scenario.APP_NAMESPACE, now):
                self._seed(obj)
        for obj in scenario.cnpg_objects(now) + scenario.velero_objects(now):
            self._seed(obj)
        for obj in scenario.velero_objects(now):
            if obj["kind"] == "Backup" and scenario.APP_NAMESPACE in obj["spec"].get("includedNamespaces", []):
                self.backup_contents[obj["metadata"]["name"]] = self._tenant_backup(now)

    def _application(self) -> dict[str, Any]:
        sc, now = self.scenario, self.now
        kwargs: dict[str, Any] = {"ages": sc.ages, "auto_sync": sc.auto_sync}
        if sc.workload == "promoted":
            kwargs.update(health=("Healthy", ""), images=(f"{scenario.IMAGE}:v1.5.1",))
        elif sc.workload == "quota":
            kwargs.update(tags=dict.fromkeys((39, 40, 41, 42), GOOD_TAG), images=(f"{scenario.IMAGE}:{GOOD_TAG}",),
                          health=("Progressing", "Waiting for rollout to finish: 4 of 6 updated replicas are "
                                                 "available..."),
                          initiated_by={42: {"username": "dana"}})
        elif sc.workload == "gone":
            kwargs.update(health=("Missing", ""), sync_status="OutOfSync", images=(f"{scenario.IMAGE}:v1.5.1",))
        return scenario.application(now, self.revisions, **kwargs)

    def _promoted_objects(self, now: datetime) -> list[dict[str, Any]]:
        """The tenant with v1.5.1 fully promoted (6 minutes ago in argocd-rollback, hours ago otherwise)."""
        since = timedelta(minutes=6) if self.scenario.name == "argocd-rollback" else timedelta(hours=3)
        rollout = scenario.rollout_settled(now, pod_hash=scenario.CANARY_HASH, since=since)
        started = self.scenario.ages[42] - timedelta(minutes=1)
        return [rollout, *scenario.replica_sets_settled("", now, pod_hash=scenario.CANARY_HASH),
                scenario.analysis_run_passed("", now, started), self._quota(now, "10"), self._config_map(now)]

    def _quota_objects(self, now: datetime, cpu: str) -> list[dict[str, Any]]:
        message = (f"ReplicaSet \"catalog-{scenario.STABLE_HASH}\": pods \"catalog-{scenario.STABLE_HASH}-5xq2t\" is "
                   "forbidden: exceeded quota: catalog-quota, requested: cpu=500m, used: cpu=2, limited: cpu=2")
        rollout = scenario.rollout_settled(now, pod_hash=scenario.STABLE_HASH, since=timedelta(days=2), replicas=6,
                                           available=4, message=message)
        return [rollout, *scenario.replica_sets_settled("", now, pod_hash=scenario.STABLE_HASH, replicas=6,
                                                        available=4),
                self._quota(now, cpu), self._config_map(now)]

    @staticmethod
    def _quota(now: datetime, cpu: str) -> dict[str, Any]:
        hard = {"cpu": cpu, "memory": "24Gi", "pods": "20"}
        used_cpu = "2" if cpu == "2" else "3"
        return {"apiVersion": "v1", "kind": "ResourceQuota",
                "metadata": {"name": "catalog-quota", "namespace": scenario.APP_NAMESPACE,
                             "labels": {"argocd.argoproj.io/instance": scenario.APP_NAME}},
                "spec": {"hard": hard},
                "status": {"hard": dict(hard), "used": {"cpu": used_cpu, "memory": "3Gi", "pods": "6" if cpu != "2"
                                                        else "4"}}}

    @staticmethod
    def _config_map(now: datetime) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "catalog-config", "namespace": scenario.APP_NAMESPACE,
                             "labels": {"argocd.argoproj.io/instance": scenario.APP_NAME}},
                "data": {"SEARCH_ENGINE_FLAG": scenario.FLAG, "DATABASE_HOST": "bookstore-platform-cnpg-orders-rw"}}

    def _seed_tenant(self, objects: list[dict[str, Any]]) -> None:
        """Seed tenant objects, giving ReplicaSets and AnalysisRuns the Rollout's new uid."""
        uid = ""
        for obj in objects:
            obj = copy.deepcopy(obj)
            for ref in _map(obj.get("metadata")).get("ownerReferences") or []:
                if ref.get("kind") == "Rollout":
                    ref["uid"] = uid
            stored = self._seed(obj)
            if obj["kind"] == "Rollout":
                uid = stored["metadata"]["uid"]
                self.rollout_uid = uid

    def _tenant_backup(self, now: datetime) -> list[dict[str, Any]]:
        """What last night's backup of the tenant namespace holds (the namespace first, as Velero restores it)."""
        namespace = {"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": scenario.APP_NAMESPACE,
                                  "labels": {"kubernetes.io/metadata.name": scenario.APP_NAMESPACE,
                                             "tenant": "acme-books"}},
                     "status": {"phase": "Active"}}
        return [namespace, *self._promoted_objects(now)]

    # ------------------------------------------------------------------ writes from the cockpit

    def _on_write(self, event: str, obj: dict[str, Any], request: Any) -> None:
        """Runs on the emulator's request thread: hand the work to the scheduler."""
        kind = obj.get("kind")
        meta = _map(obj.get("metadata"))
        if kind == "Rollout":
            status = _map(obj.get("status"))
            if request.path.endswith("/status"):  # kubectl argo rollouts abort / retry write the status only
                if status.get("abort") is True:
                    self._scheduler.call_later(self.timing.abort, lambda: self._abort(meta.get("name", "")))
                elif status.get("abort") is False:
                    self._scheduler.call_later(self.timing.abort, self._retry)
            else:  # a spec write: undo, a sync, an edit
                self._scheduler.call_later(self.timing.rollout,
                                           lambda: self._template_changed(meta.get("namespace", ""),
                                                                          meta.get("name", "")))
        elif kind == "Application":
            name = str(meta.get("name") or "")
            if isinstance(obj.get("operation"), dict):
                self._scheduler.call_later(self.timing.sync, lambda: self._sync(name))
            elif self._auto_sync_on(obj):
                self._scheduler.call_later(self.timing.autosync, lambda: self._auto_sync(name))
        elif kind == "Restore" and event == "ADDED":
            self._scheduler.call_later(self.timing.restore_start,
                                       lambda: self._restore_start(meta.get("namespace", ""), meta.get("name", "")))
        elif kind == "Cluster" and event == "ADDED" and _map(_map(obj.get("spec")).get("bootstrap")).get("recovery"):
            self._scheduler.call_later(self.timing.sync,
                                       lambda: self._cnpg_step(meta.get("namespace", ""), meta.get("name", ""), 0))
        elif kind == "Secret" and _map(meta.get("labels")).get("owner") == "helm":
            self._scheduler.call_later(self.timing.sync, lambda: self._helm_written(_map(meta.get("labels"))))
        elif kind == "Deployment":
            self._scheduler.call_later(self.timing.sync, lambda: self._deployment_written(obj))

    # ------------------------------------------------------------------ Argo Rollouts

    def _get(self, kind: tuple[str, str], namespace: str | None, name: str) -> dict[str, Any] | None:
        obj = self.kube.get_object(kind[0], kind[1], namespace, name)
        return copy.deepcopy(obj) if obj is not None else None

    def _abort(self, name: str) -> None:
        """Argo Rollouts on abort: canary ReplicaSet to 0, stable keeps 100%, phase Degraded."""
        with self._lock:
            ns = scenario.APP_NAMESPACE
            ro = self._get(_ROLLOUTS, ns, name or scenario.ROLLOUT)
            if ro is None:
                return
            status = ro.setdefault("status", {})
            canary, stable = status.get("currentPodHash"), status.get("stableRS")
            if not canary or canary == stable:
                self._event("rollouts", "abort of a Rollout with nothing in flight: nothing to scale")
                return
            rs = self._get(_RS, ns, f"{ro['metadata']['name']}-{canary}")
            if rs is not None:
                rs["spec"]["replicas"] = 0
                rs["status"] = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0}
                self._seed(rs)
            replicas = int(_map(ro.get("spec")).get("replicas") or 4)
            revision = _map(ro["metadata"].get("annotations")).get("rollout.argoproj.io/revision", "4")
            status.update({
                "phase": "Degraded",
                "message": f"RolloutAborted: Rollout aborted update to revision {revision}",
                "abortedAt": _iso(_now()),
                "pauseConditions": None,
                "controllerPause": False,
                "currentStepIndex": 0,
                "replicas": replicas, "updatedReplicas": 0, "readyReplicas": replicas, "availableReplicas": replicas,
            })
            status.setdefault("canary", {})["weights"] = {
                "canary": {"weight": 0, "podTemplateHash": canary, "serviceName": "catalog-canary"},
                "stable": {"weight": 100, "podTemplateHash": stable, "serviceName": "catalog-stable"},
            }
            self._seed(ro)
            run = self._get(("argoproj.io/v1alpha1", "analysisruns"), ns, f"{ro['metadata']['name']}-{canary}-4")
            if run is not None and run.get("status", {}).get("phase") == "Running":
                run["spec"]["terminate"] = True  # the controller terminates the running analysis of an aborted rollout
                run["status"]["phase"] = "Failed"
                run["status"]["message"] = "Metric \"p99-latency\" assessed Failed: rollout aborted"
                self._seed(run)
            self._event("rollouts", f"aborted {name}: canary {canary} scaled to 0")
            self._app_health()
            self._cure("abort")

    def _retry(self) -> None:
        """Leaving the aborted state re-rolls the canary (the spec still points at v1.5.1)."""
        with self._lock:
            if self.scenario.workload != "canary":
                return
            self.seed_rollout_again()
            self.recover_at = None
            self.regress_at = time.time()
            self._event("rollouts", "retried: the canary rolls again")
            self._app_health()

    def seed_rollout_again(self) -> None:
        now = _now()
        ro = scenario.rollout(now)
        current = self.kube.get_object(*_ROLLOUTS, scenario.APP_NAMESPACE, scenario.ROLLOUT)
        if current is not None:
            ro["metadata"] = current["metadata"]
            ro["spec"] = current["spec"]
        ro["status"]["abort"] = False
        self._seed(ro)
        for rs in scenario.replica_sets(self.rollout_uid, now):
            self._seed(rs)

    @staticmethod
    def _image(template: Any) -> str:
        containers = _map(_map(template).get("spec")).get("containers") or []
        return str(_map(containers[0]).get("image") or "") if containers else ""

    def _template_changed(self, namespace: str, name: str) -> None:
        """A new pod template: when an earlier ReplicaSet has it, fast-track the rollback (rollbackWindow)."""
        with self._lock:
            ro = self._get(_ROLLOUTS, namespace, name)
            if ro is None:
                return
            status = ro.setdefault("status", {})
            image = self._image(_map(ro.get("spec")).get("template"))
            sets = [rs for rs in self.kube.list_objects(*_RS, namespace)
                    if any(ref.get("kind") == "Rollout" and ref.get("name") == name
                           for ref in rs["metadata"].get("ownerReferences") or [])]
            current = next((rs for rs in sets
                            if rs["metadata"]["labels"].get("rollouts-pod-template-hash") == status.get("currentPodHash")),
                           None)
            if current is not None and self._image(current["spec"].get("template")) == image:
                return  # nothing new to roll out (an abort, a status write, a label)
            target = next((rs for rs in sets if self._image(rs["spec"].get("template")) == image), None)
            if target is None:
                status.update({"phase": "Progressing",
                               "message": f"the demo has no ReplicaSet for {image}: it does not build new ones"})
                self._seed(ro)
                self._event("rollouts", f"{name}: no ReplicaSet for {image}")
                return
            self._settle(ro, sets, target["metadata"]["labels"]["rollouts-pod-template-hash"])
            self._event("rollouts", f"{name}: fast-tracked rollback to {image}")
            if image.endswith(f":{GOOD_TAG}"):
                self._cure("rollback-image")

    def _settle(self, ro: dict[str, Any], sets: list[dict[str, Any]], pod_hash: str,
                available: int | None = None) -> None:
        """Every replica on ``pod_hash`` (others at 0), the Rollout Healthy on it."""
        ns, name = ro["metadata"]["namespace"], ro["metadata"]["name"]
        replicas = int(_map(ro.get("spec")).get("replicas") or 4)
        available = replicas if available is None else available
        revision = max(int(_map(rs["metadata"].get("annotations")).get("rollout.argoproj.io/revision") or 0)
                       for rs in sets) + 1
        for rs in sets:
            own = rs["metadata"]["labels"].get("rollouts-pod-template-hash") == pod_hash
            rs["spec"]["replicas"] = replicas if own else 0
            rs["status"] = ({"replicas": available, "readyReplicas": available, "availableReplicas": available}
                            if own else {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0})
            if own:
                rs["metadata"].setdefault("annotations", {})["rollout.argoproj.io/revision"] = str(revision)
            self._seed(rs)
        tag = self._image(next(rs for rs in sets if rs["metadata"]["labels"].get("rollouts-pod-template-hash")
                               == pod_hash)["spec"].get("template")).rpartition(":")[2]
        settled = scenario.rollout_settled(_now(), pod_hash=pod_hash, since=timedelta(0), replicas=replicas,
                                           available=available)
        settled["metadata"] = ro["metadata"]
        settled["metadata"].setdefault("annotations", {})["rollout.argoproj.io/revision"] = str(revision)
        settled["spec"] = ro["spec"]
        self._seed(settled)
        self._event("rollouts", f"{name} in {ns} settled on {pod_hash} ({tag})")
        self._app_health()

    # ------------------------------------------------------------------ Argo CD

    @staticmethod
    def _auto_sync_on(app: dict[str, Any]) -> bool:
        automated = _map(_map(app.get("spec")).get("syncPolicy")).get("automated")
        return isinstance(automated, dict) and automated.get("enabled") is not False

    def _head(self, revision: str) -> str:
        from cockpit.demo import gitops

        assert self.origin is not None
        return gitops.resolve(self.origin, revision or "HEAD")

    def _sync(self, name: str) -> None:
        """Argo CD's controller: run the requested sync, append history, clear the operation."""
        from cockpit.demo import gitops

        with self._lock:
            app = self._get(_APPS, scenario.ARGOCD_NAMESPACE, name)
            if app is None or not isinstance(app.get("operation"), dict):
                return
            operation = app["operation"]
            sync = _map(operation.get("sync"))
            spec_source = _map(_map(app.get("spec")).get("source"))
            wanted = str(sync.get("revision") or spec_source.get("targetRevision") or "HEAD")
            sha = self._head(wanted)
            now = _iso(_now())
            status = app.setdefault("status", {})
            if not sha:
                status["operationState"] = {
                    "operation": operation, "phase": "Failed", "startedAt": now, "finishedAt": now,
                    "message": f"ComparisonError: unable to resolve '{wanted}' to a commit SHA"}
                app.pop("operation", None)
                self._seed(app)
                self._event("argocd", f"sync of {name} failed: {wanted} not in the repository")
                return
            assert self.origin is not None
            deployed = gitops.render(self.origin, sha)
            tag = str(deployed.get("tag") or "")
            source = copy.deepcopy(_map(sync.get("source")) or spec_source)
            if tag and isinstance(_map(source.get("kustomize")).get("images"), list):
                source["kustomize"]["images"] = [f"{scenario.IMAGE}:{tag}"]
            history = status.setdefault("history", [])
            next_id = max((entry.get("id", 0) for entry in history), default=0) + 1
            history.append({"id": next_id, "revision": sha, "deployedAt": now, "deployStartedAt": now,
                            "source": source, "initiatedBy": operation.get("initiatedBy", {})})
            del history[: max(0, len(history) - 10)]
            resources = self._apply(deployed)
            status["operationState"] = {
                "operation": operation, "phase": "Succeeded", "message": "successfully synced (all tasks run)",
                "startedAt": now, "finishedAt": now,
                "syncResult": {"revision": sha, "source": source, "resources": resources}}
            head = self._head(str(spec_source.get("targetRevision") or "HEAD"))
            # status.sync.revision is what Argo CD compared the app with: the tracked branch's head, not what was
            # synced (a rollback leaves the app OutOfSync at the bad head until git moves)
            status["sync"] = {"status": "Synced" if sha == head else "OutOfSync", "revision": head or sha,
                              "comparedTo": {"source": spec_source,
                                             "destination": _map(app["spec"].get("destination"))}}
            status["reconciledAt"] = now
            if tag:
                status["summary"] = {"images": [f"{scenario.IMAGE}:{tag}"]}
            app.pop("operation", None)
            self._seed(app)
            self._event("argocd", f"synced {name} to {sha[:7]} (history #{next_id})")
            self._app_health()

    def _apply(self, deployed: dict[str, Any]) -> list[dict[str, Any]]:
        """Apply what a revision deploys: the image tag to the Rollout, the ResourceQuota; the sync's results."""
        results: list[dict[str, Any]] = []
        ns = str(deployed.get("namespace") or scenario.APP_NAMESPACE)
        tag = deployed.get("tag")
        ro = self._get(_ROLLOUTS, ns, scenario.ROLLOUT)
        if tag and ro is not None:
            image = f"{scenario.IMAGE}:{tag}"
            template = _map(_map(ro.get("spec")).get("template"))
            if self._image(template) != image:
                template["spec"]["containers"][0]["image"] = image
                ro.setdefault("status", {}).update({"phase": "Progressing",
                                                    "message": "more replicas need to be updated"})
                self._seed(ro)
                self._scheduler.call_later(self.timing.rollout, lambda: self._template_changed(ns, scenario.ROLLOUT))
                results.append({"group": "argoproj.io", "version": "v1alpha1", "kind": "Rollout", "namespace": ns,
                                "name": scenario.ROLLOUT, "status": "Synced", "message": "rollout.argoproj.io/catalog "
                                "configured", "hookPhase": "Running", "syncPhase": "Sync"})
        quota = deployed.get("quota")
        live = self._get(_QUOTAS, ns, "catalog-quota")
        if isinstance(quota, dict) and live is not None:
            hard = {str(k): str(v) for k, v in _map(_map(quota.get("spec")).get("hard")).items()}
            if _map(live.get("spec")).get("hard") != hard:
                live["spec"]["hard"] = hard
                live.setdefault("status", {})["hard"] = dict(hard)
                self._seed(live)
                results.append({"group": "", "version": "v1", "kind": "ResourceQuota", "namespace": ns,
                                "name": "catalog-quota", "status": "Synced",
                                "message": "resourcequota/catalog-quota configured", "syncPhase": "Sync"})
                self._scheduler.call_later(self.timing.rollout, lambda: self._quota_changed(ns))
        return results

    def _quota_changed(self, ns: str) -> None:
        """The ReplicaSet controller retries the pods the quota refused: with room again, the Rollout fills up."""
        with self._lock:
            quota = self._get(_QUOTAS, ns, "catalog-quota")
            ro = self._get(_ROLLOUTS, ns, scenario.ROLLOUT)
            if quota is None or ro is None:
                return
            cpu = str(_map(_map(quota.get("spec")).get("hard")).get("cpu") or "0")
            try:
                room = float(cpu.removesuffix("m")) / (1000 if cpu.endswith("m") else 1)
            except ValueError:
                room = 0.0
            replicas = int(_map(ro.get("spec")).get("replicas") or 4)
            fits = min(replicas, int(room / 0.5))
            pod_hash = str(_map(ro.get("status")).get("stableRS") or scenario.STABLE_HASH)
            sets = [rs for rs in self.kube.list_objects(*_RS, ns)]
            self._settle(ro, sets, pod_hash, available=fits)
            quota.setdefault("status", {})["used"] = {"cpu": f"{fits * 0.5:g}", "memory": "3Gi", "pods": str(fits)}
            self._seed(quota)
            if fits >= replicas:
                self._cure("quota")

    def _app_health(self) -> None:
        """The Application's health from the Rollout's, as Argo CD's Lua health check reads it."""
        app = self._get(_APPS, scenario.ARGOCD_NAMESPACE, scenario.APP_NAME)
        if app is None:
            return
        ro = self._get(_ROLLOUTS, scenario.APP_NAMESPACE, scenario.ROLLOUT)
        if ro is None:
            health = {"status": "Missing"}
        else:
            status = _map(ro.get("status"))
            phase = status.get("phase")
            if phase == "Healthy":
                health = {"status": "Healthy"}
            elif phase == "Paused":
                health = {"status": "Suspended", "message": "Rollout is paused"}
            elif phase == "Degraded":
                health = {"status": "Degraded", "message": str(status.get("message") or "")}
            else:
                health = {"status": "Progressing", "message": str(status.get("message") or "")}
        if _map(app.get("status")).get("health") != health:
            app.setdefault("status", {})["health"] = health
            self._seed(app)

    def _auto_sync(self, name: str) -> None:
        """Auto-sync: the tracked branch moved past what is deployed, and automated sync is on."""
        with self._lock:
            app = self._get(_APPS, scenario.ARGOCD_NAMESPACE, name)
            if app is None or not self._auto_sync_on(app) or isinstance(app.get("operation"), dict):
                return
            source = _map(app["spec"].get("source"))
            head = self._head(str(source.get("targetRevision") or "HEAD"))
            if not head or head == self._synced(app):
                return
            app["operation"] = {"sync": {"revision": head}, "initiatedBy": {"automated": True}}
            self._seed(app)
            self._event("argocd", f"auto-sync of {name}: {head[:7]} is new on {source.get('targetRevision')}")
        self._scheduler.call_later(self.timing.sync, lambda: self._sync(name))

    @staticmethod
    def _synced(app: dict[str, Any]) -> str:
        """The revision last synced (Argo CD's ``operationState.syncResult.revision``, else the newest history's)."""
        status = _map(app.get("status"))
        result = _map(_map(status.get("operationState")).get("syncResult")).get("revision")
        if isinstance(result, str) and result:
            return result
        history = [entry for entry in status.get("history") or [] if isinstance(entry, dict)]
        return str(history[-1].get("revision") or "") if history else ""

    def _origin_moved(self) -> None:
        """Argo CD's refresh after a new commit: OutOfSync, and an auto-sync when that is on."""
        app = self._get(_APPS, scenario.ARGOCD_NAMESPACE, scenario.APP_NAME)
        if app is None:
            return
        source = _map(app["spec"].get("source"))
        head = self._head(str(source.get("targetRevision") or "HEAD"))
        status = app.setdefault("status", {})
        sync = status.setdefault("sync", {})
        if head and head != sync.get("revision"):  # the refresh: compared with the new head
            sync["revision"] = head
            sync["status"] = "Synced" if head == self._synced(app) else "OutOfSync"
            status["reconciledAt"] = _iso(_now())
            self._seed(app)
        if self._auto_sync_on(app):
            self._scheduler.call_later(self.timing.autosync, lambda: self._auto_sync(scenario.APP_NAME))

    # ------------------------------------------------------------------ the forge: a reviewer merging reverts

    def _watch_origin(self) -> None:
        from cockpit.demo import gitops

        try:
            assert self.origin is not None
            refs = gitops.origin_refs(self.origin)
            for branch, sha in refs.items():
                if self._seen_branches.get(branch) == sha:
                    continue
                self._seen_branches[branch] = sha
                if branch == "main":
                    continue
                if "This reverts commit" in gitops.subject(self.origin, sha):
                    self._event("forge", f"pull request for {branch} opened; review in {self.timing.review:g}s")
                    self._scheduler.call_later(self.timing.review, lambda b=branch, s=sha: self._merge(b, s))
        finally:
            self._scheduler.call_later(self.timing.poll, self._watch_origin)

    def _merge(self, branch: str, sha: str) -> None:
        from cockpit.demo import gitops

        assert self.origin is not None
        if gitops.origin_refs(self.origin).get(branch) != sha:
            return  # force-pushed since: the reviewer looks again on the next push
        number = next(self._pr_numbers)
        try:
            merged = gitops.merge(self.origin, self.workdir / "gitops" / f"review-{number}", branch, "main", number)
        except RuntimeError as err:
            self._event("forge", f"pull request #{number} ({branch}) cannot be merged: {err}")
            return
        self.merged[branch] = merged
        self._seen_branches["main"] = merged
        self._event("forge", f"merged pull request #{number} ({branch}) into main as {merged[:7]}")
        with self._lock:
            self._origin_moved()

    # ------------------------------------------------------------------ Velero

    def _restore_start(self, namespace: str, name: str) -> None:
        with self._lock:
            restore = self._get(("velero.io/v1", "restores"), namespace, name)
            if restore is None:
                return
            spec = _map(restore.get("spec"))
            backup_name = str(spec.get("backupName") or "")
            backup = self._get(("velero.io/v1", "backups"), namespace, backup_name)
            status = restore.setdefault("status", {})
            if backup is None or _map(backup.get("status")).get("phase") not in ("Completed", "PartiallyFailed"):
                status.update({"phase": "FailedValidation",
                               "validationErrors": [f"backup.velero.io \"{backup_name}\" not found" if backup is None
                                                    else f"Backup \"{backup_name}\" is not completed"]})
                self._seed(restore)
                self._event("velero", f"restore {name}: FailedValidation")
                return
            included = [str(ns) for ns in spec.get("includedNamespaces") or ["*"]]
            items = [obj for obj in self.backup_contents.get(backup_name, [])
                     if "*" in included or self._namespace_of(obj) in included]
            status.update({"phase": "InProgress", "startTimestamp": _iso(_now()),
                           "progress": {"totalItems": len(items), "itemsRestored": 0}})
            self._seed(restore)
            self._event("velero", f"restore {name}: InProgress ({len(items)} items from {backup_name})")
        steps = max(1, min(len(items), 4))
        chunk = -(-len(items) // steps) if items else 0
        for index in range(steps):
            part = items[index * chunk:(index + 1) * chunk]
            self._scheduler.call_later(self.timing.restore_items * (index + 1) / steps,
                                       lambda p=part, i=index: self._restore_items(namespace, name, backup_name, p))
        self._scheduler.call_later(self.timing.restore_items + self.timing.restore_finalize,
                                   lambda: self._restore_finish(namespace, name))

    @staticmethod
    def _namespace_of(obj: dict[str, Any]) -> str:
        meta = _map(obj.get("metadata"))
        return str(meta.get("name") if obj.get("kind") == "Namespace" else meta.get("namespace") or "")

    def _restore_items(self, namespace: str, name: str, backup: str, items: list[dict[str, Any]]) -> None:
        with self._lock:
            restore = self._get(("velero.io/v1", "restores"), namespace, name)
            if restore is None or _map(restore.get("status")).get("phase") != "InProgress":
                return
            status = restore["status"]
            policy = _map(restore.get("spec")).get("existingResourcePolicy")
            for item in items:
                obj = copy.deepcopy(item)
                meta = obj.setdefault("metadata", {})
                labels = meta.setdefault("labels", {})
                labels["velero.io/backup-name"] = backup
                labels["velero.io/restore-name"] = name
                kind = (obj["apiVersion"], obj["kind"])
                exists = self.kube.get_object(kind[0], kind[1], meta.get("namespace"), meta["name"]) is not None
                if exists and policy != "update":
                    status["warnings"] = int(status.get("warnings") or 0) + 1  # "could not restore, ... already exists"
                else:
                    for ref in meta.get("ownerReferences") or []:
                        if ref.get("kind") == "Rollout":
                            ref["uid"] = self.rollout_uid  # the controller adopts its ReplicaSets again
                    stored = self._seed(obj)
                    if obj["kind"] == "Rollout":
                        self.rollout_uid = stored["metadata"]["uid"]
                progress = status.setdefault("progress", {})
                progress["itemsRestored"] = int(progress.get("itemsRestored") or 0) + 1
            self._seed(restore)

    def _restore_finish(self, namespace: str, name: str) -> None:
        with self._lock:
            restore = self._get(("velero.io/v1", "restores"), namespace, name)
            if restore is None or _map(restore.get("status")).get("phase") != "InProgress":
                return
            restore["status"]["phase"] = "Finalizing"
            self._seed(restore)
        self._scheduler.call_later(self.timing.restore_finalize, lambda: self._restore_complete(namespace, name))

    def _restore_complete(self, namespace: str, name: str) -> None:
        with self._lock:
            restore = self._get(("velero.io/v1", "restores"), namespace, name)
            if restore is None or _map(restore.get("status")).get("phase") != "Finalizing":
                return
            status = restore["status"]
            status["phase"] = "Completed" if not status.get("errors") else "PartiallyFailed"
            status["completionTimestamp"] = _iso(_now())
            self._seed(restore)
            self._event("velero", f"restore {name}: {status['phase']}")
            if self.kube.get_object("v1", "namespaces", None, scenario.APP_NAMESPACE) is not None and \
                    self.gone_at is not None and self.restored_at is None:
                self.restored_at = time.time()
                app = self._get(_APPS, scenario.ARGOCD_NAMESPACE, scenario.APP_NAME)
                if app is not None:
                    app.setdefault("status", {})["sync"] = {**_map(app["status"].get("sync")), "status": "Synced"}
                    self._seed(app)
                self._app_health()
                self._cure("namespace")

    # ------------------------------------------------------------------ CloudNativePG

    def _cnpg_step(self, namespace: str, name: str, ready: int) -> None:
        """A recovery Cluster's life: primary restored from the base backup + WAL, then each replica cloned."""
        with self._lock:
            cluster = self._get(("postgresql.cnpg.io/v1", "clusters"), namespace, name)
            if cluster is None:
                return
            instances = int(_map(cluster.get("spec")).get("instances") or 1)
            names = [f"{name}-{index}" for index in range(1, instances + 1)]
            status = cluster.setdefault("status", {})
            status.update({"instances": instances, "readyInstances": ready, "targetPrimary": names[0],
                           "latestGeneratedNode": max(1, min(instances, ready + 1)),
                           "instanceNames": names[: max(1, min(instances, ready + 1))]})
            if ready == 0:
                status["phase"] = "Setting up primary"
                status["phaseReason"] = f"Creating primary instance {names[0]}"
                condition = ("False", "ClusterIsNotReady", "Cluster Is Not Ready")
            elif ready < instances:
                status["phase"] = "Creating a new replica"
                status["phaseReason"] = f"Creating replica {names[ready]}"
                status["currentPrimary"] = names[0]
                condition = ("False", "ClusterIsNotReady", "Cluster Is Not Ready")
            else:
                status["phase"] = "Cluster in healthy state"
                status["phaseReason"] = ""
                status["currentPrimary"] = names[0]
                condition = ("True", "ClusterIsReady", "Cluster is Ready")
            now = _iso(_now())
            status["conditions"] = [{"type": "Ready", "status": condition[0], "reason": condition[1],
                                     "message": condition[2], "lastTransitionTime": now}]
            self._seed(cluster)
            self._event("cnpg", f"{name}: {status['phase']} ({ready}/{instances} ready)")
        if ready < instances:
            delay = self.timing.cnpg_primary if ready == 0 else self.timing.cnpg_replica
            self._scheduler.call_later(delay, lambda: self._cnpg_step(namespace, name, ready + 1))

    # ------------------------------------------------------------------ Helm, flags, S3

    def _helm_written(self, labels: dict[str, Any]) -> None:
        """What ``helm rollback`` leaves: a new revision Secret with status deployed (the previous superseded)."""
        from cockpit.demo import helmdemo

        if labels.get("name") != helmdemo.RELEASE or labels.get("status") != "deployed":
            return
        if str(labels.get("version") or "0").isdigit() and int(labels["version"]) > helmdemo.BAD_REVISION:
            self._event("helm", f"{helmdemo.RELEASE} revision {labels['version']} deployed")
            self._cure("helm")

    def _deployment_written(self, obj: dict[str, Any]) -> None:
        from cockpit.demo import helmdemo

        if _map(obj.get("metadata")).get("name") == helmdemo.RELEASE and \
                self._image(_map(obj.get("spec")).get("template")).endswith(f":{helmdemo.GOOD_VERSION}"):
            self._event("helm", f"{helmdemo.RELEASE} runs {helmdemo.GOOD_VERSION} again")
            self._cure("helm")

    def _flag_changed(self, name: str, enabled: bool) -> None:
        if name != scenario.FLAG:
            return
        self._event("flags", f"{name} turned {'on' if enabled else 'off'}")
        if not enabled:
            self._cure("flag-off")
        elif "flag-off" in self.scenario.cures:  # turned on again: the regression is back
            self.recover_at = None
            self.regress_at = time.time()

    def _watch_s3(self) -> None:
        from cockpit.demo import s3demo

        try:
            if s3demo.deleted_keys(self.s3.client(), self.s3.bucket, self.s3.prefix) == 0:
                self._event("s3", f"nothing under s3://{self.s3.bucket}/{self.s3.prefix} reads as deleted")
                self._cure("s3")
                return
        except Exception as err:  # noqa: BLE001 - the server going away at stop
            self._event("s3", f"listing failed: {err}")
        self._scheduler.call_later(max(self.timing.poll, 0.2), self._watch_s3)


ARCHIVE_EVERY = 20.0  # the demo clusters archive a WAL segment this often (seconds)
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what the ReplicaSet controller draws pod name suffixes from


def _pod_suffix(owner: str, index: int) -> str:
    import hashlib

    digest = hashlib.sha256(f"{owner}/{index}".encode()).digest()
    return "".join(_SUFFIX_ALPHABET[byte % len(_SUFFIX_ALPHABET)] for byte in digest[:5])


def _pod(name: str, namespace: str, owner: str, owner_uid: str, template: dict[str, Any], running: bool,
         created: str) -> dict[str, Any]:
    """A pod of ``owner``'s template: Running and ready, or still ContainerCreating."""
    spec = copy.deepcopy(_map(template.get("spec")))
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    statuses = []
    for container in containers:
        state = {"running": {"startedAt": created}} if running else {"waiting": {"reason": "ContainerCreating"}}
        statuses.append({"name": container.get("name", ""), "image": container.get("image", ""), "imageID": "",
                         "ready": running, "started": running, "restartCount": 0, "state": state})
    ready = "True" if running else "False"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created,
                     "labels": dict(_map(_map(template.get("metadata")).get("labels"))),
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                          "uid": owner_uid, "controller": True, "blockOwnerDeletion": True}]},
        "spec": {**spec, "nodeName": "demo-node-1"},
        "status": {"phase": "Running" if running else "Pending", "startTime": created,
                   "conditions": [{"type": "Ready", "status": ready}, {"type": "ContainersReady", "status": ready}],
                   "containerStatuses": statuses},
    }


def _default_revisions() -> dict[int, str]:
    """``scenario.REVISIONS`` (a helper: inside ``DemoPlatform.__init__`` the name ``scenario`` is the argument)."""
    return dict(scenario.REVISIONS)


def demo_settings(settings: Any, platform: DemoPlatform) -> Any:
    """``settings`` pointed at the platform: every setting its scenario needs (what the person set wins where it
    makes sense: app, rollout, cnpg cluster)."""
    sc = platform.scenario
    helm = sc.workload == "helm"
    values: dict[str, Any] = {
        "kubeconfig": str(platform.kubeconfig),
        "contexts": (DEMO_CONTEXT,),
        "namespace": scenario.APP_NAMESPACE,
        "app": settings.app or (None if helm else scenario.APP_NAME),
        "rollout": settings.rollout or (None if helm else scenario.ROLLOUT),
        "cnpg_cluster": settings.cnpg_cluster or scenario.CNPG_CLUSTER,
        "cnpg_namespace": scenario.CNPG_NAMESPACE,
        "prometheus_url": platform.prometheus_url,
        "service": "catalog-search" if helm else scenario.SERVICE,
        "gitops_repo": str(platform.gitops_repo),
        "flag_url": platform.flags.url,
        "flag_key": scenario.FLAG,
        "demo": True,
        # the demo's p99 recovers within a minute: verify a mitigation over one minute, not five
        "verify_minutes": min(settings.verify_minutes, 1.0),
    }
    optional = {
        "flag_admin_url": platform.flags.admin_url,
        "flag_environment_key": platform.flags.environment_key,
        "flag_admin_token_env": getattr(settings, "flag_admin_token_env", None) or FLAG_ADMIN_TOKEN_ENV,
        "tenant_namespace": scenario.APP_NAMESPACE,
        "helm_release": "catalog-search" if helm else None,
    }
    if platform.s3 is not None:
        optional.update(s3_endpoint=platform.s3.endpoint, s3_bucket=platform.s3.bucket, s3_prefix=platform.s3.prefix)
    fields = {field.name for field in dataclasses.fields(settings)}
    values.update({key: value for key, value in optional.items() if key in fields})
    return dataclasses.replace(settings, **values)


def demo_environment(platform: DemoPlatform, settings: Any) -> dict[str, str]:
    """The environment the demo's process needs: S3 credentials for moto, the flag admin token.

    Both are the demo's own (moto accepts anything; the flag token is the demo server's): real credentials in the
    environment are replaced for this process, so they are never sent to a demo endpoint.
    """
    env: dict[str, str] = {}
    if platform.s3 is not None:
        from cockpit.demo import s3demo

        env.update(AWS_ACCESS_KEY_ID=s3demo.DEMO_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=s3demo.DEMO_SECRET_KEY,
                   AWS_DEFAULT_REGION=s3demo.REGION, AWS_SESSION_TOKEN="")
    token_env = getattr(settings, "flag_admin_token_env", None) or FLAG_ADMIN_TOKEN_ENV
    env[token_env] = platform.flags.admin_token
    return env


def pick_scenario(scenario_name: str | None, drill: str | None) -> str:
    """``--scenario`` wins; else the scenario made for the drilled runbook; else the default incident."""
    if scenario_name:
        return scenario_for(scenario_name).name
    if drill and drill in SCENARIO_FOR_RUNBOOK:
        return SCENARIO_FOR_RUNBOOK[drill]
    return DEFAULT_SCENARIO
