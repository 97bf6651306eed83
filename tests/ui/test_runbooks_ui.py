"""Three runbooks carried to their end through the UI at 80x24, as `cockpit demo RUNBOOK` runs them: the drill opens
the runbook in its scenario, the person presses Enter on each step (typing the name where the modal asks for it),
nothing is skipped or overridden, and the drill report's verdict says it worked."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cockpit.config import build_settings
from cockpit.demo.platform import SCENARIO_FOR_RUNBOOK, DemoPlatform, Timing, demo_environment, demo_settings
from cockpit.runbooks.executor import RunState, StepState
from cockpit.session import connect, start_recording
from tests.ui.harness import build_app

pytestmark = pytest.mark.slow


async def _until(pilot, predicate, what: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


async def _drill_through_the_ui(runbook: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, str]:
    platform = DemoPlatform(SCENARIO_FOR_RUNBOOK[runbook], workdir=tmp_path / "demo", timing=Timing.fast()).start()
    sink = None
    try:
        settings = demo_settings(build_settings({"prometheus_interval": 0.3, "verify_minutes": 0.02,
                                                 "drill_dir": str(tmp_path / "drills")}), platform)
        for name, value in demo_environment(platform, settings).items():
            monkeypatch.setenv(name, value)
        targets = connect(settings)
        sink, _ = start_recording(settings, targets, path=str(tmp_path / "drill.cockpit"), is_drill=True,
                                  runbook=runbook)
        app = build_app(settings, targets, recorder=sink, drill=runbook, audit_path=str(tmp_path / "audit.jsonl"))
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: type(app.screen).__name__ == "RunbookScreen", "the drill's runbook")
            screen = app.screen
            await _until(pilot, lambda: screen.run is not None, "the run")
            run = screen.run
            deadline = time.monotonic() + 90
            while run.state is not RunState.DONE and time.monotonic() < deadline:
                await pilot.pause(0.05)
                if app.screen is not screen:
                    continue
                current = run.current
                if current is None:
                    continue
                assert run.state not in (RunState.STOPPED, RunState.ABORTED), current.detail
                assert current.state not in (StepState.FAILED, StepState.BLOCKED, StepState.TIMED_OUT), \
                    f"{current.step.id}: {current.detail}"
                if current.state is StepState.NEEDS_CONFIRMATION:
                    await pilot.press("enter")
                    await _until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", "the modal")
                    modal = app.screen
                    await _until(pilot, lambda: modal.preflight is not None, "the pre-checks")
                    if modal.destructive:
                        typed = modal.query_one("#typed")
                        if app.focused is not typed:
                            typed.focus()  # (a click on the name field)
                        await pilot.press(*modal.planned.confirm_word, "enter")
                    else:
                        await pilot.press("y")
                    await _until(pilot, lambda: app.screen is screen, "back on the runbook")
                elif current.state is StepState.NEEDS_PERSON and current.step.kind == "manual":
                    await pilot.press("enter")
                    await pilot.pause(0.2)
            assert run.state is RunState.DONE, f"not done: at {run.current and run.current.step.id}"
            passed = [i.step.id for i in run.steps if i.state in (StepState.SKIPPED, StepState.OVERRIDDEN)
                      and i.by != "cockpit"]
            assert passed == []
            reports = tmp_path / "drills"
            await _until(pilot, lambda: reports.exists() and list(reports.glob("dr-drill-*.md")), "the report")
            report = next(reports.glob("dr-drill-*.md")).read_text()
            return run, report
    finally:
        if sink is not None:
            sink.close()
        platform.stop()


@pytest.mark.parametrize("runbook", ["code-rollback-rollouts", "data-rollback-postgres-pitr", "data-rollback-velero"])
async def test_runbook_through_the_ui_at_80x24(runbook: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, report = await _drill_through_the_ui(runbook, tmp_path, monkeypatch)
    assert f"runbook: {runbook}" in report
    assert "verdict: worked\n" in report, report[:800]
