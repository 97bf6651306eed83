"""The one-way flows hold: the core (cockpit/) never imports Textual, screens or widgets; widgets see only the core.

Entry points that wire the UI (app, cli, replay, the demo's run_demo) are the exceptions.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI = ("textual", "screens", "widgets")
WIRING = {"cockpit/app.py", "cockpit/cli.py", "cockpit/replay.py", "cockpit/demo/platform.py"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_does_not_import_the_ui():
    offenders = {}
    for path in sorted((ROOT / "cockpit").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in WIRING:
            continue
        bad = sorted(name for name in imported(path) if name.split(".")[0] in UI)
        if bad:
            offenders[rel] = bad
    assert offenders == {}


def test_widgets_do_not_import_screens_or_sources_with_io():
    for path in sorted((ROOT / "widgets").rglob("*.py")):
        names = imported(path)
        assert not [n for n in names if n.startswith("screens")], path
        assert not [n for n in names if n.startswith(("cockpit.sources.kube", "cockpit.actions", "kubernetes",
                                                      "boto3", "git"))], path
