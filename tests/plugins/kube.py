"""Fixtures for the Kubernetes API emulator: a started server, a kubeconfig for it, a real client.

``kube_emulator`` is function-scoped: every test gets empty storage, no faults, no deny rules, and
the server is stopped (all connections cut, threads joined) when the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cockpit.demo.kubeapi import KubeEmulator

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

EMULATOR_CONTEXT = "emulator"


@pytest.fixture
def kube_emulator() -> Iterator[KubeEmulator]:
    emulator = KubeEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def kubeconfig(kube_emulator: KubeEmulator, tmp_path: Path) -> Path:
    """A kubeconfig in tmp_path whose current context ``emulator`` points at ``kube_emulator``."""
    return kube_emulator.write_kubeconfig(tmp_path / "kubeconfig", context=EMULATOR_CONTEXT)


@pytest.fixture
def kube_client(kubeconfig: Path) -> Iterator[ApiClient]:
    """A ``kubernetes.client.ApiClient`` built from that kubeconfig, closed after the test."""
    from kubernetes import config  # imported here: it is slow, and unit tests never need it

    client = config.new_client_from_config(config_file=str(kubeconfig), context=EMULATOR_CONTEXT)
    try:
        yield client
    finally:
        client.close()
