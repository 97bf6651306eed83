"""`cockpit watch`: a mirror process follows a live session's recording as it is written.

The driver is a live session on the demo platform (real HTTP servers), recording to a file; the mirror is another
process (``tests/integration/mirror_probe.py``) with every socket connection refused.  The mirror shows what the
driver's panes show within a second of each change, sends nothing anywhere, and refuses every action with words.
A recording shared with a group is followed by a member of that group, and not by anyone else.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cockpit.models import FeedState, FeedStatus, PaneSnapshot
from cockpit.recording import Player, Recorder, RecordingMeta, marker_payload, step_payload
from tests.integration.mirror_probe import fingerprint
from tests.integration.team_driver import Driver
from tests.unit.test_recording import latency_view, rollout_view

ROOT = Path(__file__).resolve().parents[2]
LAG_SECONDS = 1.0  # "a second or less behind"


class Probe:
    """The mirror process, its lines read in a thread."""

    def __init__(self, recording: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.integration.mirror_probe", str(recording)],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def until(self, predicate: Any, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.01, left))
            except queue.Empty:
                line = None
            if line is not None:
                self.seen.append(line)
                if predicate(line):
                    return line
            if time.monotonic() >= deadline:
                raise AssertionError(f"the mirror did not show {what} in {timeout}s; last lines: {self.seen[-3:]}")

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self) -> dict[str, Any]:
        self.send("quit")
        bye = self.until(lambda line: "bye" in line, 10, "its goodbye")
        self.proc.wait(10)
        return bye


@pytest.fixture
def driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    environ: dict[str, str] = {}
    live = Driver(tmp_path / "incident.cockpit", tmp_path / "demo", environ)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    try:
        yield live.settled()
    finally:
        live.close()


def test_a_mirror_process_follows_the_live_session_within_a_second(driver, tmp_path):
    probe = Probe(tmp_path / "incident.cockpit")
    try:
        changed_at = driver.quiet()
        expected = fingerprint(driver.session, driver.context)
        shown = probe.until(lambda line: line.get("panes") == expected, 20, "the driver's panes (start-up)")
        assert all(json.loads(value)[0] == "ok" for value in shown["panes"].values())

        # the driver aborts the canary: the mirror shows the same panes a second or less later
        driver.abort()
        changed_at = driver.quiet()
        expected = fingerprint(driver.session, driver.context)
        assert json.loads(expected["rollout"])[1][3] is True  # aborted
        shown = probe.until(lambda line: line.get("panes") == expected, 5, "the abort")
        assert shown["mono"] - changed_at <= LAG_SECONDS, f"{shown['mono'] - changed_at:.2f}s behind"

        # every action a viewer could try is refused with words, and nothing is sent anywhere
        probe.send("act")
        refused = probe.until(lambda line: "refused" in line, 10, "the refusals")["refused"]
        assert all("PLANNED" not in words for words in refused), refused
        assert all("live mirror" in words for words in refused if words.split(":")[0] in (
            "abort", "retry", "promote", "promote-full", "undo")), refused
        assert "not recorded" in refused[-1] or "replay" in refused[-1]
    finally:
        bye = probe.close()
    assert bye["attempts"] == []  # not one connection attempt
    assert not any("connect" in line for line in probe.seen)
    # the viewer wrote nothing: the driver's audit log has the driver's records only
    records = [json.loads(line) for line in (tmp_path / "demo" / "audit-alice.jsonl").read_text().splitlines()]
    assert {r.get("confirmed_by") for r in records} == {"alice"}


# --------------------------------------------------------------------------- the feed, without a platform

T0 = datetime(2026, 5, 20, 14, 0, tzinfo=timezone.utc)
CTX = "prod-us-east"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_mirror_feed_takes_the_newest_rows_and_says_when_the_session_ended(tmp_path):
    from cockpit.config import build_settings
    from cockpit.session.follow import FollowClock, mirror_session

    path = tmp_path / "live.cockpit"
    rec = Recorder(path, RecordingMeta(contexts=(CTX,), started_at=T0))
    rec.record_snapshot(PaneSnapshot("rollout", CTX, rollout_view(), FeedStatus(FeedState.OK, at(1))), at(1))
    player = Player(path)
    session = mirror_session(build_settings({}), player, poll=0.05)
    feed = session.replay
    try:
        assert feed.catch_up() and session.current(CTX, "rollout").paused
        assert not feed.catch_up()  # nothing new
        assert isinstance(session.clock, FollowClock) and session.clock.now() >= at(1)
        assert "live mirror" in (session.why_read_only(CTX) or "")
        rec.record("step", step_payload("code-rollback-rollouts", "abort", "asked", index=2,
                                        title="Abort the canary"), at(5), context=CTX)
        rec.record("audit", {"event": "before", "confirmed_by": "alice", "action": "rollouts.abort"}, at(6),
                   context=CTX)
        rec.record_snapshot(PaneSnapshot("rollout", CTX, rollout_view(aborted=True),
                                         FeedStatus(FeedState.OK, at(6))), at(6))
        rec.record_snapshot(PaneSnapshot("latency", CTX, latency_view(0.3, at(7)), FeedStatus(FeedState.OK, at(7))),
                            at(7))
        assert feed.catch_up()
        assert session.current(CTX, "rollout").aborted and session.current(CTX, "latency").value == 0.3
        assert feed.person == "alice" and feed.last_step["state"] == "asked"
        assert not feed.ended
        rec.record("marker", marker_payload("note", text="bye"), at(9), context=CTX)
        rec.close(ended_at=at(10))
        assert feed.catch_up() and feed.ended
        assert session.clock.now() == at(10)  # the clock stands still at the end
    finally:
        session.stop()
        player.close()


# --------------------------------------------------------------------------- sharing through the group

NOGROUP = 65534


def _demote(gid: int) -> Any:
    def run() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(NOGROUP)

    return run


READER = """
import json, sys, time
from cockpit.recording.player import Player
player = Player(sys.argv[1])
seen = []
for _ in range(60):
    seen.append(player.last_id())
    if seen[-1] >= int(sys.argv[2]):
        break
    time.sleep(0.05)
print(json.dumps(seen))
"""


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="needs root to act as another user")
def test_a_group_shared_recording_is_followed_by_the_group_only(tmp_path):
    import grp
    import tempfile

    try:
        grp.getgrgid(NOGROUP)
    except KeyError:
        pytest.skip("no group 65534 here")
    base = Path(tempfile.mkdtemp(prefix="cockpit-shared-", dir="/tmp"))
    os.chmod(base, 0o755)  # a bastion's /srv: others may enter, the recordings directory decides
    try:
        path = base / "incidents" / "inc-4711.cockpit"
        rec = Recorder(path, RecordingMeta(contexts=(CTX,), started_at=T0), group=str(NOGROUP))
        assert rec.shared.startswith("readable by group")
        assert oct(path.stat().st_mode & 0o7777) == "0o640" and path.stat().st_gid == NOGROUP
        assert oct(path.parent.stat().st_mode & 0o7777) == "0o2750" and path.parent.stat().st_gid == NOGROUP
        rec.record("marker", marker_payload("note", text="one"), at(1), context=CTX)
        version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        site = Path(sys.prefix) / "lib" / version / "site-packages"  # the venv's packages, its python is root's
        env = {"PYTHONPATH": f"{ROOT}:{site}", "PATH": "/usr/bin:/bin", "HOME": str(base)}
        python = f"/usr/bin/{version}"
        if not Path(python).exists():
            pytest.skip(f"no {python} to run as another user")

        def reader(gid: int, until: int) -> subprocess.Popen[str]:
            return subprocess.Popen([python, "-c", READER, str(path), str(until)], preexec_fn=_demote(gid),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(base), env=env)

        member = reader(NOGROUP, 4)
        time.sleep(0.3)
        for n in range(2, 5):  # the member follows rows written while it reads (WAL, read-only -shm)
            rec.record("marker", marker_payload("note", text=str(n)), at(n), context=CTX)
            time.sleep(0.1)
        out, err = member.communicate(timeout=30)
        assert member.returncode == 0, err
        seen = json.loads(out)
        assert seen[-1] == 4 and seen[0] < 4, seen
        for wal in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert oct(wal.stat().st_mode & 0o777) == "0o640" and wal.stat().st_gid == NOGROUP
        stranger = reader(1, 1)  # gid 1 (daemon): not in the group
        out, err = stranger.communicate(timeout=30)
        assert stranger.returncode != 0 and "Permission denied" in err
        rec.close()
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def test_recording_group_and_dir_from_settings(tmp_path):
    import grp

    from cockpit.config import build_settings
    from cockpit.session import start_recording
    from cockpit.session.targets import ContextTarget

    group = grp.getgrgid(os.getgid()).gr_name
    settings = build_settings({"recording_dir": str(tmp_path / "team" / "recordings"), "recording_group": group})
    target = ContextTarget(CTX, Path("/nonexistent"), "ns", False, False, None)
    sink, note = start_recording(settings, [target], now=T0)
    try:
        assert sink is not None and str(tmp_path / "team" / "recordings") in note
        assert f"readable by group {group}" in note or "cannot reach it" in note
        assert oct(sink.path.stat().st_mode & 0o777) == "0o640"
        assert oct((tmp_path / "team").stat().st_mode & 0o7777) == "0o2750"
    finally:
        sink.close()
    private, note = start_recording(build_settings({"record": str(tmp_path / "private.cockpit")}), [target], now=T0)
    try:
        assert oct(private.path.stat().st_mode & 0o777) == "0o600"  # no group configured: private, as before
    finally:
        private.close()
    missing, note = start_recording(build_settings({"record": str(tmp_path / "x.cockpit"),
                                                    "recording_group": "no-such-group-here"}), [target], now=T0)
    assert missing is None and "no such group" in note
