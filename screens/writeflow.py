"""The write flow on screen: key -> plan (in a thread) -> the confirmation modal (the session's warnings, the
pre-checks arriving into it) -> the person's yes -> the session sends it through the gateway (in a thread)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from cockpit.screens.base import notify_untrusted


def start_write(node: Any, context: str, plan: Callable[[], Any]) -> None:
    """Plan with ``plan()`` (blocking, run in a thread), then confirm and send.  Runs in a worker of ``node``."""
    node.run_worker(_write(node, context, plan), group="write", exclusive=True, exit_on_error=False,
                    name="write")


async def _write(node: Any, context: str, plan: Callable[[], Any]) -> None:
    from cockpit.actions.requests import ActionRefused
    from cockpit.sources.errors import SourceError

    app = node.app
    try:
        planned = await asyncio.to_thread(lambda: app.session.assess(plan()))
    except ActionRefused as err:
        notify_untrusted(app, str(err), severity="information" if err.noop else "warning", timeout=8)
        return
    except SourceError as err:
        notify_untrusted(app, f"cannot plan it: {err}", severity="error", timeout=8)
        return
    result = await confirm_write(app, planned)
    if result is not None:
        notify_untrusted(app, result.message, severity="information" if result.ok else "error", timeout=10)


async def confirm_write(app: Any, planned: Any, *, send: Callable[[str, str | None], Any] | None = None) -> Any:
    """Show the modal, run the pre-checks into it, and on the person's yes send (``send(typed, reason)``).  Must run inside a worker (it
    waits for the modal).  Returns the WriteResult, or None when cancelled."""
    from cockpit.screens.confirm import ConfirmScreen

    session = app.session
    target = session.target(planned.context)
    modal = ConfirmScreen(planned, production=bool(target and target.production),
                          extra_warnings=session.warnings(planned.context, planned))

    async def prechecks() -> None:
        check = await asyncio.to_thread(session.preflight, planned)
        if modal.is_attached:
            modal.show_preflight(check)

    task = asyncio.get_running_loop().create_task(prechecks())
    typed = await app.push_screen_wait(modal)
    if typed is None:
        task.cancel()
        notify_untrusted(app, planned.read_only or "cancelled: nothing was sent", timeout=5)
        return None
    reason = getattr(modal, "reason", "") or None  # typed in the modal when the pre-mortem says RISKY/UNSAFE
    if send is not None:
        return await asyncio.to_thread(send, typed, reason)
    return await asyncio.to_thread(session.execute, planned, typed, reason)
