"""The embedded demo platform: a Kubernetes API emulator and a Prometheus HTTP API on 127.0.0.1, playing the seed's
incident, and reacting to writes the way the real controllers would (an abort scales the canary to 0 and the p99
recovers; a rollback writes history).

The cockpit talks to it through exactly the same client code as to a real cluster: a kubeconfig pointing at the
emulator, a Prometheus URL pointing at the fake API.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cockpit.demo import scenario

DEMO_CONTEXT = "demo-us-east"


class DemoPlatform:
    """Both servers, seeded; ``start()`` / ``stop()``; ``kubeconfig`` and ``prometheus_url`` to point the cockpit at."""

    def __init__(self, *, now: datetime | None = None, workdir: Path | None = None,
                 recovery_seconds: float = 60.0) -> None:
        self.now = now or datetime.now(timezone.utc)
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
        self.kube: Any = None
        self.prom: Any = None
        self.kubeconfig: Path = self.workdir / "kubeconfig"
        self.deploy_at = (self.now - scenario.DEPLOYED_AGO[42]).timestamp()
        self.recover_at: float | None = None
        self.recovery_seconds = recovery_seconds  # how long the p99 takes to fall back after an abort
        self.rollout_uid = ""
        self.flags: Any = None
        self.gitops_repo: Path | None = None
        self.revisions: dict[int, str] = dict(scenario.REVISIONS)
        self._lock = threading.Lock()

    @property
    def prometheus_url(self) -> str:
        return self.prom.url

    def start(self) -> "DemoPlatform":
        from cockpit.demo.kubeapi import KubeEmulator
        from cockpit.demo.promapi import PromApi

        from cockpit.demo import gitops
        from cockpit.demo.flags import FlagServer

        deployed = {hid: self.now - ago for hid, ago in scenario.DEPLOYED_AGO.items()}
        self.gitops_repo, self.revisions = gitops.build(self.workdir / "gitops", deployed)
        self.kube = KubeEmulator().start()
        self.prom = PromApi(self.p99)
        self.prom.start()
        self.flags = FlagServer({scenario.FLAG: (True, "meilisearch_v1"), "checkout_express": (False, None)}).start()
        self.seed()
        self.kube.write_kubeconfig(self.kubeconfig, context=DEMO_CONTEXT, namespace=scenario.APP_NAMESPACE)
        self.kube.on_write(self._on_write)
        return self

    def stop(self) -> None:
        for server in (self.kube, self.prom, self.flags):
            if server is not None:
                server.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def p99(self, t: float) -> float | None:
        return scenario.p99_at(t, deploy_at=self.deploy_at, recover_at=self.recover_at,
                               recovery_seconds=self.recovery_seconds)

    def seed(self) -> None:
        now = self.now
        for obj in scenario.namespaces():
            self.kube.seed(obj)
        self.kube.seed(scenario.application(now, self.revisions))
        stored = self.kube.seed(scenario.rollout(now))
        self.rollout_uid = stored["metadata"]["uid"]
        for rs in scenario.replica_sets(self.rollout_uid, now):
            self.kube.seed(rs)
        self.kube.seed(scenario.analysis_run(self.rollout_uid, now))
        for obj in scenario.cnpg_objects(now) + scenario.velero_objects(now):
            self.kube.seed(obj)

    # -- the controllers' side -------------------------------------------------------------------------------

    def _on_write(self, event: str, obj: dict[str, Any], request: Any) -> None:
        """React like Argo Rollouts / Argo CD would (runs on the emulator's request thread: hand off)."""
        kind = obj.get("kind")
        if kind == "Rollout" and (obj.get("status") or {}).get("abort") is True:
            threading.Thread(target=self._abort, daemon=True, name="demo-abort").start()
        elif kind == "Rollout" and (obj.get("status") or {}).get("abort") is False:
            threading.Thread(target=self._retry, daemon=True, name="demo-retry").start()
        elif kind == "Application" and isinstance(obj.get("operation"), dict):
            threading.Thread(target=self._sync, args=(copy.deepcopy(obj),), daemon=True, name="demo-sync").start()

    def _abort(self) -> None:
        """Argo Rollouts on abort: canary ReplicaSet to 0, stable keeps 100%, phase Degraded."""
        time.sleep(0.5)
        with self._lock:
            ns, name = scenario.APP_NAMESPACE, scenario.ROLLOUT
            rs = self.kube.get_object("apps/v1", "replicasets", ns, f"{name}-{scenario.CANARY_HASH}")
            if rs is not None:
                rs = copy.deepcopy(rs)
                rs["spec"]["replicas"] = 0
                rs["status"] = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0}
                self.kube.seed(rs)
            ro = copy.deepcopy(self.kube.get_object("argoproj.io/v1alpha1", "rollouts", ns, name))
            if ro is None:
                return
            status = ro.setdefault("status", {})
            status.update({
                "phase": "Degraded",
                "message": "RolloutAborted: Rollout aborted update to revision 4",
                "abortedAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "pauseConditions": None,
                "controllerPause": False,
                "currentStepIndex": 0,
                "replicas": 4, "updatedReplicas": 0, "readyReplicas": 4, "availableReplicas": 4,
            })
            status.setdefault("canary", {})["weights"] = {
                "canary": {"weight": 0, "podTemplateHash": scenario.CANARY_HASH, "serviceName": "catalog-canary"},
                "stable": {"weight": 100, "podTemplateHash": scenario.STABLE_HASH, "serviceName": "catalog-stable"},
            }
            self.kube.seed(ro)
            run = self.kube.get_object("argoproj.io/v1alpha1", "analysisruns", ns,
                                       f"{name}-{scenario.CANARY_HASH}-4")
            if run is not None:  # the controller terminates the running analysis of an aborted rollout
                run = copy.deepcopy(run)
                run["spec"]["terminate"] = True
                run["status"]["phase"] = "Failed"
                run["status"]["message"] = "Metric \"p99-latency\" assessed Failed: rollout aborted"
                self.kube.seed(run)
            self.recover_at = time.time()

    def _retry(self) -> None:
        """Leaving the aborted state re-rolls the canary (the spec still points at v1.5.1)."""
        time.sleep(0.5)
        with self._lock:
            self.seed_rollout_again()
            self.recover_at = None
            self.deploy_at = time.time()

    def seed_rollout_again(self) -> None:
        now = datetime.now(timezone.utc)
        ro = scenario.rollout(now)
        current = self.kube.get_object("argoproj.io/v1alpha1", "rollouts", scenario.APP_NAMESPACE, scenario.ROLLOUT)
        if current is not None:
            ro["metadata"] = current["metadata"]
            ro["spec"] = current["spec"]
        ro["status"]["abort"] = False
        self.kube.seed(ro)
        for rs in scenario.replica_sets(self.rollout_uid, now):
            self.kube.seed(rs)

    def _sync(self, app: dict[str, Any]) -> None:
        """Argo CD's controller: run the requested sync, append history, clear the operation."""
        time.sleep(1.0)
        with self._lock:
            current = copy.deepcopy(self.kube.get_object("argoproj.io/v1alpha1", "applications",
                                                         scenario.ARGOCD_NAMESPACE, app["metadata"]["name"]))
            if current is None or not isinstance(current.get("operation"), dict):
                return
            sync = current["operation"].get("sync") or {}
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            status = current.setdefault("status", {})
            history = status.setdefault("history", [])
            next_id = max((entry.get("id", 0) for entry in history), default=0) + 1
            entry = {"id": next_id, "revision": sync.get("revision", ""), "deployedAt": now, "deployStartedAt": now,
                     "source": sync.get("source") or current["spec"].get("source", {}),
                     "initiatedBy": current["operation"].get("initiatedBy", {})}
            history.append(entry)
            del history[: max(0, len(history) - 10)]
            status["operationState"] = {"operation": current["operation"], "phase": "Succeeded",
                                        "message": "successfully synced (all tasks run)", "startedAt": now,
                                        "finishedAt": now}
            status["sync"] = {"status": "Synced", "revision": sync.get("revision", "")}
            current["operation"] = None
            current.pop("operation", None)
            self.kube.seed(current)


def demo_settings(settings: Any, platform: DemoPlatform) -> Any:
    return dataclasses.replace(
        settings,
        kubeconfig=str(platform.kubeconfig),
        contexts=(DEMO_CONTEXT,),
        namespace=scenario.APP_NAMESPACE,
        app=settings.app or scenario.APP_NAME,
        rollout=settings.rollout or scenario.ROLLOUT,
        cnpg_cluster=settings.cnpg_cluster or scenario.CNPG_CLUSTER,
        cnpg_namespace=scenario.CNPG_NAMESPACE,
        prometheus_url=platform.prometheus_url,
        service=scenario.SERVICE,
        gitops_repo=str(platform.gitops_repo),
        flag_url=platform.flags.url,
        flag_key=scenario.FLAG,
        demo=True,
    )


def run_demo(settings: Any, *, drill: str | None = None) -> int:
    """`cockpit demo [RUNBOOK]`: start the platform, run the normal cockpit against it (drilling RUNBOOK when
    given), tear it down.  The session is recorded like any other."""
    import sys

    from cockpit.app import CockpitApp
    from cockpit.session import connect, open_session, start_recording

    platform = DemoPlatform().start()
    sink = None
    try:
        demo = demo_settings(settings, platform)
        targets = connect(demo, note="demo platform on 127.0.0.1")
        sink, note = start_recording(demo, targets, path=demo.record, is_drill=bool(drill), runbook=drill or "")
        app = CockpitApp(open_session(demo, targets, recorder=sink, drill=drill), recording_note=note)
        app.run()
        return app.return_code or 0
    finally:
        if sink is not None:
            sink.close()
            print(f"cockpit: session recorded to {sink.path} (replay it: cockpit replay {sink.path})",
                  file=sys.stderr)
        platform.stop()
