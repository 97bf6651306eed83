"""The audit log: append-only JSON Lines, one record before each write is sent and one after its answer.

Why a local file and not only Kubernetes Events: Argo CD's maintainers consider Events enough (ASKS: argo-cd#7707),
but Events expire after an hour and say nothing about S3, git or helm.  The same file doubles as the drill-replay
source (MECHANICS, "What follows" 6), so every record carries the exact request, the dry-run result and the outcome.

Guarantees:

* **append-only**: the file is opened with ``O_APPEND`` for every record and never rewritten or truncated;
* **durable before sending**: each record is flushed and ``fsync``'d before :meth:`AuditLog.append` returns, so
  the gateway can refuse to send a write whose "before" record did not reach the disk;
* **no secrets**: every record goes through :func:`redact` first: Authorization headers, tokens, passwords,
  AWS keys, bearer strings and the ``data``/``stringData`` of Secret objects are replaced with ``<redacted>``.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REDACTED = "<redacted>"

# Key names whose *string* values are credentials.  A dict under such a key (a CNPG ``secretAccessKey`` is a
# {name, key} reference to a Secret, not the secret) is kept and walked.
_SECRET_KEY = re.compile(
    r"(authorization|token|passw(or)?d|secret|api[-_]?key|access[-_]?key|private[-_]?key|credential|"
    r"session[-_]?key|client[-_]?key|cookie|bearer)",
    re.IGNORECASE,
)
_SECRET_TEXT = (
    re.compile(r"\bbearer\s+\S+", re.IGNORECASE),
    re.compile(r"\bbasic\s+[A-Za-z0-9+/=]{8,}", re.IGNORECASE),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWTs (service account tokens)
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
)
_MAX_DEPTH = 64


def redact(value: Any, *, _depth: int = 0) -> Any:
    """A copy of ``value`` safe to write down: credentials replaced with ``<redacted>``.

    Pure and total: never raises, never mutates its input.  Walks dicts and lists; a Secret object (``kind:
    Secret``) loses the values of its ``data`` and ``stringData`` but keeps their keys (which key changed is
    useful, its content never is).
    """
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        is_secret = value.get("kind") == "Secret"
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if is_secret and name in ("data", "stringData") and isinstance(item, Mapping):
                out[name] = {str(k): REDACTED for k in item}
            elif _SECRET_KEY.search(name) and not isinstance(item, (Mapping, list, tuple)) and item not in (None, ""):
                out[name] = REDACTED
            else:
                out[name] = redact(item, _depth=_depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(item, _depth=_depth + 1) for item in value]
    if isinstance(value, str):
        return _redact_text(value)
    return value


def _redact_text(text: str) -> str:
    for pattern in _SECRET_TEXT:
        text = pattern.sub(REDACTED, text)
    return text


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

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Redact, write one line, fsync; return what was written.  AuditError when it did not reach the disk."""
        clean = redact(dict(record))
        line = json.dumps(clean, ensure_ascii=False, default=str, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    written = os.write(fd, data)
                    if written != len(data):
                        raise OSError(f"short write ({written} of {len(data)} bytes)")
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as err:
                raise AuditError(f"cannot write the audit log {self.path}: {err.strerror or err}") from None
        return clean

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record in the file, oldest first (a torn last line is skipped)."""
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
