"""Upstream objects beyond the CLIs' own expected-output tests, checked the way a held-out set would be: every
object parses and renders without an exception, and what each pane shows equals what the upstream CLI computes.

Objects (tests/fixtures/upstream/, see SOURCES.md): argo-rollouts ``examples/`` and ``test/e2e/`` (Rollouts and
AnalysisRuns as users write them, no status), argo-cd ``controller/testdata``, ``gitops-engine/pkg/health/testdata``,
``test/e2e/testdata``, ``test/manifests/cmp`` and the Rollout ``actions/testdata`` (statuses of every controller
era), cloudnative-pg ``docs/src/samples`` and ``config/olm-samples``, plugin-barman-cloud ``hack/examples``, velero
``tilt-resources/examples``; and ``transcribed/`` files restating objects the Go tests build in code (dry-run
AnalysisRuns, Applications with failed syncs / sources / a source hydrator, replica clusters, an ObjectStore's
recovery window, Velero backups in every phase, restores, schedules, storage locations).

Expected values follow the CLI code, cited per test: argo-rollouts utils/rollout/rolloututil.go ``GetRolloutPhase`` /
``CalculateRolloutPhase``, utils/replicaset/canary.go ``GetCurrentSetWeight``, info/rollout_info.go
``NewRolloutInfo``, info/replicaset_info.go, cmd/get/get_rollout.go; argo-cd cmd/argocd/commands/app.go and
pkg/apis/application/v1alpha1/types.go; cloudnative-pg internal/cmd/plugin/status/status.go and api/v1
cluster_funcs.go; velero pkg/cmd/util/output/*_printer.go.  Where a value is computed here rather than copied from
an upstream test, the function doing it is a few lines restating the cited Go and nothing else.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from cockpit.models import CnpgPaneData
from cockpit.sources.analysis import parse_analysis_run
from cockpit.sources.argocd import app_source, parse_application
from cockpit.sources.cnpg import is_replica, parse_cluster, with_archiving
from cockpit.sources.rollouts import parse_rollout
from cockpit.sources.velero import parse_backup, parse_location, parse_restores, parse_schedule, parse_velero
from cockpit.widgets.analysis_pane import AnalysisPane
from cockpit.widgets.argocd_pane import ArgoCDPane
from cockpit.widgets.cnpg_pane import CnpgPane
from cockpit.widgets.rollout_pane import RolloutPane
from cockpit.widgets.velero_pane import VeleroPane
from tests.unit.upstream_render import NOW, UPSTREAM, load, load_dir, render

UTC = timezone.utc


def _documents(root: str, kinds: set[str], groups: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """(relative path #index, object) for every document of those kinds under tests/fixtures/upstream/<root>."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted((UPSTREAM / root).rglob("*.y*ml")):
        if "transcribed" in path.parts:
            continue
        for index, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if isinstance(doc, dict) and doc.get("kind") in kinds and \
                    str(doc.get("apiVersion", "")).split("/")[0] in groups:
                found.append((f"{path.relative_to(UPSTREAM)}#{index}", doc))
    return found


def _flat(text: str) -> str:
    return " ".join(text.split())


# =========================================================================== Argo Rollouts

ROLLOUT_DOCS = (_documents("argo-rollouts/examples", {"Rollout"}, ("argoproj.io",))
                + _documents("argo-rollouts/test", {"Rollout"}, ("argoproj.io",))
                + _documents("argo-cd/controller", {"Rollout"}, ("argoproj.io",)))


def test_the_rollout_corpus_is_there() -> None:
    assert len(ROLLOUT_DOCS) >= 80


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cli_zero_status(obj: dict[str, Any]) -> dict[str, Any]:
    """What `kubectl argo rollouts get` prints for a Rollout whose status the controller has not written: the Go
    status is its zero value, so GetRolloutPhase -> CalculateRolloutPhase(spec, {}) decides the phase;
    GetCurrentSetWeight walks back from step 0; ActualWeight is the max weight without steps, else 0 (no replica
    is available); Step is printed only when status.currentStepIndex is set."""
    spec = obj.get("spec") or {}
    strategy = spec.get("strategy") or {}
    canary = strategy.get("canary")
    replicas = _int(spec.get("replicas"))
    replicas = 1 if replicas is None else replicas
    if spec.get("paused") is True:
        phase = ("Paused", "manually paused")
    elif spec.get("restartAt"):
        phase = ("Progressing", "rollout is restarting")
    elif replicas > 0:  # updatedReplicas 0 < replicas
        phase = ("Progressing", "more replicas need to be updated")
    elif strategy.get("blueGreen") is not None:
        phase = ("Progressing", "active service cutover pending")
    elif canary is not None:  # stableRS ""
        phase = ("Progressing", "waiting for all steps to complete")
    else:
        phase = ("Healthy", "")
    expected: dict[str, Any] = {"phase": phase, "step": "", "set_weight": None, "actual_weight": None}
    if isinstance(canary, dict):
        max_weight = _int((canary.get("trafficRouting") or {}).get("maxTrafficWeight")) or 100
        steps = canary.get("steps") or []
        if not steps:
            expected["set_weight"] = expected["actual_weight"] = max_weight
        else:
            expected["set_weight"] = _int(steps[0].get("setWeight")) or 0
            expected["actual_weight"] = 0
    return expected


@pytest.mark.parametrize(("where", "obj"), ROLLOUT_DOCS, ids=[where for where, _ in ROLLOUT_DOCS])
def test_rollout_without_status_as_the_cli_reads_it(where: str, obj: dict[str, Any]) -> None:
    """Rollouts as users apply them (argo-rollouts examples/ and test/e2e, argo-cd controller/testdata): phase,
    message, step and weights as the CLI computes them from the zero status; the pane shows that phase and says the
    controller has not reported yet, at every width."""
    assert not obj.get("status")
    view = parse_rollout(obj)
    want = _cli_zero_status(obj)
    assert (view.phase, view.message) == want["phase"]
    assert (view.step_text, view.set_weight, view.actual_weight) == (
        want["step"], want["set_weight"], want["actual_weight"])
    assert not view.has_status
    for width in (160, 100, 60):
        text = _flat(render(RolloutPane(2), view, width=width))
        assert want["phase"][0] in text
        assert "the controller has not reported yet" in text
    if want["phase"][1]:
        assert want["phase"][1] in _flat(render(RolloutPane(2), view, width=160))


# argo-cd resource_customizations/argoproj.io/Rollout/actions/testdata: statuses from pre-0.6 to 1.x controllers.
# (phase, message) per GetRolloutPhase; Step/SetWeight/ActualWeight per NewRolloutInfo.  Each row was worked out
# from the object: e.g. rollout-step1-after-skip-current-step has controllerPause and no pause condition
# (IsUnpausing), the v0.9 ones carry a hash in observedGeneration (isGenerationObserved: not a number, observed),
# the aborted/retried/promote-full ones keep the RolloutAborted condition (CalculateRolloutPhase), and
# rollout_restarted has spec.restartAt with no status.restartedAt.
ACTIONS = "argo-cd/resource_customizations/argoproj.io/Rollout/actions/testdata"
ACTION_ROLLOUTS = {
    "aborted_bg_rollout.yaml": ("Degraded", "RolloutAborted: Rollout is aborted", "", None, None),
    "aborted_rollout.yaml": ("Degraded", "RolloutAborted: Rollout is aborted", "0/2", 0, 0),
    "has_pause_condition_rollout.yaml": ("Paused", "CanaryPauseStep", "1/6", 40, 0),
    "has_pause_condition_rollout_aborted.yaml": ("Paused", "CanaryPauseStep", "1/6", 0, 0),
    "healthy_rollout.yaml": ("Healthy", "", "", None, None),
    "no_pause_condition_rollout.yaml": ("Progressing", "waiting for rollout to unpause", "1/6", 40, 0),
    "one_replica_rollout.yaml": ("Progressing", "waiting for post-promotion verification to complete", "", None,
                                 None),
    "pre_v0.6_nil_paused_rollout.yaml": ("Progressing", "waiting for post-promotion verification to complete", "",
                                         None, None),
    "pre_v0.6_not_paused_rollout.yaml": ("Progressing", "waiting for post-promotion verification to complete", "",
                                         None, None),
    "pre_v0.6_paused_rollout.yaml": ("Paused", "manually paused", "", None, None),
    "promote-full_rollout.yaml": ("Degraded", "RolloutAborted: Rollout is aborted", "0/2", 0, 0),
    "retried_rollout.yaml": ("Degraded", "RolloutAborted: Rollout is aborted", "0/2", 1, 0),
    "rollout-step1-after-skip-current-step.yaml": ("Progressing", "waiting for rollout to unpause", "1/2", 0, 0),
    "rollout-step1.yaml": ("Paused", "CanaryPauseStep", "0/2", 0, 0),
    "rollout_not_restarted.yaml": ("Progressing", "more replicas need to be updated", "", 40, 0),
    "rollout_restarted.yaml": ("Progressing", "rollout is restarting", "", 40, 0),
    "three_replica_rollout.yaml": ("Progressing", "more replicas need to be updated", "", None, None),
    "v0.9_aborted_bg_rollout.yaml": ("Degraded", "RolloutAborted: Rollout is aborted", "", None, None),
    "v0.9_aborted_rollout.yaml": ("Degraded", "RolloutAborted: Rollout is aborted", "0/2", 0, 0),
    "v0.9_promote-full_rollout.yaml": ("Degraded", "RolloutAborted: Rollout is aborted", "2/2", 100, 100),
}


@pytest.mark.parametrize("name", sorted(ACTION_ROLLOUTS))
def test_argocd_action_testdata_rollouts(name: str) -> None:
    """Every Rollout of argo-cd's action tests: Status, Message, Step, SetWeight, ActualWeight as the CLI prints
    them, parser and pane (the summary line names the phase and the raw step index)."""
    view = parse_rollout(load(f"{ACTIONS}/{name}"))
    phase, message, step, set_weight, actual = ACTION_ROLLOUTS[name]
    assert (view.phase, view.message, view.step_text, view.set_weight, view.actual_weight) == (
        phase, message, step, set_weight, actual)
    text = _flat(render(RolloutPane(2), view, width=160))
    assert phase in text and message in text
    if step:
        assert f"step {step}" in text
    if set_weight is not None:
        assert f"set {set_weight}% · actual {actual}%" in text
    summary = render(RolloutPane(2), view).splitlines()[-1]
    assert ("ABORTED" if view.aborted else phase) in summary


def test_ping_pong_tags_as_get_prints_them() -> None:
    """get_test.go TestGetCanaryPingPongRollout: INFO is ``canary,ping`` and ``stable,pong``
    (info/replicaset_info.go: with spec.strategy.canary.pingPong the stable RS is status.canary.stablePingPong)."""
    objs = load_dir("argo-rollouts/info-testdata/canary")
    ro = parse_rollout(objs["Rollout"][3], objs["ReplicaSet"], objs["Pod"])
    assert ro.stable_ping_pong == "pong"
    rows = [" ".join(row.split()) for row in render(RolloutPane(2), ro, width=160).splitlines()]
    assert "│ └──⧉ canary-demo-65fb5ffc84 ReplicaSet ◌ Progressing 7d canary,ping" in rows
    assert "│ └──⧉ canary-demo-877894d5b ReplicaSet ✔ Healthy 7d stable,pong" in rows
    plain = parse_rollout(objs["Rollout"][0], objs["ReplicaSet"], objs["Pod"])  # no pingPong: no tag
    assert plain.stable_ping_pong == ""
    assert "canary,ping" not in render(RolloutPane(2), plain, width=160)


# --------------------------------------------------------------------------- AnalysisRuns

RUN_DOCS = (_documents("argo-rollouts/test", {"AnalysisRun"}, ("argoproj.io",))
            + _documents("argo-rollouts/examples", {"AnalysisRun"}, ("argoproj.io",)))


@pytest.mark.parametrize(("where", "obj"), RUN_DOCS, ids=[where for where, _ in RUN_DOCS])
def test_e2e_analysis_runs_render(where: str, obj: dict[str, Any]) -> None:
    """AnalysisRuns of argo-rollouts' e2e suite (no status yet): the CLI's STATUS is the raw phase (here empty) and
    INFO empty; the pane names the run and shows no counters."""
    run = parse_analysis_run(obj)
    assert (run.phase, run.counts_text) == ("", "")
    text = render(AnalysisPane(3), (run,), width=140)
    assert obj["metadata"].get("name", "") in text  # generateName only: the API server names it
    assert text.splitlines()[-1].strip() == "pending"


DRY_RUN = load("argo-rollouts/transcribed/analysis_dryrun.yaml")["cases"]


@pytest.mark.parametrize("case", DRY_RUN, ids=[case["test"] for case in DRY_RUN])
def test_dry_run_metrics(case: dict[str, Any]) -> None:
    """analysis/analysis_test.go: a dry-run metric that fails leaves the run Successful with no message; the CLI's
    INFO still counts it (get_rollout.go sums every metricResult).  The pane shows the run's phase, never names a
    dry-run metric as what failed the run, and marks dry-run metrics."""
    run = parse_analysis_run(case["object"])
    want = case["expect"]
    assert (run.phase, run.message, run.counts_text) == (want["phase"], want["message"], want["info"])
    failing = run.failing_metric
    assert (failing.name if failing else None) == want["failing_metric"]
    text = _flat(render(AnalysisPane(3), (run,), width=140))
    assert want["phase"] in text and want["info"] in text
    if want["message"]:
        assert want["message"] in text
    for metric in case["object"]["status"]["metricResults"]:
        if metric.get("dryRun"):
            assert f"{metric['name']} (dry-run)" in text
            assert f"✗ {metric['name']}:" not in text
    if want["failing_metric"] is None:
        assert " ✗ " not in f" {text} ".replace(" ✓ ✗ ? ⚠ ", " ")  # the table header aside, nothing named as failing


# =========================================================================== Argo CD

APP_DOCS = _documents("argo-cd", {"Application"}, ("argoproj.io",))


@pytest.mark.parametrize(("where", "obj"), APP_DOCS, ids=[where for where, _ in APP_DOCS])
def test_vendored_applications(where: str, obj: dict[str, Any]) -> None:
    """argo-cd's own Application objects: sync and health status verbatim (the app's printer columns, `argocd app
    get`), GetSource's repo/path/revision, history as `argocd app history` prints it."""
    app = parse_application(obj)
    status = obj.get("status") or {}
    assert app.sync_status == ((status.get("sync") or {}).get("status") or "")
    assert app.health_status == ((status.get("health") or {}).get("status") or "")
    source = app_source(obj.get("spec"))
    assert (app.repo_url, app.path, app.target_revision) == (
        source.get("repoURL", ""), source.get("path", ""), source.get("targetRevision", ""))
    for width in (140, 60):
        text = render(ArgoCDPane(1), app, width=width)
        if app.health_status:
            assert app.health_status in text
        if app.sync_status:
            assert app.sync_status in text
    for entry in app.history:
        rev = entry.source.get("targetRevision", "")
        if len(entry.revision) >= 7:  # app.go printApplicationHistoryTable: "<targetRevision> (<7 chars>)"
            rev = f"{rev} ({entry.revision[:7]})"
        assert entry.cli_revision == rev.strip()


APPS = load("argo-cd/transcribed/applications.yaml")["cases"]


@pytest.mark.parametrize("case", APPS, ids=[case["test"] for case in APPS])
def test_applications_of_the_go_tests(case: dict[str, Any]) -> None:
    """types.go GetSource (hydrator sync source, else sources[0], else source) and the operation state as `argocd
    app get` prints it: a Failed / Error sync is shown with its phase, never hidden."""
    app = parse_application(case["object"])
    want = case["expect"]
    assert (app.repo_url, app.path, app.target_revision) == (
        want["source"]["repoURL"], want["source"]["path"], want["source"]["targetRevision"])
    operation = want.get("operation")
    if operation is None:
        return
    assert (app.operation_phase, app.operation_message) == (operation["phase"], operation["message"])
    text = _flat(render(ArgoCDPane(1), app, width=140))
    if operation["phase"] in ("Failed", "Error"):
        assert f"✗ last operation {operation['phase']}" in text
    else:
        assert "last operation" not in text


# =========================================================================== CloudNativePG

CLUSTER_DOCS = (_documents("cloudnative-pg", {"Cluster"}, ("postgresql.cnpg.io",))
                + _documents("plugin-barman-cloud", {"Cluster"}, ("postgresql.cnpg.io",)))
STORE_DOCS = _documents("plugin-barman-cloud", {"ObjectStore"}, ("barmancloud.cnpg.io",))


def test_the_cluster_corpus_is_there() -> None:
    assert len(CLUSTER_DOCS) >= 70 and STORE_DOCS


def _cli_backup_section(obj: dict[str, Any], stores: dict[str, Any]) -> str:
    """status.go printBackupStatus: which backup section `kubectl cnpg status` prints, in a word.  The plugin counts
    when its first entry named barman-cloud.cloudnative-pg.io is enabled (isBarmanCloudPluginEnabled; enabled
    defaults to true)."""
    spec = obj.get("spec") or {}
    plugin = next((p for p in spec.get("plugins") or [] if p.get("name") == "barman-cloud.cloudnative-pg.io"), None)
    if plugin is not None and plugin.get("enabled", True) is not False:
        name = (plugin.get("parameters") or {}).get("barmanObjectName", "")
        if not name:
            return "no-object-name"
        return "store" if name in stores else "store-missing"
    if spec.get("backup") is not None:
        return "in-tree"
    return "not-configured"


@pytest.mark.parametrize(("where", "obj"), CLUSTER_DOCS, ids=[where for where, _ in CLUSTER_DOCS])
def test_cluster_samples(where: str, obj: dict[str, Any]) -> None:
    """CNPG's documented samples and the plugin's examples: `kubectl cnpg status`'s backup section, "Instances:"
    from spec.instances, the replica cluster summary; the pane never shows a cluster without status as healthy."""
    stores = {doc["metadata"]["name"]: doc for _, doc in STORE_DOCS}
    cluster = with_archiving(parse_cluster(obj, stores), None)
    text = _flat(render(CnpgPane(5), CnpgPaneData((cluster,), cluster.name), width=140))
    section = _cli_backup_section(obj, stores)
    if section == "store":
        store = next(p for p in obj["spec"]["plugins"] if p["name"] == "barman-cloud.cloudnative-pg.io")
        name = store["parameters"]["barmanObjectName"]
        server = store["parameters"].get("serverName") or obj["metadata"]["name"]
        # printBarmanObjectStoreStatus: no window for the server yet
        assert cluster.window_source == f"ObjectStore {name} has no recovery window for server {server}"
    elif section == "store-missing":
        assert "not found" in cluster.window_source
    elif section == "no-object-name":
        assert cluster.window_source == "plugin configured without barmanObjectName"
    elif section == "in-tree":
        assert cluster.first_recoverability_point is None  # "First Point of Recoverability: Not Available"
    else:
        assert cluster.window_source == "no backups configured"  # "Continuous Backup not configured"
    spec_instances = (obj.get("spec") or {}).get("instances")
    if isinstance(spec_instances, int):
        assert f"0/{spec_instances} ready" in text
    replica = (obj.get("spec") or {}).get("replica")
    assert cluster.replica is is_replica(obj)
    if cluster.replica:
        assert "Replica cluster" in text
        if isinstance(replica, dict) and replica.get("source"):
            assert f"Replica cluster of {replica['source']}" in text
    assert not cluster.healthy and "Cluster in healthy state" not in text


REPLICA = load("cloudnative-pg/transcribed/replica_and_primary.yaml")["is_replica"]


@pytest.mark.parametrize("case", REPLICA, ids=[case["it"] for case in REPLICA])
def test_is_replica(case: dict[str, Any]) -> None:
    """api/v1/cluster_funcs_test.go Describe("IsReplica"): each entry's value; a replica shows its source."""
    assert is_replica(case["object"]) is case["expect"]
    cluster = parse_cluster(case["object"])
    text = render(CnpgPane(5), CnpgPaneData((cluster,), cluster.name), width=140)
    assert ("Replica cluster of source-cluster" in text) is case["expect"]


def _healthy_cluster() -> dict[str, Any]:
    return load("argo-cd/resource_customizations/postgresql.cnpg.io/Cluster/testdata/cluster_healthy.yaml")


def test_switchover_and_instances_as_status_prints_them() -> None:
    """status.go printBasicInfo: "Switchover in progress" with "A (switching to B)" while currentPrimary differs
    from targetPrimary, "Primary server is initializing" when there is no current primary yet; "Instances:" is
    spec.instances (red when the ready count differs)."""
    obj = _healthy_cluster()
    obj["status"]["targetPrimary"] = "cluster-example-2"
    text = _flat(render(CnpgPane(5), CnpgPaneData((parse_cluster(obj),), "cluster-example"), width=140))
    assert "Switchover in progress: cluster-example-1 switching to cluster-example-2" in text
    obj["status"]["currentPrimary"] = ""
    text = _flat(render(CnpgPane(5), CnpgPaneData((parse_cluster(obj),), "cluster-example"), width=140))
    assert "Primary server is initializing" in text
    obj = _healthy_cluster()
    obj["spec"]["instances"] = 5  # scaled up, not there yet
    cluster = parse_cluster(obj)
    assert (cluster.spec_instances, cluster.instances, cluster.ready_instances) == (5, 3, 3)
    assert "3/5 ready" in render(CnpgPane(5), CnpgPaneData((cluster,), cluster.name), width=140)
    assert "Switchover" not in render(CnpgPane(5), CnpgPaneData((parse_cluster(_healthy_cluster()),), ""),
                                      width=140)


STORE = load("plugin-barman-cloud/transcribed/objectstore_status.yaml")


def test_object_store_recovery_window() -> None:
    """metrics_test.go's ObjectStore: status.serverRecoveryWindow[serverName] is the window `kubectl cnpg status`
    prints (printBarmanObjectStoreStatus: First Point of Recoverability, Last Successful Backup); before the
    plugin wrote one, "No recovery window information found" -- the pane says the same and never claims a
    window."""
    stores = {"test-object-store": STORE["object_store"]}
    cluster = with_archiving(parse_cluster(STORE["cluster"], stores), None)
    assert cluster.backup_method == "plugin" and cluster.window_source == "ObjectStore test-object-store"
    assert cluster.first_recoverability_point == datetime(2026, 5, 19, 14, 27, tzinfo=UTC)
    assert cluster.last_successful_backup == datetime(2026, 5, 20, 14, 27, tzinfo=UTC)
    text = render(CnpgPane(5), CnpgPaneData((cluster,), cluster.name), width=140, now=NOW)
    assert "2026-05-19 14:27:00Z" in text and "2026-05-20 14:27:00Z" in text
    bare = with_archiving(parse_cluster(STORE["cluster"], {"test-object-store": STORE["object_store_without_window"]}),
                          None)
    assert bare.first_recoverability_point is None
    assert bare.window_source == "ObjectStore test-object-store has no recovery window for server test-cluster"
    text = render(CnpgPane(5), CnpgPaneData((bare,), bare.name), width=140, now=NOW)
    assert "PITR window unknown" in text and "no recovery window for server test-cluster" in text


# =========================================================================== Velero

VELERO = load("velero/transcribed/phases_and_locations.yaml")
THEN = datetime(2026, 5, 20, 15, 0, tzinfo=UTC)


class _SizedVeleroPane(VeleroPane):
    """The pane as laid out at a given body width (no app needed)."""

    body_width = 80

    @property
    def content_region(self):  # type: ignore[override]
        from textual.geometry import Region

        return Region(0, 0, self.body_width, 20)


def _velero_text(view: Any, width: int) -> str:
    pane = _SizedVeleroPane(6)
    pane.body_width = width
    return render(pane, view, width=width, now=THEN)


def _status_cells(text: str) -> list[tuple[str, str]]:
    """[(backup name, its STATUS cell)] in table order, a folded cell's lines joined back."""
    lines = text.splitlines()
    head = next(index for index, line in enumerate(lines) if "STATUS" in line and "BACKUP" in line)
    start, end = lines[head].index("STATUS"), lines[head].index("AGE")
    cells: list[tuple[str, str]] = []
    for line in lines[head + 1:]:
        if not line.startswith(" ") or not line.strip() or line.lstrip().startswith("…"):
            break  # the table ends (rows are padded by one space)
        first = line[:start].strip()
        if first:
            cells.append((first, ""))
        cells[-1] = (cells[-1][0], cells[-1][1] + line[start:end].strip())
    return cells


@pytest.mark.parametrize("case", VELERO["backups"], ids=[case["test"] for case in VELERO["backups"]])
@pytest.mark.parametrize("width", [140, 64, 44])
def test_backup_status_whole_at_every_width(case: dict[str, Any], width: int) -> None:
    """backup_printer.go printBackup: STATUS is the phase verbatim ("New" when empty, "Deleting" once
    deletionTimestamp is set), QUEUE POSITION when non-zero.  Long phases are folded, never cut, so
    WaitingForPluginOperations and WaitingForPluginOperationsPartiallyFailed stay apart; a partial failure still
    in flight counts with the failed ones."""
    backup = parse_backup(case["object"])
    want = case["expect"]
    assert backup.status == want["status"]
    assert backup.bad is want["partially_failed"]
    text = _velero_text(parse_velero([case["object"]], []), width)
    (name, status), = _status_cells(text)
    assert name == case["object"]["metadata"]["name"]
    assert status.split("#")[0].strip() == want["status"]
    if want.get("queue_position"):
        assert status.endswith(f"#{want['queue_position']}")
    summary = text.rstrip().splitlines()[-1]
    assert ("1 bad" in summary) is want["partially_failed"]


def test_all_phases_side_by_side_stay_distinct() -> None:
    """Every backup phase in one list: each row's STATUS is its whole phase."""
    objects = [case["object"] for case in VELERO["backups"]]
    for width in (140, 64):
        cells = _status_cells(_velero_text(parse_velero(objects, []), width))
        shown = Counter((name, status.split("#")[0].strip()) for name, status in cells)
        expected = Counter((case["object"]["metadata"]["name"], case["expect"]["status"]) for case in VELERO["backups"])
        assert len(cells) == min(len(objects), 8) and not shown - expected, (width, shown - expected)


def test_restores_as_velero_restore_get() -> None:
    """restore_printer.go printRestore: NAME, BACKUP, STATUS ("New" when empty), ERRORS/WARNINGS; validation errors
    and failure reasons are shown (restore_controller_test.go cases)."""
    restores = parse_restores([case["object"] for case in VELERO["restores"]])
    assert [(r.name, r.status, r.backup) for r in restores] == [
        (c["object"]["metadata"]["name"], c["expect"]["status"], c["expect"]["backup"])
        for c in sorted(VELERO["restores"], key=lambda c: c["object"]["metadata"]["creationTimestamp"], reverse=True)]
    text = _flat(_velero_text(_view_with_restores(restores), 140))
    assert "restores: bar-3 New from backup-2 · bar-2 FailedValidation from backup-1 · bar PartiallyFailed from " \
           "backup-1 1/0" in text
    assert 'bar-2: validation errors: Error retrieving backup: backup.velero.io "backup-1" not found' in text


def _view_with_restores(restores: Any) -> Any:
    import dataclasses

    return dataclasses.replace(parse_velero([], []), restores=restores)


def test_schedules_paused_and_new() -> None:
    """schedule_printer.go printSchedule: STATUS ("New" when empty) and PAUSED."""
    schedules = [parse_schedule(case["object"]) for case in VELERO["schedules"]]
    assert [(s.status, s.paused) for s in schedules] == [
        (case["expect"]["status"], case["expect"]["paused"]) for case in VELERO["schedules"]]
    text = _flat(_velero_text(parse_velero([], [case["object"] for case in VELERO["schedules"]]), 140))
    assert "daily last 38h ago (paused)" in text and "fresh New never ran" in text


def test_storage_locations() -> None:
    """backup_storage_location_printer.go: PHASE ("Unknown" before the first validation); an unavailable location
    is shown with the controller's message, and so is the tilt example's."""
    locations = [parse_location(case["object"]) for case in VELERO["locations"]]
    assert [loc.status for loc in locations] == [case["expect"]["phase"] for case in VELERO["locations"]]
    text = _flat(_velero_text(parse_velero([], [], [case["object"] for case in VELERO["locations"]]), 140))
    assert "storage location default Unavailable: NoSuchBucket: The specified bucket does not exist" in text
    assert "storage location secondary Unknown" in text
    assert text.endswith("2 BSL✗")
    (_, tilt), = _documents("velero", {"BackupStorageLocation"}, ("velero.io",))
    location = parse_location(tilt)
    assert (location.name, location.provider, location.status) == (
        tilt["metadata"]["name"], tilt["spec"]["provider"], "Unknown")
    assert "Unknown" in _velero_text(parse_velero([], [], [tilt]), 140)


# =========================================================================== hostile but valid

HOSTILE_PHASE = "Reticulating\x1b[31m"


def _mutations(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The object with: every status field null; an unknown phase with a control sequence; huge counters; status,
    spec and metadata fields of the wrong type; timestamps with nanoseconds and an offset."""
    out = []
    status = obj.get("status") or {}
    out.append(dict(copy.deepcopy(obj), status={key: None for key in status}))
    odd = copy.deepcopy(obj)
    odd.setdefault("status", {})
    odd["status"] = dict(odd["status"] or {}, phase=HOSTILE_PHASE)
    out.append(odd)
    big = copy.deepcopy(obj)
    for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "errors", "warnings",
                "instances", "readyInstances", "queuePosition"):
        big.setdefault("status", {})
        big["status"] = dict(big["status"] or {}, **{key: 2**62})
    out.append(big)
    scrambled = copy.deepcopy(obj)  # every status field of the wrong type
    scrambled["status"] = {key: ("text" if isinstance(value, (dict, list)) else {"x": [value]})
                           for key, value in (obj.get("status") or {}).items()}
    out.append(scrambled)
    for part in ("spec", "metadata"):  # the same for spec and metadata, status kept
        wrong = copy.deepcopy(obj)
        wrong[part] = {key: ("text" if isinstance(value, (dict, list)) else {"x": [value]})
                       for key, value in (obj.get(part) or {}).items()}
        out.append(wrong)
    stamped = copy.deepcopy(obj)
    stamped.setdefault("metadata", {})["creationTimestamp"] = "2026-05-20T16:27:00.123456789+02:00"
    stamped["status"] = dict(stamped.get("status") or {}, startTimestamp="2026-05-20T14:00:00.5-07:00",
                             lastBackup="2026-05-20T14:00:00.000000001Z", startedAt="2026-05-20T14:26:59.9Z")
    out.append(stamped)
    return out


SAMPLES = {
    "rollout": load("argo-cd/resource_customizations/argoproj.io/Rollout/testdata/suspended_v1.0_pausedRollout.yaml"),
    "analysisrun": load("argo-cd/resource_customizations/argoproj.io/AnalysisRun/testdata/errorAnalysisRun.yaml"),
    "application": load("argo-cd/controller/testdata/diff-cache.yaml"),
    "cluster": load("argo-cd/resource_customizations/postgresql.cnpg.io/Cluster/testdata/cluster_healthy.yaml"),
    "backup": VELERO["backups"][0]["object"],
}


def _render_any(kind: str, obj: dict[str, Any], width: int = 140) -> str:
    if kind == "rollout":
        return render(RolloutPane(2), parse_rollout(obj), width=width + 20)
    if kind == "analysisrun":
        return render(AnalysisPane(3), (parse_analysis_run(obj),), width=width)
    if kind == "application":
        return render(ArgoCDPane(1), parse_application(obj), width=width)
    if kind == "cluster":
        cluster = with_archiving(parse_cluster(obj), None)
        return render(CnpgPane(5), CnpgPaneData((cluster,), cluster.name), width=width)
    return _velero_text(parse_velero([obj], []), width)


CORPUS = ([("rollout", obj) for _, obj in ROLLOUT_DOCS]
          + [("rollout", load(f"{ACTIONS}/{name}")) for name in sorted(ACTION_ROLLOUTS)]
          + [("analysisrun", case["object"]) for case in DRY_RUN] + [("analysisrun", obj) for _, obj in RUN_DOCS]
          + [("application", obj) for _, obj in APP_DOCS] + [("application", case["object"]) for case in APPS]
          + [("cluster", obj) for _, obj in CLUSTER_DOCS]
          + [("backup", case["object"]) for case in VELERO["backups"]])


def test_hostile_mutations_of_the_whole_corpus() -> None:
    """Every vendored object with its status nulled, an unknown phase, huge counters, fields of the wrong type and
    odd timestamps: parser and pane never raise."""
    for kind, obj in CORPUS:
        _render_any(kind, obj, width=24)  # and the object itself in a very narrow pane
        for mutated in _mutations(obj):
            assert "\x1b" not in _render_any(kind, mutated)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_hostile_but_valid_shapes(kind: str) -> None:
    """Nulls everywhere in status, an unknown phase (shown verbatim, its control byte made visible), counters
    near 2**62, fields of the wrong type, fractional seconds and offsets: nothing raises, and no raw escape
    reaches the text."""
    for mutated in _mutations(SAMPLES[kind]):
        text = _render_any(kind, mutated)
        assert "\x1b" not in text
        if (mutated.get("status") or {}).get("phase") != HOSTILE_PHASE or kind == "application":
            continue
        shown = "Reticulating\\x1b[31m"  # the phase verbatim, its control byte made visible (textsafe.clean)
        if kind == "backup":
            assert [status for _, status in _status_cells(text)] == [shown]
        else:
            assert shown in text


BACKUP_TIMES = load("cloudnative-pg/transcribed/replica_and_primary.yaml")["update_backup_times"]


@pytest.mark.parametrize("case", BACKUP_TIMES, ids=[case["it"] for case in BACKUP_TIMES])
def test_backup_times_as_status_prints_them(case: dict[str, Any]) -> None:
    """cluster_funcs_test.go UpdateBackupTimes: the first point is the overall firstRecoverabilityPoint (the
    earliest method), the last backup the overall lastSuccessfulBackup; none yet reads as unknown, never as a
    window."""
    cluster = with_archiving(parse_cluster(case["object"]), None)
    want = case["expect"]

    def stamp(value: datetime | None) -> str | None:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    assert (stamp(cluster.first_recoverability_point), stamp(cluster.last_successful_backup)) == (
        want["first_point"], want["last_backup"])
    text = render(CnpgPane(5), CnpgPaneData((cluster,), cluster.name), width=140, now=NOW)
    if want["first_point"]:
        assert want["first_point"].replace("T", " ") in text
    else:
        assert "PITR window unknown" in text and "first point   —" in text
