"""The benchmark's child process: the real cockpit (``cockpit.cli.main``) with hooks that only observe.

``make bench`` (``cockpit.bench``) starts ``python -m bench.probe --config FILE --marker-fd N`` in a
pseudo-terminal; the hooks report moments (all six panes populated, modal painted, Velero pane repainted) on the
file descriptor.  They patch UI classes, so they live on the UI side of the layering, not in ``cockpit/``.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable
from typing import Any


def child_main(config: str, marker_fd: int) -> int:
    """Run ``cockpit --config CONFIG`` exactly as the command line does, with hooks that report moments.

    The hooks only observe (they call the original first) and report on ``marker_fd`` as ``name [args] time``.
    """
    lock = threading.Lock()

    def mark(*words: str) -> None:
        line = " ".join([*words, f"{time.time():.6f}"]) + "\n"
        with lock:
            os.write(marker_fd, line.encode())

    import cockpit.app as app_module
    from cockpit.models import PANES, FeedState
    from cockpit.widgets.velero_pane import VeleroPane

    original_message = app_module.CockpitApp.on_session_message
    state = {"populated": False}

    def all_populated(app: Any) -> bool:
        store = app.session.store
        context = app.dashboard.active().target.name
        for name in PANES:
            entry = store.entry(context, name)
            if entry.state is not FeedState.OK or entry.snapshot.data is None:
                return False
        return True

    def on_session_message(self: Any, message: Any) -> None:
        original_message(self, message)
        if not state["populated"] and all_populated(self):
            state["populated"] = True
            mark("populated")
            _hook_modal(mark)

    app_module.CockpitApp.on_session_message = on_session_message  # type: ignore[method-assign]

    original_refresh = VeleroPane.refresh_from_store
    seen: set[str] = set()

    def refresh_from_store(self: Any, now: Any = None, *, force: bool = False) -> bool:
        data = self.entry.shown
        probe = ""
        if data is not None and data.backups and data.backups[0].name.startswith("bench-probe-"):
            probe = data.backups[0].name
            if probe in seen:
                probe = ""
            else:
                seen.add(probe)
                mark("velero-show", probe)
        drawn = original_refresh(self, now, force=force)
        if probe:
            self.app.call_after_refresh(lambda: mark("velero-shown", probe))
        return drawn

    VeleroPane.refresh_from_store = refresh_from_store  # type: ignore[method-assign]

    from cockpit.cli import main

    return main(["--config", config])


def _hook_modal(mark: Callable[..., None]) -> None:
    """Report when the confirmation modal has been painted, when its pre-checks arrived and, for a modal up at the
    keystroke that fills in (``ConfirmScreen.answers_in``), when every answer is in."""
    try:
        from cockpit.screens.confirm import ConfirmScreen
    except ImportError:
        return
    original_shown = getattr(ConfirmScreen, "shown", None)
    original_mount = ConfirmScreen.on_mount
    original_preflight = ConfirmScreen.show_preflight

    def shown(self: Any) -> None:  # a modal built ahead is mounted before the key: "shown" is when it is put up
        original_shown(self)
        self.app.call_after_refresh(lambda: mark("modal"))

    def on_mount(self: Any) -> None:
        original_mount(self)
        self.app.call_after_refresh(lambda: mark("modal"))

    def show_preflight(self: Any, preflight: Any) -> None:
        original_preflight(self, preflight)
        mark("preflight")

    if original_shown is not None:
        ConfirmScreen.shown = shown  # type: ignore[method-assign]
    else:
        ConfirmScreen.on_mount = on_mount  # type: ignore[method-assign]
    ConfirmScreen.show_preflight = show_preflight  # type: ignore[method-assign]
    original_answers = getattr(ConfirmScreen, "answers_in", None)
    if original_answers is not None:  # a modal that fills in as the answers arrive says when they are all in

        def answers_in(self: Any) -> None:
            original_answers(self)
            mark("answers")

        ConfirmScreen.answers_in = answers_in  # type: ignore[attr-defined]
        mark("answers-hook")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench.probe")
    parser.add_argument("--config", required=True)
    parser.add_argument("--marker-fd", type=int, required=True)
    args = parser.parse_args()
    raise SystemExit(child_main(args.config, args.marker_fd))
