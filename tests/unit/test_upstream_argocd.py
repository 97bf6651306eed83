"""Argo CD history as ``argocd app history`` prints it, on the entries of argo-cd's own app_test.go.

Objects: tests/fixtures/upstream/argo-cd/transcribed/app_test_history.yaml.  Expected values: the REVISION cells
of TestPrintApplicationHistoryTable and TestPrintApplicationHistoryTableWithMultipleSources
(cmd/argocd/commands/app.go printApplicationHistoryTable).
"""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.sources.argocd import parse_application
from tests.unit.upstream_render import load, render
from cockpit.widgets.argocd_pane import ArgoCDPane

HISTORY = load("argo-cd/transcribed/app_test_history.yaml")


def _app(history: list[dict[str, Any]], conditions: list[dict[str, Any]] | None = None) -> Any:
    return parse_application({
        "metadata": {"name": "guestbook", "namespace": "argocd"},
        "spec": {"source": {"repoURL": "test", "targetRevision": "HEAD"}},
        "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}, "history": history,
                   **({"conditions": conditions} if conditions else {})},
    })


@pytest.mark.parametrize("case", HISTORY["cases"], ids=[case["test"] for case in HISTORY["cases"]])
def test_history_revision_as_argocd_app_history(case: dict[str, Any]) -> None:
    """app_test.go TestPrintApplicationHistoryTable*: each entry's REVISION, parser and pane."""
    app = _app(case["history"])
    assert {entry.id: entry.cli_revision for entry in app.history} == case["expect"]
    text = render(ArgoCDPane(1), app, width=140)
    for revision in case["expect"].values():
        assert revision in text


def test_target_revision_kept_when_the_sync_revision_is_empty() -> None:
    """printApplicationHistoryTable prints the source's targetRevision (a chart version here) even when the
    entry's revision is empty; the pane used to show a dash."""
    app = _app([{"id": 8, "revision": "", "source": {"targetRevision": "1.4.2", "chart": "guestbook",
                                                      "repoURL": "https://charts.example.com"}}])
    assert app.history[0].cli_revision == "1.4.2"
    assert "1.4.2" in render(ArgoCDPane(1), app, width=140)
    assert "1.4.2" in render(ArgoCDPane(1), app, width=60)  # the narrow layout too


def test_long_target_revision_keeps_the_commit() -> None:
    """A long branch name is shortened in the middle: the commit in brackets survives."""
    branch = "release/2026-05-20-hotfix-for-the-checkout-latency-regression"
    app = _app([{"id": 9, "revision": "9b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2b4d6f8a0c",
                 "source": {"targetRevision": branch, "repoURL": "test"}}])
    text = render(ArgoCDPane(1), app, width=100)
    assert "(9b4d6f8)" in text and "release/" in text


def test_application_conditions_shown() -> None:
    """status.conditions (ComparisonError, SyncError, …) are shown, errors and warnings apart."""
    app = _app([{"id": 1, "source": {"targetRevision": "HEAD", "repoURL": "test"}}], conditions=[
        {"type": "ComparisonError", "message": "rpc error: code = Unknown desc = authentication required"},
        {"type": "OrphanedResourceWarning", "message": "Application has 1 orphaned resources"},
    ])
    text = render(ArgoCDPane(1), app, width=140)
    assert "✗ ComparisonError: rpc error: code = Unknown desc = authentication required" in text
    assert "⚠ OrphanedResourceWarning: Application has 1 orphaned resources" in text
