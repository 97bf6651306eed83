"""The demo platform's scenarios, one per regression class: what each one seeds, read back through the cockpit's
own clients (the kubernetes client via ``cockpit.sources.kube``, prometheus-api-client, boto3 against moto,
git, urllib for the flag service), and how its controllers react to the writes its runbook sends (built with the
``cockpit.actions`` builders and sent through a real :class:`Gateway`).

Each scenario's runbook is carried to its end through the session core in ``test_runbooks_e2e.py``.

The controllers use ``Timing.fast()``: every reaction lands within a fraction of a second; the helpers poll with a
generous deadline instead of sleeping a fixed time.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cockpit.actions.audit import AuditLog
from cockpit.actions.gateway import Gateway, Outcome
from cockpit.actions.registry import ActionEnv, build_action
from cockpit.actions.requests import ActionRefused
from cockpit.config import build_settings
from cockpit.demo import scenario
from cockpit.demo.platform import (
    DEMO_CONTEXT,
    SCENARIO_FOR_RUNBOOK,
    SCENARIOS,
    DemoPlatform,
    DemoUnavailable,
    Timing,
    demo_environment,
    demo_settings,
    pick_scenario,
)
from cockpit.runbooks import get
from cockpit.runbooks.executor import RunbookRun, RunState, StepState
from cockpit.runbooks.facts import facts_from
from cockpit.sources.kube import (
    APPLICATIONS,
    CNPG_CLUSTERS,
    NAMESPACES,
    REPLICA_SETS,
    ROLLOUTS,
    SECRETS,
    VELERO_BACKUPS,
    VELERO_RESTORES,
    KubeContext,
    Resource,
)

NS = scenario.APP_NAMESPACE
QUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota", product="Kubernetes")
PERSON = "on-call"


# --------------------------------------------------------------------------- harness


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    """``probe()`` until it is truthy; AssertionError naming ``what`` and the last answer otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Live:
    """One started platform and the cockpit-side clients pointed at it."""

    def __init__(self, platform: DemoPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from cockpit.sources.prometheus import PrometheusSource, default_promql

        self.platform = platform
        self.settings = demo_settings(build_settings({}), platform)
        for name, value in demo_environment(platform, self.settings).items():
            monkeypatch.setenv(name, value)
        self.ctx = KubeContext.from_kubeconfig(platform.kubeconfig, DEMO_CONTEXT)
        self.prom = PrometheusSource(platform.prometheus_url, default_promql(self.settings.service), slo_seconds=0.5,
                                     step_seconds=60)
        self.audit_path = tmp_path / "audit.jsonl"
        self.gateway = Gateway(audit=AuditLog(self.audit_path))
        s3_client = None
        if self.settings.s3_endpoint:
            from cockpit.sources.s3 import S3Source

            s3_client = S3Source(endpoint_url=self.settings.s3_endpoint).client
        self.env = ActionEnv(kube=self.ctx, s3_client=s3_client, s3_endpoint=self.settings.s3_endpoint or "",
                             gitops_repo=self.settings.gitops_repo, kubeconfig=str(platform.kubeconfig),
                             username=PERSON, flag_admin_url=self.settings.flag_admin_url,
                             flag_environment_key=self.settings.flag_environment_key,
                             flag_admin_token_env=self.settings.flag_admin_token_env)
        self._preflight: Any = None

    def close(self) -> None:
        self.ctx.api_client.close()
        self.prom.close()

    # -- reads through the cockpit's clients ----------------------------------------------------------------

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.ctx.get(resource, namespace, name)

    def app(self) -> Any:
        from cockpit.sources.argocd import parse_application

        obj = self.get(APPLICATIONS, scenario.ARGOCD_NAMESPACE, scenario.APP_NAME)
        return parse_application(obj) if obj is not None else None

    def rollout(self) -> Any:
        from cockpit.sources.rollouts import parse_rollout

        obj = self.get(ROLLOUTS, NS, scenario.ROLLOUT)
        if obj is None:
            return None
        sets, _ = self.ctx.list(REPLICA_SETS, NS)
        return parse_rollout(obj, sets)

    def latency(self) -> Any:
        return self.prom.fetch(datetime.now(timezone.utc))

    def p99(self) -> float | None:
        return self.latency().value

    def flag(self) -> Any:
        from cockpit.sources.flags import fetch_flag

        return fetch_flag(self.settings.flag_url, self.settings.flag_key,
                          headers={"X-Environment-Key": self.settings.flag_environment_key})

    def preflight(self) -> Any:
        """The migration pre-flight over the git diff of the last two deploys (computed once, at the start)."""
        if self._preflight is None:
            from cockpit.preflight import preflight
            from cockpit.sources.gitrepo import last_two_revisions, migration_diff

            pair = last_two_revisions(self.app())
            assert pair is not None
            old, new = pair
            self._preflight = preflight(migration_diff(self.settings.gitops_repo, new, old, "migrations/"))
        return self._preflight

    def restore_for(self, backup: str) -> dict[str, Any] | None:
        restores, _ = self.ctx.list(VELERO_RESTORES, scenario.VELERO_NAMESPACE)
        mine = [item for item in restores if item["spec"].get("backupName") == backup]
        return mine[-1] if mine else None

    def recovered(self, source: str) -> dict[str, Any] | None:
        clusters, _ = self.ctx.list(CNPG_CLUSTERS, scenario.CNPG_NAMESPACE)
        return next((item for item in clusters
                     if (item["metadata"].get("annotations") or {}).get("cockpit/recovered-from") == source), None)

    # -- writes through the gateway --------------------------------------------------------------------------

    def send(self, action_id: str, **params: Any) -> Any:
        planned = self.gateway.plan(build_action(action_id, params, self.env))
        check = self.gateway.preflight(planned)
        assert check.ok, check.reason
        result = self.gateway.execute(planned, PERSON, typed=planned.confirm_word)
        assert result.ok, result.message
        return result


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    platform = DemoPlatform(request.param, workdir=tmp_path / "demo", timing=Timing.fast()).start()
    harness = Live(platform, tmp_path, monkeypatch)
    try:
        yield harness
        assert platform.controller_errors == [], platform.controller_errors[0]
        assert platform.kube.callback_errors == []
    finally:
        harness.close()
        platform.stop()


def s3_deleted(live: Live) -> int:
    """Keys under the tenant prefix whose latest version is a delete marker (read through the cockpit's S3 source)."""
    from cockpit.sources.s3 import S3Source

    evidence = S3Source(endpoint_url=live.settings.s3_endpoint).delete_markers(
        live.settings.s3_bucket, live.settings.s3_prefix, datetime.now(timezone.utc) - timedelta(hours=24))
    return len(evidence.missing)


def scenario_param(name: str) -> Any:
    return pytest.mark.parametrize("live", [name], indirect=True)


def audit_text(live: Live) -> str:
    return live.audit_path.read_text(encoding="utf-8") if live.audit_path.exists() else ""


# --------------------------------------------------------------------------- the registry


def test_every_runbook_has_its_scenario_and_back():
    from cockpit.runbooks import RUNBOOK_DIR

    files = sorted(path.stem for path in RUNBOOK_DIR.glob("*.yaml"))
    assert sorted(SCENARIO_FOR_RUNBOOK) == files
    for name, item in SCENARIOS.items():
        assert SCENARIO_FOR_RUNBOOK[item.runbook] == name
        assert get(item.runbook).id == item.runbook and item.description and item.regression
    assert pick_scenario(None, None) == "forward-only"
    assert pick_scenario(None, "code-rollback-helm") == "helm-rollback"
    assert pick_scenario("flag-flip", "code-rollback-helm") == "flag-flip"
    with pytest.raises(ValueError, match="known: forward-only"):
        DemoPlatform("nope")


def test_cli_scenario_flag():
    from cockpit.cli import parse_command, parse_command_line

    _, command, operand, _, chosen = parse_command_line(["demo", "--scenario", "velero-restore"])
    assert (command, operand, chosen) == ("demo", None, "velero-restore")
    assert parse_command(["demo", "code-rollback-helm"])[1:3] == ("demo", "code-rollback-helm")
    with pytest.raises(SystemExit):
        parse_command_line(["--scenario", "flag-flip"])


def test_missing_moto_stops_the_s3_scenario_cleanly(monkeypatch, tmp_path, capsys):
    from cockpit.demo import s3demo

    def no_moto() -> Any:
        raise s3demo.S3Unavailable("moto is not installed (moto): install the demo extra: pip install -e '.[demo]'")

    monkeypatch.setattr(s3demo, "start_server", no_moto)
    with pytest.raises(DemoUnavailable, match="needs S3: moto is not installed"):
        DemoPlatform("s3-restore", workdir=tmp_path / "a", timing=Timing.fast()).start()
    from cockpit.cli import run_demo

    code = run_demo(build_settings({}), scenario="s3-restore")
    assert code == 2 and "needs S3: moto is not installed" in capsys.readouterr().err
    optional = DemoPlatform("velero-restore", workdir=tmp_path / "b", timing=Timing.fast()).start()
    try:  # velero-restore only uses S3 for the tree's "is S3 data missing?" question: it runs without
        assert optional.s3 is None and "no S3 in this demo" in optional.notes[0]
        assert demo_settings(build_settings({}), optional).s3_bucket is None
    finally:
        optional.stop()


# --------------------------------------------------------------------------- forward-only (the default)


@scenario_param("forward-only")
def test_forward_only_seeds_a_non_additive_release_and_plays_pitr(live: Live):
    from cockpit.preflight import Verdict

    app, rollout = live.app(), live.rollout()
    assert app.history[0].id == 42 and app.history[0].revision == live.platform.revisions[42]
    assert rollout.phase == "Paused" and rollout.step_index == 3 and not rollout.aborted
    assert live.preflight().verdict is Verdict.DATA_FIRST
    assert live.p99() > 0.5 and live.flag().enabled is False  # no flag to flip: DATA first, then code

    # the PITR write: a recovery Cluster, watched through CNPG's phases until every instance is ready
    target = (datetime.now(timezone.utc) - timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = live.send("cnpg.recover", namespace=scenario.CNPG_NAMESPACE, cluster=scenario.CNPG_CLUSTER,
                       target_time=target)
    name = result.responses[0]["metadata"]["name"]
    assert name.startswith(f"{scenario.CNPG_CLUSTER}-pitr-")
    ready = wait_for("the recovery cluster to be healthy", lambda: (
        (obj := live.get(CNPG_CLUSTERS, scenario.CNPG_NAMESPACE, name)) and
        obj.get("status", {}).get("phase") == "Cluster in healthy state" and obj))
    assert ready["status"]["readyInstances"] == ready["spec"]["instances"] == 3
    assert ready["status"]["currentPrimary"] == f"{name}-1"
    phases = [what.split(": ", 1)[1].split(" (")[0] for _, who, what in live.platform.events if who == "cnpg"]
    assert phases == ["Setting up primary", "Creating a new replica", "Creating a new replica",
                      "Cluster in healthy state"]
    assert live.p99() > 0.5  # the cut-over is manual: PITR alone does not bring the latency back

    # then the code rollback: abort the canary and the p99 follows
    live.send("rollouts.abort", namespace=NS, name=scenario.ROLLOUT)
    wait_for("the canary to be gone", lambda: (r := live.rollout()).aborted and r.phase == "Degraded")
    wait_for("p99 under the SLO", lambda: (live.p99() or 9) < 0.5)



# --------------------------------------------------------------------------- rollouts-abort


@scenario_param("rollouts-abort")
def test_rollouts_abort_seeds_an_additive_canary_and_reacts_to_the_abort(live: Live):
    from cockpit.preflight import Verdict

    rollout = live.rollout()
    assert rollout.phase == "Paused" and rollout.canary_hash != rollout.stable_hash
    assert live.preflight().verdict is Verdict.SAFE
    assert live.flag().enabled is False and live.p99() > 0.5
    live.send("rollouts.abort", namespace=NS, name=scenario.ROLLOUT)
    rollout = wait_for("the abort", lambda: (r := live.rollout()).aborted and r.phase == "Degraded" and r)
    canary = next(rs for rs in rollout.replica_sets if rs.pod_hash == rollout.canary_hash)
    assert canary.available_replicas == 0 and live.app().health_status == "Degraded"
    wait_for("p99 under the SLO", lambda: (live.p99() or 9) < 0.5)



# --------------------------------------------------------------------------- argocd-rollback


@scenario_param("argocd-rollback")
def test_argocd_rollback_seeds_a_promoted_regression(live: Live):
    from cockpit.preflight import Verdict

    app, rollout = live.app(), live.rollout()
    assert rollout.phase == "Healthy" and rollout.stable_hash == rollout.canary_hash == scenario.CANARY_HASH
    assert app.health_status == "Healthy" and app.auto_sync and app.history[0].id == 42
    assert timedelta(minutes=20) < datetime.now(timezone.utc) - app.history[0].deployed_at < timedelta(minutes=30)
    assert live.preflight().verdict is Verdict.SAFE and live.p99() > 0.5
    run = live.get(Resource("argoproj.io", "v1alpha1", "analysisruns", "AnalysisRun"), NS,
                   f"catalog-{scenario.CANARY_HASH}-4")
    assert run["status"]["phase"] == "Successful"  # the canary's analysis passed: the regression rode past it


@scenario_param("argocd-rollback")
def test_argocd_rollback_controller_rolls_back_and_the_revert_lands(live: Live):
    from cockpit.actions import gitops

    live.send("argocd.disable_auto_sync", namespace=scenario.ARGOCD_NAMESPACE, name=scenario.APP_NAME,
              reason="p99 regression after #42")
    assert live.app().hold.reason == "p99 regression after #42"
    live.send("argocd.rollback", namespace=scenario.ARGOCD_NAMESPACE, name=scenario.APP_NAME, history_id="41")
    app = wait_for("the rollback sync", lambda: (a := live.app()) and a.operation_phase == "Succeeded"
                   and a.history[0].id == 43 and a)
    assert app.history[0].revision == live.platform.revisions[41] and app.sync_status == "OutOfSync"
    rollout = wait_for("v1.5.0 back", lambda: (r := live.rollout()).stable_hash == scenario.STABLE_HASH
                       and r.phase == "Healthy" and r)
    assert rollout.stable_images == ("ghcr.io/acme/catalog:v1.5.0",)
    wait_for("the app Healthy", lambda: live.app().health_status == "Healthy")
    wait_for("p99 under the SLO", lambda: (live.p99() or 9) < 0.5)

    bad = live.platform.revisions[42]
    result = live.send("git.revert", commit=bad)
    branch = result.responses[0]["branch"]
    wait_for("the reviewer's merge", lambda: live.platform.merged.get(branch))
    assert gitops.revert_landed(live.settings.gitops_repo, bad)  # fact git.revert_merged, as the cockpit reads it
    head = live.platform.merged[branch]
    # Argo CD's refresh compares the app with the merge: status.sync.revision, which the hold's checklist reads
    wait_for("Argo CD to see the merge", lambda: live.get(APPLICATIONS, scenario.ARGOCD_NAMESPACE, scenario.APP_NAME)
             ["status"]["sync"]["revision"] == head)
    assert live.app().hold.revision == live.platform.revisions[41]  # the rollback pinned its target
    live.send("argocd.release_hold", namespace=scenario.ARGOCD_NAMESPACE, name=scenario.APP_NAME)
    assert live.app().hold is None and live.app().auto_sync
    app = wait_for("auto-sync of the merge", lambda: (a := live.app()).history[0].revision == head
                   and a.sync_status == "Synced" and a)
    assert app.history[0].initiated_by == "automated"



# --------------------------------------------------------------------------- config-revert


@scenario_param("config-revert")
def test_config_revert_seeds_a_quota_cut_in_git(live: Live):
    from cockpit.sources.gitrepo import Layer, change_report

    app = live.app()
    assert not app.auto_sync and app.history[0].id == 42
    report = change_report(live.settings.gitops_repo, live.platform.revisions[41], live.platform.revisions[42],
                           paths=("apps/catalog",))
    assert report.layer is Layer.CONFIG and report.files[0].detail == "ResourceQuota"
    quota = live.get(QUOTAS, NS, "catalog-quota")
    assert quota["spec"]["hard"]["cpu"] == "2" and quota["status"]["used"]["cpu"] == "2"
    rollout = live.rollout()
    assert rollout.phase == "Progressing" and "exceeded quota" in rollout.message
    assert live.p99() > 0.5


@scenario_param("config-revert")
def test_config_revert_merge_then_sync_restores_the_quota(live: Live):
    from cockpit.actions import gitops

    bad = live.platform.revisions[42]
    live.send("git.revert", commit=bad)
    head = wait_for("the reviewer's merge", lambda: next(iter(live.platform.merged.values()), None))
    assert gitops.revert_landed(live.settings.gitops_repo, bad)
    wait_for("Argo CD to see the new commit", lambda: live.app().sync_status == "OutOfSync")
    live.send("argocd.sync", namespace=scenario.ARGOCD_NAMESPACE, name=scenario.APP_NAME)
    app = wait_for("the sync", lambda: (a := live.app()).history[0].revision == head and a.sync_status == "Synced"
                   and a)
    assert app.operation_phase == "Succeeded"
    wait_for("the quota back at 10", lambda: live.get(QUOTAS, NS, "catalog-quota")["spec"]["hard"]["cpu"] == "10")
    wait_for("the Rollout full again", lambda: live.rollout().phase == "Healthy")
    wait_for("the app Healthy", lambda: live.app().health_status == "Healthy")
    wait_for("p99 under the SLO", lambda: (live.p99() or 9) < 0.5)



# --------------------------------------------------------------------------- flag-flip


def _sdk_flags(live: Live, key: str | None) -> tuple[int, Any]:
    request = urllib.request.Request(live.settings.flag_url, headers={"X-Environment-Key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@scenario_param("flag-flip")
def test_flag_flip_seeds_a_flag_turned_on_without_a_deploy(live: Live):
    app = live.app()
    assert datetime.now(timezone.utc) - app.history[0].deployed_at > timedelta(hours=3)
    assert live.rollout().phase == "Healthy"
    status, flags = _sdk_flags(live, live.settings.flag_environment_key)
    mine = next(item for item in flags if item["feature"]["name"] == scenario.FLAG)
    assert status == 200 and mine["enabled"] is True and mine["feature_state_value"] == "meilisearch_v1"
    assert _sdk_flags(live, "wrong-key")[0] == 401
    state = live.platform.flags.state(scenario.FLAG)
    assert timedelta(minutes=6) < datetime.now(timezone.utc) - state["updated_at"] < timedelta(minutes=8)
    assert live.p99() > 0.5


@scenario_param("flag-flip")
def test_flag_flip_through_the_admin_api(live: Live, monkeypatch):
    action = build_action("flags.set", {"flag": scenario.FLAG, "enabled": "false"}, live.env)
    read_only = Gateway(audit=AuditLog(live.audit_path.with_name("ro.jsonl")), read_only_reason=lambda ctx: "replay")
    refused = read_only.execute(read_only.plan(action), PERSON, typed="y")
    assert refused.outcome is Outcome.REFUSED and live.flag().enabled is True
    assert [method for method, _ in live.platform.flags.requests if method == "PATCH"] == []

    planned = live.gateway.plan(action)
    write = planned.writes[0]
    token = live.platform.flags.admin_token
    assert write.method == "PATCH" and write.body == {"enabled": False}
    assert write.url.endswith(f"/api/v1/environments/{live.settings.flag_environment_key}/featurestates/"
                              f"{live.platform.flags.state(scenario.FLAG)['id']}/")
    assert token not in planned.requests_text() and "$FLAGSMITH_ADMIN_TOKEN" in planned.requests_text()
    check = live.gateway.preflight(planned)
    assert check.ok and check.dry_run[0].ok is None and "no server-side dry-run" in check.dry_run[0].summary
    result = live.gateway.execute(planned, PERSON, typed="y")
    assert result.ok and result.responses[0]["enabled"] is False
    assert live.flag().enabled is False
    wait_for("p99 under the SLO", lambda: (live.p99() or 9) < 0.5)
    text = audit_text(live)
    assert token not in text and "featurestates" in text  # the Authorization header is recorded redacted
    with pytest.raises(ActionRefused, match="already off") as refused:
        build_action("flags.set", {"flag": scenario.FLAG, "enabled": "false"}, live.env)
    assert refused.value.noop

    monkeypatch.setenv("FLAGSMITH_ADMIN_TOKEN", "not-the-token")
    with pytest.raises(ActionRefused, match="refused the token"):
        build_action("flags.set", {"flag": scenario.FLAG, "enabled": "true"}, live.env)
    monkeypatch.delenv("FLAGSMITH_ADMIN_TOKEN")
    with pytest.raises(ActionRefused, match="export FLAGSMITH_ADMIN_TOKEN"):
        build_action("flags.set", {"flag": scenario.FLAG, "enabled": "true"}, live.env)
    with pytest.raises(ActionRefused, match="by hand"):
        build_action("flags.set", {"flag": scenario.FLAG, "enabled": "true"}, ActionEnv(kube=live.ctx))



# --------------------------------------------------------------------------- s3-restore


@scenario_param("s3-restore")
def test_s3_restore_seeds_deleted_objects_and_the_undelete_brings_them_back(live: Live):
    from cockpit.demo import s3demo

    s3 = live.env.s3_client  # boto3, the cockpit's own client settings, against moto's endpoint
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=live.settings.s3_bucket,
                                                               Prefix=live.settings.s3_prefix)
    markers = [m for page in pages for m in page.get("DeleteMarkers", ())]
    latest = sorted(m["Key"].rsplit("/", 1)[1] for m in markers if m["IsLatest"])
    assert latest == sorted(f"{isbn}.jpg" for isbn in s3demo.DELETED)
    assert len(markers) == len(latest) + 1  # the re-uploaded cover's marker is no longer the latest
    assert datetime.now(timezone.utc) - live.app().history[0].deployed_at > timedelta(hours=3)
    assert s3_deleted(live) == 5
    wait_for("the p99 to climb", lambda: (live.p99() or 0) > 0.5)

    result = live.send("s3.undelete", bucket=live.settings.s3_bucket, key=live.settings.s3_prefix, prefix="true")
    assert result.sent == 5
    assert s3_deleted(live) == 0
    body = s3.get_object(Bucket=live.settings.s3_bucket, Key=f"{live.settings.s3_prefix}{s3demo.DELETED[0]}.jpg")
    assert body["Body"].read().startswith(b"\xff\xd8")
    wait_for("p99 under the SLO", lambda: (live.p99() or 9) < 0.5)



# --------------------------------------------------------------------------- velero-restore


@scenario_param("velero-restore")
def test_velero_restore_seeds_a_deleted_namespace_and_restores_it(live: Live):
    from kubernetes import watch
    from kubernetes.client import CustomObjectsApi

    assert live.get(NAMESPACES, None, NS) is None and live.rollout() is None
    assert live.app().health_status == "Missing" and live.p99() is None
    backups, _ = live.ctx.list(VELERO_BACKUPS, scenario.VELERO_NAMESPACE)
    tenant = sorted((b for b in backups if NS in b["spec"]["includedNamespaces"]
                     and b["status"]["phase"] == "Completed"), key=lambda b: b["status"]["startTimestamp"])
    backup = tenant[-1]["metadata"]["name"]
    assert live.get(NAMESPACES, None, NS) is None

    result = live.send("velero.restore", backup=backup, namespaces=NS)
    name = result.responses[0]["metadata"]["name"]
    rv = result.responses[0]["metadata"]["resourceVersion"]
    phases = []
    stream = watch.Watch().stream(CustomObjectsApi(live.ctx.api_client).list_namespaced_custom_object, "velero.io",
                                  "v1", scenario.VELERO_NAMESPACE, "restores", resource_version=rv,
                                  field_selector=f"metadata.name={name}", timeout_seconds=10)
    for event in stream:
        phase = event["object"].get("status", {}).get("phase")
        if phase and (not phases or phases[-1] != phase):
            phases.append(phase)
        if phase in ("Completed", "PartiallyFailed", "Failed", "FailedValidation"):
            break
    assert phases == ["InProgress", "Finalizing", "Completed"]
    restore = live.get(VELERO_RESTORES, scenario.VELERO_NAMESPACE, name)["status"]
    assert restore["progress"]["itemsRestored"] == restore["progress"]["totalItems"] > 5
    assert restore["startTimestamp"] <= restore["completionTimestamp"]
    namespace = live.get(NAMESPACES, None, NS)
    assert namespace["status"]["phase"] == "Active"
    assert namespace["metadata"]["labels"]["velero.io/restore-name"] == name
    rollout = live.rollout()
    assert rollout.phase == "Healthy" and len(rollout.replica_sets) == 3
    assert live.app().health_status == "Healthy"
    wait_for("a p99 again, under the SLO", lambda: (live.p99() or 9) < 0.5)



# --------------------------------------------------------------------------- helm-rollback


@scenario_param("helm-rollback")
def test_helm_rollback_seeds_release_secrets_like_helm(live: Live):
    from cockpit.actions import helm

    assert live.app() is None and live.rollout() is None
    secrets, _ = live.ctx.list(SECRETS, NS, label_selector="owner=helm,name=catalog-search")
    assert sorted(s["metadata"]["name"] for s in secrets) == [f"sh.helm.release.v1.catalog-search.v{n}" for n in
                                                              (1, 2, 3)]
    assert {s["type"] for s in secrets} == {"helm.sh/release.v1"}
    newest = max(secrets, key=lambda s: int(s["metadata"]["labels"]["version"]))
    assert newest["metadata"]["labels"]["status"] == "deployed"
    release = helm.decode_release(newest["data"]["release"])
    assert release["version"] == 3 and release["chart"]["metadata"]["appVersion"] == "1.5.1"
    assert "image: \"ghcr.io/acme/catalog-search:1.5.1\"" in release["manifest"]
    history = helm.history(live.ctx, NS, "catalog-search")
    assert [(r.revision, r.status, r.chart) for r in history] == [
        (3, "deployed", "catalog-search-1.5.1"), (2, "superseded", "catalog-search-1.5.0"),
        (1, "superseded", "catalog-search-1.4.0")]
    assert live.p99() > 0.5


@scenario_param("helm-rollback")
def test_helm_rollback_platform_reacts_to_what_helm_writes(live: Live):
    """What ``helm rollback catalog-search 2`` stores (it cannot run here): revision 4, deployed, the 1.5.0 chart."""
    from cockpit.actions.helm import encode_release
    from cockpit.demo import helmdemo

    release = helmdemo.release(NS, 2, datetime.now(timezone.utc))
    release.update(version=4, info={**release["info"], "status": "deployed", "description": "Rollback to 2"})
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
              "metadata": {"name": "sh.helm.release.v1.catalog-search.v4", "namespace": NS,
                           "labels": {"name": "catalog-search", "owner": "helm", "status": "deployed",
                                      "version": "4"}},
              "data": {"release": encode_release(release)}}
    live.ctx.request("POST", f"/api/v1/namespaces/{NS}/secrets", body=secret, content_type="application/json")
    wait_for("p99 under the SLO", lambda: (live.p99() or 9) < 0.5)
