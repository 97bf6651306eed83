"""The live path loses nothing the parsers read: argo-rollouts' and Velero's own test objects, stored in the
Kubernetes API emulator and watched by a session, reach the pane store exactly as the parsers make them from the
objects the API server holds (the unit tests in tests/unit/test_upstream_*.py hold those parsers to the upstream
CLIs' expected output).

What the live path adds and could lose: list items and watch events mixed in one cache (list items of core kinds
carry no ``kind``), the server-side narrowing (ReplicaSets by the Rollout's labels, pods by the stable/canary pod
hash, AnalysisRuns by the canary hash), pods as None until their watch has listed, Velero's optional parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cockpit.config import build_settings
from cockpit.demo.kubeapi import KubeEmulator
from cockpit.demo.kubeapi_ops import ApiError
from cockpit.models import FeedState
from cockpit.session import connect, open_session
from cockpit.sources.analysis import runs_for_rollout
from cockpit.sources.rollouts import parse_rollout
from cockpit.sources.velero import parse_location, parse_restores, parse_velero
from tests.unit.upstream_render import UPSTREAM, load_dir

INFO = "argo-rollouts/info-testdata"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    kube = KubeEmulator().start()
    try:
        yield kube
    finally:
        kube.stop()


def _session(kube: KubeEmulator, tmp_path: Path, **values: Any) -> Any:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", namespace=values.get("namespace", "default"))
    settings = build_settings({"kubeconfig": str(kubeconfig), **values})
    session = open_session(settings, connect(settings), audit_path=str(tmp_path / "audit.jsonl"))
    session.start()
    return session


def _objects(directory: str) -> list[dict[str, Any]]:
    return [obj for objs in load_dir(f"{INFO}/{directory}").values() for obj in objs]


@pytest.mark.parametrize(("directory", "name"), [("canary", "canary-demo"), ("blue-green", "bluegreen-demo"),
                                                  ("rollout-aborted", "rollout-background-analysis"),
                                                  ("experiment-analysis", "rollout-experiment-analysis")])
def test_upstream_rollouts_reach_the_store_as_parsed(emulator: KubeEmulator, tmp_path: Path, directory: str,
                                                     name: str) -> None:
    kinds = {"Rollout", "ReplicaSet", "Pod", "AnalysisRun"}
    for obj in _objects(directory):
        if obj["kind"] in kinds:
            if obj["kind"] == "ReplicaSet":  # old testdata says extensions/v1beta1: a server today serves apps/v1
                obj["apiVersion"] = "apps/v1"
            try:
                emulator.seed(obj)
            except ApiError as err:  # an API server refuses it too (upstream's "canary-demo-workloadRef")
                assert err.code == 422, err
    assert emulator.list_objects("argoproj.io/v1alpha1", "rollouts")
    namespace = next(o for o in _objects(directory) if o["kind"] == "Rollout")["metadata"]["namespace"]
    session = _session(emulator, tmp_path, namespace=namespace, rollout=name)
    try:
        context = session.targets[0].name

        def entry(pane: str) -> Any:
            return session.store.entry(context, pane)

        view = wait_for("the rollout with its pods", lambda: entry("rollout").snapshot.data
                        if entry("rollout").snapshot.data is not None and entry("rollout").snapshot.data.pods_watched
                        else None)
        stored = {kind: emulator.list_objects(api, plural, namespace) for kind, (api, plural) in {
            "Rollout": ("argoproj.io/v1alpha1", "rollouts"), "ReplicaSet": ("apps/v1", "replicasets"),
            "Pod": ("v1", "pods"), "AnalysisRun": ("argoproj.io/v1alpha1", "analysisruns")}.items()}
        rollout = next(r for r in stored["Rollout"] if r["metadata"]["name"] == name)
        direct = parse_rollout(rollout, stored["ReplicaSet"], [])
        shown_hashes = {h for h in (direct.stable_hash, direct.canary_hash, direct.active_hash, direct.preview_hash)
                        if h}
        pods = [p for p in stored["Pod"]
                if (p["metadata"].get("labels") or {}).get("rollouts-pod-template-hash") in shown_hashes]
        expected = parse_rollout(rollout, stored["ReplicaSet"], pods)
        view = wait_for("the same view", lambda: entry("rollout").snapshot.data
                        if entry("rollout").snapshot.data == expected else None, timeout=5)
        assert view == expected
        # narrowing by pod hash loses none of the pods the CLI shows under the stable and canary (active/preview)
        # ReplicaSets: the same as with every pod of the namespace
        full = parse_rollout(rollout, stored["ReplicaSet"], stored["Pod"])
        assert {rs.name: rs.pods for rs in view.replica_sets if rs.pod_hash in shown_hashes} == \
            {rs.name: rs.pods for rs in full.replica_sets if rs.pod_hash in shown_hashes}
        assert view.pods or not pods
        if direct.canary_hash:
            runs = wait_for("the runs", lambda: entry("analysis").snapshot.data is not None
                            and entry("analysis").state is FeedState.OK and entry("analysis"))
            assert runs.snapshot.data == runs_for_rollout(stored["AnalysisRun"], expected)
    finally:
        session.stop()


def test_upstream_velero_objects_reach_the_store_as_parsed(emulator: KubeEmulator, tmp_path: Path) -> None:
    data = yaml.safe_load((UPSTREAM / "velero/transcribed/describe_and_print.yaml").read_text(encoding="utf-8"))
    seen: set[str] = set()
    for case in data["schedules"] + data["backups"]:
        obj = case["object"]
        if obj["metadata"]["name"] in seen:  # two cases print the same backup in two states: keep the first
            continue
        seen.add(obj["metadata"]["name"])
        emulator.seed(obj)
    emulator.seed({"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
                   "metadata": {"name": "backup-location", "namespace": "velero"},
                   "spec": {"provider": "aws", "objectStorage": {"bucket": "b"}},
                   "status": {"phase": "Unavailable", "message": "NoSuchBucket"}})
    session = _session(emulator, tmp_path)
    try:
        context = session.targets[0].name
        # every watch listed: locations, backups and schedules arrive in any order
        entry = wait_for("the Velero pane", lambda: session.store.entry(context, "velero")
                         if session.store.entry(context, "velero").snapshot.data is not None
                         and session.store.entry(context, "velero").snapshot.data.locations
                         and session.store.entry(context, "velero").snapshot.data.backups
                         and session.store.entry(context, "velero").snapshot.data.schedules else None)
        stored = {plural: emulator.list_objects("velero.io/v1", plural, "velero")
                  for plural in ("backups", "schedules", "restores", "backupstoragelocations")}
        expected = parse_velero(stored["backups"], stored["schedules"], stored["backupstoragelocations"])
        view = entry.snapshot.data
        assert view.backups == expected.backups and view.schedules == expected.schedules
        assert view.locations == expected.locations == (parse_location(stored["backupstoragelocations"][0]),)
        assert view.restores == parse_restores(stored["restores"]) == ()
        assert entry.state is FeedState.OK and entry.status.error == ""
    finally:
        session.stop()
