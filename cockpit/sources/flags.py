"""A feature flag's state, from a plain HTTP GET returning JSON.

The seed's first pre-flight question is "could a feature-flag flip mitigate first?" (a flip takes about a
minute and touches fewer users than any rollback).  The cockpit does not speak any one vendor's SDK: it GETs
a URL the team configures and reads the flag out of the JSON.  Shapes understood:

* a Flagsmith flags list: ``[{"feature": {"name": "catalog_v2_search_engine"}, "enabled": true,
  "feature_state_value": "meilisearch_v1"}, ...]`` (also wrapped as ``{"flags": [...]}`` by the identities
  endpoint, or ``{"results": [...]}`` when paginated);
* a list of ``{"name"|"key": ..., "enabled": ..., "value": ...}`` objects (``{"features": [...]}`` too);
* one flag object: ``{"enabled": true}``, optionally with ``name`` and ``value``.

The body is untrusted: it is size-capped, and only the fields above are read.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cockpit.sources.errors import ErrorKind, SourceError

MAX_BODY_BYTES = 4 * 1024 * 1024
_EXCERPT = 300


@dataclass(frozen=True)
class FlagState:
    name: str  # the flag's name ("" when the provider returned a bare state)
    enabled: bool | None  # None when the provider did not say
    value: Any  # feature_state_value / value, as received (JSON scalar or structure)
    source_url: str
    raw_excerpt: str  # the flag's JSON, cut to a few hundred characters, for the evidence line


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
    request = urllib.request.Request(url, headers={"Accept": "application/json", **dict(headers or {})})
    body = _get(request, url, timeout)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise SourceError(ErrorKind.BAD_DATA, f"flag provider at {url} did not return JSON") from None
    return parse_flag(document, key, url)


def _get(request: urllib.request.Request, url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            body = response.read(MAX_BODY_BYTES + 1)
    except urllib.error.HTTPError as err:
        kind = {401: ErrorKind.AUTH, 403: ErrorKind.FORBIDDEN, 404: ErrorKind.NOT_FOUND}.get(err.code)
        if kind is None:
            kind = ErrorKind.SERVER if err.code >= 500 else ErrorKind.BAD_DATA
        raise SourceError(kind, f"flag provider at {url} answered HTTP {err.code}", status=err.code) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, (TimeoutError, socket.timeout)):
            raise SourceError(ErrorKind.TIMEOUT, f"flag provider at {url} did not answer in {timeout:g}s") from None
        raise SourceError(ErrorKind.UNREACHABLE, f"flag provider at {url} unreachable: {err.reason}") from None
    except (TimeoutError, socket.timeout):
        raise SourceError(ErrorKind.TIMEOUT, f"flag provider at {url} did not answer in {timeout:g}s") from None
    except OSError as err:
        raise SourceError(ErrorKind.UNREACHABLE, f"flag provider at {url} unreachable: {err}") from None
    if len(body) > MAX_BODY_BYTES:
        raise SourceError(ErrorKind.BAD_DATA, f"flag provider at {url} sent more than {MAX_BODY_BYTES} bytes")
    return body


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
