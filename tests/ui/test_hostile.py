"""Hostile strings from the cluster render literally: markup stays text, escape sequences are shown, not obeyed."""

from __future__ import annotations

import copy

import pytest
from rich.console import Console

from cockpit.demo import scenario
from cockpit.demo.platform import DemoPlatform
from tests.ui.harness import T0, make_app, settle, wait_for

CLICK = "[@click=app.quit]click me[/]"
BOLD = "[bold red]FAKE[/bold red]"
UNTERMINATED = "[/"
ESC = "\x1b[2J\x1b[31mred"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"


def plain(pane, now) -> str:
    console = Console(width=300, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(pane.render_state(pane.entry, now))
    return console.export_text()


@pytest.fixture
def platform():
    demo = DemoPlatform(now=T0).start()
    kube = demo.kube
    ns = scenario.APP_NAMESPACE

    ro = copy.deepcopy(kube.get_object("argoproj.io/v1alpha1", "rollouts", ns, scenario.ROLLOUT))
    ro["status"]["message"] = f"{CLICK} {ESC}"
    ro["status"]["pauseConditions"][0]["reason"] = BOLD
    kube.seed(ro)

    app = copy.deepcopy(kube.get_object("argoproj.io/v1alpha1", "applications", "argocd", scenario.APP_NAME))
    app["status"]["history"][-1]["initiatedBy"] = {"username": BOLD}
    app["status"]["health"]["message"] = UNTERMINATED
    kube.seed(app)

    run = copy.deepcopy(kube.get_object("argoproj.io/v1alpha1", "analysisruns", ns, f"catalog-{scenario.CANARY_HASH}-4"))
    run["status"]["metricResults"][0]["name"] = f"p99 {UNTERMINATED}"
    run["status"]["metricResults"][0]["phase"] = "Failed"
    run["status"]["metricResults"][0]["message"] = f"{OSC52} {CLICK}"
    kube.seed(run)

    backups = [b for b in scenario.velero_objects(T0) if b["kind"] == "Backup"]
    bad = copy.deepcopy(backups[0])
    bad["metadata"]["name"] = "x" * 200
    bad["status"]["phase"] = "Failed"
    bad["status"]["failureReason"] = f"{ESC}{BOLD}\u202eevil\u200b"
    kube.seed(bad)
    yield demo
    demo.stop()


async def test_hostile_strings_render_literally(platform):
    app = make_app(platform)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        dash = app.dashboard.active()
        await wait_for(pilot, lambda: any(b.phase == "Failed" for b in dash.pane("velero").snapshot.data.backups),
                       what="the hostile backup")
        now = app.clock.now()
        rollout = plain(dash.pane("rollout"), now)
        assert CLICK in rollout
        assert "\\x1b[2J\\x1b[31mred" in rollout and "\x1b" not in rollout
        assert BOLD in rollout
        argo = plain(dash.pane("argocd"), now)
        assert "[bold red]FAK" in argo  # the BY column is narrow: the literal text, cut with an ellipsis
        analysis = plain(dash.pane("analysis"), now)
        assert f"p99 {UNTERMINATED}" in analysis
        assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in analysis and CLICK in analysis
        velero = plain(dash.pane("velero"), now)
        assert "\\u202eevil\\u200b" in velero and BOLD in velero
        # clicking around and pressing keys does not run an injected action
        await pilot.click("#pane-rollout")
        await pilot.press("2", "z", "z")
        assert app.is_running
