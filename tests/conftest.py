"""Shared fixtures: real servers on 127.0.0.1 (Kubernetes API emulator, Prometheus, S3), real git repos."""

from __future__ import annotations

import os

# The test process leaves the developer's cache of compiled dataclass methods alone (cockpit/codecache.py; set
# before anything imports cockpit).  Cockpits the tests start get their own HOME, and their own cache, from
# _isolated_env below.
os.environ["COCKPIT_CODE_CACHE"] = "off"

import pytest  # noqa: E402

# Fixture modules live in tests/plugins/ so each backend's harness stays in one file.
pytest_plugins = [
    name
    for name in ("tests.plugins.kube", "tests.plugins.prom", "tests.plugins.s3", "tests.plugins.git")
    if os.path.exists(os.path.join(os.path.dirname(__file__), "plugins", name.rsplit(".", 1)[1] + ".py"))
]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's HOME, kubeconfig, AWS or cockpit settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("TZ", "UTC")
    for var in list(os.environ):
        if var.startswith(("COCKPIT_", "AWS_", "KUBECONFIG")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
