"""A run is resumed after a restart from its recording: the cockpit died mid-PITR (recovery Cluster created, the
wait running); a new session on the same cluster picks the run up where it was, sends nothing again, and the run
finishes against live facts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cockpit.config import build_settings
from cockpit.demo.platform import DEMO_CONTEXT, DemoPlatform, Timing, demo_environment, demo_settings
from cockpit.runbooks.executor import RunState, StepState
from cockpit.session import connect, open_session, start_recording
from cockpit.session.resume import resume

RUNBOOK = "data-rollback-postgres-pitr"


def wait_for(what, probe, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.03)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_pitr_run_resumes_after_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    # slow enough that the first session dies while the recovery is still running
    timing = dataclasses.replace(Timing.fast(), cnpg_primary=3.0)
    platform = DemoPlatform("forward-only", workdir=tmp_path / "demo", timing=timing).start()
    try:
        settings = demo_settings(build_settings({"prometheus_interval": 0.3}), platform)
        for name, value in demo_environment(platform, settings).items():
            monkeypatch.setenv(name, value)
        first_path = tmp_path / "first.cockpit"
        sink, _ = start_recording(settings, connect(settings), path=str(first_path))
        first = open_session(settings, connect(settings), recorder=sink, audit_path=str(tmp_path / "audit.jsonl"))
        first.start()
        run = first.run_control.open(DEMO_CONTEXT, RUNBOOK)
        wait_for("the recovery to be planned", lambda: run.current is not None
                 and run.current.state is StepState.NEEDS_CONFIRMATION)
        created = run.current.planned.target
        first.run_control.confirm(run, created)
        wait_for("the wait for the recovery", lambda: run.current.step.id == "recovered")
        first.stop()  # the bastion reboots
        sink.close()

        sink2, _ = start_recording(settings, connect(settings), path=str(tmp_path / "second.cockpit"))
        second = open_session(settings, connect(settings), recorder=sink2, audit_path=str(tmp_path / "audit.jsonl"))
        lines = resume(second, first_path)
        assert second.resumed == [(DEMO_CONTEXT, RUNBOOK)], lines
        assert "resumed data-rollback-postgres-pitr" in lines[0] and "The recovery cluster is up" in lines[0]
        again = second.runs[(DEMO_CONTEXT, RUNBOOK)]
        recover = again.steps[1]
        assert recover.state is StepState.DONE and recover.planned.target == created
        assert again.inputs["target_time"] == run.inputs["target_time"]
        second.start()
        wait_for("the recovery cluster ready, read live", lambda: again.current is not None
                 and again.current.step.id == "verify-rows", timeout=40)
        for _ in range(4):
            wait_for("a manual step", lambda: again.current is None or again.current.state is StepState.NEEDS_PERSON)
            if again.current is None:
                break
            second.run_control.mark_done(again)
        assert again.state is RunState.DONE
        creates = [r for r in platform.kube.requests if r.method == "POST" and r.path.endswith("/clusters")
                   and "dryRun" not in r.query]
        assert len(creates) == 1  # nothing was sent again
        second.stop()
        sink2.close()
    finally:
        platform.stop()
