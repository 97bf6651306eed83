"""The bounds' building blocks: deadlines (nesting, cancel, quitting), the watch line reader, bounded processes."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from cockpit.sources import limits
from cockpit.sources.errors import ErrorKind, SourceError
from cockpit.sources.limits import Deadline, LineReader


# --------------------------------------------------------------------------- deadlines


def test_a_deadline_fires_its_callbacks_once_and_says_why() -> None:
    fired = threading.Event()
    with Deadline(0.05, "the test server") as deadline:
        deadline.on_fire(fired.set)
        assert fired.wait(5), "the watchdog never fired"
        assert deadline.fired and deadline.remaining() == 0
        err = deadline.error()
        assert err.kind is ErrorKind.TIMEOUT
        assert str(err) == "no complete answer from the test server within 0.05s"
        late = threading.Event()
        deadline.on_fire(late.set)  # registered after firing: called at once
        assert late.is_set()


def test_a_closed_deadline_calls_nothing() -> None:
    called: list[str] = []
    with Deadline(0.05, "x") as deadline:
        deadline.on_fire(lambda: called.append("fired"))
    time.sleep(0.1)
    assert called == []


def test_children_end_with_their_parent_and_say_what_they_waited_for() -> None:
    with Deadline(None, "planning the rollback") as plan:
        with Deadline(30, "the Kubernetes API (GET rollouts/checkout)") as request:
            assert request.parent is plan
            assert plan.waiting_for() == ["the Kubernetes API (GET rollouts/checkout)"]
            plan.cancel()
            assert request.fired
            err = request.error()
            assert err.kind is ErrorKind.CANCELLED
            assert str(err) == "stopped waiting for the Kubernetes API (GET rollouts/checkout): cancelled"
        assert plan.waiting_for() == []


def test_a_child_ends_no_later_than_its_parent() -> None:
    with Deadline(0.05, "the plan") as plan:
        with Deadline(60, "a request") as request:
            assert request.at == plan.at
            with pytest.raises(SourceError) as caught:
                while True:
                    request.check()
                    time.sleep(0.01)
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert "a request" in str(caught.value) and "the plan ran out of time" in str(caught.value)


def test_the_current_deadline_crosses_into_to_thread() -> None:
    import asyncio

    async def main() -> Deadline | None:
        with Deadline(None, "scope"):
            return await asyncio.to_thread(limits.current)

    found = asyncio.run(main())
    assert found is not None and found.what == "scope"


def test_abandon_all_ends_every_request_in_flight() -> None:
    ended = threading.Event()
    seen: list[SourceError] = []

    def worker() -> None:
        with Deadline(60, "a server that never answers") as deadline:
            deadline.on_fire(ended.set)
            ended.wait(10)
            seen.append(deadline.error())

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    while not limits._LIVE:
        time.sleep(0.01)
    assert limits.abandon_all() >= 1
    thread.join(5)
    assert seen and seen[0].kind is ErrorKind.CANCELLED
    assert "the cockpit is quitting" in str(seen[0])


# --------------------------------------------------------------------------- the watch line reader


def test_lines_split_anywhere_come_out_whole() -> None:
    reader = LineReader(100, "event")
    stream = b'{"a":1}\n{"b":2}\n\n{"c":3}\n'
    out: list[bytes] = []
    for size in (1, 2, 3, 7):
        reader = LineReader(100, "event")
        out = []
        for start in range(0, len(stream), size):
            out.extend(reader.feed(stream[start:start + size]))
        assert out == [b'{"a":1}', b'{"b":2}', b"", b'{"c":3}']
        assert reader.buffered == 0


def test_a_line_over_the_limit_is_refused_as_soon_as_it_passes_it() -> None:
    reader = LineReader(10, "watch event")
    assert list(reader.feed(b"0123456789\n")) == [b"0123456789"]  # exactly the limit is fine
    list(reader.feed(b"01234"))
    with pytest.raises(SourceError) as caught:
        list(reader.feed(b"567890"))
    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert str(caught.value) == "watch event larger than 10 bytes: connection dropped"
    assert reader.peak_buffered <= 11 and reader.buffered == 0


def test_an_endless_line_is_scanned_once() -> None:
    """Each byte is looked at once: the pending line is never rescanned nor re-concatenated per chunk."""
    reader = LineReader(limits.MiB, "event")
    chunk = b"x" * 4096
    with pytest.raises(SourceError):
        while True:
            list(reader.feed(chunk))
    assert reader.scanned <= limits.MiB + 4096
    assert len(reader._pending) == 0


def test_size_words() -> None:
    assert limits.size_words(16 * limits.MiB) == "16 MiB"
    assert limits.size_words(64 * 1024) == "64 KiB"
    assert limits.size_words(1536 * 1024) == "1.5 MiB"
    assert limits.size_words(10) == "10 bytes"


# --------------------------------------------------------------------------- processes


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport os, sys, time\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_a_process_gets_no_terminal_and_no_stdin(tmp_path: Path) -> None:
    probe = script(tmp_path, "probe.py", """
try:
    os.open("/dev/tty", os.O_RDWR)
    tty = "opened"
except OSError:
    tty = "refused"
print(repr(sys.stdin.read()), tty, os.getsid(0) == os.getpid())
sys.stderr.write("x" * 100000)
""")
    result = limits.run_process([probe], what="probe", seconds=10, max_stderr=1000)
    assert result.returncode == 0
    assert result.stdout.split() == [b"''", b"refused", b"True"]
    assert len(result.stderr) == 1000 and result.stderr_cut


def test_a_hanging_process_is_killed_with_its_children(tmp_path: Path) -> None:
    import os

    pids = tmp_path / "pids"
    hang = script(tmp_path, "hang.py", f"""
import subprocess
child = subprocess.Popen(["sleep", "300"])
open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
time.sleep(300)
""")
    with pytest.raises(SourceError) as caught:
        limits.run_process([hang], what="credential plugin hang.py", seconds=1.0)
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert str(caught.value) == "credential plugin hang.py did not answer within 1s"
    for pid in map(int, pids.read_text().split()):
        for _ in range(100):  # the child is reaped by init: give it a moment
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            if Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"process {pid} survived the timeout")


def test_endless_output_is_cut(tmp_path: Path) -> None:
    noisy = script(tmp_path, "noisy.py", "while True: sys.stdout.write('y' * 65536)")
    with pytest.raises(SourceError) as caught:
        limits.run_process([noisy], what="plugin noisy.py", seconds=20, max_stdout=limits.MiB)
    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert str(caught.value) == "output of plugin noisy.py larger than 1 MiB: not read"


def test_a_missing_program_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        limits.run_process([str(tmp_path / "nope")], what="credential plugin nope", seconds=5)
    assert caught.value.kind is ErrorKind.CONFIG and "not found" in str(caught.value)
