"""The scale fixture: the demo incident inside a busy platform, for ``make bench`` and the bench smoke test.

The demo platform (:mod:`cockpit.demo.platform`) holds one incident: one Application, one Rollout, a handful of
backups.  A real on-call's cluster is much bigger, and size is what a cockpit's claims ("faster than the CLIs",
"no load on the API server") depend on.  This module seeds the same Kubernetes API emulator with, by default:

* 500 Argo CD Applications with 10 history entries each (``revisionHistoryLimit``'s default);
* 300 Rollouts in the incident's namespace, each with 3 ReplicaSets (old, stable, canary);
* 3 000 AnalysisRuns (10 per Rollout, labelled with their pod hash like the controller does);
* 10 000 Velero Backups (30 days of hourly backups for a few hundred tenants) and 50 Schedules;
* 50 CloudNativePG clusters, half on the in-tree barman store and half on the Barman Cloud plugin;

and starts a **real** Prometheus (the Debian ``prometheus`` binary) over a TSDB backfilled with ``promtool``: a
request-duration histogram for 300 services over 24 hours, one sample a minute.  ``catalog``'s histogram tells the
seed's story (p99 0.375 s, then 1.2 s since the bad deploy); the other services are healthy.

The incident's own objects stay where the demo puts them, so the cockpit is pointed at exactly the same targets as
``cockpit demo``; everything else is the crowd its server-side selectors must cut through.

Seeding is fast because only the first object of each kind goes through the emulator's CRD schema validation
(proving the generated shape is valid); the rest use ``validate=False``.  The OpenMetrics text for ``promtool`` is
written in one file per two-hour block (promtool re-reads its whole input once per block) and the blocks are built
two at a time; the text is deleted once the blocks exist.  The histogram runs an hour past "now" so the p99 stays
live however long the benchmark runs: nothing scrapes this Prometheus.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cockpit.demo import scenario

__all__ = ["FULL", "QUICK", "RealPrometheus", "ScalePlatform", "ScaleSpec", "scale_objects", "seed_kube"]


@dataclass(frozen=True)
class ScaleSpec:
    """How big the platform is.  ``FULL`` is the issue's fixture; ``QUICK`` is for CI smoke runs."""

    applications: int = 500
    history: int = 10
    rollouts: int = 300
    replica_sets_per_rollout: int = 3
    analysis_runs: int = 3000
    backups: int = 10_000
    schedules: int = 50
    clusters: int = 50
    services: int = 300
    prometheus_hours: float = 24.0
    scrape_seconds: int = 60
    future_minutes: int = 60  # samples after "now", so the p99 stays live during a long run

    def describe(self) -> str:
        return (f"{self.applications} Applications x {self.history} history, {self.rollouts} Rollouts + "
                f"{self.rollouts * self.replica_sets_per_rollout} ReplicaSets, {self.analysis_runs} AnalysisRuns, "
                f"{self.backups} Velero Backups, {self.clusters} CNPG clusters; Prometheus: {self.services} "
                f"services x {self.prometheus_hours:g} h at {self.scrape_seconds} s")


FULL = ScaleSpec()
QUICK = ScaleSpec(applications=50, rollouts=30, analysis_runs=300, backups=1000, schedules=10, clusters=6,
                  services=12, prometheus_hours=2.0, future_minutes=30)

# --------------------------------------------------------------------------- Kubernetes objects

TENANTS = 250  # tenant namespaces the backups and applications are spread over
DEMO_COUNTS = {"AnalysisRun": 1, "Backup": 6, "Schedule": 2}  # what the demo scenario itself seeds


def _hex(*parts: object, length: int = 10) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:length]


def _uid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "cockpit-scale/" + "/".join(map(str, parts))))


def _tenant(index: int) -> str:
    return f"tenant-{index % TENANTS:03d}"


def application(index: int, now: datetime, history: int) -> dict[str, Any]:
    """An Application with ``history`` deploys, one every 6 hours, each an image-tag bump."""
    name = f"{_tenant(index)}-svc-{index:03d}"
    service = f"svc-{index:03d}"

    def source(tag: int) -> dict[str, Any]:
        return {"repoURL": scenario.REPO, "path": f"apps/{service}", "targetRevision": "main",
                "kustomize": {"images": [f"ghcr.io/acme/{service}:v1.{tag}.0"]}}

    entries = []
    for hid in range(1, history + 1):
        deployed = now - timedelta(hours=6 * (history - hid) + (index % 6), minutes=index % 60)
        entries.append({
            "id": hid,
            "revision": _hex(name, hid, length=40),
            "deployedAt": scenario.iso(deployed),
            "deployStartedAt": scenario.iso(deployed - timedelta(seconds=30)),
            "source": source(hid),
            "initiatedBy": {"automated": True} if hid % 3 else {"username": f"oncall-{hid % 7}@acme.example"},
        })
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": scenario.ARGOCD_NAMESPACE,
                     "labels": {"app.kubernetes.io/part-of": "bookstore-platform", "tenant": _tenant(index)}},
        "spec": {
            "project": "bookstore-platform",
            "source": source(history),
            "destination": {"server": "https://kubernetes.default.svc", "namespace": _tenant(index)},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            "revisionHistoryLimit": 10,
        },
        "status": {
            "sync": {"status": "Synced", "revision": entries[-1]["revision"] if entries else ""},
            "health": {"status": "Healthy"},
            "history": entries,
            "reconciledAt": scenario.iso(now - timedelta(seconds=index % 180)),
        },
    }


def rollout_family(index: int, now: datetime, replica_sets: int, runs: int) -> list[dict[str, Any]]:
    """A healthy canary Rollout ``svc-NNN`` with its ReplicaSets and AnalysisRuns (owner references set)."""
    name = f"svc-{index:03d}"
    uid = _uid("rollout", name)
    hashes = [_hex(name, "rs", k) for k in range(max(1, replica_sets))]
    stable = hashes[-1]
    labels = {"app": name}
    template = {"metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": name, "image": f"ghcr.io/acme/{name}:v2.{len(hashes)}.0"}]}}
    owner = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": name, "uid": uid,
              "controller": True, "blockOwnerDeletion": True}]
    objs: list[dict[str, Any]] = [{
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": scenario.APP_NAMESPACE, "uid": uid, "labels": dict(labels),
                     "annotations": {"rollout.argoproj.io/revision": str(len(hashes))}},
        "spec": {"replicas": 3, "selector": {"matchLabels": dict(labels)}, "template": template,
                 "strategy": {"canary": {"steps": scenario.CANARY_STEPS}}},
        "status": {"phase": "Healthy", "message": "", "currentStepIndex": len(scenario.CANARY_STEPS),
                   "currentPodHash": stable, "stableRS": stable, "replicas": 3, "updatedReplicas": 3,
                   "readyReplicas": 3, "availableReplicas": 3, "selector": f"app={name}",
                   "canary": {"weights": {"canary": {"weight": 0, "podTemplateHash": stable},
                                          "stable": {"weight": 100, "podTemplateHash": stable}}}},
    }]
    for revision, pod_hash in enumerate(hashes, start=1):
        current = pod_hash == stable
        rs_labels = {**labels, "rollouts-pod-template-hash": pod_hash}
        objs.append({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": f"{name}-{pod_hash}", "namespace": scenario.APP_NAMESPACE, "labels": rs_labels,
                         "annotations": {"rollout.argoproj.io/revision": str(revision)},
                         "ownerReferences": owner,
                         "creationTimestamp": scenario.iso(now - timedelta(days=len(hashes) - revision + 1))},
            "spec": {"replicas": 3 if current else 0, "selector": {"matchLabels": rs_labels},
                     "template": {**template, "metadata": {"labels": rs_labels}}},
            "status": {"replicas": 3 if current else 0, "readyReplicas": 3 if current else 0,
                       "availableReplicas": 3 if current else 0},
        })
    for run in range(runs):
        pod_hash = hashes[run % len(hashes)]
        started = now - timedelta(hours=run + 1)
        objs.append({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {"name": f"{name}-{pod_hash}-{run}", "namespace": scenario.APP_NAMESPACE,
                         "labels": {**labels, "rollouts-pod-template-hash": pod_hash, "rollout-type": "Step",
                                    "step-index": "4"},
                         "ownerReferences": owner, "creationTimestamp": scenario.iso(started)},
            "spec": {"metrics": [{"name": "p99-latency", "interval": "1m", "successCondition": "result[0] < 0.5",
                                  "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090",
                                                              "query": f'p99{{service="{name}"}}'}}}]},
            "status": {"phase": "Successful", "startedAt": scenario.iso(started),
                       "runSummary": {"count": 1, "successful": 1},
                       "metricResults": [{"name": "p99-latency", "phase": "Successful", "count": 3,
                                          "successful": 3, "measurements": [
                                              {"phase": "Successful", "value": "[0.21]",
                                               "startedAt": scenario.iso(started),
                                               "finishedAt": scenario.iso(started + timedelta(seconds=1))}]}]},
        })
    return objs


def backup(index: int, now: datetime) -> dict[str, Any]:
    """One of the crowd's backups: hourly per tenant, going back as far as ``index`` says; about 1 % failed."""
    tenant = _tenant(index)
    start = now - timedelta(hours=1 + index // 10, minutes=(index * 7) % 60)
    phase = "Completed"
    status: dict[str, Any] = {}
    if index % 97 == 13:
        phase, status = "PartiallyFailed", {"errors": 1 + index % 4, "warnings": index % 9}
    elif index % 211 == 17:
        phase, status = "Failed", {"failureReason": "error getting backup volume info: timed out"}
    status.update({
        "phase": phase, "version": 1, "formatVersion": "1.1.0",
        "startTimestamp": scenario.iso(start), "completionTimestamp": scenario.iso(start + timedelta(minutes=4)),
        "expiration": scenario.iso(start + timedelta(days=30)),
        "progress": {"totalItems": 120 + index % 50, "itemsBackedUp": 120 + index % 50},
    })
    return {
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": f"hourly-{tenant}-{start.strftime('%Y%m%d%H%M%S')}-{index:05d}",
                     "namespace": scenario.VELERO_NAMESPACE,
                     "labels": {"velero.io/schedule-name": f"hourly-{tenant}", "velero.io/storage-location": "default"},
                     "creationTimestamp": scenario.iso(start)},
        "spec": {"includedNamespaces": [tenant], "storageLocation": "default", "ttl": "720h0m0s"},
        "status": status,
    }


def schedule(index: int, now: datetime) -> dict[str, Any]:
    tenant = _tenant(index)
    return {
        "apiVersion": "velero.io/v1", "kind": "Schedule",
        "metadata": {"name": f"hourly-{tenant}", "namespace": scenario.VELERO_NAMESPACE},
        "spec": {"schedule": f"{index % 60} * * * *", "template": {"includedNamespaces": [tenant], "ttl": "720h0m0s"}},
        "status": {"phase": "Enabled", "lastBackup": scenario.iso(now - timedelta(minutes=1 + index % 59))},
    }


def cnpg_family(index: int, now: datetime) -> list[dict[str, Any]]:
    """A CNPG cluster; odd ones back up through the Barman Cloud plugin (with their ObjectStore)."""
    name = f"{_tenant(index)}-pg-{index:02d}"
    base: dict[str, Any] = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                            "metadata": {"name": name, "namespace": scenario.CNPG_NAMESPACE}}
    status = {"phase": "Cluster in healthy state", "instances": 3, "readyInstances": 3,
              "currentPrimary": f"{name}-1", "targetPrimary": f"{name}-1"}
    if index % 2 == 0:
        first = scenario.iso(now - timedelta(days=5, hours=index % 24))
        base["spec"] = {"instances": 3, "storage": {"size": "20Gi"},
                        "backup": {"barmanObjectStore": {"destinationPath": f"s3://{name}-cold/",
                                                         "s3Credentials": {"inheritFromIAMRole": True}},
                                   "retentionPolicy": "7d"}}
        base["status"] = {**status, "firstRecoverabilityPoint": first,
                          "lastSuccessfulBackup": scenario.iso(now - timedelta(hours=1 + index % 5))}
        return [base]
    store = f"{name}-store"
    base["spec"] = {"instances": 3, "storage": {"size": "20Gi"},
                    "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": True,
                                 "parameters": {"barmanObjectName": store}}]}
    base["status"] = status
    return [base, {
        "apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
        "metadata": {"name": store, "namespace": scenario.CNPG_NAMESPACE},
        "spec": {"configuration": {"destinationPath": f"s3://{name}/"}},
        "status": {"serverRecoveryWindow": {name: {
            "firstRecoverabilityPoint": scenario.iso(now - timedelta(days=2, hours=index % 24)),
            "lastSuccessfulBackupTime": scenario.iso(now - timedelta(minutes=30 + index % 30))}}},
    }]


def scale_objects(spec: ScaleSpec, now: datetime) -> Iterator[dict[str, Any]]:
    """Every crowd object, kind by kind (the incident's own objects are the demo scenario's)."""
    for index in range(1, spec.applications):  # the demo's Application is the 500th
        yield application(index, now, spec.history)
    crowd = max(1, spec.rollouts - 1)
    runs_each, extra = divmod(max(0, spec.analysis_runs - DEMO_COUNTS["AnalysisRun"]), crowd)
    for index in range(1, spec.rollouts):  # the demo's Rollout is the 300th
        yield from rollout_family(index, now, spec.replica_sets_per_rollout, runs_each + (1 if index <= extra else 0))
    for index in range(max(0, spec.backups - DEMO_COUNTS["Backup"])):
        yield backup(index, now)
    for index in range(max(0, spec.schedules - DEMO_COUNTS["Schedule"])):
        yield schedule(index, now)
    for index in range(1, spec.clusters - 1):  # the demo has two clusters
        yield from cnpg_family(index, now)


def seed_kube(kube: Any, spec: ScaleSpec, now: datetime) -> dict[str, int]:
    """Seed the crowd into a :class:`~cockpit.demo.kubeapi.KubeEmulator`; {kind: count} of what was added.

    The first object of each kind is validated against its CRD schema (422 if the generator is wrong), the rest
    are not: validation costs more than everything else in seeding, and they share the first one's shape.
    """
    counts: dict[str, int] = {}
    for obj in scale_objects(spec, now):
        kind = obj["kind"]
        kube.seed(obj, validate=kind not in counts)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


# --------------------------------------------------------------------------- the real Prometheus

BOUNDS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf")
# Cumulative bucket increments per minute (8000 requests), one per bound: the seed's numbers from the Prometheus
# fixture scaled to a minute.  Healthy p99 = 0.25 + 0.25 * (7920-7840)/(8000-7840) = 0.375 s.
CATALOG_HEALTHY = (2400, 5600, 7840, 8000, 8000, 8000, 8000, 8000)
# The page: p99 = 1 + 1.5 * (7920-7912)/(7972-7912) = 1.2 s.
CATALOG_PAGE = (800, 3200, 6000, 7600, 7912, 7972, 7996, 8000)
METRIC = "http_request_duration_seconds"
BLOCK_SECONDS = 2 * 3600


def _healthy(service_index: int) -> tuple[int, ...]:
    """A healthy service's increments (p99 between 0.1 and 0.5 s, different per service)."""
    total = 1000 + 10 * (service_index % 50)
    fast = 0.55 + 0.3 * ((service_index * 37) % 10) / 10
    shares = (fast * 0.6, fast, 0.93, 0.995, 1.0, 1.0, 1.0, 1.0)
    return tuple(int(total * share) for share in shares)


def services(count: int) -> list[str]:
    return [scenario.SERVICE] + [f"svc-{index:03d}" for index in range(1, max(1, count))]


def write_openmetrics(directory: Path, spec: ScaleSpec, now: float, deploy_at: float) -> list[Path]:
    """OpenMetrics files, one per two-hour block, for ``services(spec.services)``; returns the paths written.

    Only ``_bucket`` series are written: ``histogram_quantile`` needs nothing else.  Counters start at zero at the
    first sample and grow by the per-minute increments, so ``rate`` over ``[5m]`` gives the designed quantiles.
    """
    step = spec.scrape_seconds
    end = int(now + spec.future_minutes * 60) // step * step
    start = int(now - spec.prometheus_hours * 3600) // step * step
    stamps = list(range(start, end + 1, step))
    names = services(spec.services)
    increments: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
        name: ((CATALOG_HEALTHY, CATALOG_PAGE) if name == scenario.SERVICE else (_healthy(i), _healthy(i)))
        for i, name in enumerate(names)
    }
    totals = {(name, b): 0 for name in names for b in range(len(BOUNDS))}  # counters carried across blocks
    paths = []
    directory.mkdir(parents=True, exist_ok=True)
    first_block = start // BLOCK_SECONDS * BLOCK_SECONDS
    for block_start in range(first_block, end + 1, BLOCK_SECONDS):
        chunk = [ts for ts in stamps if block_start <= ts < block_start + BLOCK_SECONDS]
        if not chunk:
            continue
        path = directory / f"block-{block_start}.om"
        with path.open("w", encoding="ascii") as out:
            out.write(f"# HELP {METRIC} Duration of HTTP requests.\n# TYPE {METRIC} histogram\n")
            for name in names:
                healthy, page = increments[name]
                for b, bound in enumerate(BOUNDS):
                    prefix = f'{METRIC}_bucket{{service="{name}",le="{bound}"}} '
                    total, lines = totals[(name, b)], []
                    for ts in chunk:
                        if ts > start:
                            total += (page if ts > deploy_at else healthy)[b]
                        lines.append(f"{prefix}{total} {ts}\n")
                    totals[(name, b)] = total
                    out.write("".join(lines))
            out.write("# EOF\n")
        paths.append(path)
    return paths


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RealPrometheus:
    """The Debian ``prometheus`` over a backfilled TSDB, on a free loopback port."""

    def __init__(self, workdir: Path, spec: ScaleSpec, *, now: float, deploy_at: float,
                 ready_timeout: float = 60.0) -> None:
        self.workdir = workdir
        self.spec = spec
        self.now = now
        self.deploy_at = deploy_at
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.backfill_seconds = 0.0
        self.ready_seconds = 0.0
        self.samples = 0

    @staticmethod
    def available() -> bool:
        return shutil.which("promtool") is not None and shutil.which("prometheus") is not None

    def backfill(self) -> Path:
        promtool = shutil.which("promtool")
        if promtool is None:
            raise RuntimeError("promtool not on PATH: install the Debian package prometheus (make bench does)")
        text_dir, data_dir = self.workdir / "openmetrics", self.workdir / "tsdb"
        started = time.monotonic()
        files = write_openmetrics(text_dir, self.spec, self.now, self.deploy_at)
        stamps = (self.spec.prometheus_hours * 3600 + self.spec.future_minutes * 60) / self.spec.scrape_seconds
        self.samples = int(stamps) * len(services(self.spec.services)) * len(BOUNDS)

        def build(path: Path) -> None:
            done = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path),
                                   str(data_dir)], capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"promtool failed on {path.name}: {done.stderr.strip()[-800:]}")
            path.unlink()

        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            list(pool.map(build, files))
        shutil.rmtree(text_dir, ignore_errors=True)
        self.backfill_seconds = time.monotonic() - started
        return data_dir

    def start(self) -> RealPrometheus:
        prometheus = shutil.which("prometheus")
        if prometheus is None:
            raise RuntimeError("prometheus not on PATH: install the Debian package prometheus (make bench does)")
        data_dir = self.backfill()
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\n# nothing is scraped: the data is backfilled\n")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = (self.workdir / "prometheus.log").open("wb")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [prometheus, f"--storage.tsdb.path={data_dir}", f"--web.listen-address=127.0.0.1:{port}",
             f"--config.file={config}", "--log.level=warn", "--storage.tsdb.retention.time=30d"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir,
            env={**os.environ, "HOME": str(self.workdir)},
        )
        log.close()
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() - started > self.ready_timeout:
                tail = (self.workdir / "prometheus.log").read_text(errors="replace")[-1500:]
                self.stop()
                raise RuntimeError(f"prometheus did not become ready: {tail}")
            time.sleep(0.05)
        self.ready_seconds = time.monotonic() - started
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def query_count(self) -> int:
        """Queries answered so far (instant + range), from Prometheus's own request counter."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as answer:
            text = answer.read().decode("utf-8", "replace")
        total = 0.0
        for line in text.splitlines():
            if line.startswith("prometheus_http_requests_total{") and (
                    'handler="/api/v1/query"' in line or 'handler="/api/v1/query_range"' in line):
                total += float(line.rsplit(" ", 1)[1])
        return int(total)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --------------------------------------------------------------------------- the whole platform


class ScalePlatform:
    """The demo platform plus the crowd, and the real Prometheus in place of the demo's stand-in.

    ``start()`` / ``stop()``; :meth:`settings` gives the cockpit's Settings for it (the same targets as the demo).
    With ``prometheus=False`` (or no ``prometheus`` binary) the demo's Prometheus stand-in serves the p99.
    """

    def __init__(self, spec: ScaleSpec = FULL, *, workdir: Path | None = None, now: datetime | None = None,
                 prometheus: bool = True) -> None:
        self.spec = spec
        self.now = now or datetime.now(timezone.utc)
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="cockpit-scale-"))
        self.want_prometheus = prometheus
        self.demo: Any = None
        self.prometheus: RealPrometheus | None = None
        self.counts: dict[str, int] = {}
        self.seed_seconds = 0.0

    def start(self) -> ScalePlatform:
        from cockpit.demo.platform import DemoPlatform

        self.demo = DemoPlatform(now=self.now, workdir=self.workdir / "demo").start()
        try:
            started = time.monotonic()
            self.counts = seed_kube(self.demo.kube, self.spec, self.now)
            self.seed_seconds = time.monotonic() - started
            if self.want_prometheus and RealPrometheus.available():
                self.prometheus = RealPrometheus(self.workdir / "prometheus", self.spec, now=self.now.timestamp(),
                                                 deploy_at=self.demo.deploy_at).start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def kube(self) -> Any:
        return self.demo.kube

    @property
    def prometheus_url(self) -> str:
        return self.prometheus.url if self.prometheus is not None else self.demo.prometheus_url

    def settings(self, base: Any = None) -> Any:
        from cockpit.config import build_settings
        from cockpit.demo.platform import demo_settings

        settings = demo_settings(base if base is not None else build_settings({}), self.demo)
        return replace(settings, prometheus_url=self.prometheus_url)

    def totals(self) -> dict[str, int]:
        """Objects per kind in the emulator (the crowd plus the incident)."""
        out: dict[str, int] = {}
        for api_version, plural, kind in (
            ("argoproj.io/v1alpha1", "applications", "Application"), ("argoproj.io/v1alpha1", "rollouts", "Rollout"),
            ("apps/v1", "replicasets", "ReplicaSet"), ("argoproj.io/v1alpha1", "analysisruns", "AnalysisRun"),
            ("velero.io/v1", "backups", "Backup"), ("velero.io/v1", "schedules", "Schedule"),
            ("postgresql.cnpg.io/v1", "clusters", "Cluster"), ("barmancloud.cnpg.io/v1", "objectstores", "ObjectStore"),
        ):
            out[kind] = self.demo.kube.store.count(self.demo.kube.resource_type(api_version, plural))
        return out

    def stop(self) -> None:
        if self.prometheus is not None:
            self.prometheus.stop()
        if self.demo is not None:
            self.demo.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
