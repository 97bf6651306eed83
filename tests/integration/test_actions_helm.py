"""Helm: history decoded from fake release Secrets seeded in the emulator (MECHANICS (e)), the missing-binary
message, and the exact ``helm rollback`` command lines (dry-run first) through a stand-in ``helm`` on PATH."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from cockpit.actions import helm
from cockpit.actions.gateway import Outcome
from cockpit.actions.requests import ActionRefused, Risk
from tests.plugins.actions import (  # noqa: F401 - fixtures
    NS,
    audit_log,
    clock,
    gateway,
    helm_secret,
    kube_ctx,
)


def _seed_release(emulator):
    emulator.seed(helm_secret("catalog", 1, "superseded", chart_version="1.4.2", gzipped=False,
                              description="Install complete"))
    emulator.seed(helm_secret("catalog", 2, "superseded", chart_version="1.5.0"))
    emulator.seed(helm_secret("catalog", 3, "deployed", chart_version="1.5.1"))
    emulator.seed(helm_secret("search", 1, "deployed", chart_version="0.3.0"))  # another release
    broken = helm_secret("catalog", 4, "failed")
    broken["data"]["release"] = base64.b64encode(b"not base64 at all!").decode()
    emulator.seed(broken)


def test_history_is_decoded_from_the_release_secrets(kube_emulator, kube_ctx):
    _seed_release(kube_emulator)
    revisions = helm.history(kube_ctx, NS, "catalog")
    assert [(r.revision, r.status, r.chart) for r in revisions] == [
        (3, "deployed", "catalog-1.5.1"), (2, "superseded", "catalog-1.5.0"), (1, "superseded", "catalog-1.4.2"),
    ]
    assert revisions[2].description == "Install complete"  # the un-gzipped (legacy) payload decodes too
    assert revisions[0].secret == "sh.helm.release.v1.catalog.v3"
    (listing,) = [r for r in kube_emulator.requests if r.path.endswith("/secrets")]
    assert listing.query["labelSelector"] == "owner=helm,name=catalog"


def test_decode_release_rejects_what_is_not_a_release():
    with pytest.raises(helm.ReleaseDecodeError):
        helm.decode_release("%%%")
    once = base64.b64encode(base64.b64encode(b"[1, 2]")).decode()
    with pytest.raises(helm.ReleaseDecodeError):
        helm.decode_release(once)
    round_trip = helm.decode_release(helm.encode_release({"name": "catalog", "version": 9}))
    assert round_trip == {"name": "catalog", "version": 9}


def test_missing_helm_binary_gives_a_clear_message(kube_emulator, kube_ctx, tmp_path, monkeypatch):
    _seed_release(kube_emulator)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ActionRefused) as err:
        helm.rollback(kube_ctx, NS, "catalog", 2)
    message = str(err.value)
    assert message.startswith("helm is not installed on this machine (no 'helm' on PATH)")
    assert "helm rollback catalog 2 -n " + NS + " --wait --timeout 5m" in message
    assert kube_emulator.count(write=True) == 0


def test_argo_managed_release_without_secrets_is_refused(kube_emulator, kube_ctx):
    with pytest.raises(ActionRefused, match="roll back with Argo CD instead"):
        helm.rollback(kube_ctx, NS, "catalog", 2)


FAKE_HELM = """#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
case "$*" in
  *--dry-run*) echo "Rollback was a success! (dry run)" ;;
  *) echo "Rollback was a success! Happy Helming!" ;;
esac
"""


def _fake_helm(tmp_path, monkeypatch, body=FAKE_HELM):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "helm.log"
    script = bindir / "helm"
    script.write_text(body.format(log=log))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return log


def test_rollback_runs_helm_dry_run_first_then_for_real(kube_emulator, kube_ctx, gateway, audit_log, tmp_path,
                                                        monkeypatch):
    _seed_release(kube_emulator)
    log = _fake_helm(tmp_path, monkeypatch)
    action = helm.rollback(kube_ctx, NS, "catalog", kubeconfig="/k/config")  # default: previous revision
    assert action.risk is Risk.DESTRUCTIVE and action.confirm_word == "catalog"
    assert "from revision 3 (catalog-1.5.1) to 2" in action.summary
    planned = gateway.plan(action)
    assert planned.command == f"helm rollback catalog 2 -n {NS} --wait --timeout 5m --kube-context emulator " \
                              "--kubeconfig /k/config"
    check = gateway.preflight(planned)
    assert check.ok and "dry run" in check.dry_run[0].summary
    assert {a.check.verb for a in check.access} == {"create", "update"}
    result = gateway.execute(planned, "alice", typed="catalog")
    assert result.ok and "Happy Helming" in result.message
    assert log.read_text().splitlines() == [
        f"rollback catalog 2 -n {NS} --dry-run --kube-context emulator --kubeconfig /k/config",
        f"rollback catalog 2 -n {NS} --wait --timeout 5m --kube-context emulator --kubeconfig /k/config",
    ]
    records = list(audit_log.records())
    assert [r["event"] for r in records] == ["before", "after"]
    assert records[0]["request"]["argv"][:4] == ["helm", "rollback", "catalog", "2"]
    assert "s3cr3t-do-not-log" not in audit_log.path.read_text()


def test_failing_helm_dry_run_blocks_the_rollback(kube_emulator, kube_ctx, gateway, tmp_path, monkeypatch):
    _seed_release(kube_emulator)
    log = _fake_helm(tmp_path, monkeypatch, body='#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\n'
                                                'echo "Error: release has no 2 version" >&2\nexit 1\n')
    planned = gateway.plan(helm.rollback(kube_ctx, NS, "catalog", 2))
    result = gateway.execute(planned, "alice", typed="catalog")
    assert result.outcome is Outcome.REFUSED and "release has no 2 version" in result.message
    assert len(log.read_text().splitlines()) == 1  # only the dry-run ran


def test_rollback_to_the_current_revision_is_a_noop(kube_emulator, kube_ctx, tmp_path, monkeypatch):
    _seed_release(kube_emulator)
    _fake_helm(tmp_path, monkeypatch)
    with pytest.raises(ActionRefused) as err:
        helm.rollback(kube_ctx, NS, "catalog", 3)
    assert err.value.noop
    with pytest.raises(ActionRefused, match="has no revision 9"):
        helm.rollback(kube_ctx, NS, "catalog", 9)


def test_release_json_is_what_helm_writes():
    secret = helm_secret("catalog", 2, "superseded")
    release = helm.decode_release(secret["data"]["release"])
    assert release["version"] == 2 and release["info"]["status"] == "superseded"
    assert json.loads(json.dumps(release))["chart"]["metadata"]["name"] == "catalog"
