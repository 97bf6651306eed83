"""A feature flag's state, from a plain HTTP GET returning JSON.

The seed's first pre-flight question is "could a feature-flag flip mitigate first?" (a flip takes about a
minute and touches fewer users than any rollback).  The cockpit does not speak any one vendor's SDK: it GETs
a URL the team configures and reads the flag out of the JSON.  Shapes understood:

* a Flagsmith flags list: ``[{"feature": {"name": "catalog_v2_search_engine"}, "enabled": true,
  "feature_state_value": "meilisearch_v1"}, ...]`` (also wrapped as ``{"flags": [...]}`` by the identities
  endpoint, or ``{"results": [...]}`` when paginated);
* a list of ``{"name"|"key": ..., "enabled": ..., "value": ...}`` objects (``{"features": [...]}`` too);
* one flag object: ``{"enabled": true}``, optionally with ``name`` and ``value``.

The body is untrusted: it is size-capped (``MAX_BODY_BYTES``), the request has a total deadline (``timeout``
covers connect, headers, body and any redirect: a server dripping bytes is cut there), and only the fields
above are read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cockpit.sources import limits
from cockpit.sources.errors import ErrorKind, SourceError

MAX_BODY_BYTES = limits.MAX_FLAG_BYTES
_EXCERPT = 300


@dataclass(frozen=True)
class FlagState:
    name: str  # the flag's name ("" when the provider returned a bare state)
    enabled: bool | None  # None when the provider did not say
    value: Any  # feature_state_value / value, as received (JSON scalar or structure)
    source_url: str
    raw_excerpt: str  # the flag's JSON, cut to a few hundred characters, for the evidence line
    changed_at: Any = None  # datetime of the last change (Flagsmith admin API ``updated_at``), None when unknown


def fetch_flag(
    url: str, key: str | None = None, timeout: float = 5, *, headers: Mapping[str, str] | None = None
) -> FlagState:
    """GET ``url`` and return the state of flag ``key`` (or of the only flag in the answer).

    ``headers`` carries what the provider needs, e.g. Flagsmith's ``X-Environment-Key``.
    Raises SourceError: unreachable / timeout / auth / forbidden / not_found / server / bad_data,
    and config for a URL that is not http(s).
    """
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise SourceError(ErrorKind.CONFIG, f"flag URL {url!r} must start with http:// or https://")
    body = _get(url, {"Accept": "application/json", **dict(headers or {})}, timeout)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise SourceError(ErrorKind.BAD_DATA, f"flag provider at {url} did not return JSON") from None
    return parse_flag(document, key, url)


def _get(url: str, headers: dict[str, str], timeout: float) -> bytes:
    from cockpit.sources import IMPORT_LOCK

    with IMPORT_LOCK:
        import requests

    session = requests.Session()
    adapter = limits.bounded_adapter(limit=MAX_BODY_BYTES, what=f"the flag provider at {url}", seconds=timeout,
                                     max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    try:
        with limits.Deadline(timeout, f"the flag provider at {url}"):
            response = session.get(url, headers=headers, timeout=timeout)
    except SourceError as err:
        if err.kind is ErrorKind.TOO_LARGE:
            raise SourceError(ErrorKind.TOO_LARGE, f"flag provider at {url} sent more than {MAX_BODY_BYTES} bytes") \
                from None
        raise
    except requests.exceptions.Timeout:
        raise SourceError(ErrorKind.TIMEOUT, f"flag provider at {url} did not answer in {timeout:g}s") from None
    except requests.exceptions.RequestException as err:
        raise SourceError(ErrorKind.UNREACHABLE, f"flag provider at {url} unreachable: {_reason(err)}") from None
    finally:
        session.close()
    if response.status_code >= 400:
        code = response.status_code
        kind = {401: ErrorKind.AUTH, 403: ErrorKind.FORBIDDEN, 404: ErrorKind.NOT_FOUND}.get(code)
        if kind is None:
            kind = ErrorKind.SERVER if code >= 500 else ErrorKind.BAD_DATA
        raise SourceError(kind, f"flag provider at {url} answered HTTP {code}", status=code)
    return response.content


def _reason(err: BaseException) -> str:
    """Why the connection failed, in a few words (never the exception text: it carries the URL and headers)."""
    import socket
    import ssl

    seen: list[BaseException] = []
    todo: list[BaseException] = [err]
    while todo and len(seen) < 32:
        current = todo.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        todo.extend(e for e in (getattr(current, "reason", None), current.__cause__, current.__context__,
                                *current.args) if isinstance(e, BaseException))
    for types, words in (((ConnectionRefusedError,), "connection refused"), ((socket.gaierror,), "unknown host"),
                         ((ssl.SSLError,), "TLS failed"), ((ConnectionResetError,), "connection reset")):
        if any(isinstance(e, types) for e in seen):
            return words
    if any("NameResolution" in type(e).__name__ for e in seen):
        return "unknown host"
    return "connection failed"


def parse_flag(document: Any, key: str | None, source_url: str = "") -> FlagState:
    """The flag ``key`` out of a decoded JSON answer (pure; see the module docstring for the shapes)."""
    items = _flag_items(document)
    if items is None:
        raise SourceError(ErrorKind.BAD_DATA, f"flag answer from {source_url} has no flag in a known shape")
    if key is None:
        if len(items) != 1:
            names = ", ".join(_name(item) or "?" for item in items[:5])
            raise SourceError(ErrorKind.CONFIG, f"{len(items)} flags at {source_url} ({names}): configure the flag key")
        return _state(items[0], source_url)
    for item in items:
        if _name(item) == key:
            return _state(item, source_url)
    if len(items) == 1 and not _name(items[0]):  # a bare state from a per-flag URL
        return _state(items[0], source_url, name=key)
    raise SourceError(ErrorKind.NOT_FOUND, f"flag {key} not in the answer from {source_url}")


def _flag_items(document: Any) -> list[dict[str, Any]] | None:
    if isinstance(document, dict):
        for wrapper in ("flags", "results", "features"):
            if isinstance(document.get(wrapper), list):
                return [item for item in document[wrapper] if isinstance(item, dict)]
        if "enabled" in document or "feature" in document:
            return [document]
        return None
    if isinstance(document, list):
        return [item for item in document if isinstance(item, dict)]
    return None


def _name(item: dict[str, Any]) -> str:
    feature = item.get("feature")
    if isinstance(feature, dict) and isinstance(feature.get("name"), str):
        return feature["name"]
    for field in ("name", "key"):
        if isinstance(item.get(field), str):
            return item[field]
    return ""


def _state(item: dict[str, Any], source_url: str, name: str = "") -> FlagState:
    enabled = item.get("enabled")
    value = item.get("feature_state_value", item.get("value"))
    try:
        excerpt = json.dumps(item, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        excerpt = repr(item)
    if len(excerpt) > _EXCERPT:
        excerpt = excerpt[: _EXCERPT - 1] + "…"
    return FlagState(
        name=_name(item) or name,
        enabled=enabled if isinstance(enabled, bool) else None,
        value=value,
        source_url=source_url,
        raw_excerpt=excerpt,
    )
