"""A modal that closes once: keys queued behind the first Esc (a held key, a burst over SSH) must not dismiss it
twice (Textual's result future can only be set once) or pop the screen below it."""

from __future__ import annotations

from typing import Any, TypeVar

from textual.screen import ModalScreen

R = TypeVar("R")


class OnceModal(ModalScreen[R]):
    _once_dismissed = False

    def dismiss(self, result: Any = None) -> Any:  # type: ignore[override]
        if self._once_dismissed or not self.is_current or not self.is_mounted:
            return None  # not up yet (a key that arrived with the one that opened it), or already closing
        self._once_dismissed = True
        return super().dismiss(result)
