"""Library exceptions mapped to one error type with the reason in words."""

from __future__ import annotations

from enum import Enum


class ErrorKind(str, Enum):
    TIMEOUT = "timeout"  # no answer in time (hang)
    UNREACHABLE = "unreachable"  # connection refused / DNS / TLS
    AUTH = "auth"  # 401
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404 on the object
    MISSING = "missing"  # 404 on the API group: CRD / API not installed
    GONE = "gone"  # 410: resourceVersion too old, relist
    CONFLICT = "conflict"  # 409: stale resourceVersion
    INVALID = "invalid"  # 422
    SERVER = "server"  # 5xx
    BAD_DATA = "bad_data"  # malformed body
    CONFIG = "config"  # our own configuration is wrong
    TOO_LARGE = "too_large"  # an answer (or one watch event) over its size limit: not read
    CANCELLED = "cancelled"  # the caller stopped waiting (Cancel, quitting)


class SourceError(Exception):
    """A read or write failed; ``str(err)`` is one line a person can act on.

    The message goes through the one redactor: it often quotes a URL (with a password or a key in it) or a
    server's answer, and it is shown, logged and recorded.
    """

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None) -> None:
        from cockpit.redact import redact_text

        message = redact_text(str(message))
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message
