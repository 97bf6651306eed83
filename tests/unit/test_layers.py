"""The layers hold, with no exemptions: the session core never reaches the UI, widgets only draw.

Layers (the design card, ../shared/STYLE.md 2.1 and 2.9):

* **UI**: ``cockpit/app.py`` (the App: wiring), ``cockpit/cli.py`` and ``__main__.py`` (the entry point),
  ``screens/`` (installed as ``cockpit.screens``) and ``widgets/`` (``cockpit.widgets``);
* **core**: every other module under ``cockpit/`` -- it never imports Textual, the App, a screen or a widget;
* **widgets** draw what the store holds: never a screen, never a module that does I/O (sources' transports,
  actions, the session), never a client library.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI_MODULES = ("textual", "cockpit.app", "cockpit.cli", "cockpit.screens", "cockpit.widgets", "screens", "widgets")
UI_FILES = {"cockpit/app.py", "cockpit/cli.py", "cockpit/__main__.py"}
IO = ("cockpit.sources.kube", "cockpit.sources.kubeauth", "cockpit.sources.prometheus", "cockpit.sources.s3",
      "cockpit.sources.flags", "cockpit.sources.gitrepo", "cockpit.actions", "cockpit.session.core",
      "cockpit.session.facts", "cockpit.session.runs", "cockpit.evidence", "cockpit.feeds", "kubernetes", "boto3",
      "botocore", "git", "prometheus_api_client", "urllib3", "requests")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _is(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_core_never_imports_the_ui():
    offenders = {}
    for path in sorted((ROOT / "cockpit").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in UI_FILES:
            continue
        bad = sorted(name for name in imported(path) if _is(name, UI_MODULES))
        if bad:
            offenders[rel] = bad
    assert offenders == {}


def test_widgets_only_draw():
    offenders = {}
    for path in sorted((ROOT / "widgets").rglob("*.py")):
        bad = sorted(name for name in imported(path)
                     if _is(name, ("cockpit.screens", "screens", "cockpit.app", "cockpit.cli")) or _is(name, IO))
        if bad:
            offenders[path.relative_to(ROOT).as_posix()] = bad
    assert offenders == {}


def test_screens_reach_the_world_only_through_the_session():
    """Screens route keys to the session's API; they never build a client or send a request themselves."""
    offenders = {}
    for path in sorted((ROOT / "screens").rglob("*.py")):
        bad = sorted(name for name in imported(path) if _is(name, ("kubernetes", "boto3", "botocore", "git",
                                                                   "prometheus_api_client", "urllib3", "requests",
                                                                   "cockpit.sources.kube", "cockpit.feeds",
                                                                   "cockpit.evidence", "cockpit.actions.gateway")))
        if bad:
            offenders[path.relative_to(ROOT).as_posix()] = bad
    assert offenders == {}


def test_the_shipped_packages_are_cockpit_only():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = project["tool"]["setuptools"]["packages"]
    assert all(name == "cockpit" or name.startswith("cockpit.") for name in packages)
    assert {"cockpit.screens", "cockpit.widgets"} <= set(packages)
    assert not any("bench" in name for name in packages)
