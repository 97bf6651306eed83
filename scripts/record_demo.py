"""Re-make the bundled recording: the demo incident, driven like an on-call would, recorded as a drill.

    .venv/bin/python scripts/record_demo.py            # writes recordings/demo-incident-drill.cockpit (+ report)

The story: deploy #42 (image bump to v1.5.1) raised p99 to 1.2 s.  The on-call opens the decision tree, says the
flag flip will not help, sees the forward-only migration warning, drills the Argo Rollouts runbook: overrides the
pre-flight stop with a reason, aborts the canary through the confirmation modal, waits for the canary to go and
the p99 to recover, marks the manual steps done.  The drill report (RTO, RPO, human action time) and the
postmortem stub are written next to the recording.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cockpit.app import CockpitApp, connect  # noqa: E402
from cockpit.config import build_settings  # noqa: E402
from cockpit.demo.platform import DemoPlatform, demo_settings  # noqa: E402
from cockpit.runbooks.executor import StepState  # noqa: E402
from cockpit.session import start_recording  # noqa: E402

OUT = ROOT / "recordings"
NAME = "demo-incident-drill.cockpit"


async def wait_for(pilot, predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.1)
        if predicate():
            return
    raise SystemExit(f"timed out waiting for {what}")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("demo-incident-drill*"):
        old.unlink()
    for old in OUT.glob("dr-drill-*.md"):
        old.unlink()
    platform = DemoPlatform(recovery_seconds=20.0).start()
    try:
        settings = demo_settings(build_settings({"prometheus_interval": 2.0, "drill_dir": str(OUT)}), platform)
        targets = connect(settings, note="demo platform on 127.0.0.1")
        sink, note = start_recording(settings, targets, path=str(OUT / NAME))
        print(note)
        app = CockpitApp(settings, targets, recorder=sink, audit_path=str(platform.workdir / "audit.jsonl"))
        async with app.run_test(size=(200, 50)) as pilot:
            context = targets[0].name
            await wait_for(pilot, lambda: context in app.gathered, "the decision evidence")
            await pilot.pause(3)  # the on-call reads the six panes
            await pilot.press("t")
            tree = app.dashboard.active().decision.query_one("#tree")
            tree._move_to(("node", "flag_flip"))
            await pilot.pause(1)
            await pilot.press("n")  # the flag is not what broke it
            await pilot.pause(2)
            app.start_drill("code-rollback-rollouts")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "RunbookScreen", "the executor")
            run = app.screen.run
            await wait_for(pilot, lambda: run.current.state is StepState.FAILED, "the pre-flight stop")
            await pilot.pause(2)
            await pilot.press("s")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "AskScreen", "the reason prompt")
            await pilot.press(*"drill: abort is status-only; PITR prepared in parallel", "enter")
            await wait_for(pilot, lambda: run.current.state is StepState.NEEDS_CONFIRMATION, "the abort")
            await pilot.pause(1)
            await pilot.press("enter")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", "the modal")
            await wait_for(pilot, lambda: app.screen.preflight is not None, "the pre-checks")
            await pilot.pause(2)
            await pilot.press("y")
            for _ in range(2):
                await wait_for(pilot, lambda: run.current is not None and run.current.state is StepState.NEEDS_PERSON,
                               "a manual step", timeout=120)
                await pilot.pause(2)
                await pilot.press("enter")
            await wait_for(pilot, lambda: run.current is None, "the end of the run")
            await wait_for(pilot, lambda: list(OUT.glob("dr-drill-*.md")), "the drill report")
            await pilot.pause(1)
    finally:
        platform.stop()
        if "sink" in locals() and sink is not None:
            sink.close()
    for path in sorted(OUT.iterdir()):
        print(path.relative_to(ROOT), path.stat().st_size)


if __name__ == "__main__":
    asyncio.run(main())
