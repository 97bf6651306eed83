"""The audit log: append-only JSON Lines, one record before each write is sent and one after its answer.

Why a local file and not only Kubernetes Events: Argo CD's maintainers consider Events enough (ASKS: argo-cd#7707),
but Events expire after an hour and say nothing about S3, git or helm.  The same file doubles as the drill-replay
source (MECHANICS, "What follows" 6), so every record carries the exact request, the dry-run result and the outcome.

Guarantees:

* **append-only**: the file is opened with ``O_APPEND`` for every record and never rewritten; the only truncation
  is of the bytes a failed append itself left behind, so the file stays one whole JSON record per line;
* **durable before sending**: each record is flushed and ``fsync``'d before :meth:`AuditLog.append` returns, so
  the gateway can refuse to send a write whose "before" record did not reach the disk;
* **no secrets**: every record goes through the one redactor (:mod:`cockpit.redact`) first: Authorization headers,
  tokens, passwords, AWS keys, private keys, secret env values and the ``data``/``stringData`` of Secret objects
  are replaced with ``[REDACTED]``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cockpit.redact import REDACTED, redact_value

__all__ = ["REDACTED", "AuditError", "AuditLog", "default_audit_path", "redact"]



def redact(value: Any) -> Any:
    """A copy of ``value`` safe to write down: the one redactor's rules (:mod:`cockpit.redact`)."""
    return redact_value(value)


def default_audit_path() -> Path:
    """``<user state dir>/cockpit/audit.jsonl`` (``~/.local/state/cockpit/audit.jsonl`` on Linux)."""
    from platformdirs import user_state_path

    return user_state_path("cockpit", appauthor=False) / "audit.jsonl"


class AuditError(Exception):
    """The record could not be written; the write it describes must not be sent."""


class AuditLog:
    """Appends records to one JSON Lines file; safe to call from several worker threads."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_audit_path()
        self._lock = threading.Lock()
        self._write = os.write  # tests inject a failing write here

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Redact, write one line, fsync; return what was written.  AuditError when it did not reach the disk.

        The file stays one JSON record per line whatever happens: the append runs under an exclusive ``flock``
        (several cockpits may share the file), remembers the file's size first, and when the record cannot be
        written whole (disk full, file size limit, I/O error, fsync failure) truncates the file back to that
        size, so no partial record is left for the next one to be glued to.  A partial last line left by a crash
        (not by this code) is never rewritten: the next record starts on a new line, and readers skip the torn one.
        """
        clean = redact(dict(record))
        line = json.dumps(clean, ensure_ascii=False, default=str, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    self._append_locked(fd, data)
                finally:
                    os.close(fd)
            except OSError as err:
                raise AuditError(f"cannot write the audit log {self.path}: {err.strerror or err}") from None
        return clean

    def _append_locked(self, fd: int, data: bytes) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            start = os.fstat(fd).st_size
            if start > 0 and os.pread(fd, 1, start - 1) != b"\n":
                data = b"\n" + data  # a torn line from a crash: ours starts on a line of its own
            try:
                view = memoryview(data)
                while view:
                    written = self._write(fd, view)
                    if written <= 0:
                        raise OSError(f"short write ({len(data) - len(view)} of {len(data)} bytes)")
                    view = view[written:]
                os.fsync(fd)
            except BaseException:
                _truncate_back(fd, start)
                raise
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record in the file, oldest first (a torn line is skipped)."""
        try:
            handle = self.path.open("r", encoding="utf-8")
        except FileNotFoundError:
            return
        with handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record


def _truncate_back(fd: int, size: int) -> None:
    """Cut off what a failed append left after ``size`` (best effort: the append's own error is what is raised)."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass
