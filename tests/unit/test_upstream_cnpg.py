"""CloudNativePG clusters as ``kubectl cnpg status`` and Argo CD's health check read them, on upstream test data.

Objects: tests/fixtures/upstream/argo-cd/resource_customizations/postgresql.cnpg.io/Cluster (health_test.yaml and
its testdata) and tests/fixtures/upstream/cloudnative-pg/transcribed/status_test.yaml (the status plugin's
getWalArchivingStatus cases; fencing_test.go annotation values).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cockpit.models import CnpgPaneData
from cockpit.sources.cnpg import (
    ARCHIVER_METRICS,
    archiver_metric_query,
    archiver_query,
    fenced_instances,
    parse_archiver_samples,
    parse_cluster,
    wal_archiving,
    with_archiving,
)
from tests.unit.upstream_render import NOW, load, render
from cockpit.widgets.cnpg_pane import CnpgPane, ARCHIVING_WORDS, status_text

HEALTH = "argo-cd/resource_customizations/postgresql.cnpg.io/Cluster"
CASES = load(f"{HEALTH}/health_test.yaml")["tests"]
STATUS = load("cloudnative-pg/transcribed/status_test.yaml")


def _pane(cluster: Any) -> CnpgPaneData:
    return CnpgPaneData((cluster,), cluster.name)


def _samples(pod: str, **values: float) -> list[dict[str, Any]]:
    """An instant-query result as prometheus-api-client returns it."""
    return [{"metric": {"__name__": f"cnpg_pg_stat_archiver_{name}", "namespace": "default", "pod": pod},
             "value": [NOW.timestamp(), repr(float(value))]} for name, value in values.items()]


@pytest.mark.parametrize("case", CASES, ids=[case["inputPath"] for case in CASES])
def test_argocd_cluster_health_cases(case: dict[str, Any]) -> None:
    """health_test.yaml: the message Argo CD shows (phaseReason, the hibernation condition's message,
    "Cluster reconciliation is suspended") reaches the pane; only the Healthy case reads healthy (green)."""
    obj = load(f"{HEALTH}/{case['inputPath']}")
    cluster = parse_cluster(obj)
    expected, message = case["healthStatus"]["status"], case["healthStatus"].get("message", "")
    assert cluster.healthy is (expected == "Healthy")
    assert (status_text(cluster).style == "green") is (expected == "Healthy")
    text = " ".join(render(CnpgPane(5), _pane(cluster), width=140).split())
    if message:
        assert message in text
    if expected == "Suspended":
        assert cluster.reconciliation_suspended or cluster.hibernated
        assert "healthy state" not in cluster.status_line  # never "Cluster in healthy state" in green


def test_hibernated_cluster_reads_hibernated() -> None:
    """cluster_suspended.yaml: `kubectl cnpg status` says Status: Hibernated (status.go printBasicInfo)."""
    cluster = parse_cluster(load(f"{HEALTH}/testdata/cluster_suspended.yaml"))
    assert (cluster.hibernated, cluster.hibernation_requested, cluster.status_line) == (True, True, "Hibernated")
    assert cluster.hibernation_message == "Cluster has been hibernated"
    text = render(CnpgPane(5), _pane(cluster))
    assert text.splitlines()[-1].strip() == "hibernated"  # the one-line summary
    assert "hibernated since" in text and "Cluster has been hibernated" in text


def test_reconciliation_suspended_cluster() -> None:
    """cluster_reconcile_suspended.yaml: phase says healthy, the annotation says nobody is reconciling it."""
    cluster = parse_cluster(load(f"{HEALTH}/testdata/cluster_reconcile_suspended.yaml"))
    assert cluster.phase == "Cluster in healthy state" and cluster.reconciliation_suspended
    assert not cluster.healthy and cluster.status_line == "Reconciliation suspended"
    assert "suspended" in render(CnpgPane(5), _pane(cluster)).splitlines()[-1]


def test_phase_and_phase_reason() -> None:
    """cluster_degraded.yaml / cluster_progressing.yaml: Status is phase + phaseReason (status.go getStatus)."""
    degraded = parse_cluster(load(f"{HEALTH}/testdata/cluster_degraded.yaml"))
    assert degraded.status_line == "Failing over Initiating a failover from cluster-example-2"
    progressing = parse_cluster(load(f"{HEALTH}/testdata/cluster_progressing.yaml"))
    assert progressing.status_line == "Setting up primary Creating primary instance cluster-example-1"


@pytest.mark.parametrize("case", STATUS["fencing"], ids=[case["it"] for case in STATUS["fencing"]])
def test_fenced_instances(case: dict[str, Any]) -> None:
    """pkg/utils/fencing.go GetFencedInstances on the values fencing_test.go writes; fenced is never green."""
    assert fenced_instances({"cnpg.io/fencedInstances": case["annotation"]}) == (tuple(case["expect"]), False)
    obj = load(f"{HEALTH}/testdata/cluster_healthy.yaml")
    obj["metadata"]["annotations"]["cnpg.io/fencedInstances"] = case["annotation"]
    cluster = parse_cluster(obj)
    assert not cluster.healthy
    primary_fenced = "*" in case["expect"] or "cluster-example-1" in case["expect"]
    assert cluster.primary_fenced is primary_fenced
    if primary_fenced:
        assert cluster.status_line == "Primary instance is fenced"
    text = render(CnpgPane(5), _pane(cluster), width=140)
    # status.go printBasicInfo "Fenced instances:" with listFencedInstances' words
    assert "Fenced instances: " + ("All Instances" if "*" in case["expect"] else ", ".join(case["expect"])) in text


def test_fencing_annotation_unreadable_reads_as_all() -> None:
    assert fenced_instances({"cnpg.io/fencedInstances": "cluster-example-1"}) == (("*",), True)
    assert fenced_instances({"cnpg.io/fencedInstances": '{"a": 1}'}) == (("*",), True)
    assert fenced_instances({}) == ((), False)


@pytest.mark.parametrize("case", STATUS["wal_archiving"], ids=[case["it"] for case in STATUS["wal_archiving"]])
def test_wal_archiving_status(case: dict[str, Any]) -> None:
    """status_test.go getWalArchivingStatus: the same decision from the archiver metrics, shown in the pane with
    the plugin's word (OK / Failing / Disabled / Starting Up)."""
    obj = load(f"{HEALTH}/testdata/cluster_healthy.yaml")
    if case["disabled"]:
        obj["metadata"]["annotations"]["cnpg.io/skipWalArchiving"] = "enabled"
    cluster = parse_cluster(obj)
    result = parse_archiver_samples(_samples("cluster-example-1", **case["metrics"]))
    archiving = wal_archiving(cluster, result)
    assert ARCHIVING_WORDS[archiving.state] == case["expect"]
    assert f"WAL archiving {case['expect']}" in " ".join(
        render(CnpgPane(5), _pane(with_archiving(cluster, result)), width=140).split())


def _recoverable_cluster(**status: Any) -> Any:
    obj = load(f"{HEALTH}/testdata/cluster_healthy.yaml")
    obj["spec"]["backup"] = {"barmanObjectStore": {"destinationPath": "s3://backups/"}}
    obj["status"]["firstRecoverabilityPoint"] = "2026-05-13T00:00:00Z"
    obj["status"].update(status)
    return obj


def test_recoverable_stops_at_the_last_archived_wal() -> None:
    """The window ends at the last archived WAL: a time after it is not recoverable."""
    cluster = parse_cluster(_recoverable_cluster())
    archived = NOW - timedelta(minutes=30)
    samples = parse_archiver_samples(_samples("cluster-example-1", last_archived_time=archived.timestamp(),
                                              last_failed_time=-1, failed_count=0))
    view = with_archiving(cluster, samples)
    assert view.archiving is not None and view.archiving.window_end == archived
    ok, why = view.recoverable(NOW - timedelta(hours=1), NOW)
    assert ok is True and "WAL archived up to" in why
    ok, why = view.recoverable(NOW - timedelta(minutes=10), NOW)
    assert ok is False and "after the last archived WAL" in why
    text = render(CnpgPane(5), _pane(view), width=140)
    assert "ends 30m ago" in text and "last archived 30m ago" in text


def test_recoverable_says_when_archiving_fails() -> None:
    """Archiving failing since 20 minutes: the answer says so; the summary and the window are red, not green."""
    cluster = parse_cluster(_recoverable_cluster())
    samples = parse_archiver_samples(_samples(
        "cluster-example-1", last_archived_time=(NOW - timedelta(hours=2)).timestamp(),
        last_failed_time=(NOW - timedelta(minutes=20)).timestamp(), failed_count=41))
    view = with_archiving(cluster, samples)
    assert view.archiving.state == "failing" and view.archiving.failed_count == 41
    assert not view.healthy
    ok, why = view.recoverable(NOW - timedelta(hours=1), NOW)
    assert ok is False and "failing since" in why
    assert "WAL✗" in render(CnpgPane(5), _pane(view)).splitlines()[-1]


def test_recoverable_from_the_condition_alone() -> None:
    """No metrics: ContinuousArchiving True answers for times older than archive_timeout, not for the last
    minutes; False (ContinuousArchivingFailing) makes the end unknown."""
    obj = _recoverable_cluster()
    cluster = parse_cluster(obj)
    assert cluster.archiving_condition == "True"
    assert cluster.recoverable(NOW - timedelta(hours=1), NOW)[0] is True
    assert cluster.recoverable(NOW - timedelta(minutes=1), NOW)[0] is None
    for cond in obj["status"]["conditions"]:
        if cond["type"] == "ContinuousArchiving":
            cond.update(status="False", reason="ContinuousArchivingFailing", message="unexpected failure invoking "
                        "barman-cloud-wal-archive: exit status 4")
    failing = parse_cluster(obj)
    ok, why = failing.recoverable(NOW - timedelta(hours=1), NOW)
    assert ok is None and "exit status 4" in why
    assert "Failing" in render(CnpgPane(5), _pane(failing), width=140)
    del obj["status"]["conditions"]
    unknown = parse_cluster(obj)
    ok, why = unknown.recoverable(NOW - timedelta(hours=1), NOW)
    assert ok is None and "unknown" in why


def test_archiver_promql_and_result_parsing() -> None:
    """The PromQL the store sends and the parsing of what prometheus-api-client's custom_query returns."""
    query = archiver_query("db", "orders")
    assert query == ('{__name__=~"cnpg_pg_stat_archiver_(last_archived_time|last_failed_time|failed_count'
                     '|seconds_since_last_archival)",namespace="db",pod=~"orders-[0-9]+"}')
    assert archiver_query("db", "a.b") .endswith('pod=~"a\\\\.b-[0-9]+"}')
    assert archiver_metric_query(ARCHIVER_METRICS[0], "db", "orders") == (
        'cnpg_pg_stat_archiver_last_archived_time{namespace="db",pod=~"orders-[0-9]+"}')
    samples = parse_archiver_samples(
        _samples("orders-1", last_archived_time=1_747_750_000, last_failed_time=-1, failed_count=3)
        + _samples("orders-2", seconds_since_last_archival=-1)
        + [{"metric": {"__name__": "other"}, "value": [1, "2"]}, {"value": "junk"}, "junk",
           {"metric": {"__name__": "cnpg_pg_stat_archiver_failed_count", "pod": "orders-1"}, "value": [1, "NaN"]}])
    assert set(samples) == {"orders-1", "orders-2"}
    first = samples["orders-1"]
    assert (first.last_archived_time, first.last_failed_time, first.failed_count) == (1_747_750_000.0, None, None)
    assert samples["orders-2"].seconds_since_last_archival is None


def test_archiving_uses_the_primary_and_seconds_since() -> None:
    obj = load(f"{HEALTH}/testdata/cluster_healthy.yaml")
    cluster = parse_cluster(obj)
    samples = parse_archiver_samples(
        _samples("cluster-example-2", last_archived_time=(NOW - timedelta(days=3)).timestamp())
        + _samples("cluster-example-1", seconds_since_last_archival=120.0))
    archiving = wal_archiving(cluster, samples)
    assert archiving.source == "archiver metrics of pod cluster-example-1"
    assert archiving.last_archived_at == NOW - timedelta(seconds=120)
    assert archiving.state == "ok"


def test_hibernated_cluster_not_green_in_summary_even_with_window() -> None:
    obj = copy.deepcopy(load(f"{HEALTH}/testdata/cluster_suspended.yaml"))
    obj["status"]["firstRecoverabilityPoint"] = "2026-05-13T00:00:00Z"
    cluster = parse_cluster(obj)
    assert not cluster.healthy
    assert cluster.hibernated_since is not None or cluster.hibernated
    assert datetime(2026, 5, 13, tzinfo=timezone.utc) == cluster.first_recoverability_point
