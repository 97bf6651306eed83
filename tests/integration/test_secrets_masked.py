"""An undo whose previous pod template carries ``DB_PASSWORD``: the exact value is sent, and nowhere else.

The issue "Nothing escapes" measured the value in plain text in audit.jsonl (request body and dry-run changes), in
the recording, and in the confirmation modal.  Here the whole path runs against the Kubernetes API emulator.
"""

from __future__ import annotations

import json
import sqlite3

from cockpit.actions import rollouts
from cockpit.actions.requests import MASKED_NOTE
from cockpit.recording import Recorder, RecordingMeta
from cockpit.recording.format import decode_payload
from cockpit.redact import REDACTED
from tests.plugins.actions import (  # noqa: F401 - fixtures
    NS,
    T0,
    audit_log,
    body_of,
    clock,
    kube_ctx,
    real_writes,
    replica_set,
    rollout,
)

OLD_PASSWORD = "hunter2-old-db-pass"
NEW_PASSWORD = "n3w-db-pass-after-rotation"
KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
       "-----END OPENSSH PRIVATE KEY-----")


def _with_env(obj, password):
    template = obj["spec"]["template"]
    template["spec"]["containers"][0]["env"] = [
        {"name": "DB_PASSWORD", "value": password},
        {"name": "SSH_PRIVATE_KEY", "value": KEY},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "catalog-api", "key": "token"}}},
    ]
    return obj


def test_undo_sends_the_secret_but_shows_audits_and_records_it_masked(kube_emulator, kube_ctx, audit_log, clock,
                                                                      tmp_path):
    from cockpit.actions.gateway import Gateway

    kube_emulator.seed(_with_env(rollout(image="ghcr.io/acme/catalog:v1.5.1", step=8, pause_reason=None,
                                         stable="7f8c9d6b5"), NEW_PASSWORD))
    kube_emulator.seed(_with_env(replica_set("6d4b5c7f9", "ghcr.io/acme/catalog:v1.5.0", 2, replicas=0),
                                 OLD_PASSWORD))
    kube_emulator.seed(_with_env(replica_set("7f8c9d6b5", "ghcr.io/acme/catalog:v1.5.1", 3), NEW_PASSWORD))
    kube_emulator.clear_requests()

    recording = tmp_path / "undo.cockpit"
    with Recorder(recording, RecordingMeta(contexts=("emulator",), started_at=T0, non_production=True)) as rec:
        gateway = Gateway(audit=audit_log, clock=clock,
                          on_record=lambda record: rec.record("audit", record, T0, context="emulator"))
        planned = gateway.plan(rollouts.undo(kube_ctx, NS, "catalog"))

        # What the modal shows: the request with the value masked, and a line saying so.
        shown = planned.requests_text()
        assert OLD_PASSWORD not in shown and "b3BlbnNzaC1rZXkt" not in shown
        assert '"name": "DB_PASSWORD"' in shown and REDACTED in shown and '"value": "info"' in shown
        assert shown.endswith(MASKED_NOTE) and planned.masked

        check = gateway.preflight(planned)
        assert check.ok, check.lines()
        lines = "\n".join(check.lines())
        assert OLD_PASSWORD not in lines and NEW_PASSWORD not in lines
        assert "masked value changed" in lines or REDACTED in lines  # the dry-run says the env changes

        result = gateway.execute(planned, "alice", typed="catalog")
        assert result.ok, result.message

    # What is sent: exactly the previous template, secret included.
    (real,) = real_writes(kube_emulator)
    env = body_of(real)[1]["value"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "DB_PASSWORD", "value": OLD_PASSWORD} and env[1]["value"] == KEY

    # The audit log: no secret in the request body nor in the dry-run changes, but which variable stays visible.
    text = audit_log.path.read_text()
    for leaked in (OLD_PASSWORD, NEW_PASSWORD, "b3BlbnNzaC1rZXkt"):
        assert leaked not in text
    before = next(audit_log.records())
    audited_env = before["request"]["body"][1]["value"]["spec"]["containers"][0]["env"]
    assert audited_env[0] == {"name": "DB_PASSWORD", "value": REDACTED}
    assert audited_env[2] == {"name": "LOG_LEVEL", "value": "info"}
    assert before["dry_run"]["changes"], "the dry-run's changes are audited (masked)"

    # The recording.
    with sqlite3.connect(recording) as db:
        payloads = [json.dumps(decode_payload(blob)) for (blob,) in db.execute("SELECT payload FROM events")]
    assert payloads and not any(OLD_PASSWORD in p or NEW_PASSWORD in p or "b3BlbnNzaC1rZXkt" in p for p in payloads)
    assert OLD_PASSWORD.encode() not in recording.read_bytes()


def test_a_change_only_in_a_secret_value_is_still_shown_as_a_change():
    from cockpit.actions.gateway import _changes

    before = {"spec": {"env": [{"name": "DB_PASSWORD", "value": "a-one"}]}, "data": {"password": "x1"}}
    after = {"spec": {"env": [{"name": "DB_PASSWORD", "value": "b-two"}]}, "data": {"password": "x2"}}
    lines = _changes(before, after)
    assert len(lines) == 2 and all("a masked value changed" in line for line in lines), lines
    assert not any(s in " ".join(lines) for s in ("a-one", "b-two", "x1", "x2"))
