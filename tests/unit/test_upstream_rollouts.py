"""The Rollout and AnalysisRun parsers and panes against argo-rollouts' own test data and expected CLI output.

Objects: tests/fixtures/upstream/argo-rollouts/ (pkg/kubectl-argo-rollouts/info/testdata, transcribed Go tests) and
tests/fixtures/upstream/argo-cd/ (resource_customizations health tests).  Expected values: the text that
cmd/get/get_test.go, cmd/list/list_test.go, info/info_test.go and utils/rollout/rolloututil_test.go assert.  Each
test names the upstream test its values come from.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from typing import Any

import pytest

from cockpit.models import RolloutView
from cockpit.sources.analysis import parse_analysis_run, runs_for_rollout
from cockpit.sources.pods import parse_pod
from cockpit.sources.rollouts import parse_rollout, rollout_phase
from tests.unit.upstream_render import NOW, load, load_dir, merged, render
from cockpit.widgets.analysis_pane import AnalysisPane
from cockpit.widgets.rollout_pane import RolloutPane

INFO = "argo-rollouts/info-testdata"


def _view(directory: str, index: int = 0, *, pods: bool = True) -> tuple[RolloutView, dict[str, list[Any]]]:
    objs = load_dir(f"{INFO}/{directory}")
    rollout = objs["Rollout"][index]  # testdata.discoverObjects order: by file name
    view = parse_rollout(rollout, objs.get("ReplicaSet", []), objs.get("Pod", []) if pods else None)
    return view, objs


def _rows(text: str) -> list[str]:
    """Tree rows with spacing collapsed (tabwriter and Rich pad columns differently)."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _strip_tree(row: str) -> str:
    return re.sub(r"^[│├└─ ]+", "", row)


def _cli_tree(expected: str, kinds: tuple[str, ...] = ("Rollout", "ReplicaSet", "Pod", "revision")) -> list[str]:
    """The rows of the CLI's tree whose kind the pane shows (experiments, runs and jobs live elsewhere)."""
    rows = _rows(expected.split("NAME ", 1)[1])[1:]  # drop the header row
    return [row for row in rows if any(f" {kind} " in f" {row} " or f"# {kind}:" in row for kind in kinds)]


# --------------------------------------------------------------------------- get_test.go: TestGetCanaryRollout

GET_CANARY_TREE = """
NAME                                     KIND        STATUS              AGE  INFO
⟳ canary-demo                            Rollout     ✖ Degraded          7d
├──# revision:31
│  └──⧉ canary-demo-65fb5ffc84           ReplicaSet  ◌ Progressing       7d   canary
│     └──□ canary-demo-65fb5ffc84-9wf5r  Pod         ⚠ ImagePullBackOff  7d   ready:0/1
├──# revision:30
│  └──⧉ canary-demo-877894d5b            ReplicaSet  ✔ Healthy           7d   stable
│     ├──□ canary-demo-877894d5b-6jfpt   Pod         ✔ Running           7d   ready:1/1
│     ├──□ canary-demo-877894d5b-7jmqw   Pod         ✔ Running           7d   ready:1/1
│     ├──□ canary-demo-877894d5b-j8g2b   Pod         ✔ Running           7d   ready:1/1
│     ├──□ canary-demo-877894d5b-jw5qm   Pod         ✔ Running           7d   ready:1/1
│     └──□ canary-demo-877894d5b-kh7x4   Pod         ✔ Running           7d   ready:1/1
└──# revision:29
   └──⧉ canary-demo-859c99b45c           ReplicaSet  • ScaledDown        7d
"""


def test_get_canary_rollout_parser() -> None:
    """get_test.go TestGetCanaryRollout: the header block."""
    ro, _ = _view("canary")
    assert (ro.name, ro.namespace) == ("canary-demo", "jesse-test")
    assert (ro.phase, ro.message) == (
        "Degraded", 'ProgressDeadlineExceeded: ReplicaSet "canary-demo-65fb5ffc84" has timed out progressing.')
    assert (ro.step_text, ro.set_weight, ro.actual_weight) == ("0/8", 20, 0)
    assert set(ro.canary_images) == {"argoproj/rollouts-demo:does-not-exist"}
    assert set(ro.stable_images) == {"argoproj/rollouts-demo:green"}
    assert (ro.desired_replicas, ro.replicas, ro.updated_replicas, ro.ready_replicas, ro.available_replicas) == (
        5, 6, 1, 5, 5)
    assert [(rs.revision, rs.name, rs.status) for rs in ro.replica_sets] == [
        (31, "canary-demo-65fb5ffc84", "Progressing"),
        (30, "canary-demo-877894d5b", "Healthy"),
        (29, "canary-demo-859c99b45c", "ScaledDown"),
    ]
    canary_pods = ro.replica_sets[0].pods
    assert [(p.name, p.status, p.ready, p.icon) for p in canary_pods] == [
        ("canary-demo-65fb5ffc84-9wf5r", "ImagePullBackOff", "0/1", "⚠")]
    assert [p.name for p in ro.replica_sets[1].pods] == [
        "canary-demo-877894d5b-6jfpt", "canary-demo-877894d5b-7jmqw", "canary-demo-877894d5b-j8g2b",
        "canary-demo-877894d5b-jw5qm", "canary-demo-877894d5b-kh7x4"]
    assert {(p.status, p.ready) for p in ro.replica_sets[1].pods} == {("Running", "1/1")}


def test_get_canary_rollout_pane_tree() -> None:
    """get_test.go TestGetCanaryRollout: the wide pane prints the CLI's tree, row for row."""
    ro, _ = _view("canary")
    text = render(RolloutPane(2), ro, width=160)
    rows = _rows(text)
    for expected in _cli_tree(GET_CANARY_TREE):
        assert expected in rows, expected
    assert "step 0/8" in " ".join(rows)
    assert "set 20% · actual 0%" in text
    assert "desired 5 · current 6 · updated 1 · ready 5 · available 5" in text
    assert 'ProgressDeadlineExceeded: ReplicaSet "canary-demo-65fb5ffc84" has timed out progressing.' in text


def test_get_canary_rollout_pane_compact() -> None:
    """get_test.go TestGetCanaryRollout: the compact pane names the canary's worst pod reason (ImagePullBackOff)."""
    ro, _ = _view("canary")
    text = render(RolloutPane(2), ro, width=70)
    assert "canary pods 1 pod, 0 ready · ⚠ ImagePullBackOff" in " ".join(text.split())
    assert "stable pods 5 pods, 5 ready · ✔ Running" in " ".join(text.split())
    assert "revision:31" not in text  # no tree in the compact pane
    assert "Degraded 0/8 20% ImagePullBackOff" in text  # the one-line summary


def test_pods_not_watched_is_not_no_pods() -> None:
    ro, _ = _view("canary", pods=False)
    assert not ro.pods_watched and ro.pods == ()
    assert "pods" not in render(RolloutPane(2), ro, width=70).split("replicas")[1]


def test_get_canary_pingpong_rollout() -> None:
    """get_test.go TestGetCanaryPingPongRollout (Rollouts[3]): same weights and tree."""
    ro, _ = _view("canary", 3)
    assert ro.name == "canary-demo-pingpong"
    assert (ro.phase, ro.step_text, ro.set_weight, ro.actual_weight) == ("Degraded", "0/8", 20, 0)
    rows = [_strip_tree(row) for row in _rows(render(RolloutPane(2), ro, width=160))]
    assert "⧉ canary-demo-65fb5ffc84 ReplicaSet ◌ Progressing 7d canary" in " | ".join(rows) or any(
        row.startswith("⧉ canary-demo-65fb5ffc84 ReplicaSet ◌ Progressing 7d canary") for row in rows)


def test_canary_actual_weight_from_router_and_fallback() -> None:
    """info_test.go TestCanaryRolloutInfoWeights: Rollouts[4] takes status.canary.weights; Rollouts[5] (no weights
    in status, trafficRouting set) falls back to SetWeight."""
    with_weights, objs = _view("canary", 4)
    assert with_weights.actual_weight == objs["Rollout"][4]["status"]["canary"]["weights"]["canary"]["weight"]
    without, _ = _view("canary", 5)
    assert without.actual_weight == without.set_weight == 20
    assert "set 20% · actual 20%" in render(RolloutPane(2), without, width=120)


# --------------------------------------------------------------------------- get_test.go: blue-green

GET_BLUEGREEN_TREE = """
NAME                                        KIND        STATUS        AGE  INFO
⟳ bluegreen-demo                            Rollout     ॥ Paused      7d
├──# revision:11
│  └──⧉ bluegreen-demo-74b948fccb           ReplicaSet  ✔ Healthy     7d   preview
│     ├──□ bluegreen-demo-74b948fccb-5jz59  Pod         ✔ Running     7d   ready:1/1
│     ├──□ bluegreen-demo-74b948fccb-mkhrl  Pod         ✔ Running     7d   ready:1/1
│     └──□ bluegreen-demo-74b948fccb-vvj2t  Pod         ✔ Running     7d   ready:1/1
├──# revision:10
│  └──⧉ bluegreen-demo-6cbccd9f99           ReplicaSet  ✔ Healthy     7d   stable,active
│     ├──□ bluegreen-demo-6cbccd9f99-gk78v  Pod         ✔ Running     7d   ready:1/1
│     ├──□ bluegreen-demo-6cbccd9f99-kxj8g  Pod         ✔ Running     7d   ready:1/1
│     └──□ bluegreen-demo-6cbccd9f99-t2d4f  Pod         ✔ Running     7d   ready:1/1
└──# revision:8
   └──⧉ bluegreen-demo-746d5fddf6           ReplicaSet  • ScaledDown  7d
"""


def test_get_bluegreen_rollout() -> None:
    """get_test.go TestGetBlueGreenRollout: Paused / BlueGreenPause, replicas, images, and the tree."""
    ro, _ = _view("blue-green")
    assert (ro.phase, ro.message, ro.strategy) == ("Paused", "BlueGreenPause", "blueGreen")
    assert (ro.desired_replicas, ro.replicas, ro.updated_replicas, ro.ready_replicas, ro.available_replicas) == (
        3, 6, 3, 6, 3)
    text = render(RolloutPane(2), ro, width=160)
    rows = _rows(text)
    for expected in _cli_tree(GET_BLUEGREEN_TREE):
        assert expected in rows, expected
    assert "argoproj/rollouts-demo:blue" in text.split("preview")[0]  # active: blue
    assert "argoproj/rollouts-demo:green" in text  # preview: green
    assert "॥ Paused" in text and "BlueGreenPause" in text


@pytest.mark.parametrize(("offset", "info"), [(timedelta(hours=4) - timedelta(seconds=1), "delay:3h59m"),
                                              (-timedelta(hours=1), "delay:passed")],
                         ids=["TestGetBlueGreenRolloutScaleDownDelay", "TestGetBlueGreenRolloutScaleDownDelayPassed"])
def test_get_bluegreen_scale_down_delay(offset: timedelta, info: str) -> None:
    """get_test.go TestGetBlueGreenRolloutScaleDownDelay(Passed): ReplicaSets[2] gets a scale-down deadline and
    loses its pod-hash label: INFO shows the delay instead of "preview"."""
    objs = load_dir(f"{INFO}/blue-green")
    rs = objs["ReplicaSet"][2]
    rs["metadata"]["annotations"]["scale-down-deadline"] = (NOW + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    del rs["metadata"]["labels"]["rollouts-pod-template-hash"]
    ro = parse_rollout(objs["Rollout"][0], objs["ReplicaSet"], objs["Pod"])
    rows = _rows(render(RolloutPane(2), ro, width=160))
    assert f"│ └──⧉ bluegreen-demo-74b948fccb ReplicaSet ✔ Healthy 7d {info}" in rows


# --------------------------------------------------------------------------- get_test.go: other rollouts


def test_get_rollout_with_experiment_job() -> None:
    """get_test.go TestGetRolloutWithExperimentJob: Progressing, more replicas need to be updated, Step 0/1."""
    ro, _ = _view("experiment-step")
    assert (ro.phase, ro.message) == ("Progressing", "more replicas need to be updated")
    assert (ro.step_text, ro.set_weight, ro.actual_weight) == ("0/1", 0, 0)
    assert (ro.desired_replicas, ro.replicas, ro.updated_replicas, ro.ready_replicas, ro.available_replicas) == (
        5, 5, 0, 5, 5)
    text = render(RolloutPane(2), ro, width=160)
    assert "step 0/1" in " ".join(text.split())  # not "1/1": index 0 of 1 is not finished
    rows = [_strip_tree(row) for row in _rows(text)]
    assert "⧉ canary-demo-645d5dbc4c ReplicaSet • ScaledDown 7d canary" in rows
    assert "⧉ canary-demo-877894d5b ReplicaSet ✔ Healthy 7d stable" in rows
    assert sum(1 for row in rows if row.startswith("□ canary-demo-877894d5b-") and row.endswith("ready:1/1")) == 5


def test_experiment_rollout() -> None:
    """get_test.go TestExperimentRollout: Step 1/2, SetWeight 25, ActualWeight 25; the run's INFO ✔ 4,✖ 4,? 1,⚠ 1."""
    ro, objs = _view("experiment-analysis")
    assert (ro.phase, ro.step_text, ro.set_weight, ro.actual_weight) == ("Degraded", "1/2", 25, 25)
    runs = runs_for_rollout(objs["AnalysisRun"], ro)
    assert [(run.name, run.phase, run.counts_text) for run in runs] == [
        ("rollout-experiment-analysis-random-fail-6f646bf7b7-skqcr", "Inconclusive", "✔ 4,✖ 4,? 1,⚠ 1")]
    text = render(AnalysisPane(3), runs, width=140)
    assert "? Inconclusive" in text and "✔ 4,✖ 4,? 1,⚠ 1" in text
    tree = [_strip_tree(row) for row in _rows(render(RolloutPane(2), ro, width=160))]
    for expected in _cli_tree("""NAME KIND STATUS AGE INFO
│  ├──⧉ rollout-experiment-analysis-6f646bf7b7                                 ReplicaSet   ✔ Healthy       7d   canary
│  │  └──□ rollout-experiment-analysis-6f646bf7b7-wn5w8                        Pod          ✔ Running       7d   ready:1/1
   └──⧉ rollout-experiment-analysis-f6db98dff                                  ReplicaSet   ✔ Healthy       7d   stable
"""):
        assert _strip_tree(expected) in tree


def test_get_invalid_rollout() -> None:
    """get_test.go TestGetInvalidRollout / info_test.go TestRolloutStatusInvalidSpec."""
    ro, _ = _view("rollout-invalid")
    assert ro.phase == "Degraded"
    assert ro.message == ('InvalidSpec: The Rollout "rollout-invalid" is invalid: spec.template.metadata.labels: '
                          'Invalid value: map[string]string{"app":"doesnt-match"}: `selector` does not match '
                          'template `labels`')
    assert (ro.step_text, ro.set_weight, ro.actual_weight) == ("", 100, 100)
    assert (ro.desired_replicas, ro.replicas, ro.updated_replicas, ro.ready_replicas, ro.available_replicas) == (
        1, 0, 0, 0, 0)
    text = render(RolloutPane(2), ro, width=200)
    assert "`selector` does not match template `labels`" in text
    assert "set 100% · actual 100%" in text


def test_get_aborted_rollout() -> None:
    """get_test.go TestGetAbortedRollout / info_test.go TestRolloutAborted: the run is found by ownerReference."""
    ro, objs = _view("rollout-aborted")
    assert (ro.phase, ro.message) == (
        "Degraded", 'RolloutAborted: metric "web" assessed Failed due to failed (1) > failureLimit (0)')
    assert (ro.step_text, ro.set_weight, ro.actual_weight) == ("0/2", 0, 0)
    assert (ro.desired_replicas, ro.replicas, ro.updated_replicas, ro.ready_replicas, ro.available_replicas) == (
        1, 1, 0, 1, 1)
    rows = [_strip_tree(row) for row in _rows(render(RolloutPane(2), ro, width=160))]
    assert "⧉ rollout-background-analysis-db976bc44 ReplicaSet • ScaledDown 7d canary" in rows
    assert "⧉ rollout-background-analysis-7d84d44bb8 ReplicaSet ✔ Healthy 7d stable" in rows
    assert "□ rollout-background-analysis-7d84d44bb8-z5wps Pod ✔ Running 7d ready:1/1" in rows
    runs = runs_for_rollout(objs["AnalysisRun"], ro)
    assert [(run.name, run.phase, run.counts_text) for run in runs] == [
        ("rollout-background-analysis-db976bc44-2", "Failed", "✖ 1")]
    text = render(AnalysisPane(3), runs, width=140)
    assert "✖ Failed" in text and "✖ 1" in text
    assert 'metric "web" assessed Failed due to failed (1) > failureLimit (0)' in text


def test_runs_found_by_owner_reference_without_selector_labels() -> None:
    """analysisrun_info.go getAnalysisRunInfo: ownerReference only.  A pre-1.6 run carries the pod hash but not
    the rollout's selector labels; one without even the pod hash is kept by its revision annotation."""
    ro, objs = _view("rollout-aborted")
    run = objs["AnalysisRun"][0]
    run["metadata"]["labels"] = {"rollouts-pod-template-hash": "db976bc44"}  # no selector labels
    assert len(runs_for_rollout([run], ro)) == 1
    del run["metadata"]["labels"]
    run["metadata"].setdefault("annotations", {})["rollout.argoproj.io/revision"] = "2"
    assert len(runs_for_rollout([run], ro)) == 1
    run["metadata"]["annotations"]["rollout.argoproj.io/revision"] = "1"  # an older revision's run
    assert runs_for_rollout([run], ro) == ()
    other = dict(run, metadata=dict(run["metadata"], ownerReferences=[{"kind": "Rollout", "uid": "someone-else"}]))
    assert runs_for_rollout([other], ro) == ()


# --------------------------------------------------------------------------- rolloututil_test.go GetRolloutPhase

ROLLOUTUTIL = load("argo-rollouts/transcribed/rolloututil_test.yaml")


def _rolloututil_case(case: dict[str, Any]) -> dict[str, Any]:
    obj = merged(ROLLOUTUTIL["bases"][case["base"]], case.get("patch", {}))
    if case.get("drop_spec_replicas"):
        obj["spec"].pop("replicas", None)
    if "replace_status" in case:
        obj["status"] = dict(case["replace_status"])
    return obj


@pytest.mark.parametrize("case", ROLLOUTUTIL["cases"], ids=[case["test"] for case in ROLLOUTUTIL["cases"]])
def test_rolloututil_get_rollout_phase(case: dict[str, Any]) -> None:
    """utils/rollout/rolloututil_test.go: GetRolloutPhase's (phase, message) for each case, parser and pane."""
    obj = _rolloututil_case(case)
    phase, message = case["expect"]
    assert rollout_phase(obj) == (phase, message)
    view = parse_rollout(obj)
    assert (view.phase, view.message) == (phase, message)
    text = render(RolloutPane(2), view, width=120)
    assert phase in text and message in " ".join(text.split())


def test_restart_pending_is_shown() -> None:
    """rolloututil_test.go TestRolloutStatusProgressing (restartAt not reached): the pane says so."""
    case = next(c for c in ROLLOUTUTIL["cases"] if c["test"].endswith("/restarting"))
    view = parse_rollout(_rolloututil_case(case))
    assert view.restart_pending
    assert "restart pending" in render(RolloutPane(2), view)


# --------------------------------------------------------------------------- list_test.go

LIST = load("argo-rollouts/transcribed/list_test.yaml")


@pytest.mark.parametrize("case", LIST["cases"], ids=[case["test"] for case in LIST["cases"]])
def test_list_rollouts_row(case: dict[str, Any]) -> None:
    """cmd/list/list_test.go: STATUS, STEP (the raw index: 1/3), SET-WEIGHT, READY, DESIRED, UP-TO-DATE, AVAILABLE."""
    ro = parse_rollout(case["rollout"])
    want = case["expect"]
    assert {"canary": "Canary", "blueGreen": "BlueGreen"}[ro.strategy] == want["strategy"]
    assert ro.phase == want["status"]
    assert (ro.step_text or "-") == want["step"]
    assert (str(ro.set_weight) if ro.set_weight is not None else "-") == want["set_weight"]
    assert f"{ro.ready_replicas}/{ro.replicas}" == want["ready"]
    assert (ro.desired_replicas, ro.updated_replicas, ro.available_replicas) == (
        want["desired"], want["up_to_date"], want["available"])
    summary = " ".join(render(RolloutPane(2), ro).split())
    if want["step"] != "-":
        assert f"step {want['step']}" in summary and f"Progressing {want['step']} {want['set_weight']}%" in summary


# --------------------------------------------------------------------------- Argo CD health tests (Rollout)

ROLLOUT_HEALTH = "argo-cd/resource_customizations/argoproj.io/Rollout"
# Cases where Argo CD's Lua health check and the Rollouts CLI (GetRolloutPhase) disagree.  The cockpit follows
# the CLI: the pane must agree with `kubectl argo rollouts get`.
#   - no status at all: Lua says "Waiting for rollout spec update to be observed"; the CLI reads the zero status
#     with CalculateRolloutPhase (no replica updated yet); both say Progressing.
#   - pre-v0.8 objects keep stableRS under status.canary and may lack status.stableRS: Lua reads the old field,
#     the CLI does not, so it reports them as still progressing.
CLI_DIFFERS = {
    "testdata/newRolloutWithoutStatus.yaml": ("Progressing", "more replicas need to be updated"),
    "testdata/bluegreen/healthy_servingActiveService.yaml": (
        "Progressing", "waiting for post-promotion verification to complete"),
    "testdata/canary/healthy_executedAllStepsPreV0.8.yaml": ("Progressing", "waiting for all steps to complete"),
    "testdata/canary/healthy_noSteps.yaml": ("Progressing", "waiting for all steps to complete"),
    "testdata/canary/healthy_emptyStepsList.yaml": ("Progressing", "waiting for all steps to complete"),
}
ARGO_TO_ROLLOUT = {"Suspended": "Paused"}  # Lua maps the Rollout's Paused to Argo CD's Suspended
ROLLOUT_CASES = load(f"{ROLLOUT_HEALTH}/health_test.yaml")["tests"]


@pytest.mark.parametrize("case", ROLLOUT_CASES, ids=[case["inputPath"] for case in ROLLOUT_CASES])
def test_argocd_rollout_health_cases(case: dict[str, Any]) -> None:
    """argo-cd resource_customizations/argoproj.io/Rollout/health_test.yaml: the health class of each object."""
    obj = load(f"{ROLLOUT_HEALTH}/{case['inputPath']}")
    view = parse_rollout(obj)
    if case["inputPath"] in CLI_DIFFERS:
        assert (view.phase, view.message) == CLI_DIFFERS[case["inputPath"]]
        return
    expected = case["healthStatus"]["status"]
    assert view.phase == ARGO_TO_ROLLOUT.get(expected, expected)
    message = case["healthStatus"].get("message", "")
    # The CLI words its messages in lower case and prefixes Degraded ones with the condition's reason; the Lua
    # check adds "Waiting for roll out to finish: " and drops the reason.  The substance must be the same.
    core = message.removeprefix("Waiting for roll out to finish: ").lower()
    if core not in ("rollout is paused",):
        assert core in view.message.lower()
    if view.phase:
        assert view.phase in render(RolloutPane(2), view)


# --------------------------------------------------------------------------- Argo CD health tests (AnalysisRun)

RUN_HEALTH = "argo-cd/resource_customizations/argoproj.io/AnalysisRun"
RUN_CASES = load(f"{RUN_HEALTH}/health_test.yaml")["tests"]
RUN_CLASS = {"Pending": "Progressing", "Running": "Progressing", "Successful": "Healthy", "Failed": "Degraded",
             "Error": "Degraded", "Inconclusive": "Unknown", "": "Progressing"}  # health.lua's mapping


@pytest.mark.parametrize("case", RUN_CASES, ids=[case["inputPath"] for case in RUN_CASES])
def test_argocd_analysisrun_health_cases(case: dict[str, Any]) -> None:
    """argo-cd resource_customizations/argoproj.io/AnalysisRun/health_test.yaml: phase class and status.message;
    the pane shows the run's own message (the ones Argo CD takes from status.message)."""
    obj = load(f"{RUN_HEALTH}/{case['inputPath']}")
    run = parse_analysis_run(obj)
    assert RUN_CLASS[run.phase] == case["healthStatus"]["status"]
    status_message = (obj.get("status") or {}).get("message")
    if status_message:
        assert run.message == status_message == case["healthStatus"]["message"]
        assert status_message in render(AnalysisPane(3), (run,), width=140)


def test_analysisrun_error_count_shown() -> None:
    """errorAnalysisRun.yaml: the ⚠ error counter reaches the pane and the summary."""
    obj = load(f"{RUN_HEALTH}/testdata/errorAnalysisRun.yaml")
    run = parse_analysis_run(obj)
    assert run.errors == sum(int(m.get("error", 0)) for m in obj["status"]["metricResults"]) > 0
    text = render(AnalysisPane(3), (run,), width=140)
    assert f"⚠ {run.errors}" in text and f"⚠{run.errors}" in text.splitlines()[-1]


# --------------------------------------------------------------------------- pods (pod_info.go newPodInfo)


def _pod(containers: list[dict[str, Any]], **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "ownerReferences": [{"kind": "ReplicaSet", "uid": "rs"}]},
            "spec": {"containers": [{"name": c.get("name", "app")} for c in containers]},
            "status": {"phase": "Running", "containerStatuses": containers, **status}}


@pytest.mark.parametrize(("state", "status", "icon"), [
    ({"waiting": {"reason": "CrashLoopBackOff"}}, "CrashLoopBackOff", "✖"),
    ({"waiting": {"reason": "ImagePullBackOff"}}, "ImagePullBackOff", "⚠"),
    ({"waiting": {"reason": "CreateContainerConfigError"}}, "CreateContainerConfigError", "⚠"),
    ({"terminated": {"reason": "OOMKilled", "exitCode": 137}}, "OOMKilled", "✖"),
    ({"terminated": {"exitCode": 3}}, "ExitCode:3", "✖"),
    ({"terminated": {"exitCode": 0, "signal": 9}}, "Signal:9", "✖"),
    ({"waiting": {"reason": "ContainerCreating"}}, "ContainerCreating", "◌"),
])
def test_pod_status_as_the_cli(state: dict[str, Any], status: str, icon: str) -> None:
    """info/pod_info.go newPodInfo + podIcon (kubectl's printPod rules)."""
    pod = parse_pod(_pod([{"name": "app", "ready": False, "restartCount": 4, "state": state}]))
    assert (pod.status, pod.icon, pod.ready, pod.restarts) == (status, icon, "0/1", 4)


def test_pod_init_terminating_and_last_state() -> None:
    init = _pod([{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}],
                initContainerStatuses=[{"name": "migrate", "state": {"running": {}}}])
    init["spec"]["initContainers"] = [{"name": "migrate"}]
    assert parse_pod(init).status == "Init:0/1"
    gone = _pod([{"name": "app", "ready": True, "state": {"running": {}}}])
    gone["metadata"]["deletionTimestamp"] = "2026-05-20T14:00:00Z"
    assert parse_pod(gone).status == "Terminating"
    restarted = parse_pod(_pod([{"name": "app", "ready": True, "restartCount": 2, "state": {"running": {}},
                                 "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]))
    assert (restarted.status, restarted.ready, restarted.restarts, restarted.last_reason) == (
        "Running", "1/1", 2, "OOMKilled")


HOSTILE_VALUES: list[Any] = [None, "", 7, -1, 10**30, 1e308, float("nan"), True, [], {}, [None], {"x": None},
                             "[bold]x[/]", "\x1b[2J", "9999-12-31T23:59:59Z", "-5"]


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found.append((*path, key))
            found += _paths(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found.append((*path, index))
            found += _paths(value, (*path, index))
    return found


def test_pod_parser_and_pane_survive_hostile_fields() -> None:
    """Every field of the upstream canary pod replaced by hostile values: the parser never raises and the pane
    still renders (the pod data is as untrusted as the rest)."""
    objs = load_dir(f"{INFO}/canary")
    pod = next(p for p in objs["Pod"] if p["metadata"]["name"] == "canary-demo-65fb5ffc84-9wf5r")
    paths = [p for p in _paths(pod) if p[0] in ("metadata", "spec", "status") and "volumes" not in p]
    for path in paths[::5]:
        for value in HOSTILE_VALUES[:: 1 + len(path) % 3]:
            broken = copy.deepcopy(pod)
            target = broken
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            info = parse_pod(broken)
            assert isinstance(info.status, str)
            ro = parse_rollout(objs["Rollout"][0], objs["ReplicaSet"], [broken])
            render(RolloutPane(2), ro, width=160)
