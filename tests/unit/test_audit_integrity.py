"""The audit log stays one whole JSON record per line, whatever a failed append leaves behind.

The issue "Nothing escapes": on a full disk the refused record's partial bytes stayed and the next record was
appended to the same line, so readers saw an "after" with no "before".
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cockpit.actions.audit import AuditError, AuditLog


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().decode().split("\n") if line]


class _FullDiskAfter:
    """``os.write`` that writes ``budget`` bytes in total, then fails with ENOSPC (a short write first)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def __call__(self, fd: int, data) -> int:
        if self.budget <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        chunk = bytes(data[: self.budget])
        self.budget -= len(chunk)
        return os.write(fd, chunk)


@pytest.mark.parametrize("budget", [0, 1, 17, 60])
def test_a_record_that_cannot_be_written_whole_is_cut_back(tmp_path: Path, budget: int) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append({"event": "before", "plan_id": "p1", "note": "x" * 40})
    size = log.path.stat().st_size
    log._write = _FullDiskAfter(budget)
    with pytest.raises(AuditError, match="No space left"):
        log.append({"event": "after", "plan_id": "p1", "note": "y" * 200})
    assert log.path.stat().st_size == size  # nothing of the failed record is left
    log._write = os.write  # the disk has room again
    log.append({"event": "before", "plan_id": "p2"})
    records = _lines(log.path)  # every line parses: no record glued to a fragment
    assert [(r["event"], r["plan_id"]) for r in records] == [("before", "p1"), ("before", "p2")]
    assert [r["plan_id"] for r in log.records()] == ["p1", "p2"]


def test_a_torn_line_left_by_a_crash_is_not_glued_to_the_next_record(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append({"event": "before", "plan_id": "p1"})
    with log.path.open("ab") as handle:
        handle.write(b'{"event":"after","plan_id":"p1","outc')  # a crash mid-write (not by AuditLog)
    log.append({"event": "before", "plan_id": "p2"})
    raw = log.path.read_bytes().decode().split("\n")
    assert raw[1] == '{"event":"after","plan_id":"p1","outc'  # kept as it was, on its own line
    assert json.loads(raw[2])["plan_id"] == "p2"
    assert [r["plan_id"] for r in log.records()] == ["p1", "p2"]


def test_a_short_write_is_completed(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")

    def dribble(fd: int, data) -> int:
        return os.write(fd, bytes(data[:7]))

    log._write = dribble
    log.append({"event": "before", "plan_id": "p1", "note": "z" * 100})
    assert _lines(log.path)[0]["note"] == "z" * 100


def test_file_size_limit_in_a_real_process(tmp_path: Path) -> None:
    """RLIMIT_FSIZE: the kernel refuses the bytes past the limit (EFBIG), like a full disk."""
    path = tmp_path / "audit.jsonl"
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        from cockpit.actions.audit import AuditError, AuditLog
        log = AuditLog({str(path)!r})
        log.append({{"event": "before", "plan_id": "p1"}})
        size = log.path.stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 50, size + 50))
        try:
            log.append({{"event": "after", "plan_id": "p1", "note": "y" * 500}})
        except AuditError as err:
            print("refused:", err)
        assert log.path.stat().st_size == size, log.path.stat().st_size
        log.append({{"event": "before", "plan_id": "p2"}})
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout
    assert [(r["event"], r["plan_id"]) for r in _lines(path)] == [("before", "p1"), ("before", "p2")]
