"""Durability of a recording across a killed process: SIGKILL (crash, OOM killer) and SIGHUP (dropped SSH session).

A real child process records in a loop and reports each event id on stdout once ``record`` has returned; the test
reads the file from another process while it is being written, kills the child mid-session, and replays the file.
Everything the child reported as recorded must be there.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cockpit.recording import Player

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 5, 20, 14, 0, tzinfo=timezone.utc)

CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    from cockpit.models import FeedState, FeedStatus, LatencyView, PaneSnapshot
    from cockpit.recording import Recorder, RecordingMeta, marker_payload, step_payload

    t0 = datetime(2026, 5, 20, 14, 0, tzinfo=timezone.utc)
    rec = Recorder(sys.argv[1], RecordingMeta(contexts=("staging",), started_at=t0, is_drill=True,
                                              runbook="code-rollback-rollouts", non_production=True))
    i = 0
    while True:
        at = t0 + timedelta(seconds=i)
        view = LatencyView("p99", 0.5, 0.3 + i / 1000, ((at.timestamp(), 0.3 + i / 1000),), at)
        snap_id = rec.record_snapshot(PaneSnapshot("latency", "staging", view, FeedStatus(FeedState.OK, at)), at)
        step_id = rec.record("step", step_payload("code-rollback-rollouts", f"s{i}", "done"), at)
        print(f"{snap_id} {step_id} {i}", flush=True)
        i += 1
    """
)


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    remaining = deadline - time.monotonic()
    ready, _, _ = select.select([proc.stdout], [], [], max(0.0, remaining))
    if not ready:
        raise AssertionError("the recording child stopped reporting")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"the recording child exited: {proc.stderr.read() if proc.stderr else ''}")
    return line


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP], ids=["SIGKILL", "SIGHUP"])
def test_killed_recorder_leaves_a_replayable_file(tmp_path: Path, sig: signal.Signals) -> None:
    path = tmp_path / "drill.cockpit"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        line = _read_line(proc, deadline)
        # Read while it is being written: a second process's connection sees committed events.
        with Player(path) as live:
            assert not live.complete
            assert live.meta.is_drill and live.meta.runbook == "code-rollback-rollouts"
            assert live.count() >= 2
        for _ in range(150):
            line = _read_line(proc, deadline)
        proc.send_signal(sig)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    last_snap, last_step, last_i = (int(x) for x in line.split())

    with Player(path) as player:
        assert player.damage is None
        assert not player.complete  # the recorder never closed: no ended_at
        replayed = player.count()
        assert replayed >= last_step  # everything reported as written is there (ids count from 1)
        last = T0 + timedelta(seconds=last_i)
        state = player.state_at(last)
        assert state[("staging", "latency")].data.value == pytest.approx(0.3 + last_i / 1000)
        steps = player.events_between(last, last, kinds=("step",))
        assert [e.payload["step"] for e in steps] == [f"s{last_i}"]
        assert player.end >= last
    print(f"\n{sig.name}: child reported {last_step} events; the file replays {replayed}")


BOMB_CHILD = textwrap.dedent(
    """
    import resource, sys
    from cockpit.recording import Player

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Player(sys.argv[1]) as player:
        state = player.state_at(player.end)
        events = list(player.events())
        damage = player.damage
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(before // 1024, after // 1024, len(state), len(events), damage, sep="|")
    """
)


def test_a_zlib_bomb_in_a_recording_keeps_the_player_small(tmp_path: Path) -> None:
    """A snapshot and an event that each inflate to 1 GiB, written into a real recording by hand with sqlite3:
    the player (a separate process, so its peak RSS is its own) names both as damage and stays small."""
    import sqlite3
    import zlib

    from cockpit.models import FeedState, FeedStatus, LatencyView, PaneSnapshot
    from cockpit.recording import Recorder, RecordingMeta

    path = tmp_path / "bomb.cockpit"
    with Recorder(path, RecordingMeta(contexts=("staging",), started_at=T0)) as rec:
        view = LatencyView("p99", 0.5, 0.3, (), T0)
        rec.record_snapshot(PaneSnapshot("latency", "staging", view, FeedStatus(FeedState.OK, T0)), T0)
    chunk = b"A" * 2**20
    packer = zlib.compressobj(9)
    prefix = b'{"pane":"latency","context":"staging","data":"'
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(b'"}') + packer.flush()
    bomb = head + block * 1024 + tail  # 1 GiB of JSON text once inflated (the checksum never gets read)
    db = sqlite3.connect(path)
    with db:
        db.execute("INSERT INTO events (id, ts, kind, context, pane, payload, kf) VALUES (2, ?, 'snapshot', "
                   "'staging', 'latency', ?, 2)", (T0.timestamp() + 1, bomb))
        db.execute("INSERT INTO events (id, ts, kind, context, pane, payload) VALUES (3, ?, 'audit', '', '', ?)",
                   (T0.timestamp() + 2, bomb))
    db.close()
    done = subprocess.run([sys.executable, "-c", BOMB_CHILD, str(path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after, panes, events, damage = done.stdout.strip().split("|")
    assert (panes, events) == ("1", "1")
    assert "event 2" in damage and "event 3" in damage and "unpacks past 64 MiB" in damage
    print(f"\nplayer peak RSS {after} MiB (at start {before} MiB) with two 1 GiB bombs in the file")
    assert int(after) < int(before) + 150
