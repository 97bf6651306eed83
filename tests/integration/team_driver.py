"""The driver of a team incident, headless, for the mirror tests: a recorded session on the demo platform.

In-process: :class:`Driver` (the test drives it).  As a process: ``python -m tests.integration.team_driver RECORDING
WORKDIR`` prints ``{"ready": ...}`` once the panes are loaded, then obeys stdin: ``abort`` (the Rollout's abort,
confirmed), ``fingerprint``, ``quit`` (the recording is closed, the platform stopped).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cockpit.config import build_settings
from cockpit.demo.platform import DEMO_CONTEXT, DemoPlatform, Timing, demo_environment, demo_settings
from cockpit.models import PANES, FeedState
from cockpit.session import connect, open_session, start_recording
from cockpit.session.events import PaneChanged


def wait_for(what: str, probe: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.03)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Driver:
    """alice's cockpit: the demo platform, a live session recorded to ``recording``."""

    def __init__(self, recording: Path, workdir: Path, environ: Any) -> None:
        self.platform = DemoPlatform(workdir=workdir, timing=Timing.fast()).start()
        # a slow Prometheus poll: the p99 holds still while the test compares what both screens show
        self.settings = demo_settings(build_settings({"prometheus_interval": 300.0}), self.platform)
        for name, value in demo_environment(self.platform, self.settings).items():
            environ[name] = value
        targets = connect(self.settings)
        self.sink, _ = start_recording(self.settings, targets, path=str(recording))
        self.session = open_session(self.settings, targets, recorder=self.sink,
                                    audit_path=str(workdir / "audit-alice.jsonl"), person="alice")
        self.context = DEMO_CONTEXT
        self.changed_at = time.monotonic()
        self._lock = threading.Lock()
        self.session.subscribe(self._changed)
        self.session.start()

    def _changed(self, event: Any) -> None:
        if isinstance(event, PaneChanged):
            with self._lock:
                self.changed_at = time.monotonic()

    def settled(self) -> Driver:
        def ready() -> bool:
            entries = self.session.store.entries(self.context)
            return all(entries[p].state is FeedState.OK for p in PANES)

        wait_for("the driver's panes", ready)
        wait_for("the driver's decision", lambda: self.session.decision(self.context) is not None)
        self.quiet()
        return self

    def quiet(self, seconds: float = 0.6) -> float:
        """Wait until nothing changed for ``seconds``; returns when the store last changed (monotonic)."""
        def still() -> bool:
            with self._lock:
                return time.monotonic() - self.changed_at >= seconds

        wait_for("the driver's panes to hold still", still)
        self.sink.flush()
        with self._lock:
            return self.changed_at

    def abort(self) -> Any:
        result = self.session.execute(self.session.plan_rollout_verb(self.context, "abort"), "y")
        assert result.ok, result.message
        wait_for("the abort on the pane", lambda: self.session.current(self.context, "rollout").aborted)
        return result

    def close(self) -> None:
        self.session.stop()
        if self.sink is not None:
            self.sink.close()
        self.platform.stop()


def main(recording: str, workdir: str) -> int:
    import os

    from tests.integration.mirror_probe import fingerprint

    driver = Driver(Path(recording), Path(workdir), os.environ).settled()
    print(json.dumps({"ready": fingerprint(driver.session, driver.context)}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "abort":
            driver.abort()
            driver.quiet()
            print(json.dumps({"aborted": fingerprint(driver.session, driver.context)}), flush=True)
        elif command == "fingerprint":
            print(json.dumps({"panes": fingerprint(driver.session, driver.context)}), flush=True)
        elif command == "quit":
            break
    driver.close()
    print(json.dumps({"bye": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
