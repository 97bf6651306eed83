"""Child process of test_quit_never_waits: the real App.run() (asyncio.run and its executor shutdown), headless,
driven by an auto-pilot: the panes load, then the API server hangs, `a` starts planning an abort (its reads hang
in a worker thread), `q` is pressed.  Prints how long App.run() took to return after `q`."""

from __future__ import annotations

import asyncio
import sys
import time

from cockpit.demo.platform import DemoPlatform
from tests.ui.harness import T0, make_app, settle


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "request"
    platform = DemoPlatform(now=T0).start()
    app = make_app(platform)
    pressed: list[float] = []

    async def auto_pilot(pilot) -> None:
        await settle(pilot)
        platform.kube.clear_requests()
        platform.kube.faults.set("hang")  # every new request from now on hangs (the open watches go on)
        await pilot.press("2", "a")
        for _ in range(400):  # the plan's first read has reached the server, and hangs there
            if any(not record.watch for record in platform.kube.requests):
                break
            await asyncio.sleep(0.025)
        else:
            print("NO-PLAN-REQUEST", flush=True)
        await asyncio.sleep(0.3)
        pressed.append(time.monotonic())
        await pilot.press("q")

    try:
        app.run(headless=True, size=(200, 50), auto_pilot=auto_pilot)
        took = time.monotonic() - pressed[0] if pressed else -1.0
        print(f"QUIT-TOOK {took:.3f}", flush=True)
    finally:
        platform.kube.faults.clear()
        platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
