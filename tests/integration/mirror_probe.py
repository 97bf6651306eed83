"""A mirror process for the tests: ``python -m tests.integration.mirror_probe RECORDING``.

It follows RECORDING headless through the same mirror session ``cockpit watch`` uses, with every socket connection
refused and reported, and prints one JSON line per change of what its panes show (with the system-wide monotonic
time, so the test can measure how far behind it is).  Commands on stdin: ``act`` tries every action a viewer could
(each must be refused), ``quit`` ends it.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Any

from cockpit.models import PANES

ATTEMPTS: list[str] = []


def guard() -> None:
    """No connection, anywhere: a mirror needs no backend."""

    def refused(self: Any, address: Any, *args: Any, **kwargs: Any) -> Any:
        ATTEMPTS.append(repr(address))
        print(json.dumps({"connect": repr(address)}), flush=True)
        raise OSError("the mirror probe refuses every connection")

    socket.socket.connect = refused  # type: ignore[method-assign]
    socket.socket.connect_ex = refused  # type: ignore[method-assign]
    socket.create_connection = lambda address, *a, **k: refused(None, address)  # type: ignore[assignment]


def fingerprint(session: Any, context: str) -> dict[str, str]:
    """What each pane shows, as stable text (the same on the driver and on a mirror: no ages, no secrets)."""
    out = {}
    for pane in PANES:
        entry = session.store.entry(context, pane)
        data = entry.current
        if pane == "argocd" and data is not None:
            shown: Any = (data.sync_status, data.health_status, data.operation_phase, [h.id for h in data.history])
        elif pane == "rollout" and data is not None:
            shown = (data.phase, data.step_index, data.set_weight, data.aborted, data.paused, data.canary_hash,
                     data.stable_hash, data.available_replicas)
        elif pane == "analysis" and data is not None:
            shown = [(run.name, run.phase, run.failed, run.successful) for run in data]
        elif pane == "latency" and data is not None:
            shown = (data.value, data.over_slo)
        elif pane == "cnpg" and data is not None:
            shown = [(c.name, c.status_line) for c in data.clusters]
        elif pane == "velero" and data is not None:
            shown = ([(b.name, b.phase) for b in data.backups], [(r.name, r.phase) for r in data.restores])
        else:
            shown = None
        out[pane] = json.dumps([entry.state.value, shown], default=str)
    return out


def main(path: str) -> int:
    guard()
    from cockpit.config import build_settings
    from cockpit.replay import open_player
    from cockpit.session.follow import mirror_session

    player = open_player(path)
    session = mirror_session(build_settings({}), player, poll=0.1)
    context = session.targets[0].name
    changed = threading.Event()
    session.subscribe(lambda event: changed.set())
    session.start(feeds=False)
    session.replay.start()
    commands: list[str] = []

    def read_stdin() -> None:
        for line in sys.stdin:
            commands.append(line.strip())
            changed.set()
        commands.append("quit")
        changed.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    last: dict[str, str] | None = None
    while True:
        changed.wait(0.2)
        changed.clear()
        shown = fingerprint(session, context)
        if shown != last:
            last = shown
            print(json.dumps({"mono": time.monotonic(), "seen": session.replay.seen, "panes": shown,
                              "ended": session.replay.ended}), flush=True)
        while commands:
            command = commands.pop(0)
            if command == "quit":
                session.stop()
                player.close()
                print(json.dumps({"bye": True, "attempts": ATTEMPTS}), flush=True)
                return 0
            if command == "act":
                print(json.dumps({"refused": act(session, context)}), flush=True)


def act(session: Any, context: str) -> list[str]:
    """Every action a viewer could try; each must be refused with words (and nothing sent)."""
    from cockpit.actions.requests import ActionRefused

    words = []
    for verb in ("abort", "retry", "promote", "promote-full", "undo"):
        try:
            session.plan_rollout_verb(context, verb)
            words.append(f"{verb}: PLANNED")
        except ActionRefused as err:
            words.append(f"{verb}: {err}")
    try:
        session.plan_takeover(context)
        words.append("takeover: PLANNED")
    except ActionRefused as err:
        words.append(f"takeover: {err}")
    notices: list[str] = []
    session.subscribe(lambda event: notices.append(getattr(event, "text", "")))
    session.answer(context, "flag_flip", "no")  # the viewer's answer is not the driver's: refused, not recorded
    words.append(f"answer: {[text for text in notices if text]}")
    return words


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
