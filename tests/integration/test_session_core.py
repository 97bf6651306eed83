"""The session core, headless: a crash in a watch thread or a poll shows in its pane and the feed restarts; the store
is the only truth (last good data kept and marked stale); events are coalescible names, never data."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cockpit.config import build_settings
from cockpit.demo.platform import DEMO_CONTEXT, DemoPlatform, Timing, demo_settings
from cockpit.models import FeedState
from cockpit.session import PaneChanged, connect, open_session


def wait_for(what, probe, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def session(tmp_path: Path):
    platform = DemoPlatform("rollouts-abort", workdir=tmp_path / "demo", timing=Timing.fast()).start()
    settings = demo_settings(build_settings({"prometheus_interval": 0.2}), platform)
    live = open_session(settings, connect(settings), audit_path=str(tmp_path / "audit.jsonl"))
    live.platform = platform  # type: ignore[attr-defined]
    try:
        yield live
    finally:
        live.stop()
        platform.stop()


def test_a_crashing_watch_thread_is_said_in_its_pane_and_the_watch_restarts(session, monkeypatch) -> None:
    import cockpit.sources.rollouts as rollouts

    real = rollouts.parse_rollout
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a parser bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(rollouts, "parse_rollout", flaky)
    events = []
    session.subscribe(events.append)
    session.start()
    entry = wait_for("the crash in the Rollout pane", lambda: (e := session.store.entry(DEMO_CONTEXT, "rollout"))
                     .state is FeedState.ERROR and "crashed" in e.status.error and e)
    assert "RuntimeError: a parser bug" in entry.status.error and "restarting" in entry.status.error
    wait_for("the watch restarted and the pane filled", lambda: session.store.entry(DEMO_CONTEXT, "rollout")
             .state is FeedState.OK and session.store.current(DEMO_CONTEXT, "rollout") is not None)
    assert PaneChanged(DEMO_CONTEXT, "rollout") in events


def test_a_crashing_poll_is_said_and_polled_again(session, monkeypatch) -> None:
    from cockpit.feeds import LatencyFeed

    real = LatencyFeed.poll
    calls = {"n": 0}

    def flaky(self, source):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError("a poll bug")
        return real(self, source)

    monkeypatch.setattr(LatencyFeed, "poll", flaky)
    session.start()
    wait_for("the first p99", lambda: session.store.entry(DEMO_CONTEXT, "latency").state is FeedState.OK)
    entry = wait_for("the crash said", lambda: (e := session.store.entry(DEMO_CONTEXT, "latency"))
                     .state is FeedState.ERROR and e)
    assert "ValueError: a poll bug" in entry.status.error
    assert entry.stale and entry.shown is not None  # the last good p99 is kept, marked stale
    wait_for("polled again", lambda: calls["n"] >= 3 and session.store.entry(DEMO_CONTEXT, "latency").state
             is FeedState.OK)


def test_the_store_keeps_the_last_good_data_when_the_api_goes_away(session) -> None:
    session.start()
    wait_for("the Rollout", lambda: session.store.current(DEMO_CONTEXT, "rollout") is not None)
    session.platform.kube.stop()
    entry = wait_for("the error", lambda: (e := session.store.entry(DEMO_CONTEXT, "rollout"))
                     .state is FeedState.ERROR and e)
    assert entry.stale and entry.shown.name == "catalog"


def test_promote_warns_when_the_analysis_fails_and_p99_is_over_the_slo(session) -> None:
    session.start()
    wait_for("the analysis and the p99", lambda: session.store.current(DEMO_CONTEXT, "analysis")
             and session.store.current(DEMO_CONTEXT, "latency") is not None
             and session.store.current(DEMO_CONTEXT, "latency").value is not None)
    planned = session.plan_rollout_verb(DEMO_CONTEXT, "promote")
    warnings = session.warnings(DEMO_CONTEXT, planned)
    assert any(w.startswith("analysis is not passing: AnalysisRun catalog-") for w in warnings), warnings
    assert any("over the 500 ms SLO" in w for w in warnings), warnings
    abort = session.plan_rollout_verb(DEMO_CONTEXT, "abort")
    assert not any("analysis is not passing" in w for w in session.warnings(DEMO_CONTEXT, abort))


def test_the_first_evidence_gather_waits_for_the_panes(session, monkeypatch) -> None:
    """At start-up the panes' lists and the evidence (git, the flag provider, S3, access reviews) would share the
    GIL; the first gather waits until no pane is loading (or EVIDENCE_FIRST_WAIT), later ones only debounce."""
    import cockpit.session.core as core
    from cockpit.models import PANES, FeedStatus, PaneSnapshot

    monkeypatch.setattr(core, "EVIDENCE_FIRST_WAIT", 3600.0)
    session.evidence_soon(DEMO_CONTEXT)
    assert session.scheduler.pending(f"evidence-first:{DEMO_CONTEXT}") and not session.evidence_pending(DEMO_CONTEXT)
    for pane in PANES[:-1]:
        session.put(PaneSnapshot(pane, DEMO_CONTEXT, None, FeedStatus(FeedState.OK)))
    assert not session.evidence_pending(DEMO_CONTEXT)  # one pane still loading
    session.put(PaneSnapshot(PANES[-1], DEMO_CONTEXT, None, FeedStatus(FeedState.ERROR, error="forbidden")))
    assert session.evidence_pending(DEMO_CONTEXT)  # an error is an answer too: nothing is loading any more


def test_replicaset_pod_and_analysisrun_watches_list_without_waiting_for_the_rollout(tmp_path: Path) -> None:
    """Their selectors come from the Rollout (labels, pod hashes).  A first session keeps them (selectors.json in
    the state directory); the next one lists ReplicaSets, pods and AnalysisRuns at once, while the Rollout's own
    list is still unanswered (held by the emulator), and the Rollout then confirms them."""
    from cockpit.feeds import SelectorMemory

    platform = DemoPlatform("rollouts-abort", workdir=tmp_path / "demo", timing=Timing.fast()).start()
    kube = platform.kube
    try:
        settings = demo_settings(build_settings({}), platform)
        first = open_session(settings, connect(settings), audit_path=str(tmp_path / "audit.jsonl"))
        first.start()
        try:
            wait_for("the analysis pane", lambda: first.store.entry(DEMO_CONTEXT, "analysis").state is FeedState.OK)
        finally:
            first.stop()
        from cockpit.session.core import selector_memory

        memory = selector_memory()
        remembered = memory.recall(f"{DEMO_CONTEXT}/{settings.namespace}/{settings.rollout}")
        assert set(remembered) == set(SelectorMemory.TRACKS) and "rollouts-pod-template-hash" in remembered["pods"]

        kube.clear_requests()
        kube.faults.set("hang", match="/rollouts?")  # the Rollout's list (not its watch, not other kinds) hangs
        second = open_session(settings, connect(settings), audit_path=str(tmp_path / "audit.jsonl"))
        second.start()
        try:
            def listed(plural: str) -> list:
                with kube._requests_lock:
                    return [r for r in kube.requests if r.path.endswith(f"/{plural}") and not r.watch]

            wait_for("the three lists", lambda: all(listed(p) for p in ("replicasets", "pods", "analysisruns")))
            assert listed("rollouts") and all(r.status == 0 for r in listed("rollouts"))  # still unanswered
            for plural, track in (("replicasets", "replicasets"), ("pods", "pods"), ("analysisruns", "analysisruns")):
                assert listed(plural)[0].query.get("labelSelector") == remembered[track]
            kube.faults.clear()
            wait_for("the analysis pane", lambda: second.store.entry(DEMO_CONTEXT, "analysis").state is FeedState.OK)
            assert second.store.current(DEMO_CONTEXT, "rollout") is not None
        finally:
            kube.faults.clear()
            second.stop()
    finally:
        platform.stop()


def test_the_recording_waits_for_the_panes_first_answers_and_keeps_every_snapshot(tmp_path: Path) -> None:
    """Encoding the panes' first snapshots (a keyframe of thousands of backups) would share the GIL with the lists
    being decoded and the panes being painted: the sink is held until every pane has answered, then writes all."""
    import cockpit.session.core as core
    from cockpit.models import PANES
    from cockpit.recording import Player
    from cockpit.session.recording import start_recording

    platform = DemoPlatform("rollouts-abort", workdir=tmp_path / "demo", timing=Timing.fast()).start()
    settings = demo_settings(build_settings({"prometheus_interval": 0.2}), platform)
    targets = connect(settings)
    sink, _ = start_recording(settings, targets, path=str(tmp_path / "s.cockpit"))
    live = open_session(settings, targets, recorder=sink, audit_path=str(tmp_path / "audit.jsonl"))
    try:
        assert not sink.held
        live.start()
        assert sink.held  # from the start of the feeds
        wait_for("every pane's first answer", lambda: all(
            live.store.entry(DEMO_CONTEXT, pane).state is not FeedState.LOADING for pane in PANES))
        wait_for("the hold to end", lambda: not sink.held, timeout=core.EVIDENCE_FIRST_WAIT + 5)
        wait_for("the first snapshots written", lambda: sink.count >= len(PANES))
        assert sink.coalesced == 0 and sink.warning is None
    finally:
        live.stop()
        sink.close(10)
        platform.stop()
    with Player(tmp_path / "s.cockpit") as player:
        assert {pane for (_, pane) in player.state_at(player.end)} >= set(PANES)
