"""Recording and replay without Textual: model round trips, the file format, damage, secrets, speed.

The scenario is the seed's: the bookstore catalog service, Argo CD history 40/41/42 (42 bumped the image to 1.8.3),
a canary at step 4 of 8 whose p99 broke the 500 ms SLO, a CNPG cluster with a recovery window, Velero backups.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

import cockpit
from cockpit.models import (
    AnalysisRunView,
    ArgoApp,
    CnpgClusterView,
    CnpgPaneData,
    FeedState,
    FeedStatus,
    HistoryEntry,
    LatencyView,
    MetricResult,
    PaneSnapshot,
    ReplicaSetInfo,
    RolloutView,
    VeleroBackup,
    VeleroSchedule,
    VeleroView,
    to_dict,
)
from cockpit.recording import (
    Player,
    Recorder,
    RecordingError,
    RecordingMeta,
    answer_payload,
    default_path,
    feed_status_from_dict,
    from_dict,
    gateway_payload,
    marker_payload,
    redact,
    snapshot_from_dict,
    snapshot_to_dict,
    step_payload,
)
from cockpit.recording.format import REDACTED, SCHEMA_VERSION, decode_payload

UTC = timezone.utc
T0 = datetime(2026, 5, 20, 14, 0, 0, tzinfo=UTC)
CTX = "staging-us-east"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "crd-examples"

# --------------------------------------------------------------------------- realistic models


def history(n: int, at: datetime, image: str, rev: str) -> HistoryEntry:
    return HistoryEntry(
        id=n,
        deployed_at=at,
        deploy_started_at=at - timedelta(seconds=41),
        revision=rev,
        revisions=(),
        source={
            "repoURL": "https://github.com/acme/bookstore-gitops.git",
            "path": "apps/catalog/overlays/us-east",
            "targetRevision": "main",
            "kustomize": {"images": [f"ghcr.io/acme/catalog:{image}"]},
        },
        sources=(),
        initiated_by="automated",
        change=f"image catalog 1.8.2 → {image}" if n == 42 else "",
    )


def argo_app() -> ArgoApp:
    return ArgoApp(
        name="bookstore-catalog-us-east",
        namespace="argocd",
        project="bookstore",
        repo_url="https://github.com/acme/bookstore-gitops.git",
        path="apps/catalog/overlays/us-east",
        target_revision="main",
        dest_server="https://kubernetes.default.svc",
        dest_namespace="bookstore-platform-acme-books",
        sync_status="Synced",
        health_status="Degraded",
        health_message="Rollout catalog: canary analysis failing",
        auto_sync=True,
        self_heal=True,
        prune=False,
        operation_running=False,
        operation_phase="Succeeded",
        operation_message="successfully synced (all tasks run)",
        history=(
            history(42, T0 - timedelta(minutes=12), "1.8.3", "d8f3c2a9e1b04c7d8f3c2a9e1b04c7d8f3c2a9e1"),
            history(41, T0 - timedelta(days=2), "1.8.2", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"),
            HistoryEntry(
                id=40,
                deployed_at=None,
                deploy_started_at=None,
                revision="",
                revisions=("0c1d2e3f40516273849aabbccddeeff001122334", "4.2.1"),
                source={},
                sources=({"repoURL": "https://github.com/acme/bookstore-gitops.git"}, {"chart": "catalog"}),
                initiated_by="alice@acme.io",
                change="",
            ),
        ),
        owner_appset="bookstore-catalog",
        conditions=("SyncError: one or more objects failed to apply [1]",),
        resource_version="722811357",
        has_status=True,
    )


def replica_set(name: str, hash_: str, revision: int | None, image: str, ready: int) -> ReplicaSetInfo:
    return ReplicaSetInfo(
        name=name,
        pod_hash=hash_,
        revision=revision,
        images=(image, "docker.io/envoyproxy/envoy:v1.30"),
        replicas=ready,
        ready_replicas=ready,
        available_replicas=ready,
        owner_uid="6f1c3a9e-2b44-4c8e-9d1a-0a7e5b3c2d11",
        template={
            "metadata": {"labels": {"app": "catalog", "rollouts-pod-template-hash": hash_}},
            "spec": {
                "containers": [
                    {"name": "catalog", "image": image, "ports": [{"containerPort": 8080}],
                     "env": [{"name": "LOG_LEVEL", "value": "info"}]},
                ],
                "volumes": [{"name": "db", "secret": {"secretName": "catalog-db-app"}}],
                "automountServiceAccountToken": False,
            },
        },
    )


def rollout_view(*, ready: int = 10, step: int | None = 4, aborted: bool = False) -> RolloutView:
    return RolloutView(
        name="catalog",
        namespace="bookstore-platform-acme-books",
        uid="6f1c3a9e-2b44-4c8e-9d1a-0a7e5b3c2d11",
        strategy="canary",
        phase="Degraded" if aborted else "Paused",
        message="RolloutAborted: Rollout aborted update to revision 7" if aborted else "CanaryPauseStep",
        step_index=step,
        step_count=8,
        set_weight=0 if aborted else 50,
        actual_weight=None if aborted else 50,
        stable_hash="6b9f7c5d4",
        canary_hash="7d8c6b5a9",
        stable_images=("ghcr.io/acme/catalog:1.8.2",),
        canary_images=("ghcr.io/acme/catalog:1.8.3",),
        replicas=10,
        ready_replicas=ready,
        available_replicas=ready,
        updated_replicas=5,
        paused=not aborted,
        pause_reasons=() if aborted else ("CanaryPauseStep",),
        controller_pause=False,
        aborted=aborted,
        aborted_at=T0 + timedelta(minutes=4) if aborted else None,
        match_labels={"app": "catalog"},
        current_step_analysis="catalog-7d8c6b5a9-7-4",
        replica_sets=(
            replica_set("catalog-7d8c6b5a9", "7d8c6b5a9", 7, "ghcr.io/acme/catalog:1.8.3", 5),
            replica_set("catalog-6b9f7c5d4", "6b9f7c5d4", 6, "ghcr.io/acme/catalog:1.8.2", ready),
            replica_set("catalog-5a8e6b4c3", "5a8e6b4c3", None, "ghcr.io/acme/catalog:1.8.1", 0),
        ),
        resource_version="9912",
        has_status=True,
    )


def analysis_runs() -> tuple[AnalysisRunView, ...]:
    return (
        AnalysisRunView(
            name="catalog-7d8c6b5a9-7-4",
            namespace="bookstore-platform-acme-books",
            phase="Failed",
            message="Metric \"p99-latency\" assessed Failed due to failed (3) > failureLimit (2)",
            pod_hash="7d8c6b5a9",
            rollout_type="Step",
            step_index=4,
            started_at=T0 - timedelta(minutes=6),
            created_at=T0 - timedelta(minutes=6, seconds=1),
            metrics=(
                MetricResult("p99-latency", "Failed", "0.84", "", 5, 2, 3, 0, 0, "failed (3) > failureLimit (2)"),
                MetricResult("error-rate", "Successful", "0.002", "", 5, 5, 0, 0, 0, ""),
            ),
        ),
        AnalysisRunView(
            name="catalog-6b9f7c5d4-6-2",
            namespace="bookstore-platform-acme-books",
            phase="Successful",
            message="",
            pod_hash="6b9f7c5d4",
            rollout_type="Background",
            step_index=None,
            started_at=None,
            created_at=T0 - timedelta(days=2),
            metrics=(),
        ),
    )


def latency_view(value: float | None = 0.84, at: datetime = T0) -> LatencyView:
    return LatencyView(
        query="histogram_quantile(0.99, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{service="catalog"}[5m])))',
        slo_seconds=0.5,
        value=value,
        series=tuple((at.timestamp() - 60 * i, 0.31 + 0.05 * i) for i in range(10, 0, -1)) + ((at.timestamp(), 0.84),),
        evaluated_at=at,
    )


def cnpg_data() -> CnpgPaneData:
    first = CnpgClusterView(
        name="catalog-db",
        namespace="bookstore-platform-acme-books",
        phase="Cluster in healthy state",
        instances=3,
        ready_instances=3,
        current_primary="catalog-db-1",
        backup_method="plugin",
        object_store="catalog-db-store",
        server_name="catalog-db",
        first_recoverability_point=datetime(2026, 5, 13, 2, 0, 4, 123456, tzinfo=UTC),
        last_successful_backup=datetime(2026, 5, 20, 2, 0, 11, tzinfo=UTC),
        last_failed_backup=None,
        window_source="ObjectStore catalog-db-store (Barman Cloud plugin)",
        has_status=True,
    )
    second = replace(first, name="orders-db", backup_method="", object_store="", first_recoverability_point=None,
                     last_successful_backup=None, window_source="", has_status=False)
    return CnpgPaneData(clusters=(first, second), selected="catalog-db")


def velero_view() -> VeleroView:
    return VeleroView(
        backups=(
            VeleroBackup(
                name="bookstore-daily-20260520020000",
                phase="PartiallyFailed",
                schedule="bookstore-daily",
                started_at=datetime(2026, 5, 20, 2, 0, tzinfo=UTC),
                completed_at=datetime(2026, 5, 20, 2, 4, 31, tzinfo=UTC),
                expiration=datetime(2026, 6, 19, 2, 0, tzinfo=UTC),
                included_namespaces=("bookstore-platform-acme-books",),
                errors=2,
                warnings=5,
                failure_reason="",
                storage_location="default",
                created_at=datetime(2026, 5, 20, 2, 0, tzinfo=UTC),
            ),
        ),
        schedules=(
            VeleroSchedule("bookstore-daily", "Enabled", "0 2 * * *", False, datetime(2026, 5, 20, 2, 0, tzinfo=UTC),
                           ("bookstore-platform-acme-books", "bookstore-platform-shared")),
        ),
    )


PANE_DATA = {
    "argocd": argo_app,
    "rollout": rollout_view,
    "analysis": analysis_runs,
    "latency": latency_view,
    "cnpg": cnpg_data,
    "velero": velero_view,
}


def snapshot(pane: str, data: Any = None, *, context: str = CTX, at: datetime = T0) -> PaneSnapshot:
    if data is None:
        data = PANE_DATA[pane]()
    return PaneSnapshot(pane, context, data, FeedStatus(FeedState.OK, updated_at=at, watch="connected"))


def through_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("pane", sorted(PANE_DATA))
def test_every_pane_round_trips_to_an_equal_model(pane: str) -> None:
    model = PANE_DATA[pane]()
    back = from_dict(pane, through_json(to_dict(model)))
    assert back == model
    assert type(back) is type(model)
    snap = snapshot(pane, model)
    again = snapshot_from_dict(through_json(snapshot_to_dict(snap)))
    assert again == snap
    assert hash(again.status) == hash(snap.status)


def test_round_trip_restores_tuples_and_utc_datetimes() -> None:
    app = from_dict("argocd", through_json(to_dict(argo_app())))
    assert isinstance(app.history, tuple) and isinstance(app.history[2].revisions, tuple)
    assert app.history[0].deployed_at.tzinfo is UTC
    assert app.history[2].deployed_at is None
    rollout = from_dict("rollout", through_json(to_dict(rollout_view(aborted=True))))
    assert isinstance(rollout.replica_sets[0], ReplicaSetInfo) and rollout.replica_sets[2].revision is None
    assert rollout.aborted_at.tzinfo is UTC
    runs = from_dict("analysis", through_json(to_dict(analysis_runs())))
    assert isinstance(runs, tuple) and runs[0].failing_metric.name == "p99-latency"
    latency = from_dict("latency", through_json(to_dict(latency_view())))
    assert isinstance(latency.series, tuple) and isinstance(latency.series[0], tuple)
    assert latency.over_slo is True
    cnpg = from_dict("cnpg", through_json(to_dict(cnpg_data())))
    assert cnpg.current.first_recoverability_point.microsecond == 123456
    # A datetime written with another offset still comes back as UTC.
    raw = to_dict(velero_view())
    raw["backups"][0]["started_at"] = "2026-05-20T04:00:00+02:00"
    assert from_dict("velero", raw).backups[0].started_at == datetime(2026, 5, 20, 2, 0, tzinfo=UTC)


def _fixture_models() -> Iterator[tuple[str, str, Any]]:
    from cockpit.sources.analysis import parse_analysis_run
    from cockpit.sources.argocd import parse_application
    from cockpit.sources.cnpg import parse_cluster
    from cockpit.sources.rollouts import parse_rollout
    from cockpit.sources.velero import parse_velero

    for path in sorted(FIXTURES.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict):
                continue
            kind, name = doc.get("kind"), path.name
            if kind == "Application":
                yield name, "argocd", parse_application(doc)
            elif kind == "Rollout":
                yield name, "rollout", parse_rollout(doc, ())
            elif kind == "AnalysisRun":
                yield name, "analysis", (parse_analysis_run(doc),)
            elif kind == "Cluster" and "cnpg" in doc.get("apiVersion", ""):
                cluster = parse_cluster(doc)
                yield name, "cnpg", CnpgPaneData((cluster,), cluster.name)
            elif kind == "Backup" and "velero" in doc.get("apiVersion", ""):
                yield name, "velero", parse_velero([doc], [])
            elif kind == "Schedule":
                yield name, "velero", parse_velero([], [doc])


def test_models_parsed_from_every_vendored_example_round_trip() -> None:
    seen = set()
    for name, pane, model in _fixture_models():
        assert from_dict(pane, through_json(to_dict(model))) == model, name
        seen.add(pane)
    assert seen == set(PANE_DATA) - {"latency"}


@pytest.mark.parametrize("state", list(FeedState))
def test_feed_status_round_trips(state: FeedState) -> None:
    status = FeedStatus(state, updated_at=T0, error="Forbidden: list rollouts", watch="reconnecting in 4s",
                        choices=("catalog", "orders") if state is FeedState.PICK else ())
    back = feed_status_from_dict(through_json(to_dict(status)))
    assert back == status and back.state is state and isinstance(back.choices, tuple)
    assert feed_status_from_dict(through_json(to_dict(FeedStatus()))) == FeedStatus()


def test_snapshot_without_data_and_unknown_pane() -> None:
    empty = PaneSnapshot("rollout", CTX, None, FeedStatus(FeedState.PICK, choices=("catalog",)))
    assert snapshot_from_dict(through_json(snapshot_to_dict(empty))) == empty
    assert from_dict("some-future-pane", {"x": [1]}) == {"x": [1]}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(replicas="10"),
        lambda d: d.update(aborted_at="yesterday"),
        lambda d: d.update(replica_sets=[{"name": "x"}]),
        lambda d: d.pop("name"),
        lambda d: d.update(step_index=True),
    ],
)
def test_wrong_shapes_are_a_recording_error_not_a_crash(mutate: Any) -> None:
    raw = to_dict(rollout_view())
    mutate(raw)
    with pytest.raises(RecordingError):
        from_dict("rollout", raw)
    with pytest.raises(RecordingError):
        snapshot_from_dict({"pane": "rollout", "context": CTX, "data": raw, "status": {"state": "ok"}})
    with pytest.raises(RecordingError):
        feed_status_from_dict({"state": "on fire"})


# --------------------------------------------------------------------------- recorder + player


def meta(**changes: Any) -> RecordingMeta:
    base = RecordingMeta(contexts=(CTX,), targets={"app": "bookstore-catalog-us-east", "rollout": "catalog"},
                         started_at=T0, non_production=True)
    return replace(base, **changes)


@pytest.fixture
def rec_path(tmp_path: Path) -> Path:
    return tmp_path / "session.cockpit"


def test_replayed_snapshots_equal_the_live_ones(rec_path: Path) -> None:
    live: dict[tuple[str, str], PaneSnapshot] = {}
    with Recorder(rec_path, meta()) as rec:
        for offset, pane in enumerate(sorted(PANE_DATA)):
            snap = snapshot(pane)
            live[(CTX, pane)] = snap
            assert rec.record_snapshot(snap, T0 + timedelta(seconds=offset)) is not None
        aborted = snapshot("rollout", rollout_view(aborted=True), at=T0 + timedelta(minutes=4))
        rec.record_snapshot(aborted, T0 + timedelta(minutes=4))
    with Player(rec_path) as player:
        assert player.meta.cockpit_version == cockpit.__version__
        assert player.meta.schema_version == SCHEMA_VERSION
        assert player.meta.contexts == (CTX,) and player.meta.non_production and player.complete
        assert player.start == T0
        assert player.state_at(T0 + timedelta(minutes=1)) == live
        later = player.state_at(T0 + timedelta(minutes=5))
        assert later[(CTX, "rollout")] == aborted
        assert player.state_at(T0 - timedelta(seconds=1)) == {}
        assert set(player.state_at(T0 + timedelta(seconds=2))) == {(CTX, p) for p in sorted(PANE_DATA)[:3]}
        assert player.damage is None
    assert not rec_path.with_name(rec_path.name + "-wal").exists()  # one self-contained file after close


def test_unchanged_snapshots_are_written_once_per_pane_and_context(rec_path: Path) -> None:
    with Recorder(rec_path, meta()) as rec:
        first = rec.record_snapshot(snapshot("rollout"), T0)
        assert first is not None
        assert rec.record_snapshot(snapshot("rollout"), T0 + timedelta(seconds=5)) is None
        assert rec.record_snapshot(snapshot("rollout", context="prod-eu"), T0 + timedelta(seconds=6)) is not None
        changed = snapshot("rollout", rollout_view(ready=9))
        assert rec.record_snapshot(changed, T0 + timedelta(seconds=7)) is not None
        assert rec.record_snapshot(snapshot("rollout"), T0 + timedelta(seconds=8)) is not None  # back again
        assert rec.count == 4
    with Player(rec_path) as player:
        assert player.count() == 4
        assert player.streams == (("prod-eu", "rollout"), (CTX, "rollout"))


def test_events_markers_and_action_navigation(rec_path: Path) -> None:
    def at(s: int) -> datetime:
        return T0 + timedelta(seconds=s)

    with Recorder(rec_path, meta()) as rec:
        rec.record_snapshot(snapshot("latency"), at(0))
        rec.record("marker", marker_payload("alert", at=at(-30), text="CatalogP99High"), at(1))
        rec.record("answer", answer_payload("recent_deploy", "asked", text="Deploy in the last 30 minutes?"), at(5))
        rec.record("answer", answer_payload("recent_deploy", "answered", answer="yes"), at(9))
        rec.record("step", step_payload("code-rollback-rollouts", "abort", "asked", index=2, title="Abort the canary"),
                   at(20))
        rec.record("gateway", gateway_payload("rollouts.abort", "catalog", "ok", method="PATCH",
                                              path="/apis/argoproj.io/v1alpha1/namespaces/b/rollouts/catalog/status",
                                              status=200), at(25), context=CTX)
        rec.record_snapshot(snapshot("latency", latency_view(0.3, at(60)), at=at(60)), at(60))
    with Player(rec_path) as player:
        labels = [e.label for e in player.markers()]
        assert labels == [
            "alert at 2026-05-20T13:59:30+00:00: CatalogP99High",
            "asked: Deploy in the last 30 minutes?",
            "answered yes: recent_deploy",
            "code-rollback-rollouts 2. Abort the canary: asked",
            "rollouts.abort catalog: ok",
        ]
        assert player.next_action(at(1)).ts == at(5).timestamp()
        assert player.next_action(at(0)).kind == "marker"
        assert player.prev_action(at(25)).kind == "step"
        assert player.next_action(at(25)) is None and player.prev_action(at(1)) is None
        assert player.next_event(at(25)).kind == "snapshot"
        assert [e.kind for e in player.events_between(at(5), at(20))] == ["answer", "answer", "step"]
        assert [e.kind for e in player.events_between(at(0), at(60), kinds=("snapshot",))] == ["snapshot"] * 2
        assert player.end == player.meta.ended_at and player.end > at(60)


def test_a_second_connection_reads_while_the_recorder_appends(rec_path: Path) -> None:
    rec = Recorder(rec_path, meta())
    try:
        rec.record_snapshot(snapshot("rollout"), T0)
        player = Player(rec_path)
        try:
            assert not player.complete
            assert player.state_at(T0)[(CTX, "rollout")].data.ready_replicas == 10
            rec.record_snapshot(snapshot("rollout", rollout_view(ready=3)), T0 + timedelta(seconds=10))
            rec.record("marker", marker_payload("note", text="still writing"), T0 + timedelta(seconds=11))
            assert player.state_at(T0 + timedelta(seconds=10))[(CTX, "rollout")].data.ready_replicas == 3
            assert player.end == T0 + timedelta(seconds=11)
            assert player.count() == 3
            rec.record_snapshot(snapshot("velero"), T0 + timedelta(seconds=12))  # a pane that was not there at open
            assert set(player.state_at(T0 + timedelta(seconds=12))) == {(CTX, "rollout"), (CTX, "velero")}
            rec.close(ended_at=T0 + timedelta(seconds=13))
            player.refresh()
            assert player.complete and player.end == T0 + timedelta(seconds=13)
        finally:
            player.close()
    finally:
        rec.close()


def test_recorder_is_thread_safe(rec_path: Path) -> None:
    with Recorder(rec_path, meta()) as rec:
        def work(n: int) -> None:
            for i in range(100):
                rec.record("marker", marker_payload("note", text=f"{n}-{i}"), T0 + timedelta(seconds=i))
                rec.record_snapshot(snapshot("latency", latency_view(0.1 * n + i / 1000), context=f"c{n}"), T0)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert rec.count == 800 and rec.error is None
    with Player(rec_path) as player:
        assert player.count() == 800
        assert len({e.payload["text"] for e in player.events(("marker",))}) == 400


def test_batch_commits_once_and_recorder_never_overwrites(rec_path: Path) -> None:
    with Recorder(rec_path, meta()) as rec:
        with rec.batch():
            for pane in PANE_DATA:
                rec.record_snapshot(snapshot(pane), T0)
            with rec.batch():  # nesting is fine
                rec.record("marker", marker_payload("drill-start"), T0)
        assert rec.count == 7
    with pytest.raises(RecordingError, match="never overwritten"):
        Recorder(rec_path, meta())
    assert rec_path.stat().st_mode & 0o777 == 0o600  # a session's evidence is private to its user


def test_record_accepts_a_dataclass_payload(rec_path: Path) -> None:
    with Recorder(rec_path, meta()) as rec:
        rec.record("decision", FeedStatus(FeedState.ERROR, updated_at=T0, error="x"), T0)
        with pytest.raises(ValueError, match="not one of"):
            rec.record("screen-bytes", {}, T0)
        with pytest.raises(ValueError, match="record_snapshot"):
            rec.record("snapshot", {}, T0)
    with Player(rec_path) as player:
        (event,) = player.events()
        assert event.payload == {"state": "error", "updated_at": "2026-05-20T14:00:00Z", "error": "x", "watch": "",
                                 "choices": []}


def test_a_failing_disk_turns_the_recorder_off_without_raising(rec_path: Path) -> None:
    rec = Recorder(rec_path, meta())
    rec._db.close()  # what a vanished volume looks like to SQLite: every statement fails
    assert rec.record("marker", marker_payload("note"), T0) is None
    assert rec.error and "recording stopped" in rec.error
    assert rec.record_snapshot(snapshot("rollout"), T0) is None
    rec.close()


def test_secrets_never_reach_the_file(rec_path: Path) -> None:
    secrets = [
        "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "hunter2-db-pass",
        "c2VjcmV0LXBhc3N3b3JkCg==",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "s3cr3t-in-url",
        "rawTokenWithoutDigits",
        "Zm9vOmJhcg==",
    ]
    audit = {
        "action": "velero.restore",
        "request": {
            "method": "POST",
            "headers": {"Authorization": f"Bearer {secrets[0]}", "Content-Type": "application/json"},
            "header_list": [["X-Api-Key", secrets[7]], ["Accept", "application/json"]],
            "curl": f"curl -H 'Authorization: Basic {secrets[8]}' -H 'Authorization: Bearer {secrets[7]}'",
            "body": {"kind": "Secret", "data": {"password": secrets[4]}, "stringData": {"token": secrets[3]}},
        },
        "aws": {"aws_access_key_id": secrets[1], "aws_secret_access_key": secrets[2]},
        "env": [{"name": "DB_PASSWORD", "value": secrets[3]}, {"name": "LOG_LEVEL", "value": "info"}],
        "git": {"remote": f"https://bot:{secrets[5]}@github.com/acme/gitops.git"},
        "message": f"psql postgres://app:{secrets[6]}@catalog-db-rw:5432/app failed; password={secrets[3]}",
        "outcome": "ok",
    }
    rs = replica_set("catalog-x", "x", 1, "ghcr.io/acme/catalog:1.8.3", 1)
    template = {**rs.template, "spec": {**rs.template["spec"], "containers": [
        {"name": "catalog", "image": "i", "env": [{"name": "API_TOKEN", "value": secrets[5]}]}]}}
    leaky = replace(rollout_view(), replica_sets=(replace(rs, template=template),))
    with Recorder(rec_path, meta(targets={"prometheus": f"https://admin:{secrets[6]}@prom.acme.io"})) as rec:
        rec.record("audit", audit, T0)
        rec.record("gateway", gateway_payload("velero.restore", "bookstore", "error",
                                              message=f"Authorization: Bearer {secrets[0]}"), T0)
        rec.record_snapshot(snapshot("rollout", leaky), T0)
    with sqlite3.connect(rec_path) as db:
        texts = [json.dumps(decode_payload(blob)) for (blob,) in db.execute("SELECT payload FROM events")]
        texts += [value for (value,) in db.execute("SELECT value FROM meta")]
    raw = rec_path.read_bytes()
    for secret in secrets:
        assert not any(secret in text for text in texts), secret
        assert secret.encode() not in raw
    everything = " ".join(texts)
    assert REDACTED in everything and "LOG_LEVEL" in everything and "info" in everything
    assert "catalog-db-app" in everything  # a Secret's *name* in a volume is not a secret


def test_redact_keeps_ordinary_fields() -> None:
    value = {"secretName": "catalog-db-app", "automountServiceAccountToken": True, "tokenTTL": 3600,
             "message": "Basic authentication failed", "password": "", "passwordSecret": {"name": "x"}}
    assert redact(value) == value


def test_default_path_is_in_the_user_data_dir(tmp_path: Path) -> None:
    path = default_path(T0, "arn:aws:eks:us-east-1:123456789012:cluster/bookstore-prod")
    assert path.parent == tmp_path / "home" / ".local" / "share" / "cockpit" / "recordings"
    assert path.name == "20260520T140000Z-arn_aws_eks_us-east-1_123456789012_cluster_bookstore-prod.cockpit"
    assert default_path(T0, ("us-east", "eu-west")).name == "20260520T140000Z-us-east+eu-west.cockpit"


# --------------------------------------------------------------------------- bad files


def _small_recording(path: Path, events: int = 400) -> None:
    with Recorder(path, meta()) as rec, rec.batch():
        for i in range(events):
            ts = T0 + timedelta(seconds=i)
            rec.record_snapshot(snapshot("latency", latency_view(0.3 + i / 10_000, ts), at=ts), ts)
            if i % 50 == 0:
                rec.record("step", step_payload("code-rollback-rollouts", f"s{i}", "done"), ts)


def _exercise(player: Player) -> None:
    """Everything the replay screen does; none of it may raise anything but RecordingError."""
    start, end = player.start, player.end
    span = (end - start).total_seconds()
    for fraction in (0, 0.1, 0.25, 0.5, 0.75, 1):
        moment = start + timedelta(seconds=span * fraction)
        player.state_at(moment)
        player.next_action(moment)
        player.prev_action(moment)
        player.next_event(moment)
    player.events_between(start, end)
    player.markers()
    player.count()
    list(player.snapshots())


def test_newer_schema_is_refused_with_a_clear_message(rec_path: Path) -> None:
    _small_recording(rec_path, 3)
    with sqlite3.connect(rec_path) as db:
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(RecordingError) as err:
        Player(rec_path)
    assert str(err.value) == "recorded by a newer cockpit (schema 3); this one reads up to 2 — upgrade to replay it"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a cockpit recording (not an SQLite file)"),
        (b"ts,kind\n1,snapshot\n" * 100, "not a cockpit recording (not an SQLite file)"),
        (None, "no recording at"),
    ],
)
def test_not_a_recording(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "file.cockpit"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RecordingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Player(path)


def test_another_sqlite_file_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")
    with pytest.raises(RecordingError, match="SQLite file but not a cockpit recording"):
        Player(path)


def test_truncated_file_replays_up_to_the_damage(rec_path: Path) -> None:
    _small_recording(rec_path, 3000)
    data = rec_path.read_bytes()
    rec_path.write_bytes(data[: len(data) // 2])
    with Player(rec_path) as player:
        assert player.damage and player.damage.startswith("file ends after ")
        assert "events (14:" in player.damage and player.damage.endswith("the rest is unreadable")
        readable = player.count()
        assert 0 < readable < 3060
        _exercise(player)
        state = player.state_at(player.end)
        assert state[(CTX, "latency")].data.evaluated_at <= player.end
    print(f"\ntruncated at half: {player.damage}")


def test_random_bytes_in_the_middle_give_a_damage_message_or_a_clear_error(rec_path: Path) -> None:
    _small_recording(rec_path, 3000)
    data = bytearray(rec_path.read_bytes())
    rng = random.Random(5)
    for offset in range(len(data) // 2, len(data) // 2 + 8192):
        data[offset] = rng.randrange(256)
    rec_path.write_bytes(bytes(data))
    try:
        player = Player(rec_path)
    except RecordingError as err:
        print(f"\nrefused: {err}")
        return
    with player:
        _exercise(player)  # before verify(): queries meet the damage on their own, and never raise
        assert player.verify(), "8 KiB of noise in the middle must be noticed"
        _exercise(player)
        print(f"\ncorrupted: {player.damage}")


def test_a_damaged_index_still_replays_every_event(rec_path: Path) -> None:
    _small_recording(rec_path, 3000)
    with sqlite3.connect(rec_path) as db:
        try:
            pages = db.execute("SELECT pageno FROM dbstat WHERE name = 'events_stream' AND pagetype = 'leaf'").fetchall()
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table")
    db.close()
    page = pages[len(pages) // 2][0]
    data = bytearray(rec_path.read_bytes())
    rng = random.Random(1)
    for offset in range((page - 1) * 4096 + 8, page * 4096):
        data[offset] = rng.randrange(256)
    rec_path.write_bytes(bytes(data))
    with Player(rec_path) as player:
        assert player.verify() == "an index is damaged: all 3 060 events replay, seeking is slower"
        assert player.count() == 3060
        assert player.state_at(T0 + timedelta(seconds=2999))[(CTX, "latency")].data.evaluated_at == T0 + timedelta(
            seconds=2999
        )
        _exercise(player)


def test_unreadable_payloads_are_skipped_and_named(rec_path: Path) -> None:
    _small_recording(rec_path, 10)
    with sqlite3.connect(rec_path) as db:
        db.execute("UPDATE events SET payload = X'78DEADBEEF' WHERE id = 9")
    with Player(rec_path) as player:
        # ids: 1 and 2 at 14:00:00 (a snapshot and a step), then one snapshot a second: id 9 is 14:00:07.
        state = player.state_at(T0 + timedelta(seconds=7))
        assert state[(CTX, "latency")].data.evaluated_at == T0 + timedelta(seconds=6)  # fell back one
        assert player.damage == "unreadable and skipped: event 9 (14:00:07)"
        assert [e.id for e in player.events_between(T0 + timedelta(seconds=6), T0 + timedelta(seconds=8))] == [8, 10]


def test_the_player_opens_no_network_connection(rec_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_recording(rec_path, 200)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the player tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    with Player(rec_path) as player:
        _exercise(player)


# --------------------------------------------------------------------------- speed on a one-hour recording

HOUR_EVENTS = 50_000


@pytest.fixture(scope="module")
def hour_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~50 000 events over one hour: two contexts' panes changing, latency polls, runbook steps and writes.

    The Recorder writes the metadata and the first events; the bulk is inserted straight into the same table from
    a pool of pre-encoded snapshots, because what is measured here is reading, not the recorder's serialising.
    """
    from cockpit.recording.format import encode_payload

    path = tmp_path_factory.mktemp("hour") / "hour.cockpit"
    contexts = ("us-east", "eu-west")
    begin = time.perf_counter()
    pool: list[tuple[str, str, bytes]] = []
    for n in range(240):
        context = contexts[n % 2]
        pane = ("latency", "rollout", "latency", "argocd", "latency", "analysis")[(n // 2) % 6]
        at = T0 + timedelta(seconds=n)
        data: Any = {
            "latency": lambda: latency_view(0.2 + n / 300, at),
            "rollout": lambda: rollout_view(ready=n % 11),
            "argocd": lambda: replace(argo_app(), resource_version=str(n)),
            "analysis": lambda: analysis_runs()[: 1 + n % 2],
        }[pane]()
        snap = PaneSnapshot(pane, context, data, FeedStatus(FeedState.OK, updated_at=at))
        pool.append((context, pane, encode_payload(redact(snapshot_to_dict(snap)))))
    with Recorder(path, meta(contexts=contexts)) as rec:
        rec.record_snapshot(snapshot("velero", context="us-east"), T0)
    step = encode_payload(step_payload("code-rollback-rollouts", "abort", "done", type="action"))
    write = encode_payload(gateway_payload("rollouts.abort", "catalog", "ok"))
    rows = []
    for i in range(HOUR_EVENTS):
        ts = T0.timestamp() + 3600 * i / HOUR_EVENTS
        context, pane, blob = pool[i % len(pool)]
        rows.append((ts, "snapshot", context, pane, blob))
        if i % 500 == 0:
            rows.append((ts, "step", "", "", step))
            rows.append((ts, "gateway", context, "", write))
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO events (ts, kind, context, pane, payload) VALUES (?, ?, ?, ?, ?)", rows)
    db.close()
    print(f"\nwrote {len(rows) + 1} events ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - begin:.1f} s")
    return path


def test_one_hour_recording_opens_and_seeks_fast(hour_recording: Path) -> None:
    begin = time.perf_counter()
    player = Player(hour_recording)
    opened = time.perf_counter() - begin
    with player:
        begin = time.perf_counter()
        assert player.verify() is None
        verified = time.perf_counter() - begin
        seeks = []
        for minute in (59, 0.5, 30, 7, 45, 59.9, 12):
            begin = time.perf_counter()
            state = player.state_at(T0 + timedelta(minutes=minute))
            seeks.append(time.perf_counter() - begin)
            assert len(state) == 9  # latency, rollout, argocd, analysis x 2 contexts, and velero
        begin = time.perf_counter()
        marks = player.markers()
        marks_s = time.perf_counter() - begin
        begin = time.perf_counter()
        nxt = player.next_action(T0 + timedelta(minutes=30))
        nav_s = time.perf_counter() - begin
        count = player.count()
    print(
        f"\none-hour recording, {count} events: open {opened * 1000:.1f} ms; verify {verified * 1000:.1f} ms; "
        f"state_at worst {max(seeks) * 1000:.1f} ms / median {sorted(seeks)[3] * 1000:.1f} ms; "
        f"markers() {len(marks)} in {marks_s * 1000:.1f} ms; next_action {nav_s * 1000:.2f} ms"
    )
    assert count >= HOUR_EVENTS
    assert nxt is not None
    assert opened < 5
    assert max(seeks) < 1


def test_payload_is_compressed(hour_recording: Path) -> None:
    with sqlite3.connect(hour_recording) as db:
        blob = db.execute("SELECT payload FROM events WHERE pane = 'rollout' LIMIT 1").fetchone()[0]
    assert len(blob) < len(zlib.decompress(blob)) / 3
    assert os.path.getsize(hour_recording) < 60_000_000
