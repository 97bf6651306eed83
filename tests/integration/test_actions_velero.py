"""Velero restore against the emulator: the ``Restore`` object ``velero restore create`` would create, a warning
when restored objects carry Argo CD tracking, and the refusals."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cockpit.actions import velero
from cockpit.actions.requests import ActionRefused, Risk
from tests.plugins.actions import (  # noqa: F401 - fixtures
    NS,
    application,
    audit_log,
    body_of,
    clock,
    gateway,
    kube_ctx,
    real_writes,
    velero_backup,
)

BACKUP = "acme-books-daily-20260520000012"
NOW = datetime(2026, 5, 20, 14, 27, 5, tzinfo=timezone.utc)


def test_restore_creates_the_restore_object(kube_emulator, kube_ctx, gateway):
    kube_emulator.seed(velero_backup())
    kube_emulator.clear_requests()
    action = velero.restore(kube_ctx, BACKUP, namespaces=[NS], existing_resource_policy="update", now=NOW)
    name = f"{BACKUP}-20260520142705"
    assert (action.target, action.risk, action.confirm_word) == (name, Risk.DESTRUCTIVE, BACKUP)
    planned = gateway.plan(action)
    assert gateway.preflight(planned).ok
    assert gateway.execute(planned, "alice", typed=BACKUP).ok

    (real,) = real_writes(kube_emulator)
    assert (real.method, real.path, real.content_type) == (
        "POST", "/apis/velero.io/v1/namespaces/velero/restores", "application/json")
    assert body_of(real) == {
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {"name": name, "namespace": "velero"},
        "spec": {"backupName": BACKUP, "includedNamespaces": [NS], "restorePVs": True,
                 "existingResourcePolicy": "update"},
    }
    created = kube_emulator.get_object("velero.io/v1", "restores", "velero", name)
    assert created["spec"]["backupName"] == BACKUP
    assert velero.restore_phase(kube_ctx, name) == ""
    kube_emulator.patch_object("velero.io/v1", "restores", "velero", name, {"status": {"phase": "InProgress"}})
    assert velero.restore_phase(kube_ctx, name) == "InProgress"
    assert any("best-effort" in w for w in action.warnings)


def test_argo_cd_tracking_labels_are_warned_about(kube_emulator, kube_ctx):
    kube_emulator.seed(velero_backup())
    kube_emulator.seed({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "catalog-config", "namespace": NS,
                                     "labels": {"argocd.argoproj.io/instance": "bookstore-catalog-us-east"}},
                        "data": {"a": "b"}})
    kube_emulator.seed(application(automated={"prune": True, "selfHeal": True}))
    action = velero.restore(kube_ctx, BACKUP, namespaces=[NS], now=NOW)
    text = "\n".join(action.warnings)
    assert "ConfigMap/catalog-config (argocd.argoproj.io/instance=bookstore-catalog-us-east)" in text
    assert "prunes" in text
    assert f"bookstore-catalog-us-east (into {NS} with prune on)" in text


def test_tracking_annotation_in_given_objects():
    objects = [{"kind": "Deployment", "metadata": {"name": "catalog", "annotations": {
        "argocd.argoproj.io/tracking-id": "bookstore-catalog-us-east:apps/Deployment:ns/catalog"}}},
               {"kind": "Service", "metadata": {"name": "plain"}}]
    assert velero.argo_tracked(objects) == [
        "Deployment/catalog (argocd.argoproj.io/tracking-id=bookstore-catalog-us-east:apps/Deployment:ns/catalog)"]


def test_unusable_backups_are_refused(kube_emulator, kube_ctx):
    kube_emulator.seed(velero_backup(name="failed-one", phase="Failed"))
    with pytest.raises(ActionRefused, match="only Completed or PartiallyFailed"):
        velero.restore(kube_ctx, "failed-one", namespaces=[NS], now=NOW)
    with pytest.raises(ActionRefused, match="not found"):
        velero.restore(kube_ctx, "nope", namespaces=[NS], now=NOW)
    with pytest.raises(ActionRefused, match="existingResourcePolicy"):
        velero.restore(kube_ctx, BACKUP, existing_resource_policy="clobber", now=NOW)


def test_partial_backup_and_missing_namespace_warnings(kube_emulator, kube_ctx):
    kube_emulator.seed(velero_backup(phase="PartiallyFailed", namespaces=("other",)))
    action = velero.restore(kube_ctx, BACKUP, namespaces=[NS], restore_pvs=False, now=NOW)
    text = "\n".join(action.warnings)
    assert "PartiallyFailed" in text and f"does not include {NS}" in text and "restorePVs=false" in text
    assert action.writes[0].body["spec"]["restorePVs"] is False
