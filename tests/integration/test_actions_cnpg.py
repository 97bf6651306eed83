"""CloudNativePG PITR against the emulator: the recovery Cluster built from the source cluster's archive, refused
before the recovery window, validated by a server-side dry-run, created on confirmation."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml

from cockpit.actions import cnpg
from cockpit.actions.requests import ActionRefused, Risk
from tests.plugins.actions import (  # noqa: F401 - fixtures
    audit_log,
    body_of,
    clock,
    cnpg_cluster,
    gateway,
    kube_ctx,
    writes,
)

NS = "cnpg-system"
SOURCE = "bookstore-platform-cnpg-orders"
TARGET = datetime(2026, 5, 20, 13, 43, tzinfo=timezone.utc)
NOW = datetime(2026, 5, 20, 14, 27, tzinfo=timezone.utc)
COLLECTION = f"/apis/postgresql.cnpg.io/v1/namespaces/{NS}/clusters"


def test_recovery_cluster_is_built_from_the_source_archive(kube_emulator, kube_ctx, gateway):
    source = kube_emulator.seed(cnpg_cluster())
    kube_emulator.clear_requests()
    action = cnpg.recover(kube_ctx, NS, SOURCE, TARGET, now=NOW)
    name = "bookstore-platform-cnpg-orders-pitr-202605201343"
    assert action.target == name and action.risk is Risk.DESTRUCTIVE and action.confirm_word == name
    manifest = action.writes[0].body
    assert manifest["spec"]["bootstrap"] == {
        "recovery": {"source": SOURCE, "recoveryTarget": {"targetTime": "2026-05-20 13:43:00.000000+00"}}
    }
    store = dict(source["spec"]["backup"]["barmanObjectStore"], serverName=SOURCE)
    assert manifest["spec"]["externalClusters"] == [{"name": SOURCE, "barmanObjectStore": store}]
    assert "backup" not in manifest["spec"]  # must not archive into the source's WAL path
    assert manifest["spec"]["storage"] == source["spec"]["storage"] and manifest["spec"]["instances"] == 3
    assert yaml.safe_load(action.preview) == manifest
    assert any("NEW cluster" in w for w in action.warnings)

    planned = gateway.plan(action)
    check = gateway.preflight(planned)
    assert check.ok and check.dry_run[0].summary == f"the server would create Cluster {name}"
    assert kube_emulator.get_object("postgresql.cnpg.io/v1", "clusters", NS, name) is None  # dry-run stored nothing
    result = gateway.execute(planned, "alice", typed=name)
    assert result.ok, result.message

    dry, real = writes(kube_emulator)
    for record in (dry, real):
        assert (record.method, record.path, record.content_type) == ("POST", COLLECTION, "application/json")
        assert body_of(record) == manifest
    assert dry.query == {"dryRun": "All"}
    created = kube_emulator.get_object("postgresql.cnpg.io/v1", "clusters", NS, name)
    assert cnpg.recovery_status(kube_ctx, NS, name).name == name
    assert cnpg.recovery_status(kube_ctx, NS, "not-yet") is None
    assert created["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"] == "2026-05-20 13:43:00.000000+00"


def test_target_before_the_recovery_window_is_refused(kube_emulator, kube_ctx):
    kube_emulator.seed(cnpg_cluster(first_point="2026-05-15T12:00:00Z"))
    with pytest.raises(ActionRefused, match="before the first recoverability point"):
        cnpg.recover(kube_ctx, NS, SOURCE, datetime(2026, 5, 14, 9, 0, tzinfo=timezone.utc), now=NOW)
    with pytest.raises(ActionRefused, match="in the future"):
        cnpg.recover(kube_ctx, NS, SOURCE, datetime(2026, 5, 21, 9, 0, tzinfo=timezone.utc), now=NOW)
    assert kube_emulator.count(write=True) == 0


def test_plugin_cluster_points_the_external_cluster_at_its_object_store(kube_emulator, kube_ctx):
    cluster = cnpg_cluster()
    del cluster["spec"]["backup"]
    cluster["spec"]["plugins"] = [{"name": "barman-cloud.cloudnative-pg.io",
                                   "parameters": {"barmanObjectName": "orders-store"}}]
    cluster["status"] = {"phase": "Cluster in healthy state", "instances": 3, "readyInstances": 3}
    kube_emulator.seed(cluster)
    # Without a readable ObjectStore the window is unknown: planned, with a warning (the dry-run still runs).
    action = cnpg.recover(kube_ctx, NS, SOURCE, TARGET, name="orders-restored", now=NOW)
    assert action.warnings[0].startswith("cannot confirm the target is inside the recovery window")
    assert action.writes[0].body["spec"]["externalClusters"] == [{
        "name": SOURCE,
        "plugin": {"name": "barman-cloud.cloudnative-pg.io",
                   "parameters": {"barmanObjectName": "orders-store", "serverName": SOURCE}},
    }]


def test_cluster_without_an_archive_cannot_be_recovered(kube_emulator, kube_ctx):
    cluster = cnpg_cluster()
    del cluster["spec"]["backup"]
    cluster["status"]["firstRecoverabilityPoint"] = "2026-05-15T12:00:00Z"
    kube_emulator.seed(cluster)
    with pytest.raises(ActionRefused, match="no WAL archive"):
        cnpg.recover(kube_ctx, NS, SOURCE, TARGET, now=NOW)


def test_bad_names_are_refused(kube_emulator, kube_ctx):
    kube_emulator.seed(cnpg_cluster())
    with pytest.raises(ActionRefused, match="new name"):
        cnpg.recover(kube_ctx, NS, SOURCE, TARGET, name=SOURCE, now=NOW)
    with pytest.raises(ActionRefused, match="not a usable cluster name"):
        cnpg.recover(kube_ctx, NS, SOURCE, TARGET, name="Orders_Restored", now=NOW)
