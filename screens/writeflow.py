"""The write flow on screen: key -> the confirmation modal, at once ("planning …") -> the plan (a thread), then the
pre-mortem and the pre-checks (threads, side by side), each shown in the modal as it arrives -> the person's yes
-> the session sends it through the gateway (a thread).

Every thread runs under a :class:`cockpit.session.planning.Planning` scope: while one waits, the modal says for
what ("still waiting for the Kubernetes API at …"), and Esc or Cancel at any moment ends every request still in
flight and sends nothing.  A plan that is refused, or that a failed read stopped, says why in the modal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cockpit.screens.base import notify_untrusted

log = logging.getLogger("cockpit.screens.writeflow")
WAIT_TICK = 0.5  # how often the modal's "still waiting for X" line is brought up to date


def start_write(node: Any, context: str, plan: Callable[[], Any], *, what: str = "planning the change") -> None:
    """Open the modal now, plan with ``plan()`` (blocking, run in a thread) into it, then confirm and send.  Runs
    in a worker of ``node``.  ``what`` names the plan while it is being made ("planning the abort")."""
    node.run_worker(_write(node, context, plan, what), group="write", exclusive=True, exit_on_error=False,
                    name="write")


async def _write(node: Any, context: str, plan: Callable[[], Any], what: str) -> None:
    from cockpit.screens.confirm import ConfirmScreen

    app = node.app
    session = app.session
    target = session.target(context)
    modal = ConfirmScreen(None, context=context, what=what, production=bool(target and target.production),
                          assessing=True)
    result = await _confirm(app, modal, lambda scopes: _prepare(session, modal, context, plan, scopes))
    if result is not None:
        notify_untrusted(app, result.message, severity="information" if result.ok else "error", timeout=10)


async def confirm_write(app: Any, planned: Any, *, send: Callable[[str], Any] | None = None) -> Any:
    """Show the modal for a write already planned (a runbook step), run the pre-checks into it, and on the
    person's yes send (``send(typed)`` when given, else ``session.execute``).  Must run inside a worker (it waits
    for the modal).  Returns the WriteResult, or None when cancelled."""
    from cockpit.screens.confirm import ConfirmScreen

    session = app.session
    target = session.target(planned.context)
    modal = ConfirmScreen(planned, production=bool(target and target.production),
                          extra_warnings=session.warnings(planned.context, planned))
    return await _confirm(app, modal, lambda scopes: _prechecks(session, modal, planned, scopes), send=send)


async def _confirm(app: Any, modal: Any, prepare: Callable[[list[Any]], Awaitable[None]], *,
                   send: Callable[[str], Any] | None = None) -> Any:
    """Push ``modal`` now; run ``prepare(scopes)`` into it meanwhile (it appends the Planning scopes it runs
    under); wait for the person's answer; send on a yes.  Returns the WriteResult, or None."""
    session = app.session
    answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    def answered(typed: str | None) -> None:
        if not answer.done():
            answer.set_result(typed)

    scopes: list[Any] = []
    app.push_screen(modal, answered)
    ticker = modal.set_interval(WAIT_TICK, lambda: _show_waiting(modal, scopes))
    task = asyncio.get_running_loop().create_task(prepare(scopes))
    try:
        typed = await answer
    finally:
        ticker.stop()
        if not task.done():
            for scope in scopes:
                scope.cancel()  # ends every request still in flight (the threads then return)
            task.cancel()
    if typed is None:
        planned = modal.planned
        if modal.refusal is not None:
            notify_untrusted(app, f"{modal.refusal} (nothing was sent)", severity="warning", timeout=6)
        else:
            notify_untrusted(app, (planned.read_only if planned is not None else "") or "cancelled: nothing was sent",
                             timeout=5)
        return None
    if send is not None:
        return await asyncio.to_thread(send, typed)
    return await asyncio.to_thread(session.execute, modal.planned, typed, modal.reason or None)


def _show_waiting(modal: Any, scopes: list[Any]) -> None:
    if not modal.is_attached:
        return
    text = ""
    if modal.pending and modal.refusal is None:  # the request in flight, else what is still to come
        text = next((line for line in (scope.still_waiting() for scope in scopes) if line),
                    f"waiting for {' and '.join(sorted(modal.pending))}")
    modal.show_waiting(text)


def _alive(modal: Any) -> bool:
    return modal.is_attached and not modal._once_dismissed


async def _prepare(session: Any, modal: Any, context: str, plan: Callable[[], Any], scopes: list[Any]) -> None:
    """Plan, then the pre-mortem and the pre-checks side by side, each into the modal as it arrives."""
    from cockpit.actions.requests import ActionRefused
    from cockpit.config import ConfigError
    from cockpit.session.planning import Planning
    from cockpit.sources.errors import SourceError

    planning = Planning(modal.what)
    scopes.append(planning)
    try:
        planned = await asyncio.to_thread(planning.run, plan)
    except ActionRefused as err:
        if _alive(modal):
            modal.show_refusal(str(err), error=not err.noop)
        return
    except (SourceError, ConfigError) as err:
        if _alive(modal) and not planning.cancelled:
            modal.show_refusal(f"cannot plan it: {err}", error=True)
        return
    except Exception as err:  # noqa: BLE001 - a bug in a plan must say so in the modal, never leave it waiting
        log.exception("planning %s failed", modal.what)
        if _alive(modal):
            modal.show_refusal(f"planning failed: {type(err).__name__}: {err}", error=True)
        return
    if not _alive(modal):
        return
    modal.show_plan(planned, session.warnings(context, planned))
    if planned.read_only:  # shown as what would be sent; nothing is checked or sent
        return
    await asyncio.gather(_assess(session, modal, planned, scopes), _prechecks(session, modal, planned, scopes))


async def _assess(session: Any, modal: Any, planned: Any, scopes: list[Any]) -> None:
    """The pre-mortem (``session.assess`` attaches it to the plan, which is then what is sent)."""
    await _step(modal, scopes, "the pre-mortem", lambda: session.assess(planned),
                lambda assessed: modal.show_premortem(getattr(assessed, "premortem", None), planned=assessed))


async def _prechecks(session: Any, modal: Any, planned: Any, scopes: list[Any]) -> None:
    """The RBAC review and the server-side dry-run."""
    await _step(modal, scopes, "the pre-checks", lambda: session.preflight(planned), modal.show_preflight)


async def _step(modal: Any, scopes: list[Any], what: str, work: Callable[[], Any],
                show: Callable[[Any], None]) -> None:
    """``work()`` in a thread under a Planning scope named ``what``, its answer shown with ``show``.  Both the
    pre-mortem and the pre-checks report what they cannot read as results: an exception is a bug, said in the
    modal, and then nothing can be confirmed."""
    from cockpit.session.planning import Planning

    scope = Planning(what)
    scopes.append(scope)
    try:
        result = await asyncio.to_thread(scope.run, work)
    except Exception as err:  # noqa: BLE001 - never a modal left waiting, never a yes on half the checks
        if scope.cancelled:
            return
        log.exception("%s of a write failed", what)
        if _alive(modal):
            modal.show_precheck_error(f"{what} failed ({type(err).__name__}: {err}): nothing can be sent from "
                                      "here; close and try again")
        return
    if _alive(modal):
        show(result)
