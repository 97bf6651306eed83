"""Reading untrusted API objects: every accessor returns the expected type or an empty default, never raises.

Parsers see whatever a cluster (or a hostile object) sends: a field that should be a map may be a string, a
count may be a bool, a list may be null.  These few functions keep that logic in one place.
"""

from __future__ import annotations

from typing import Any


def as_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_items(value: Any) -> list[dict[str, Any]]:
    """The dict entries of a list (anything else in it is dropped)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, (list, tuple)) else []
