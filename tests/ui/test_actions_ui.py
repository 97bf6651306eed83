"""Key -> modal -> confirmation -> request, through the one gateway; Esc and read-only send nothing."""

from __future__ import annotations

import json

import pytest

from cockpit.demo import scenario
from cockpit.demo.platform import DemoPlatform
from tests.ui.harness import T0, make_app, settle, wait_for


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


def writes(platform) -> list:
    """The writes of the action itself (the driver lease taken before it is tested in test_driver_lease.py)."""
    return [r for r in platform.kube.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")
            and "selfsubjectaccessreviews" not in r.path and "/coordination.k8s.io/" not in r.path]


def real_writes(platform) -> list:
    return [r for r in writes(platform) if r.query.get("dryRun") not in ("All", ["All"])]


async def _modal(pilot, key: str):
    await pilot.press("2", key)
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmScreen", what="the modal")
    await wait_for(pilot, lambda: pilot.app.screen.ready, what="the plan, the pre-mortem and the pre-checks")
    return pilot.app.screen


async def test_abort_confirmed_sends_the_upstream_patch_and_audits(platform, tmp_path):
    audit = tmp_path / "audit.jsonl"
    app = make_app(platform, audit_path=str(audit))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        modal = await _modal(pilot, "a")
        assert not modal.destructive and modal.preflight.ok
        assert app.focused.id == "cancel"
        platform.kube.clear_requests()
        await pilot.press("y")
        rollout = app.dashboard.active().pane("rollout")
        await wait_for(pilot, lambda: rollout.snapshot.data.aborted, what="the Rollout pane to show the abort")
        sent = real_writes(platform)
        assert len(sent) == 1
        request = sent[0]
        # MECHANICS (b): `kubectl argo rollouts abort` = merge patch {"status":{"abort":true}} on the status subresource
        assert request.method == "PATCH"
        assert request.path == f"/apis/argoproj.io/v1alpha1/namespaces/{scenario.APP_NAMESPACE}/rollouts/catalog/status"
        assert request.content_type.startswith("application/merge-patch+json")
        assert json.loads(request.body)["status"]["abort"] is True
        records = [json.loads(line) for line in audit.read_text().splitlines()]
        assert [(r["action"], r["event"]) for r in records] == [  # the driver lease is taken first
            ("lease.acquire", "before"), ("lease.acquire", "after"),
            ("rollouts.abort", "before"), ("rollouts.abort", "after")]
        assert records[3]["outcome"] == "ok"
        assert "emulator-token" not in audit.read_text()
        await wait_for(pilot, lambda: rollout.snapshot.data.canary_images == () or
                       rollout.snapshot.data.actual_weight == 0, what="canary scaled to 0")


async def test_escape_sends_nothing(platform, tmp_path):
    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await _modal(pilot, "a")
        before = len(real_writes(platform))
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert app.screen is app.dashboard
        assert len(real_writes(platform)) == before
        assert not (tmp_path / "audit.jsonl").exists()


@pytest.mark.parametrize("key", ["a", "u", "p", "r", "P"])
async def test_read_only_every_rollout_key_sends_nothing(platform, tmp_path, key):
    app = make_app(platform, read_only=True, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        platform.kube.clear_requests()
        await pilot.press("2", key)
        await pilot.pause(0.5)
        if type(app.screen).__name__ == "ConfirmScreen":
            assert "read-only" in app.screen.planned.read_only
            await pilot.press("y")  # no effect in read-only
            await pilot.press("enter")
            await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert writes(platform) == []  # not even a dry-run or an access review
        assert not (tmp_path / "audit.jsonl").exists()


async def test_destructive_action_needs_the_typed_name(platform, tmp_path):
    """A Velero restore is irreversible: `y` does nothing, the Confirm button stays off until the name is typed."""
    from cockpit.actions import velero

    app = make_app(platform, audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        backup = next(b.name for b in app.dashboard.active().pane("velero").snapshot.data.backups
                      if b.phase == "Completed")
        context = app.targets[0].name
        from cockpit.screens.writeflow import start_write

        start_write(app.dashboard, context, lambda: app.session.plan(
            context, lambda env: velero.restore(env.kube, backup, namespaces=[scenario.APP_NAMESPACE])))
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="the modal")
        modal = app.screen  # up at once: the plan arrives into it
        await wait_for(pilot, lambda: modal.planned is not None, what="the plan")
        assert modal.destructive and modal.planned.confirm_word
        await wait_for(pilot, lambda: modal.preflight is not None, what="the pre-checks")
        platform.kube.clear_requests()
        typed = modal.query_one("#typed")
        assert modal.focused is typed  # the cursor waits in the name field
        await pilot.press("y")  # a y is just a letter of the name here: nothing is sent
        await pilot.pause(0.2)
        assert app.screen is modal and real_writes(platform) == [] and typed.value == "y"
        typed.value = ""
        await pilot.press(*modal.planned.confirm_word[:-1])
        assert modal.query_one("#confirm").disabled
        await pilot.press(modal.planned.confirm_word[-1], "enter")
        await wait_for(pilot, lambda: real_writes(platform), what="the restore request")
        request = real_writes(platform)[0]
        assert request.method == "POST" and request.path.endswith("/namespaces/velero/restores")
        assert json.loads(request.body)["spec"]["backupName"] == backup
