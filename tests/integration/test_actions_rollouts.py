"""Argo Rollouts actions against the Kubernetes API emulator: the exact requests ``kubectl argo rollouts`` sends
(MECHANICS (b)) plus the cockpit's resourceVersion guard, and the objects they leave behind."""

from __future__ import annotations

import pytest

from cockpit.actions import rollouts
from cockpit.actions.gateway import Outcome
from cockpit.actions.requests import ActionRefused, Risk
from tests.plugins.actions import (  # noqa: F401 - fixtures
    NS,
    audit_log,
    body_of,
    clock,
    gateway,
    kube_ctx,
    real_writes,
    replica_set,
    rollout,
    writes,
)

API = "/apis/argoproj.io/v1alpha1/namespaces/" + NS + "/rollouts/catalog"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def _get(emulator, name="catalog"):
    return emulator.get_object("argoproj.io/v1alpha1", "rollouts", NS, name)


def _run(gateway, action, typed=None):
    planned = gateway.plan(action)
    check = gateway.preflight(planned)
    assert check.ok, check.lines()
    return planned, check, gateway.execute(planned, "alice", typed=typed)


def test_abort_patches_the_status_subresource(kube_emulator, kube_ctx, gateway):
    seeded = kube_emulator.seed(rollout())
    rv = seeded["metadata"]["resourceVersion"]
    kube_emulator.clear_requests()

    planned, check, result = _run(gateway, rollouts.abort(kube_ctx, NS, "catalog"), typed="y")

    assert result.outcome is Outcome.OK, result.message
    assert planned.risk is Risk.LOW and planned.confirm_word == "y"
    assert any("spec.template still names the new version" in w for w in planned.warnings)
    assert check.dry_run[0].changes == ("status.abort: (unset) → true",)
    dry, real = writes(kube_emulator)
    for record in (dry, real):
        assert (record.method, record.path, record.content_type) == ("PATCH", API + "/status", MERGE)
        assert body_of(record) == {"status": {"abort": True}, "metadata": {"resourceVersion": rv}}
    assert dry.query == {"dryRun": "All"} and real.query == {}
    live = _get(kube_emulator)
    assert live["status"]["abort"] is True
    assert live["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.5.1")  # spec untouched


def test_abort_of_an_aborted_rollout_is_a_noop(kube_emulator, kube_ctx):
    kube_emulator.seed(rollout(aborted=True))
    with pytest.raises(ActionRefused) as err:
        rollouts.abort(kube_ctx, NS, "catalog")
    assert err.value.noop and "already aborted" in str(err.value)


def test_stale_resource_version_is_a_conflict_and_nothing_changes(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(rollout())
    planned = gateway.plan(rollouts.abort(kube_ctx, NS, "catalog"))
    assert gateway.preflight(planned).ok
    kube_emulator.patch_status("argoproj.io/v1alpha1", "rollouts", NS, "catalog", {"message": "controller moved on"})
    kube_emulator.clear_requests()

    result = gateway.execute(planned, "alice")

    assert result.outcome is Outcome.CONFLICT
    assert "changed since it was read" in result.message
    assert [r.status for r in real_writes(kube_emulator)] == [409]
    assert "abort" not in _get(kube_emulator)["status"]


def test_retry_clears_abort_on_the_status_subresource(kube_emulator, kube_ctx, gateway):
    seeded = kube_emulator.seed(rollout(aborted=True))
    kube_emulator.clear_requests()
    _, _, result = _run(gateway, rollouts.retry(kube_ctx, NS, "catalog"))
    assert result.ok
    (real,) = real_writes(kube_emulator)
    assert (real.method, real.path, real.content_type) == ("PATCH", API + "/status", MERGE)
    assert body_of(real) == {"status": {"abort": False},
                             "metadata": {"resourceVersion": seeded["metadata"]["resourceVersion"]}}
    assert _get(kube_emulator)["status"]["abort"] is False


def test_retry_of_a_rollout_that_is_not_aborted_is_a_noop(kube_emulator, kube_ctx):
    kube_emulator.seed(rollout())
    with pytest.raises(ActionRefused) as err:
        rollouts.retry(kube_ctx, NS, "catalog")
    assert err.value.noop


def test_promote_with_pause_condition_clears_it_on_status(kube_emulator, kube_ctx, gateway):
    seeded = kube_emulator.seed(rollout(step=1))
    kube_emulator.clear_requests()
    planned, _, result = _run(gateway, rollouts.promote(kube_ctx, NS, "catalog"))
    assert result.ok and len(planned.writes) == 1
    (real,) = real_writes(kube_emulator)
    assert real.path == API + "/status" and real.content_type == MERGE
    assert body_of(real) == {"status": {"pauseConditions": None},
                             "metadata": {"resourceVersion": seeded["metadata"]["resourceVersion"]}}
    assert "pauseConditions" not in _get(kube_emulator)["status"]


def test_promote_of_spec_paused_rollout_sends_two_patches(kube_emulator, kube_ctx, gateway):
    seeded = kube_emulator.seed(rollout(step=1, paused=True))
    kube_emulator.clear_requests()
    planned, _, result = _run(gateway, rollouts.promote(kube_ctx, NS, "catalog"))
    assert result.ok and result.sent == 2
    status_patch, spec_patch = real_writes(kube_emulator)
    rv = seeded["metadata"]["resourceVersion"]
    assert (status_patch.path, body_of(status_patch)) == (
        API + "/status", {"status": {"pauseConditions": None}, "metadata": {"resourceVersion": rv}})
    # The second request rides on the first one's confirmation: no precondition (it would always conflict).
    assert (spec_patch.path, body_of(spec_patch)) == (API, {"spec": {"paused": False}})
    live = _get(kube_emulator)
    assert live["spec"].get("paused") is not True and "pauseConditions" not in live["status"]


def test_promote_mid_analysis_advances_the_step(kube_emulator, kube_ctx):
    kube_emulator.seed(rollout(step=2, pause_reason=None))
    spec_patch, status_patch = rollouts.promote_patches(_get(kube_emulator), full=False)
    assert spec_patch is None
    assert status_patch == {"status": {"pauseConditions": None, "currentStepIndex": 3}}


def test_promote_inconclusive_analysis_unsets_controller_pause(kube_emulator):
    kube_emulator.seed(rollout(step=4, pause_reason="InconclusiveAnalysisRun", analysis="Inconclusive",
                               controller_pause=True))
    _, status_patch = rollouts.promote_patches(_get(kube_emulator), full=False)
    assert status_patch == {"status": {"pauseConditions": None, "controllerPause": False, "currentStepIndex": 5}}


def test_promote_full_sets_promote_full_and_is_destructive(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(rollout(step=1))
    kube_emulator.clear_requests()
    action = rollouts.promote(kube_ctx, NS, "catalog", full=True)
    assert action.risk is Risk.DESTRUCTIVE and action.confirm_word == "catalog"
    _, _, result = _run(gateway, action, typed="catalog")
    assert result.ok
    (real,) = real_writes(kube_emulator)
    assert real.path == API + "/status"
    assert body_of(real)["status"] == {"promoteFull": True}
    assert _get(kube_emulator)["status"]["promoteFull"] is True


def test_promote_full_of_a_promoted_rollout_is_a_noop(kube_emulator, kube_ctx):
    kube_emulator.seed(rollout(step=8, pause_reason=None, current="6d4b5c7f9"))
    with pytest.raises(ActionRefused) as err:
        rollouts.promote(kube_ctx, NS, "catalog", full=True)
    assert err.value.noop


def _seed_history(emulator, current_image="ghcr.io/acme/catalog:v1.5.1"):
    emulator.seed(rollout(image=current_image, step=8, pause_reason=None, stable="7f8c9d6b5"))
    emulator.seed(replica_set("5b6c7d8e9", "ghcr.io/acme/catalog:v1.4.2", 1, replicas=0))
    emulator.seed(replica_set("6d4b5c7f9", "ghcr.io/acme/catalog:v1.5.0", 2, replicas=0))
    emulator.seed(replica_set("7f8c9d6b5", "ghcr.io/acme/catalog:v1.5.1", 3))
    # Same labels, another owner: never picked (ownership is by controller UID, as undo.go does).
    emulator.seed(replica_set("0a0b0c0d0", "ghcr.io/evil/catalog:v9", 9, owner_uid="someone-else"))


def test_undo_json_patches_the_previous_template_without_the_hash(kube_emulator, kube_ctx, gateway):
    _seed_history(kube_emulator)
    rv = _get(kube_emulator)["metadata"]["resourceVersion"]
    kube_emulator.clear_requests()

    action = rollouts.undo(kube_ctx, NS, "catalog")
    assert action.risk is Risk.DESTRUCTIVE and action.confirm_word == "catalog"
    assert any("self-heal" in w for w in action.warnings)
    _, _, result = _run(gateway, action, typed="catalog")

    assert result.ok, result.message
    (real,) = real_writes(kube_emulator)
    assert (real.method, real.path, real.content_type) == ("PATCH", API, JSON_PATCH)
    expected_template = {
        "metadata": {"labels": {"app": "catalog"}},
        "spec": {"containers": [{"name": "catalog", "image": "ghcr.io/acme/catalog:v1.5.0",
                                 "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]},
    }
    assert body_of(real) == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/template", "value": expected_template},
    ]
    live = _get(kube_emulator)["spec"]["template"]  # the CRD schema defaults ports[].protocol
    assert live["metadata"] == {"labels": {"app": "catalog"}}
    assert live["spec"]["containers"][0]["image"] == "ghcr.io/acme/catalog:v1.5.0"


def test_undo_to_a_chosen_revision(kube_emulator, kube_ctx):
    _seed_history(kube_emulator)
    action = rollouts.undo(kube_ctx, NS, "catalog", to_revision=1)
    replace = action.writes[0].body[1]
    assert replace["value"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/catalog:v1.4.2"
    with pytest.raises(ActionRefused, match="unable to find revision 7"):
        rollouts.undo(kube_ctx, NS, "catalog", to_revision=7)


def test_undo_is_a_noop_when_the_template_already_matches(kube_emulator, kube_ctx):
    _seed_history(kube_emulator, current_image="ghcr.io/acme/catalog:v1.5.0")
    with pytest.raises(ActionRefused) as err:
        rollouts.undo(kube_ctx, NS, "catalog")
    assert err.value.noop and "already matches revision 2" in str(err.value)


def test_undo_conflict_from_the_json_patch_test(kube_emulator, kube_ctx, gateway):
    _seed_history(kube_emulator)
    planned = gateway.plan(rollouts.undo(kube_ctx, NS, "catalog"))
    assert gateway.preflight(planned).ok
    kube_emulator.patch_object("argoproj.io/v1alpha1", "rollouts", NS, "catalog", {"spec": {"replicas": 6}})
    result = gateway.execute(planned, "alice", typed="catalog")
    assert result.outcome is Outcome.CONFLICT
    assert _get(kube_emulator)["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1.5.1")


def test_undo_warns_when_argo_cd_tracks_the_rollout(kube_emulator, kube_ctx):
    kube_emulator.seed(rollout(step=8, pause_reason=None, stable="7f8c9d6b5",
                               annotations={"argocd.argoproj.io/tracking-id": "catalog:argoproj.io/Rollout:x/catalog"}))
    kube_emulator.seed(replica_set("6d4b5c7f9", "ghcr.io/acme/catalog:v1.5.0", 2, replicas=0))
    kube_emulator.seed(replica_set("7f8c9d6b5", "ghcr.io/acme/catalog:v1.5.1", 3))
    action = rollouts.undo(kube_ctx, NS, "catalog")
    assert "managed by Argo CD" in action.warnings[0]


def test_missing_rollout_is_refused_with_words(kube_emulator, kube_ctx):
    with pytest.raises(ActionRefused, match="Rollout nope not found"):
        rollouts.abort(kube_ctx, NS, "nope")
