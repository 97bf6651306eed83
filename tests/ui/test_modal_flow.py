"""The confirmation modal is up before the plan exists, fills in as the answers arrive, says what it still waits
for, and Cancel (or Esc) while planning sends nothing; a refused plan says why in the modal; the pre-mortem of the
key flow shows in it, and a RISKY/UNSAFE write needs a typed reason that reaches the audit record.

No timing is asserted (how fast the modal appears on a pty is the benchmark's figure): a plan that blocks on an
Event proves the order -- the modal is on the screen while the plan cannot have finished."""

from __future__ import annotations

import json
import threading

import pytest
from textual.widgets import Button, Input, Static

from cockpit.actions.registry import build_action
from cockpit.actions.requests import ActionRefused
from cockpit.demo import scenario
from cockpit.demo.platform import DemoPlatform
from cockpit.sources.errors import SourceError
from cockpit.sources.limits import Deadline
from tests.ui.harness import T0, make_app, settle, wait_for

HOSTILE = "[@click=app.quit]x[/] \x1b[2J"


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


def sent_anything(platform) -> list:
    """Every request that is not a read: the write, its dry-run, the access review, the driver lease."""
    return [r for r in platform.kube.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def modal_text(modal) -> str:
    return "\n".join(str(widget.render()) for widget in modal.query(Static))


async def _modal(pilot):
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmScreen", what="the modal")
    return pilot.app.screen


async def test_the_modal_is_up_before_the_plan_and_cancel_while_planning_sends_nothing(platform, tmp_path):
    audit = tmp_path / "audit.jsonl"
    app = make_app(platform, audit_path=str(audit))
    release = threading.Event()
    started = threading.Event()
    ended: list[BaseException] = []

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session, context = app.session, app.targets[0].name

        def slow_plan():
            """A plan stuck on a slow server: it waits under its own deadline (what the modal names) until
            released or cancelled, then plans the abort for real."""
            started.set()
            try:
                with Deadline(None, "the test's slow API server") as waiting:
                    while not release.wait(0.02):
                        waiting.check()  # Cancel ends it here, as it ends a real request
            except SourceError as err:
                ended.append(err)
                raise
            return session.plan_rollout_verb(context, "abort")

        from cockpit.screens.writeflow import start_write

        platform.kube.clear_requests()
        start_write(app.dashboard, context, slow_plan, what="planning the abort of Rollout catalog")
        modal = await _modal(pilot)
        await wait_for(pilot, started.is_set, what="the plan started (once the modal is painted)")
        assert not release.is_set()
        # up while the plan cannot have finished: it says what it does, offers Cancel, and no yes
        assert modal.planned is None and modal.preflight is None
        assert "planning the abort of Rollout catalog…" in modal_text(modal)
        assert modal.query_one("#confirm", Button).disabled and app.focused.id == "cancel"
        await wait_for(pilot, lambda: "still waiting for the test's slow API server" in str(
            modal.query_one("#waiting").text), what="the modal to say what the plan waits for")
        await pilot.press("y")  # nothing to confirm yet
        await pilot.pause(0.1)
        assert app.screen is modal
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard, what="the modal closed")
        await wait_for(pilot, lambda: ended, what="the plan to be ended by the cancel")
        assert "cancelled by you" in str(ended[0])
        release.set()
        await pilot.pause(0.5)
        assert sent_anything(platform) == []  # no write, no dry-run, no access review, no lease
        assert not audit.exists()
        assert any("nothing was sent" in str(n.message) for n in app._notifications)


async def test_a_plan_released_fills_the_open_modal_then_y_sends(platform, tmp_path):
    audit = tmp_path / "audit.jsonl"
    app = make_app(platform, audit_path=str(audit))
    release = threading.Event()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session, context = app.session, app.targets[0].name

        def held_plan():
            release.wait(10)
            return session.plan_rollout_verb(context, "abort")

        from cockpit.screens.writeflow import start_write

        start_write(app.dashboard, context, held_plan, what="planning the abort")
        modal = await _modal(pilot)
        assert modal.planned is None
        release.set()
        await wait_for(pilot, lambda: modal.planned is not None, what="the plan in the open modal")
        await wait_for(pilot, lambda: modal.ready, what="the pre-mortem and the pre-checks")
        assert modal.premortem is not None and modal.premortem.verdict.value == "safe"
        assert modal.query("#premortem-verdict") and modal.preflight.ok
        assert not modal.query_one("#confirm", Button).disabled and not modal.needs_reason
        await pilot.press("y")
        rollout = app.dashboard.active().pane("rollout")
        await wait_for(pilot, lambda: rollout.snapshot.data.aborted, what="the abort")
        records = [json.loads(line) for line in audit.read_text().splitlines()]
        abort = [r for r in records if r["action"] == "rollouts.abort"]
        assert [r["event"] for r in abort] == ["before", "after"]
        assert abort[0]["premortem"]["verdict"] == "safe" and "reason" not in abort[0]


async def test_a_refused_plan_says_why_in_the_modal(platform, tmp_path):
    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        context = app.targets[0].name

        def refused():
            raise ActionRefused(f"another cockpit drives {context}: {HOSTILE}")

        from cockpit.screens.writeflow import start_write

        platform.kube.clear_requests()
        start_write(app.dashboard, context, refused, what="planning the abort")
        modal = await _modal(pilot)
        await wait_for(pilot, lambda: modal.refusal is not None, what="the refusal")
        shown = modal_text(modal)
        assert "another cockpit drives" in shown and "nothing was sent" in shown
        assert "[@click=app.quit]x[/] \\x1b[2J" in shown  # literal, escaped: never markup, never an escape
        assert not modal.query("#confirm") and str(modal.query_one("#cancel", Button).label) == "Close"
        await pilot.press("y")
        await pilot.pause(0.1)
        assert app.screen is modal and app.is_running
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard, what="closed")
        assert sent_anything(platform) == []


async def test_an_unsafe_rollback_needs_a_reason_that_reaches_the_audit_record(platform, tmp_path):
    """The demo's Argo CD rollback over the DROP COLUMN release is UNSAFE: its name typed is not enough."""
    audit = tmp_path / "audit.jsonl"
    app = make_app(platform, audit_path=str(audit))
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        session, context = app.session, app.targets[0].name

        def plan(action, **params):
            return lambda: session.plan(context, lambda env: build_action(action, params, env))

        from cockpit.screens.writeflow import start_write

        # auto-sync off first (Argo CD would undo the rollback): a SAFE write, no reason asked
        start_write(app.dashboard, context, plan("argocd.disable_auto_sync", namespace="argocd",
                                                 name=scenario.APP_NAME, reason="drill"))
        modal = await _modal(pilot)
        await wait_for(pilot, lambda: modal.ready, what="the first modal's answers")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is app.dashboard, what="the first write sent")
        await wait_for(pilot, lambda: audit.exists() and "argocd.disable_auto_sync" in audit.read_text(),
                       what="the first write audited")

        start_write(app.dashboard, context, plan("argocd.rollback", namespace="argocd", name=scenario.APP_NAME,
                                                 history_id="41"))
        modal = await _modal(pilot)
        await wait_for(pilot, lambda: modal.ready, what="the plan, the pre-mortem and the pre-checks")
        assert modal.destructive and modal.needs_reason
        assert modal.premortem.verdict.value == "unsafe"
        assert "pre-mortem  UNSAFE" in str(modal.query_one("#premortem-verdict").render())
        confirm = modal.query_one("#confirm", Button)
        modal.query_one("#typed", Input).value = scenario.APP_NAME
        await pilot.pause()
        assert confirm.disabled  # the name alone is not enough
        modal.query_one("#typed", Input).focus()
        await pilot.press("enter")  # nor is Enter in the name field
        await pilot.pause(0.1)
        assert app.screen is modal
        modal.query_one("#reason", Input).value = f"data restored by hand {HOSTILE}"
        await pilot.pause()
        assert not confirm.disabled
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: '"argocd.rollback"' in audit.read_text() and
                       sum(1 for line in audit.read_text().splitlines() if "argocd.rollback" in line) >= 2,
                       what="the rollback audited")
        records = [json.loads(line) for line in audit.read_text().splitlines()]
        rollback = [r for r in records if r["action"] == "argocd.rollback"]
        assert [r["event"] for r in rollback] == ["before", "after"]
        assert all(r["reason"] == f"data restored by hand {HOSTILE}" for r in rollback)
        assert all(r["premortem"]["verdict"] == "unsafe" for r in rollback)


async def test_the_key_shows_a_modal_built_ahead_and_each_write_gets_a_new_one(platform, tmp_path, monkeypatch):
    from cockpit.screens.confirm import ConfirmScreen
    from cockpit.screens.writeflow import SPARE, start_write

    shown_hook: list[object] = []  # ConfirmScreen.shown: the hook observers (the benchmark's probe) rely on
    monkeypatch.setattr(ConfirmScreen, "shown", lambda self: shown_hook.append(self))
    frames: list[tuple[object, bool]] = []  # (screen, current?) at each turn of a modal's frame timer
    original_frame = ConfirmScreen._on_timer_update

    def frame(self):
        frames.append((self, self.is_current))
        return original_frame(self)

    monkeypatch.setattr(ConfirmScreen, "_on_timer_update", frame)

    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        context = app.targets[0].name
        await wait_for(pilot, lambda: getattr(app, SPARE, None) is not None and getattr(app, SPARE).is_mounted,
                       what="the modal built ahead")
        spare = getattr(app, SPARE)
        assert spare not in app.screen_stack and spare.planned is None
        # laid out ahead, and its frame timer turned once, drawing nothing (a screen's frame timer starts at its
        # first refresh and waits a whole frame: the key's paint would wait for it)
        await wait_for(pilot, lambda: (spare, False) in frames, what="the spare's frame timer")
        shown, spares = [], []
        for _ in range(2):
            spares.append(getattr(app, SPARE))
            start_write(app.dashboard, context, lambda: app.session.plan_rollout_verb(context, "abort"),
                        what="planning the abort of Rollout catalog")
            modal = await _modal(pilot)
            shown.append(modal)
            assert "planning the abort of Rollout catalog" in str(modal.what) and modal.context == context
            await wait_for(pilot, lambda: modal.ready, what="the answers")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.dashboard, what="closed")
            await wait_for(pilot, lambda: getattr(app, SPARE, None) not in (None, modal) and getattr(
                app, SPARE).is_mounted, what="the next spare")
        assert shown[0] is spare and shown[1] is not spare  # the spare was used, once
        assert shown == spares  # and the next key showed the next spare, built after the first write
        assert shown_hook == shown  # each said it was put up, once
        checks_only = [r for r in sent_anything(platform) if "selfsubjectaccessreviews" not in r.path
                       and r.query.get("dryRun") not in ("All", ["All"])]
        assert checks_only == []  # the pre-checks ran; nothing was sent


async def test_a_modal_built_while_the_app_exits_is_no_crash(platform, tmp_path):
    """The spare is built by a timer (a second after the start or the last write); when that timer fires after
    the app was told to exit, but before it stopped running, the spare would be composed by a closing app (which
    mounts nothing) and its on_mount found no '#cancel': a crash on the way out (seen in CI under load)."""
    from cockpit.screens.confirm import ConfirmScreen
    from cockpit.screens.writeflow import SPARE, prebuild_modal

    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        setattr(app, SPARE, None)  # (a spare built already is not the point here)
        app.exit()
        prebuild_modal(app)  # the spare's timer, fired in the window between exit() and the shutdown
        assert getattr(app, SPARE, None) is None  # nothing is built for an app on its way out
        screen = ConfirmScreen(None, assessing=True)  # and a modal composed by a closing app does not crash
        app._register(app, screen)
        await pilot.pause()
    assert app.return_code in (0, None)
