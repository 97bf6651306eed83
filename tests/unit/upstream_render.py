"""Shared by tests/unit/test_upstream_*.py: load the vendored upstream test data, render a pane to plain text."""

from __future__ import annotations

import copy
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

UPSTREAM = Path(__file__).resolve().parent.parent / "fixtures" / "upstream"
NOW = datetime(2026, 5, 20, 14, 27, tzinfo=timezone.utc)
A_WEEK_AGO = NOW - timedelta(days=7)


def load(rel: str) -> Any:
    with (UPSTREAM / rel).open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def load_dir(rel: str, *, created: datetime | None = A_WEEK_AGO) -> dict[str, list[dict[str, Any]]]:
    """Every object in an upstream testdata directory, by kind.  Like argo-rollouts' testdata.discoverObjects,
    every creationTimestamp is set to a week ago (so ages read ``7d`` and ties sort by name, as in get_test.go)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((UPSTREAM / rel).glob("*.yaml")):
        obj = yaml.safe_load(path.read_text(encoding="utf-8"))
        if created is not None:
            obj.setdefault("metadata", {})["creationTimestamp"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        found.setdefault(obj["kind"], []).append(obj)
    return found


def merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def render(widget: Any, data: Any, *, width: int = 120, now: datetime = NOW) -> str:
    """The pane widget's own ``render_data`` + ``summarize`` as plain text (no app, no Textual event loop)."""
    with open(os.devnull, "w") as sink:
        console = Console(width=width, record=True, file=sink, color_system=None, legacy_windows=False)
        console.print(widget.render_data(data, now))
        console.print(widget.summarize(data, now))
    return console.export_text()
