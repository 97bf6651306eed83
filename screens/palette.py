"""The command palette, safe under bursts of keys (a Textual 8.2.8 workaround; see ``palette_class``)."""

from __future__ import annotations

from typing import Any

_PALETTE: type | None = None


def palette_class() -> type:
    """Textual's command palette, safe under bursts of keys (a held key, a paste, a laggy SSH link).

    Textual 8.2.8 (the newest release) has five crashes there, found by tests/ui/test_key_fuzz.py:
    PageUp/PageDown reaching the command list before it was laid out (ctrl+p then PageDown in one burst) raise
    KeyError in ``OptionList._move_page``; a second Esc/Enter queued behind the first dismisses the palette twice
    (ScreenStackError: it pops the dashboard); the command-gathering worker of a palette already closing raises
    NoMatches on its CommandList (a worker that exits the app), and so does its busy indicator's watcher
    (NoMatches on its LoadingIndicator); a palette dismissed before its Mount is handled takes the screen under
    it from ``screen_stack[-2]``, which, with the dashboard as the only screen, is not there (IndexError).  Here
    such a key does nothing, the palette closes once, a closing palette's search and busy indicator just stop,
    and a palette gone before its mount is not configured."""
    global _PALETTE
    if _PALETTE is not None:
        return _PALETTE
    from textual import work
    from textual.command import CommandList, CommandPalette
    from textual.css.query import NoMatches

    # the coroutine under Textual's @work; if a later Textual changes these internals, the fuzz test says so
    gather = getattr(CommandPalette._gather_commands, "__wrapped__", None)
    group = getattr(CommandPalette, "_GATHER_COMMANDS_GROUP", "--textual-command-palette-gather-commands")

    class CockpitPalette(CommandPalette):
        def _on_mount(self, event: Any) -> None:
            # Textual's own _on_mount (called after this one, by the MRO walk) takes screen_stack[-2] as the
            # screen it was called from; a palette already dismissed when its Mount is handled (Esc in the burst
            # that opened it) is no longer on the stack, and with the dashboard as the only screen under it that
            # index does not exist (IndexError: the app exits).  Nothing to configure for a palette gone already.
            if self not in self.app.screen_stack:
                event.prevent_default()

        def _action_command_list(self, action: str) -> None:
            try:
                super()._action_command_list(action)
            except (KeyError, IndexError):  # a page key before the list was laid out
                if not action.startswith("page_"):
                    raise

        def dismiss(self, result: Any = None) -> Any:  # type: ignore[override]
            if self.app.screen is not self:  # already closing: a second Esc/Enter would pop the screen below
                from textual.await_complete import AwaitComplete

                return AwaitComplete.nothing()
            return super().dismiss(result)

        async def _watch__show_busy(self) -> None:
            try:
                await super()._watch__show_busy()
            except NoMatches:
                if self.is_attached and self.app.screen is self and self.query(CommandList):
                    raise  # not the closing race: a real fault

        @work(exclusive=True, group=group)
        async def _gather_commands(self, search_value: str) -> None:
            if not self.is_attached:
                return
            try:
                await gather(self, search_value)  # type: ignore[misc]
            except NoMatches:
                if self.is_attached and self.app.screen is self and self.query(CommandList):
                    raise  # not the closing race: a real fault

    if gather is None:
        del CockpitPalette._gather_commands
    _PALETTE = CockpitPalette
    return CockpitPalette
