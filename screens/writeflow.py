"""The write flow on screen: key -> the confirmation modal, at once ("planning …") -> the plan (a thread), then the
pre-mortem and the pre-checks (threads, side by side), each shown in the modal as it arrives -> the person's yes
-> the session sends it through the gateway (a thread).

Every thread runs under a :class:`cockpit.session.planning.Planning` scope: while one waits, the modal says for
what ("still waiting for the Kubernetes API at …"), and Esc or Cancel at any moment ends every request still in
flight and sends nothing.  A plan that is refused, or that a failed read stopped, says why in the modal.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cockpit.screens.base import notify_untrusted

log = logging.getLogger("cockpit.screens.writeflow")
WAIT_TICK = 0.5  # how often the modal's "still waiting for X" line is brought up to date


def start_write(node: Any, context: str, plan: Callable[[], Any], *, what: str = "planning the change") -> None:
    """Open the modal now, plan with ``plan()`` (blocking, run in a thread) into it, then confirm and send.  Runs
    in a worker of ``node``.  ``what`` names the plan while it is being made ("planning the abort")."""
    # the function, not a coroutine made now: a worker cancelled before it starts (keys queued behind q) leaves
    # no coroutine that was never awaited
    node.run_worker(functools.partial(_write, node, context, plan, what), group="write", exclusive=True,
                    exit_on_error=False, name="write")


async def _write(node: Any, context: str, plan: Callable[[], Any], what: str) -> None:
    app = node.app
    session = app.session
    target = session.target(context)
    modal = _modal_for(app, context, what, bool(target and target.production))
    try:
        result = await _confirm(app, modal, lambda scopes: _prepare(session, modal, context, plan, scopes))
    finally:
        if app.is_running:
            app.set_timer(SPARE_AFTER, lambda: prebuild_modal(app))  # the next key's modal
    if result is not None:
        notify_untrusted(app, result.message, severity="information" if result.ok else "error", timeout=10)


# -- the next key's modal, built ahead ----------------------------------------------------------------------

SPARE = "_cockpit_spare_modal"  # the App attribute holding it
SPARE_AFTER = 1.0  # seconds after the start or the last write: the next spare is built when the UI is idle


def prebuild_modal(app: Any) -> None:
    """Build the next key's confirmation modal now, off the screen: composed, styled and laid out at the
    terminal's size (the first steps of Textual's ``push_screen``), so that the key only has to show it.  A spare
    is used once, for one write, and never reused; a key pressed before it is ready gets a modal of its own."""
    from cockpit.screens.confirm import ConfirmScreen

    if getattr(app, SPARE, None) is not None or not app.is_running or getattr(app, "_exit", False):
        return  # (an app told to exit still runs until its shutdown: a spare composed then would mount nothing)
    modal = ConfirmScreen(None, assessing=True)
    try:
        app._register(app, modal)  # what push_screen does first (Textual 8): compose and style it now
    except Exception:  # noqa: BLE001 - an optimisation: the key builds its own modal instead
        log.exception("could not build the confirmation modal ahead")
        return
    modal._styled_ahead = app.theme  # styled now: shown without styling again unless the theme changed
    setattr(app, SPARE, modal)

    def lay_out() -> None:
        if getattr(app, SPARE, None) is modal and modal.is_mounted and not modal.is_current:
            try:
                modal._refresh_layout(app.size)  # laid out at this size: showing it needs only a paint
                # A screen's frame timer starts at its first refresh and waits a whole frame (1/60 s) before its
                # first paint; started now (one tick, then paused: the spare is not current, nothing is drawn),
                # the key's paint comes at the next turn of the loop instead.
                modal._update_timer.resume()
            except Exception:  # noqa: BLE001 - shown anyway, laid out then
                log.exception("could not lay the confirmation modal out ahead")

    app.set_timer(0.2, lay_out)


def _modal_for(app: Any, context: str, what: str, production: bool) -> Any:
    """The spare modal when there is a ready one (told what it is for), else a new one."""
    from cockpit.screens.confirm import ConfirmScreen

    spare = getattr(app, SPARE, None)
    setattr(app, SPARE, None)
    if spare is not None and spare.is_mounted and not spare.is_current and not spare._once_dismissed:
        try:
            spare.prepare(context=context, what=what, production=production)
            return spare
        except Exception:  # noqa: BLE001 - a new modal instead
            log.exception("the confirmation modal built ahead could not be used")
    return ConfirmScreen(None, context=context, what=what, production=production, assessing=True)


async def confirm_write(app: Any, planned: Any, *, send: Callable[[str, str | None], Any] | None = None) -> Any:
    """Show the modal for a write already planned (a runbook step, assessed by its run), run the pre-checks into
    it, and on the person's yes send (``send(typed, reason)`` when given, else ``session.execute``; ``reason`` is
    what they typed when the pre-mortem says RISKY/UNSAFE).  Must run inside a worker (it waits for the modal).
    Returns the WriteResult, or None when cancelled."""
    from cockpit.screens.confirm import ConfirmScreen

    session = app.session
    target = session.target(planned.context)
    modal = ConfirmScreen(planned, production=bool(target and target.production),
                          extra_warnings=session.warnings(planned.context, planned))
    return await _confirm(app, modal, lambda scopes: _prechecks(session, modal, planned, scopes), send=send)


async def _confirm(app: Any, modal: Any, prepare: Callable[[list[Any]], Awaitable[None]], *,
                   send: Callable[[str, str | None], Any] | None = None) -> Any:
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

    async def after_paint() -> None:
        await _painted(app)  # the modal first: the threads below would hold the GIL while it paints
        try:
            await prepare(scopes)
        except Exception as err:  # noqa: BLE001 - a bug here must not leave the modal waiting for ever
            log.exception("preparing the confirmation failed")
            if _alive(modal):
                modal.show_refusal(f"the confirmation failed: {type(err).__name__}: {err}", error=True)

    task = asyncio.get_running_loop().create_task(after_paint())
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
            said = modal.refusal if "nothing was sent" in modal.refusal else f"{modal.refusal} (nothing was sent)"
            notify_untrusted(app, said, severity="warning", timeout=6)
        else:
            notify_untrusted(app, (planned.read_only if planned is not None else "") or "cancelled: nothing was sent",
                             timeout=5)
        return None
    reason = modal.reason or None  # typed in the modal when the pre-mortem says RISKY/UNSAFE
    if send is not None:
        return await asyncio.to_thread(send, typed, reason)
    return await asyncio.to_thread(session.execute, modal.planned, typed, reason)


async def _painted(app: Any) -> None:
    """Once the screen has been refreshed (what was just changed is on the terminal)."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    app.call_after_refresh(lambda: done.done() or done.set_result(None))
    await done


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
    await _painted(modal.app)  # the plan on the screen before the checks take the CPU
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
