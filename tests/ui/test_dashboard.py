"""Pilot tests: the cockpit against the demo platform over loopback HTTP, through the real clients."""

from __future__ import annotations

import pytest

from cockpit.demo.platform import DemoPlatform
from cockpit.models import FeedState
from tests.ui.harness import T0, all_populated, make_app, pane_states, settle, wait_for


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    yield demo
    demo.stop()


async def test_all_six_panes_populated(platform):
    app = make_app(platform)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        dash = app.dashboard.active()
        argo = dash.pane("argocd").snapshot.data
        assert [entry.id for entry in argo.history[:3]] == [42, 41, 40]
        assert argo.history[0].change.startswith("image tag")
        rollout = dash.pane("rollout").snapshot.data
        assert (rollout.step_index, rollout.step_count, rollout.set_weight) == (3, 8, 25)
        assert rollout.stable_images == ("ghcr.io/acme/catalog:v1.5.0",)
        assert rollout.canary_images == ("ghcr.io/acme/catalog:v1.5.1",)
        runs = dash.pane("analysis").snapshot.data
        assert runs and runs[0].pod_hash == rollout.canary_hash
        latency = dash.pane("latency").snapshot.data
        assert latency.value == pytest.approx(1.2, abs=0.05) and latency.over_slo
        cnpg = dash.pane("cnpg").snapshot.data
        assert cnpg.current.name == "bookstore-platform-cnpg-orders"
        assert cnpg.current.first_recoverability_point is not None
        velero = dash.pane("velero").snapshot.data
        assert any(b.phase == "PartiallyFailed" for b in velero.backups)


async def test_keys_focus_and_zoom(platform):
    app = make_app(platform)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        for number, pane in enumerate(["argocd", "rollout", "analysis", "latency", "cnpg", "velero"], start=1):
            await pilot.press(str(number))
            assert app.dashboard.focused_pane().pane_id == pane
        await pilot.press("z")
        assert app.dashboard.maximized is not None
        await pilot.press("z")
        assert app.dashboard.maximized is None
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_kube_api_down_then_back(platform):
    """Kill the API server: the Kubernetes panes keep their data marked stale and say why; p99 keeps updating;
    bring it back on the same port: they recover by themselves."""
    app = make_app(platform)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        platform.kube.stop()
        rollout_pane = app.dashboard.active().pane("rollout")
        # the store changes first; the widget draws it when its (coalesced) message is handled
        await wait_for(pilot, lambda: pane_states(app)["rollout"] is FeedState.ERROR
                       and rollout_pane.has_class("-stale"), what="rollout pane error, drawn stale")
        assert rollout_pane.entry.last_good is not None
        assert "unreachable" in rollout_pane.snapshot.status.error or "lost" in rollout_pane.snapshot.status.error
        assert pane_states(app)["latency"] is FeedState.OK
        platform.kube.start()
        await wait_for(pilot, lambda: all_populated(app) and not rollout_pane.has_class("-stale"), timeout=30,
                       what="recovery, drawn")


async def test_prometheus_down_then_back(platform):
    app = make_app(platform, prometheus_interval=0.3)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        platform.prom.stop()
        pane = app.dashboard.active().pane("latency")
        await wait_for(pilot, lambda: pane_states(app)["latency"] is FeedState.ERROR and pane.has_class("-stale"),
                       what="latency error, drawn")
        # refused, or reset when the poll's kept-alive connection was open as the server stopped: both say why
        error = pane.snapshot.status.error
        assert "unreachable" in error and ("connection refused" in error or "connection reset" in error), error
        assert pane.entry.last_good is not None and pane.has_class("-stale")
        assert pane_states(app)["rollout"] is FeedState.OK
        platform.prom.start()
        await wait_for(pilot, lambda: pane_states(app)["latency"] is FeedState.OK, what="latency recovery")


async def test_no_names_given_the_panes_list_and_pick(platform):
    """Without --app/--rollout the panes list what exists; Enter picks, and the pick holds for the session."""
    import dataclasses

    from cockpit.session import connect

    from tests.ui.harness import build_app
    from cockpit.clock import FixedClock
    from cockpit.config import build_settings
    from cockpit.demo.platform import demo_settings

    settings = dataclasses.replace(demo_settings(build_settings({}), platform), app=None, rollout=None)
    app = build_app(settings, connect(settings), clock=FixedClock(T0), tick=False,
                     audit_path=str(platform.workdir / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        dash = lambda: app.dashboard.active()  # noqa: E731
        await wait_for(pilot, lambda: pane_states(app)["argocd"] is FeedState.PICK, what="the Argo CD list")
        assert dash().pane("argocd").snapshot.status.choices == ("bookstore-catalog-us-east",)
        # the Rollout list arrives on its own watch: not necessarily with the Application's
        await wait_for(pilot, lambda: pane_states(app)["rollout"] is FeedState.PICK, what="the Rollout list")
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: pane_states(app)["argocd"] is FeedState.OK, what="the picked app")
        assert dash().pane("argocd").snapshot.data.name == "bookstore-catalog-us-east"
        await pilot.press("2", "enter")
        await wait_for(pilot, lambda: pane_states(app)["rollout"] is FeedState.OK, what="the picked rollout")
        await wait_for(pilot, lambda: pane_states(app)["analysis"] is FeedState.OK, what="its AnalysisRuns")
        assert app.session.contexts[app.targets[0].name].feeds.chosen == {"argocd": "bookstore-catalog-us-east",
                                                         "rollout": "catalog", "cnpg": "bookstore-platform-cnpg-orders"}


async def test_two_contexts_one_tab_each(platform, tmp_path):
    """--context twice: a tab per context, the name always shown, production in the bar, `c` switches."""
    import dataclasses

    from cockpit.session import connect

    from tests.ui.harness import build_app
    from cockpit.clock import FixedClock
    from cockpit.config import ContextSettings, build_settings
    from cockpit.demo import scenario
    from cockpit.demo.platform import demo_settings

    platform.kube.add_context(platform.kubeconfig, context="demo-eu-west", namespace=scenario.APP_NAMESPACE)
    base = demo_settings(build_settings({}), platform)
    settings = dataclasses.replace(base, contexts=("demo-us-east", "demo-eu-west"), context_settings={
        "demo-eu-west": ContextSettings("demo-eu-west", production=True, read_only=True)})
    app = build_app(settings, connect(settings), clock=FixedClock(T0), tick=False,
                     audit_path=str(tmp_path / "audit.jsonl"))
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: all(d.pane("rollout").snapshot is not None
                                          and d.pane("rollout").snapshot.data is not None
                                          for d in app.dashboard.dashboards()), what="both contexts")
        bar = app.dashboard.query_one("#context-bar")
        assert "demo-us-east" in str(bar.render()) and not bar.has_class("-production")
        await pilot.press("c")
        await pilot.pause()
        tabs = app.dashboard.query_one("#contexts")
        assert tabs.active == "tab-1", (tabs.active, app.focused)
        assert app.dashboard.active().target.name == "demo-eu-west"
        assert "PRODUCTION" in str(bar.render()) and "READ-ONLY" in str(bar.render()) and bar.has_class("-production")
        assert app.session.why_read_only("demo-eu-west") and not app.session.why_read_only("demo-us-east")


async def test_a_pane_key_and_the_next_key_in_one_burst(platform):
    """Over SSH keys arrive in bursts: "2" and "a" in one read must open the Rollout pane's abort, not go to the
    pane that had the focus (Textual's Widget.focus takes effect after the keys already queued)."""
    from tests.ui.test_key_fuzz import drain, send

    app = make_app(platform)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        assert app.dashboard.focused_pane().pane_id == "argocd"
        send(app, "2")
        send(app, "a")
        await drain(app)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", timeout=10)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard, timeout=10)
        send(app, "1")
        send(app, "6")
        send(app, "z")  # the Velero pane zoomed, not Argo CD's
        await drain(app)
        assert app.dashboard.focused_pane().pane_id == "velero"
        assert app.dashboard.maximized is not None and app.dashboard.maximized.pane_id == "velero"
