"""One driver per context: two cockpits (two Sessions, two people) on the same demo context.

The first one to write takes the ``coordination.k8s.io/v1`` Lease through the gateway; the second sees
"driven by alice@… since T", cannot plan or send a write, takes over with a confirmed (typed) write, and the first
sees it at once -- its next write is refused with "bob@… took over at T" -- and both audit logs show the hand-over.
Without RBAC for Leases the cockpit says so and writes as before.  Real HTTP: the Kubernetes API emulator.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.actions.gateway import Outcome
from cockpit.actions.requests import ActionRefused
from cockpit.config import build_settings
from cockpit.demo import scenario
from cockpit.demo.platform import DEMO_CONTEXT, DemoPlatform, Timing, demo_environment, demo_settings
from cockpit.lease import LEASE_NAME, LEASES
from cockpit.session import Session, connect, open_session

CTX = DEMO_CONTEXT
MICRO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.03)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[DemoPlatform]:
    demo = DemoPlatform(workdir=tmp_path / "demo", timing=Timing.fast()).start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def cockpits(platform: DemoPlatform, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Session]]:
    settings = demo_settings(build_settings({"prometheus_interval": 0.5}), platform)
    for name, value in demo_environment(platform, settings).items():
        monkeypatch.setenv(name, value)
    opened: list[Session] = []

    def cockpit(person: str) -> Session:
        session = open_session(settings, connect(settings), audit_path=str(tmp_path / f"audit-{person}.jsonl"),
                               person=person)
        session.start()
        opened.append(session)
        assert session.wait_connected(CTX, 20)
        wait_for(f"{person}'s Rollout pane", lambda: session.current(CTX, "rollout") is not None)
        wait_for(f"{person}'s lease watch", lambda: session.driver(CTX).state != "checking")
        return session

    yield cockpit
    for session in opened:
        session.stop()


def send(session: Session, verb: str) -> Any:
    """Plan and confirm a Rollout verb; on a conflict (the controller is still moving the Rollout after an abort)
    look again and re-plan, as the person would."""
    for _ in range(20):
        result = session.execute(session.plan_rollout_verb(CTX, verb), "y")
        if result.outcome is not Outcome.CONFLICT:
            return result
        time.sleep(0.1)
    return result


def audit(tmp_path: Path, person: str) -> list[dict[str, Any]]:
    path = tmp_path / f"audit-{person}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def stored_lease(platform: DemoPlatform) -> dict[str, Any]:
    return platform.kube.get_object(LEASES.api_version, "Lease", scenario.APP_NAMESPACE, LEASE_NAME)


def test_two_cockpits_one_driver_and_a_confirmed_take_over(cockpits, platform, tmp_path):
    alice, bob = cockpits("alice"), cockpits("bob")
    assert alice.driver(CTX).state == bob.driver(CTX).state == "free"

    # alice writes: the lease is taken first, through the gateway, audited
    planned = alice.plan_rollout_verb(CTX, "abort")
    result = alice.execute(planned, "y")
    assert result.ok, result.message
    assert alice.driver(CTX).state == "mine"
    lease = stored_lease(platform)
    assert lease["spec"]["holderIdentity"].startswith("alice@")
    assert lease["spec"]["leaseTransitions"] == 0
    for key in ("acquireTime", "renewTime"):
        assert MICRO.match(lease["spec"][key]), lease["spec"][key]
    assert set(lease["spec"]) == {"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime",
                                  "leaseTransitions"}
    sent = [(r["action"], r["event"], r["outcome"]) for r in audit(tmp_path, "alice") if r["event"] != "manual"]
    assert sent[:2] == [("lease.acquire", "before", "sending"), ("lease.acquire", "after", "ok")]
    assert ("rollouts.abort", "after", "ok") in sent

    # bob sees who drives, and cannot plan or send a write
    status = wait_for("bob to see alice drive", lambda: bob.driver(CTX).state == "other" and bob.driver(CTX))
    assert status.holder.startswith("alice@") and status.blocks_writes
    assert re.search(r"driven by alice@\S+ since \d\d:\d\d:\d\dZ", status.text)
    assert bob.write_blocked(CTX)
    with pytest.raises(ActionRefused, match="is driven by alice@"):
        bob.plan_rollout_verb(CTX, "retry")
    from cockpit.actions import rollouts

    sneaked = bob.gateway.plan(rollouts.retry(bob.contexts[CTX].kube, scenario.APP_NAMESPACE, scenario.ROLLOUT))
    refused = bob.execute(sneaked, "y")  # a plan made before the lease changed is refused when sent
    assert refused.outcome is Outcome.REFUSED and "driven by alice@" in refused.message
    assert not [r for r in audit(tmp_path, "bob") if r.get("action") == "rollouts.retry"]

    # bob takes over: a destructive, typed, audited write
    takeover = bob.plan_takeover(CTX)
    assert takeover.action.name == "lease.takeover" and takeover.confirm_word == "takeover"
    assert any("alice@" in warning for warning in takeover.warnings)
    assert not bob.execute(takeover, "y").ok  # the confirm word, not a y
    done = bob.execute(takeover, "takeover")
    assert done.ok, done.message
    assert bob.driver(CTX).state == "mine"
    lease = stored_lease(platform)
    assert lease["spec"]["holderIdentity"].startswith("bob@") and lease["spec"]["leaseTransitions"] == 1

    # alice sees it at once, and her next write is refused with who and when
    taken = wait_for("alice to see the take-over", lambda: alice.driver(CTX).state == "taken" and alice.driver(CTX))
    assert taken.holder.startswith("bob@")
    again = alice.gateway.plan(rollouts.retry(alice.contexts[CTX].kube, scenario.APP_NAMESPACE, scenario.ROLLOUT))
    refused = alice.execute(again, "y")
    assert refused.outcome is Outcome.REFUSED
    assert re.search(r"bob@\S+ took over at \d\d:\d\d:\d\dZ", refused.message), refused.message
    with pytest.raises(ActionRefused, match="took over"):
        alice.plan_rollout_verb(CTX, "retry")

    # both audit logs show the hand-over
    bob_records = audit(tmp_path, "bob")
    assert [(r["action"], r["event"], r["outcome"]) for r in bob_records if r["action"] == "lease.takeover"] == [
        ("lease.takeover", "before", "sending"), ("lease.takeover", "after", "ok")]
    alice_notes = wait_for("alice's audit record of the hand-over", lambda: [
        r for r in audit(tmp_path, "alice") if r.get("note") == "driver-lease"])
    assert len(alice_notes) == 1 and "bob@" in alice_notes[0]["instruction"]
    assert "took over" in alice_notes[0]["instruction"]

    # bob writes as the driver: renews (keeps acquireTime), alice is still refused
    acquired = lease["spec"]["acquireTime"]
    result = send(bob, "retry")
    assert result.ok, result.message
    lease = stored_lease(platform)
    assert lease["spec"]["acquireTime"] == acquired and lease["spec"]["leaseTransitions"] == 1
    after = [r["action"] for r in audit(tmp_path, "bob") if r["event"] == "after"]
    assert after[after.index("lease.takeover") + 1:][-2:] == ["lease.renew", "rollouts.retry"]


def test_quitting_releases_the_lease(cockpits, platform):
    alice = cockpits("alice")
    bob = cockpits("bob")
    assert alice.execute(alice.plan_rollout_verb(CTX, "abort"), "y").ok
    wait_for("bob to see alice", lambda: bob.driver(CTX).state == "other")
    alice.stop()
    lease = stored_lease(platform)
    assert lease["spec"]["holderIdentity"] == "" and lease["spec"]["leaseDurationSeconds"] == 1
    wait_for("bob to see nobody drive", lambda: bob.driver(CTX).state == "free")
    assert send(bob, "retry").ok
    assert stored_lease(platform)["spec"]["leaseTransitions"] == 1  # a new holder


def test_without_rbac_for_leases_the_cockpit_says_so_and_writes_as_before(cockpits, platform, tmp_path):
    platform.kube.deny("*", "leases.coordination.k8s.io")
    alice = cockpits("alice")
    status = wait_for("the lease to be unavailable", lambda: alice.driver(CTX).state == "unavailable"
                      and alice.driver(CTX))
    assert "no RBAC for Leases" in status.text and not status.blocks_writes
    result = alice.execute(alice.plan_rollout_verb(CTX, "abort"), "y")
    assert result.ok, result.message
    assert [r["action"] for r in audit(tmp_path, "alice") if r["event"] == "after"] == ["rollouts.abort"]
    with pytest.raises(ActionRefused, match="no driver lease"):
        alice.plan_takeover(CTX)


def test_read_only_and_replayed_sessions_take_no_lease(cockpits, platform, tmp_path):
    settings = demo_settings(build_settings({"read_only": True}), platform)
    viewer = open_session(settings, connect(settings), audit_path=str(tmp_path / "audit-viewer.jsonl"),
                          person="viewer")
    viewer.start()
    try:
        alice = cockpits("alice")
        assert alice.execute(alice.plan_rollout_verb(CTX, "abort"), "y").ok
        wait_for("the viewer to see alice", lambda: viewer.driver(CTX).state == "other")
        with pytest.raises(ActionRefused, match="read-only"):
            viewer.plan_takeover(CTX)
        assert not (tmp_path / "audit-viewer.jsonl").exists()
    finally:
        viewer.stop()
