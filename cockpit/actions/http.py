"""Sending an :class:`~cockpit.actions.requests.HttpWrite` (the gateway's only way to an HTTP API that is not
Kubernetes), and the one read the builders make before planning one.

urllib with a timeout, a size cap on the answer and no redirects followed for writes (a redirect could carry the
credential somewhere else); HTTP statuses become the gateway's outcomes: 401/403 DENIED, 409/412 CONFLICT,
anything else that is not 2xx FAILED.  What the server says is quoted (cut short), the credential never is.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from cockpit.actions.gateway import Outcome
from cockpit.actions.requests import HttpWrite

MAX_ANSWER_BYTES = 1 << 20
_EXCERPT = 300


class HttpError(Exception):
    """A request that did not get a usable 2xx JSON answer; ``status`` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102 - refuse every redirect
        return None


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip().replace("\n", " ")
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def request(method: str, url: str, *, headers: Mapping[str, str], body: Any = None, timeout: float = 10.0) -> Any:
    """One JSON request; the decoded answer (None for an empty one).  HttpError with words otherwise."""
    return exchange(method, url, headers=headers, body=body, timeout=timeout)[0]


def exchange(method: str, url: str, *, headers: Mapping[str, str], body: Any = None,
             timeout: float = 10.0) -> tuple[Any, int]:
    """:func:`request`, with the HTTP status of the answer."""
    if not url.lower().startswith(("http://", "https://")):
        raise HttpError(f"{url!r} is not an http(s) URL")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER_BYTES + 1)
            status = response.status
    except urllib.error.HTTPError as err:
        try:
            detail = _excerpt(err.read(4096))
        except OSError:
            detail = ""
        raise HttpError(f"{method} {url} answered HTTP {err.code}" + (f": {detail}" if detail else ""),
                        err.code) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, (TimeoutError, socket.timeout)):
            raise HttpError(f"{method} {url}: no answer in {timeout:g}s") from None
        raise HttpError(f"{method} {url}: unreachable ({err.reason})") from None
    except (TimeoutError, socket.timeout):
        raise HttpError(f"{method} {url}: no answer in {timeout:g}s") from None
    except OSError as err:
        raise HttpError(f"{method} {url}: {err}") from None
    if len(raw) > MAX_ANSWER_BYTES:
        raise HttpError(f"{method} {url} answered more than {MAX_ANSWER_BYTES} bytes", status)
    if not raw.strip():
        return None, status
    try:
        return json.loads(raw), status
    except (ValueError, RecursionError):
        raise HttpError(f"{method} {url} did not answer JSON: {_excerpt(raw)}", status) from None


def send(write: HttpWrite) -> tuple[Outcome, str, Any, int | None]:
    """The gateway's send for an HttpWrite: (outcome, message, answer, status)."""
    try:
        answer, status = exchange(write.method, write.url, headers=write.send_headers(), body=write.body,
                                  timeout=write.timeout)
    except HttpError as err:
        if err.status in (401, 403):
            return Outcome.DENIED, f"{write.api} refused the credential from {write.secret_source or 'the config'}: " \
                                   f"{err}", None, err.status
        if err.status in (409, 412):
            return Outcome.CONFLICT, f"{write.api}: {err}", None, err.status
        return Outcome.FAILED, f"{write.api}: {err}", None, err.status
    summary = answer
    if isinstance(answer, dict):  # what the audit keeps: identity and the changed state, not the whole object
        summary = {key: answer[key] for key in ("id", "uuid", "feature", "enabled", "updated_at", "environment")
                   if key in answer}
    state = ""
    if isinstance(answer, dict) and isinstance(answer.get("enabled"), bool):
        state = f"; the provider now says enabled={str(answer['enabled']).lower()}"
    return Outcome.OK, f"{write.method} {write.url} accepted{state}", summary, status
