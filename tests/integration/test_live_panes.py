"""The live path, watch -> feeds -> store, against the Kubernetes API emulator and a Prometheus API: every pane fed
the way a real cluster feeds it.

* **Discovery first**: an API the cluster does not serve is never asked for (the request log proves it over a few
  seconds), its pane says "not installed", and an optional part missing (Velero Schedules, Barman Cloud
  ObjectStores) leaves the rest of the pane live with a note.  A CRD removed while watched parks its watch after
  one 404; installed again, it is picked up by the CRD watch, without polling.
* **Pods** of the stable and canary ReplicaSets, by pod hash only (never the namespace's pods), with the CLI's
  STATUS words; forbidden, they are "not shown" in words and the pane stays up.
* **AnalysisRuns** matched by ownerReference, also without the Rollout's selector labels (controllers before v1.6).
* **BackupStorageLocations**: an Unavailable one is shown.
* **WAL archiving** from the demo's Prometheus API (the demo shows "WAL archived up to …").
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import build_settings
from cockpit.demo import scenario
from cockpit.demo.platform import DEMO_CONTEXT, DemoPlatform, Timing, demo_settings
from cockpit.models import FeedState
from cockpit.session import Session, connect, open_session

NS = scenario.APP_NAMESPACE
QUIET_SECONDS = 2.5  # long enough for any retry loop (the first backoff is 1 s) to show in the request log


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Live:
    """A session on the demo platform (optionally a cluster without some APIs), read through its store."""

    def __init__(self, tmp_path: Path, *, absent: tuple[str, ...] = (), before: Callable[[DemoPlatform], Any]
                 = lambda platform: None, prometheus_url: str | None = None, **overrides: Any) -> None:
        self.platform = DemoPlatform(workdir=tmp_path / "demo", timing=Timing.fast(), absent_apis=absent).start()
        before(self.platform)
        settings = demo_settings(build_settings({"prometheus_interval": 0.5, **overrides}), self.platform)
        if prometheus_url is not None:  # another Prometheus than the demo's (a real one, or none listening)
            settings = dataclasses.replace(settings, prometheus_url=prometheus_url)
        self.session: Session = open_session(settings, connect(settings), audit_path=str(tmp_path / "audit.jsonl"))
        self.session.start()

    @property
    def kube(self) -> Any:
        return self.platform.kube

    def entry(self, pane: str) -> Any:
        return self.session.store.entry(DEMO_CONTEXT, pane)

    def settled(self, *panes: str) -> "Live":
        wait_for("the panes", lambda: all(self.entry(p).state not in (FeedState.LOADING,) and self.entry(p).version
                                          for p in panes or ("argocd", "rollout", "analysis", "cnpg", "velero")))
        return self

    def steady(self) -> float:
        """Wait for the steady state (every watch connected or parked, no evidence gathering pending); its start."""
        state = self.session.contexts[DEMO_CONTEXT]
        wait_for("the steady state", lambda: state.feeds is not None
                 and all(t.phase in ("connected", "missing", "idle") for t in state.feeds.tracks.values())
                 and self.session.gathered(DEMO_CONTEXT) is not None
                 and not self.session.evidence_pending(DEMO_CONTEXT))
        time.sleep(0.3)  # a gather started just now
        return time.time()

    def requests(self, since: float, *, watch: bool | None = None) -> list[Any]:
        with self.kube._requests_lock:
            records = list(self.kube.requests)
        return [r for r in records if r.time >= since and (watch is None or r.watch == watch)]

    def close(self) -> None:
        self.session.stop()
        self.platform.stop()


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    options = getattr(request, "param", {})
    session = Live(tmp_path, **options)
    try:
        yield session
        assert session.kube.server_errors == []
        assert session.platform.controller_errors == []
    finally:
        session.close()


# --------------------------------------------------------------------------- discovery


@pytest.mark.parametrize("live", [{"absent": ("objectstores.barmancloud.cnpg.io", "schedules.velero.io")}],
                         indirect=True)
def test_optional_apis_absent_leave_the_panes_live_and_are_never_asked_for(live: Live) -> None:
    live.settled()
    velero, cnpg = live.entry("velero"), live.entry("cnpg")
    wait_for("the Velero pane", lambda: live.entry("velero").state is FeedState.OK)
    velero = live.entry("velero")
    assert velero.snapshot.data.backups and velero.snapshot.data.schedules == ()
    assert "no schedules.velero.io API in this cluster" in velero.status.error
    assert "not installed" not in velero.status.error  # the bug: "Velero not installed" while listing backups
    assert "reconnecting" not in velero.status.watch
    cnpg = live.entry("cnpg")
    assert cnpg.state is FeedState.OK and cnpg.snapshot.data.clusters
    assert "Barman Cloud plugin not installed in this cluster" in cnpg.status.error
    catalog = next(c for c in cnpg.snapshot.data.clusters if c.backup_method == "plugin")
    assert "ObjectStore catalog-store not found" in catalog.window_source
    # nothing asked for them except discovery, and nothing polled at all once settled
    asked = [r.path for r in live.requests(0) if r.path.endswith(("/schedules", "/objectstores"))]
    assert asked == []
    since = live.steady()
    time.sleep(QUIET_SECONDS)
    assert [f"{r.method} {r.path}" for r in live.requests(since, watch=False)] == []
    # the missing CRDs are watched by name (that is how an install is noticed without polling)
    crd_watches = {r.query.get("fieldSelector") for r in live.requests(0, watch=True)
                   if r.path.endswith("/customresourcedefinitions")}
    assert crd_watches == {"metadata.name=schedules.velero.io", "metadata.name=objectstores.barmancloud.cnpg.io"}


@pytest.mark.parametrize("live", [{"absent": ("backups.velero.io", "schedules.velero.io", "restores.velero.io",
                                              "backupstoragelocations.velero.io")}], indirect=True)
def test_a_product_not_installed_says_so_and_sends_nothing(live: Live) -> None:
    wait_for("the Velero pane to say Velero is missing", lambda: live.entry("velero").state is FeedState.MISSING)
    velero = live.entry("velero")
    assert velero.status.error == "Velero not installed in this cluster (no backups.velero.io API)"
    assert velero.snapshot.data is None
    live.settled()
    since = live.steady()
    time.sleep(QUIET_SECONDS)
    assert [f"{r.method} {r.path}" for r in live.requests(since, watch=False)] == []
    assert [r.path for r in live.requests(0) if "/velero.io/" in r.path] == []


def test_an_api_removed_while_watched_is_asked_once_then_found_again_when_installed(live: Live) -> None:
    live.settled()
    wait_for("schedules", lambda: live.entry("velero").snapshot.data is not None
             and live.entry("velero").snapshot.data.schedules)
    live.kube.uninstall("schedules.velero.io")
    wait_for("the schedules note", lambda: "no schedules.velero.io API" in live.entry("velero").status.error)
    assert live.entry("velero").state is FeedState.OK and live.entry("velero").snapshot.data.backups
    assert live.entry("velero").snapshot.data.schedules == ()
    time.sleep(0.5)  # the rediscovery the 404 asked for
    since = live.steady()
    time.sleep(QUIET_SECONDS)
    assert [r.path for r in live.requests(since) if r.path.endswith("/schedules")] == []
    assert [f"{r.method} {r.path}" for r in live.requests(since, watch=False)] == []
    # installed again: the CRD watch sees it, discovery confirms, the watch lists
    live.kube.install("schedules.velero.io")
    for obj in scenario.velero_objects(live.platform.now):
        if obj["kind"] == "Schedule":
            live.kube.seed(obj)
    wait_for("the schedules back", lambda: live.entry("velero").snapshot.data.schedules
             and not live.entry("velero").status.error, timeout=10)


@pytest.mark.parametrize("live", [{"absent": ("schedules.velero.io",),
                                   "before": lambda platform: platform.kube.deny("*", "customresourcedefinitions")}],
                         indirect=True)
def test_without_access_to_crds_discovery_is_repeated_slowly(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit import feeds

    live.settled()
    wait_for("the note", lambda: "no schedules.velero.io API" in live.entry("velero").status.error)
    state = live.session.contexts[DEMO_CONTEXT]
    wait_for("the CRD watch given up", lambda: state.feeds.crds_unwatchable)
    assert "403" in state.feeds.crds_unwatchable and state.feeds.crd_watches == {}
    crd_requests = len([r for r in live.requests(0) if "customresourcedefinitions" in r.path])
    time.sleep(QUIET_SECONDS)
    assert len([r for r in live.requests(0) if "customresourcedefinitions" in r.path]) == crd_requests
    assert live.session.scheduler.pending(f"discover:{DEMO_CONTEXT}:periodic")
    assert feeds.REDISCOVER_SECONDS >= 60


# --------------------------------------------------------------------------- pods


def _pod(pod: dict[str, Any], *, waiting: str = "", terminated: str = "", last: str = "", restarts: int = 0,
         ready: bool = False) -> dict[str, Any]:
    pod = copy.deepcopy(pod)
    status = pod["status"]
    state: dict[str, Any] = {"running": {"startedAt": "2026-05-20T14:00:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting, "message": f"{waiting} (test)"}}
        status["phase"] = "Pending" if waiting in ("ImagePullBackOff", "ErrImagePull") else "Running"
    if terminated:
        state = {"terminated": {"reason": terminated, "exitCode": 137}}
    container = {**status["containerStatuses"][0], "state": state, "ready": ready, "restartCount": restarts}
    if last:
        container["lastState"] = {"terminated": {"reason": last, "exitCode": 137}}
    status["containerStatuses"] = [container]
    return pod


def test_pods_of_stable_and_canary_by_pod_hash_with_the_cli_reasons(live: Live) -> None:
    live.settled()
    wait_for("pods", lambda: live.entry("rollout").snapshot.data.pods_watched)
    pods = {p["metadata"]["name"]: p for p in live.kube.list_objects("v1", "pods", NS)}
    canary = next(p for p in pods.values() if p["metadata"]["labels"]["rollouts-pod-template-hash"]
                  == scenario.CANARY_HASH)
    stable = sorted(n for n, p in pods.items()
                    if p["metadata"]["labels"]["rollouts-pod-template-hash"] == scenario.STABLE_HASH)
    live.kube.seed(_pod(canary, waiting="ImagePullBackOff"))
    live.kube.seed(_pod(pods[stable[0]], waiting="CrashLoopBackOff", last="OOMKilled", restarts=7))
    live.kube.seed(_pod(pods[stable[1]], terminated="OOMKilled", restarts=2))
    # a pod of another app in the namespace: never watched
    other = copy.deepcopy(pods[stable[2]])
    other["metadata"] = {"name": "search-5d8c7-abcde", "namespace": NS, "labels": {"app": "search"}}
    live.kube.seed(other)

    def statuses() -> dict[str, tuple[str, int, str]]:
        view = live.entry("rollout").snapshot.data
        return {pod.name: (pod.status, pod.restarts, pod.last_reason) for pod in view.pods}

    wait_for("the pod reasons", lambda: statuses().get(canary["metadata"]["name"], ("",))[0] == "ImagePullBackOff"
             and statuses().get(stable[1], ("",))[0] == "OOMKilled")
    shown = statuses()
    assert shown[stable[0]] == ("CrashLoopBackOff", 7, "OOMKilled")
    assert shown[stable[1]][:2] == ("OOMKilled", 2)
    assert "search-5d8c7-abcde" not in shown
    view = live.entry("rollout").snapshot.data
    by_rs = {rs.pod_hash: {pod.name for pod in rs.pods} for rs in view.replica_sets}
    assert canary["metadata"]["name"] in by_rs[scenario.CANARY_HASH] and set(stable) == by_rs[scenario.STABLE_HASH]
    # every pod request is narrowed by the pod hash: never the namespace's pods
    selectors = {r.query.get("labelSelector", "") for r in live.requests(0) if r.path.endswith("/pods")}
    assert selectors and all("rollouts-pod-template-hash in (" in s for s in selectors), selectors


@pytest.mark.parametrize("live", [{"before": lambda platform: (platform.kube.deny("list", "pods"),
                                                               platform.kube.deny("watch", "pods"))}], indirect=True)
def test_pods_forbidden_are_said_in_words_and_the_rollout_stays(live: Live) -> None:
    live.settled()
    wait_for("the pods note", lambda: "pods not shown" in live.entry("rollout").status.error)
    entry = live.entry("rollout")
    assert entry.state is FeedState.OK
    assert "403 Forbidden" in entry.status.error and "cannot list pods" in entry.status.error
    assert entry.snapshot.data.pods_watched is False  # no pod data, not "no pods"
    assert entry.snapshot.data.replica_sets


# --------------------------------------------------------------------------- AnalysisRuns, BSL


def test_analysis_runs_without_the_rollout_selector_labels_are_matched_by_owner(live: Live) -> None:
    live.settled()
    wait_for("runs", lambda: live.entry("analysis").snapshot.data)
    rollout = live.entry("rollout").snapshot.data
    run = scenario.analysis_run(rollout.uid, live.platform.now)
    run["metadata"]["name"] = "catalog-pre-v16-run"
    run["metadata"]["labels"] = {"rollouts-pod-template-hash": scenario.CANARY_HASH, "rollout-type": "Step",
                                 "step-index": "2"}  # what a controller before v1.6 wrote: no app=catalog
    other = copy.deepcopy(run)
    other["metadata"]["name"] = "someone-elses-run"
    other["metadata"]["ownerReferences"][0].update(name="other", uid="0000-other")
    live.kube.seed(run)
    live.kube.seed(other)
    names = wait_for("the pre-v1.6 run", lambda: {r.name for r in live.entry("analysis").snapshot.data}
                     if "catalog-pre-v16-run" in {r.name for r in live.entry("analysis").snapshot.data} else None)
    assert "someone-elses-run" not in names
    assert f"{scenario.ROLLOUT}-{scenario.CANARY_HASH}-4" in names


def test_an_unavailable_backup_storage_location_is_shown(live: Live) -> None:
    live.settled()
    wait_for("the location", lambda: live.entry("velero").snapshot.data.locations)
    live.kube.patch_status("velero.io/v1", "backupstoragelocations", scenario.VELERO_NAMESPACE, "default",
                           {"phase": "Unavailable", "message": "BackupStorageLocation \"default\" is unavailable: "
                                                               "rpc error: NoSuchBucket"})
    location = wait_for("Unavailable", lambda: next((loc for loc in live.entry("velero").snapshot.data.locations
                                                     if loc.phase == "Unavailable"), None))
    assert location.name == "default" and "NoSuchBucket" in location.message and location.default


# --------------------------------------------------------------------------- WAL archiving (the demo's Prometheus)


def test_the_demo_shows_wal_archived_up_to_a_few_seconds_ago(live: Live) -> None:
    live.settled()
    data = wait_for("archiving", lambda: live.entry("cnpg").snapshot.data
                    if all(c.archiving is not None and c.archiving.last_archived_at is not None
                           for c in live.entry("cnpg").snapshot.data.clusters) else None)
    now = live.session.clock.now()
    for cluster in data.clusters:
        assert cluster.archiving.state == "ok" and cluster.archiving.failed_count == 0
        assert timedelta(0) <= now - cluster.archiving.last_archived_at < timedelta(seconds=30)
    orders = next(c for c in data.clusters if c.name == scenario.CNPG_CLUSTER)
    verdict, why = orders.recoverable(now - timedelta(minutes=2), now)
    assert verdict is True and "WAL archived up to" in why
    # one query for the namespace's clusters, not one per cluster
    queries = [q for path, q in live.platform.prom.requests if "cnpg_pg_stat_archiver" in q]
    assert queries and all('pod=~"(' in q for q in queries)


def test_the_demo_archiving_failing_reaches_the_pane_the_answer_and_the_pitr_action(live: Live) -> None:
    from cockpit.actions.registry import build_action
    from cockpit.actions.requests import ActionRefused

    live.settled()
    now = live.session.clock.now()
    live.platform.archiving_broken[scenario.CNPG_CLUSTER] = now.timestamp() - 600  # 10 minutes of failures
    state = live.session.contexts[DEMO_CONTEXT]
    feed, source = state.archiving
    feed.poll(source, state.feeds)  # the next minute's poll, now
    orders = next(c for c in live.entry("cnpg").snapshot.data.clusters if c.name == scenario.CNPG_CLUSTER)
    assert orders.archiving.state == "failing" and orders.archiving.failed_count >= 30
    assert not orders.healthy
    verdict, why = orders.recoverable(now - timedelta(minutes=3), now)
    assert verdict is False and "after the last archived WAL" in why and "failing since" in why
    assert orders.recoverable(now - timedelta(minutes=30), now)[0] is True
    target = (now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(ActionRefused, match="after the last archived WAL"):
        live.session.plan(DEMO_CONTEXT, lambda env: build_action(
            "cnpg.recover", {"namespace": scenario.CNPG_NAMESPACE, "cluster": scenario.CNPG_CLUSTER,
                             "target_time": target}, env))
