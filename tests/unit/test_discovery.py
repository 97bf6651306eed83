"""Discovery, the feeds' combining of optional parts, and the archiver query, without a server or Textual.

``discover`` is driven with a fake context answering like an API server (aggregated discovery, or the legacy
documents an older server sends); ``ContextFeeds`` with its watch callbacks called by hand, as the watch threads
call them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from cockpit.config import build_settings
from cockpit.demo.promapi import parse_selector, selects
from cockpit.feeds import ContextFeeds
from cockpit.models import FeedState, PaneSnapshot
from cockpit.sources import kube as k
from cockpit.sources.cnpg import archiver_query, archivers_query, parse_archiver_samples, samples_of
from cockpit.sources.errors import ErrorKind, SourceError

T0 = datetime(2026, 5, 20, 14, 27, tzinfo=timezone.utc)
WATCHED = [k.APPLICATIONS, k.ROLLOUTS, k.ANALYSIS_RUNS, k.REPLICA_SETS, k.PODS, k.CNPG_CLUSTERS, k.OBJECT_STORES,
           k.VELERO_BACKUPS, k.VELERO_SCHEDULES, k.VELERO_RESTORES, k.VELERO_LOCATIONS, k.NAMESPACES, k.CRDS]


class FakeContext:
    """Answers GETs from a dict of path -> document (or SourceError); records the paths asked."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str | None]] = []

    def request(self, method: str, path: str, *, accept: str | None = None, **_: Any) -> Any:
        self.asked.append((path, accept))
        answer = self.answers.get(path, SourceError(ErrorKind.NOT_FOUND, "404 Not Found", status=404))
        if isinstance(answer, SourceError):
            raise answer
        return answer


def _aggregated(resources: dict[tuple[str, str], list[str]]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for (group, version), names in resources.items():
        groups.setdefault(group, []).append({"version": version, "resources": [{"resource": n} for n in names]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "items": [{"metadata": {"name": g}, "versions": v} for g, v in groups.items()]}


def test_aggregated_discovery_is_one_request() -> None:
    ctx = FakeContext({"/apis": _aggregated({
        ("apiextensions.k8s.io", "v1"): ["customresourcedefinitions"],
        ("argoproj.io", "v1alpha1"): ["applications", "rollouts", "analysisruns", "analysistemplates"],
        ("postgresql.cnpg.io", "v1"): ["clusters", "backups"],
        ("velero.io", "v1"): ["backups", "restores", "backupstoragelocations"],
        ("velero.io", "v2alpha1"): ["schedules"],  # a version we do not read does not count
    })})
    found = k.discover(ctx, WATCHED)
    assert found.aggregated and found.requests == 1 and found.error is None
    assert ctx.asked == [("/apis", k.DISCOVERY_ACCEPT)]
    assert found.missing == {k.OBJECT_STORES, k.VELERO_SCHEDULES}
    assert found.serves(k.VELERO_BACKUPS) and found.serves(k.PODS) and found.serves(k.NAMESPACES)
    assert found.serves(k.VELERO_SCHEDULES) is False


def test_legacy_discovery_asks_only_the_listed_group_versions() -> None:
    groups = {"kind": "APIGroupList", "groups": [
        {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}]},
        {"name": "argoproj.io", "versions": [{"version": "v1alpha1"}]},
        {"name": "velero.io", "versions": [{"version": "v1"}]},
        {"name": "postgresql.cnpg.io", "versions": [{"version": "v1"}]},
        {"name": "apiextensions.k8s.io", "versions": [{"version": "v1"}]},
    ]}
    ctx = FakeContext({
        "/apis": groups,
        "/apis/argoproj.io/v1alpha1": {"kind": "APIResourceList", "resources": [
            {"name": "rollouts"}, {"name": "rollouts/status"}, {"name": "analysisruns"}, {"name": "applications"}]},
        "/apis/velero.io/v1": {"kind": "APIResourceList", "resources": [{"name": "backups"}, {"name": "restores"},
                                                                         {"name": "schedules/status"}]},
        "/apis/postgresql.cnpg.io/v1": SourceError(ErrorKind.SERVER, "503 Service Unavailable", status=503),
        "/apis/apiextensions.k8s.io/v1": {"kind": "APIResourceList",
                                          "resources": [{"name": "customresourcedefinitions"}]},
    })
    found = k.discover(ctx, WATCHED)
    assert not found.aggregated and found.error is None
    asked = [path for path, _ in ctx.asked]
    assert asked[0] == "/apis" and "/apis/barmancloud.cnpg.io/v1" not in asked  # not listed: no request
    assert found.requests == len(asked) == 5
    # a subresource alone does not make the resource served; a group not listed is missing
    assert found.missing == {k.VELERO_SCHEDULES, k.VELERO_LOCATIONS, k.OBJECT_STORES}
    # a group whose document could not be read is unknown: its watch will find out
    assert found.serves(k.CNPG_CLUSTERS) is None
    assert found.serves(k.ROLLOUTS) is True


def test_failed_discovery_knows_nothing_but_the_core() -> None:
    ctx = FakeContext({"/apis": SourceError(ErrorKind.UNREACHABLE, "connection refused")})
    found = k.discover(ctx, WATCHED)
    assert found.error is not None and found.missing == frozenset()
    assert found.serves(k.VELERO_BACKUPS) is None and found.serves(k.PODS) is True
    assert k.discover(FakeContext({"/apis": {"kind": "Status"}}), WATCHED).error is not None
    assert k.discover(FakeContext({"/apis": ["junk"]}), WATCHED).error is not None


def test_hostile_discovery_documents_never_raise() -> None:
    for document in ({"kind": "APIGroupDiscoveryList", "items": "x"},
                     {"kind": "APIGroupDiscoveryList", "items": [{"metadata": 3, "versions": [{"version": 5}]}]},
                     {"kind": "APIGroupList", "groups": [{"name": None}, 7, {"name": "velero.io", "versions": 1}]}):
        found = k.discover(FakeContext({"/apis": document}), WATCHED)
        assert k.VELERO_BACKUPS in found.missing or found.serves(k.VELERO_BACKUPS) is None


# --------------------------------------------------------------------------- combining


class Emitted(list):
    def last(self, pane: str) -> PaneSnapshot:
        return next(snap for snap in reversed(self) if snap.pane == pane)


def _feeds() -> tuple[ContextFeeds, Emitted]:
    from cockpit.clock import FixedClock

    emitted = Emitted()
    settings = build_settings({"rollout": "catalog", "cnpg_cluster": "orders"})
    feeds = ContextFeeds(settings, "ctx", None, clock=FixedClock(T0), emit=emitted.append, namespace="shop")
    return feeds, emitted


def _state(phase: str, error: SourceError | None = None) -> Any:
    return k.WatchState(phase, error=error, synced=phase == "connected")


def _missing(resource: k.Resource) -> SourceError:
    return SourceError(ErrorKind.MISSING, k.missing_words(resource), status=404)


def _backup(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "velero", "resourceVersion": "1"},
            "status": {"phase": "Completed", "startTimestamp": "2026-05-20T10:00:00Z"}}


def test_an_optional_api_missing_leaves_the_pane_ok_with_a_note() -> None:
    feeds, emitted = _feeds()
    feeds._changed("backups")({"velero/b1": _backup("b1")})
    feeds._state("schedules")(_state("missing", _missing(k.VELERO_SCHEDULES)))
    for track in ("backups", "restores", "locations"):
        feeds._state(track)(_state("connected"))
    snap = emitted.last("velero")
    assert snap.status.state is FeedState.OK and [b.name for b in snap.data.backups] == ["b1"]
    assert snap.status.error == "no schedules.velero.io API in this cluster: Velero schedules not shown"
    assert snap.status.watch == "watch connected"


def test_the_main_api_missing_is_missing_in_words() -> None:
    feeds, emitted = _feeds()
    feeds._state("backups")(_state("missing", _missing(k.VELERO_BACKUPS)))
    snap = emitted.last("velero")
    assert snap.status.state is FeedState.MISSING and snap.data is None and snap.status.watch == ""
    assert snap.status.error == "Velero not installed in this cluster (no backups.velero.io API)"


def test_the_plugin_missing_is_only_mentioned_when_a_cluster_uses_it() -> None:
    feeds, emitted = _feeds()
    in_tree = {"metadata": {"name": "orders", "namespace": "cnpg"}, "spec": {"backup": {"barmanObjectStore": {}}}}
    feeds._changed("clusters")({"cnpg/orders": in_tree})
    feeds._state("objectstores")(_state("missing", _missing(k.OBJECT_STORES)))
    assert emitted.last("cnpg").status.state is FeedState.OK and emitted.last("cnpg").status.error == ""
    plugin = {"metadata": {"name": "catalog", "namespace": "cnpg"},
              "spec": {"plugins": [{"name": "barman-cloud.cloudnative-pg.io",
                                    "parameters": {"barmanObjectName": "store"}}]}}
    feeds._changed("clusters")({"cnpg/orders": in_tree, "cnpg/catalog": plugin})
    error = emitted.last("cnpg").status.error
    assert error.startswith("the Barman Cloud plugin not installed in this cluster (no objectstores")


def test_pods_are_none_until_listed_and_after_a_403_never_an_empty_list() -> None:
    feeds, emitted = _feeds()
    rollout = {"metadata": {"name": "catalog", "namespace": "shop", "uid": "u1"},
               "spec": {"selector": {"matchLabels": {"app": "catalog"}}},
               "status": {"currentPodHash": "c1", "stableRS": "s1"}}
    feeds._changed("rollouts")({"shop/catalog": rollout})
    feeds._changed("replicasets")({})
    view = emitted.last("rollout").data
    assert view.pods_watched is False
    assert feeds.watches["pods"].label_selector == "app=catalog,rollouts-pod-template-hash in (c1,s1)"
    feeds._changed("pods")({})
    assert emitted.last("rollout").data.pods_watched is True
    forbidden = SourceError(ErrorKind.FORBIDDEN, "403 Forbidden: cannot list pods in shop", status=403)
    feeds._state("pods")(_state("retrying", forbidden))
    snap = emitted.last("rollout")
    assert snap.status.state is FeedState.OK and snap.data.pods_watched is False
    assert snap.status.error == "pods not shown: 403 Forbidden: cannot list pods in shop"


def test_a_hostile_pod_hash_never_reaches_a_selector() -> None:
    feeds, emitted = _feeds()
    rollout = {"metadata": {"name": "catalog", "namespace": "shop", "uid": "u1"},
               "status": {"currentPodHash": "x) ,other in (y", "stableRS": "s1"}}
    feeds._changed("rollouts")({"shop/catalog": rollout})
    assert feeds.watches["pods"].label_selector == "rollouts-pod-template-hash in (s1)"
    assert feeds.watches["analysisruns"].label_selector is None


def test_archiving_is_applied_to_every_cluster_and_a_failed_read_is_said() -> None:
    feeds, emitted = _feeds()
    cluster = {"metadata": {"name": "orders", "namespace": "cnpg"}, "status": {
        "currentPrimary": "orders-1", "conditions": [{"type": "ContinuousArchiving", "status": "True"}]}}
    feeds._changed("clusters")({"cnpg/orders": cluster})
    assert emitted.last("cnpg").data.clusters[0].archiving is None  # not polled yet
    assert feeds.archiving_targets() == [("cnpg", "orders")]
    samples = parse_archiver_samples([
        {"metric": {"__name__": "cnpg_pg_stat_archiver_last_archived_time", "pod": "orders-1"},
         "value": [1779287220, "1779287200"]},
        {"metric": {"__name__": "cnpg_pg_stat_archiver_last_failed_time", "pod": "orders-1"},
         "value": [1779287220, "-1"]}])
    feeds.set_archiving({("cnpg", "orders"): samples})
    archiving = emitted.last("cnpg").data.clusters[0].archiving
    assert archiving.state == "ok" and archiving.last_archived_at == datetime.fromtimestamp(1779287200, timezone.utc)
    feeds.set_archiving({("cnpg", "orders"): None}, "WAL archiving metrics not read (refused)")
    snap = emitted.last("cnpg")
    assert snap.data.clusters[0].archiving.source == "ContinuousArchiving condition (no archiver metrics)"
    assert snap.status.state is FeedState.OK and snap.status.error == "WAL archiving metrics not read (refused)"


# --------------------------------------------------------------------------- the archiver query


@pytest.mark.parametrize("names", [["orders"], ["orders", "a.b", 'q"uote']])
def test_one_query_for_the_clusters_of_a_namespace(names: list[str]) -> None:
    query = archivers_query("cnpg-system", names)
    if len(names) == 1:
        assert query == archiver_query("cnpg-system", "orders")
    matchers = parse_selector(query)
    assert matchers is not None
    metric = {"__name__": "cnpg_pg_stat_archiver_failed_count", "namespace": "cnpg-system"}
    for name in names:
        assert selects(matchers, {**metric, "pod": f"{name}-12"})
        assert not selects(matchers, {**metric, "pod": f"{name}-x"})
    assert not selects(matchers, {**metric, "pod": "axb-1"})
    assert not selects(matchers, {**metric, "namespace": "other", "pod": "orders-1"})


def test_samples_of_keeps_the_cluster_own_pods() -> None:
    samples = parse_archiver_samples([
        {"metric": {"__name__": "cnpg_pg_stat_archiver_failed_count", "pod": pod}, "value": [1, "0"]}
        for pod in ("a-1", "a-1-2", "ab-1", "a-b")])
    assert set(samples_of(samples, "a")) == {"a-1"}
    assert set(samples_of(samples, "a-1")) == {"a-1-2"}


def test_argo_rollouts_not_installed_empties_both_of_its_panes_in_words() -> None:
    feeds, emitted = _feeds()
    feeds._state("rollouts")(_state("missing", _missing(k.ROLLOUTS)))
    feeds._state("analysisruns")(_state("missing", _missing(k.ANALYSIS_RUNS)))
    for pane in ("rollout", "analysis"):
        snap = emitted.last(pane)
        assert snap.status.state is FeedState.MISSING and snap.data is None
        assert snap.status.error.startswith("Argo Rollouts not installed in this cluster (no ")
    assert feeds.watches["pods"].label_selector is None  # nothing to narrow to: the pod watch stays idle


def test_the_rollout_and_backup_watches_start_first() -> None:
    """The Rollout's watch first (three watches wait for its selectors), then the one long list (the Backups),
    then the rest in their order; every watch once."""
    feeds, _ = _feeds()
    order = [track for track, _ in feeds.start_order()]
    assert order[:2] == ["rollouts", "backups"]
    assert sorted(order) == sorted(feeds.watches)
    assert order[2:] == [track for track in feeds.watches if track not in ("rollouts", "backups")]
