"""Planning shows what it still waits for and can be cancelled (``cockpit.session.planning.Planning``): the API
the modal uses for "planning… still waiting for X [Cancel]"."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from cockpit.config import ConfigError
from cockpit.session.planning import Planning
from cockpit.sources.errors import ErrorKind, SourceError
from cockpit.sources.kube import ROLLOUTS, KubeContext
from tests.integration.hostile import HostileServer
from tests.integration.test_bounds import (ROLLOUT_PATH, authenticated, context, dripping, exec_user, plugin,
                                           write_kubeconfig)


def _run_in_thread(planning: Planning, plan) -> tuple[threading.Thread, list[BaseException]]:
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            planning.run(plan)
        except (SourceError, ConfigError) as err:
            outcome.append(err)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, outcome


def _until(predicate, what: str) -> None:
    for _ in range(500):
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_planning_says_what_it_waits_for_and_cancel_ends_it(tmp_path: Path) -> None:
    with HostileServer(dripping("body")) as server:
        ctx = context(tmp_path, server)
        planning = Planning("planning the abort")
        thread, outcome = _run_in_thread(planning, lambda: ctx.get(ROLLOUTS, "shop", "checkout"))
        _until(planning.waiting_for, "the plan's request")
        assert planning.still_waiting() == (f"still waiting for the Kubernetes API at {server.url} "
                                            f"(GET {ROLLOUT_PATH}/checkout)")
        planning.cancel()
        thread.join(5)
        assert not thread.is_alive()
    assert planning.cancelled and planning.waiting_for() == [] and planning.still_waiting() == ""
    assert len(outcome) == 1 and isinstance(outcome[0], SourceError) and outcome[0].kind is ErrorKind.CANCELLED
    assert str(outcome[0]).endswith(": cancelled by you")


def test_planning_waiting_for_a_credential_plugin_is_cancelled_and_the_plugin_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    command = plugin(tmp_path, "hang.py", f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)")
    with HostileServer(authenticated({"tok-1"})) as server:
        path = write_kubeconfig(tmp_path, server.url, exec_user(command))
        planning = Planning("planning the abort")
        thread, outcome = _run_in_thread(planning, lambda: KubeContext.from_kubeconfig(path, "hostile"))
        _until(lambda: pid_file.exists() and pid_file.read_text(), "the plugin")
        _until(planning.waiting_for, "the plan to wait for the plugin")
        assert planning.still_waiting() == "still waiting for credential plugin hang.py"
        planning.cancel()
        thread.join(5)
        assert not thread.is_alive()
    assert outcome and str(outcome[0]).endswith("stopped waiting for credential plugin hang.py: cancelled by you")
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_a_plan_cancelled_before_it_starts_asks_nothing() -> None:
    planning = Planning()
    planning.cancel()
    ran: list[bool] = []
    with pytest.raises(SourceError) as caught:
        planning.run(lambda: ran.append(True))
    assert caught.value.kind is ErrorKind.CANCELLED and not ran
