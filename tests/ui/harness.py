"""Shared helpers for Pilot and snapshot tests: the demo platform on loopback, a fixed clock, waiting for panes."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

from cockpit.app import CockpitApp
from cockpit.clock import FixedClock
from cockpit.session import connect, open_session
from cockpit.config import build_settings
from cockpit.demo.platform import DemoPlatform, demo_settings
from cockpit.models import PANES, FeedState

T0 = datetime(2026, 5, 20, 14, 27, 13, tzinfo=timezone.utc)


def make_app(platform: DemoPlatform, *, clock=None, tick: bool = False, audit_path: str | None = None,
             read_only_reason: str | None = None, **overrides) -> CockpitApp:
    settings = demo_settings(build_settings(overrides), platform)
    targets = connect(settings, note="demo platform on 127.0.0.1")
    session = open_session(settings, targets, clock=clock or FixedClock(platform.now),
                           audit_path=audit_path or str(platform.workdir / "audit.jsonl"),
                           read_only_reason=read_only_reason)
    return CockpitApp(session, tick=tick)


def pane_states(app: CockpitApp) -> dict[str, FeedState | None]:
    dash = app.dashboard.active()
    out = {}
    for name in PANES:
        snap = dash.pane(name).snapshot
        out[name] = None if snap is None else snap.status.state
    return out


async def wait_for(pilot, predicate, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}; panes: {pane_states(pilot.app)}")


def all_populated(app: CockpitApp) -> bool:
    dash = app.dashboard.active()
    for name in PANES:
        snap = dash.pane(name).snapshot
        if snap is None or snap.status.state is not FeedState.OK or snap.data is None:
            return False
    return True


def fully_fed(app: CockpitApp) -> bool:
    """The parts that arrive a moment after the panes: the rollout's pods, the CNPG clusters' WAL archiving."""
    dash = app.dashboard.active()
    rollout = dash.pane("rollout").snapshot.data
    cnpg = dash.pane("cnpg").snapshot.data
    return (rollout is None or rollout.pods_watched) and \
        (cnpg is None or all(cluster.archiving is not None for cluster in cnpg.clusters))


def demo_complete(app: CockpitApp) -> bool:
    """What the demo platform always serves has arrived: the rollout's pods listed and the first CNPG cluster's
    WAL archiving read from the archiver metrics (a snapshot must not depend on which thread answered first)."""
    dash = app.dashboard.active()
    rollout = dash.pane("rollout").snapshot.data
    cnpg = dash.pane("cnpg").snapshot.data
    return bool(rollout is not None and rollout.pods and cnpg is not None and cnpg.clusters
                and cnpg.clusters[0].archiving is not None and cnpg.clusters[0].archiving.last_archived_at)


async def settle(pilot, *, complete: bool = False) -> None:
    """All six panes populated and the decision tree evaluated on gathered evidence (deterministic screens).
    ``complete``: also everything the demo serves (for snapshots of the demo)."""
    app = pilot.app
    await wait_for(pilot, lambda: all_populated(app), what="all six panes populated")
    await wait_for(pilot, lambda: fully_fed(app), what="pods and WAL archiving")
    if complete:
        await wait_for(pilot, lambda: demo_complete(app), what="the demo's pods and archiver metrics")
    session = app.session
    await wait_for(pilot, lambda: all(session.gathered(t.name) is not None and not session.evidence_pending(t.name)
                                      for t in app.targets), what="the decision evidence")
    await pilot.pause(0.2)


def build_app(settings, targets, *, tick: bool = False, start_feeds: bool = True, **session_kw) -> CockpitApp:
    """An app over a new session (``session_kw``: clock, recorder, audit_path, read_only_reason, drill, player)."""
    return CockpitApp(open_session(settings, targets, **session_kw), tick=tick, start_feeds=start_feeds)
