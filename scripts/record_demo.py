"""Re-make the bundled recording: a demo incident drilled with the Argo Rollouts runbook, recorded as it happens.

    .venv/bin/python scripts/record_demo.py            # writes recordings/demo-incident-drill.cockpit (+ report, stub)

The story (the demo's `rollouts-abort` scenario): deploy #42 bumped catalog to v1.5.1 with an additive migration;
the canary is paused at step 4/8 and its analysis fails on p99 (1.2 s against a 0.5 s SLO).  The on-call reads the
panes, the tree recommends the Rollouts runbook, they drill it: the pre-flight passes on the live verdict, they
confirm the abort, the canary goes, p99 recovers, the session verifies it (MITIGATED) and they mark the manual steps
done.  The drill report (RTO, RPO, human action time) and the postmortem stub are written next to the recording.
The session runs headless through the session core (the same object the App drives), at a person's pace.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cockpit.config import build_settings  # noqa: E402
from cockpit.demo.platform import DEMO_CONTEXT, DemoPlatform, Timing, demo_environment, demo_settings  # noqa: E402
from cockpit.runbooks.executor import RunState, StepState  # noqa: E402
from cockpit.session import connect, open_session, start_recording  # noqa: E402

OUT = ROOT / "recordings"
NAME = "demo-incident-drill.cockpit"
RUNBOOK = "code-rollback-rollouts"


def wait_for(what: str, probe, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    import os

    OUT.mkdir(exist_ok=True)
    for old in list(OUT.glob("demo-incident-drill*")) + list(OUT.glob("dr-drill-*.md")):
        old.unlink()
    platform = DemoPlatform("rollouts-abort", timing=dataclasses.replace(Timing(), recovery=20.0)).start()
    sink = None
    session = None
    try:
        settings = demo_settings(build_settings({"prometheus_interval": 2.0, "verify_minutes": 0.5,
                                                 "drill_dir": str(OUT)}), platform)
        os.environ.update(demo_environment(platform, settings))
        targets = connect(settings, note="demo platform on 127.0.0.1")
        sink, note = start_recording(settings, targets, path=str(OUT / NAME), is_drill=True, runbook=RUNBOOK)
        print(note)
        session = open_session(settings, targets, recorder=sink, drill=RUNBOOK, person="on-call",
                               audit_path=str(platform.workdir / "audit.jsonl"))
        session.start()
        wait_for("the decision evidence", lambda: session.gathered(DEMO_CONTEXT) is not None
                 and not session.evidence_pending(DEMO_CONTEXT))
        evaluation = session.refresh_decision(DEMO_CONTEXT)
        assert evaluation.leaf is not None and evaluation.leaf.runbook == RUNBOOK, evaluation.recommendation
        time.sleep(3)  # the on-call reads the six panes and the tree
        assert session.start_drill(RUNBOOK) is None
        control = session.run_control
        run = control.open(DEMO_CONTEXT, RUNBOOK)
        while run.state is not RunState.DONE:
            current = wait_for("the next step for the person", lambda: run.current if run.state is RunState.DONE
                               or (run.current is not None and run.current.state in (
                                   StepState.NEEDS_CONFIRMATION, StepState.NEEDS_PERSON)) else None)
            if run.state is RunState.DONE:
                break
            time.sleep(2)  # reading the step
            if current.state is StepState.NEEDS_CONFIRMATION:
                result = control.confirm(run, current.planned.confirm_word)
                assert result.ok, result.message
            else:
                assert current.step.kind == "manual", current.detail
                control.mark_done(run, "done")
        wait_for("MITIGATED", lambda: (session.evaluation(DEMO_CONTEXT).outcome == "MITIGATED"), timeout=180)
        wait_for("the drill report", lambda: list(OUT.glob("dr-drill-*.md")))
        time.sleep(2)
    finally:
        if session is not None:
            session.stop()
        if sink is not None:
            sink.close()
        platform.stop()
    for path in sorted(OUT.iterdir()):
        print(path.relative_to(ROOT), path.stat().st_size)


if __name__ == "__main__":
    main()
