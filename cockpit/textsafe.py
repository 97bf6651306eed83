"""Untrusted text made safe to show.

Everything from a cluster, a recording or a file may carry Rich markup (``[bold]``, ``[@click=quit]``) or terminal
escape sequences (CVE-2021-25743).  We never pass such text through a markup parser: widgets get ``rich.text.Text``
objects built from :func:`clean`, which keeps the characters a person should see and replaces control characters
with visible escapes.  :func:`clean` also masks credentials with the one redactor (:mod:`cockpit.redact`), so a
token in an error message, a pod's env value or a URL's password never reaches the screen.
"""

from __future__ import annotations

import re

from cockpit.redact import redact_text

# C0 controls except TAB/NL, DEL, C1 controls; ESC-led sequences are neutralised by replacing ESC itself.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional overrides/isolates and zero-width characters that can disguise what a name says.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def _visible_u(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def clean(value: object, *, limit: int = 512, single_line: bool = True) -> str:
    """A printable, bounded version of ``value``: credentials masked, controls shown as ``\\xNN``, long text cut
    with an ellipsis."""
    text = "" if value is None else str(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="backslashreplace")
    if len(text) > limit * 2 + 1024:
        text = text[: limit * 2 + 1024]  # bounded work; what is cut here is not shown anyway
    text = redact_text(text)
    if single_line:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    text = _CONTROL.sub(_visible, text)
    text = _INVISIBLE.sub(_visible_u, text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def safe_text(value: object, style: str = "", *, limit: int = 512):
    """A ``rich.text.Text`` holding ``value`` literally (no markup is ever parsed)."""
    from rich.text import Text

    return Text(clean(value, limit=limit), style=style, no_wrap=False)


def middle_ellipsis(value: object, width: int, *, keep_tail: int = 0) -> str:
    """``value`` cleaned and cut to ``width`` cells by dropping its middle, so both its head and its unique tail
    survive: ``hourly-cnpg-20260520020003`` in 16 cells is ``hourly-…20020003``.  Names such as Velero backups
    differ only in their tail, and a runbook asks for the exact name.  ``keep_tail`` cells at the end are kept
    whole whenever the width allows it (a Velero backup's 14-digit timestamp)."""
    from rich.cells import cell_len, set_cell_size

    text = clean(value)
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width == 1:
        return "…"
    tail = (width - 1) * 3 // 5  # the tail carries the timestamp/hash: give it the larger share
    if keep_tail and width - 1 >= keep_tail:
        tail = max(tail, keep_tail)
    head = width - 1 - tail
    end = ""
    for char in reversed(text):  # the last `tail` cells, whole characters only
        if cell_len(char + end) > tail:
            break
        end = char + end
    start = set_cell_size(text, head).rstrip() if head else ""
    start = start if cell_len(start) <= head else ""
    return start + "…" + end


class MiddleText:
    """A Rich renderable showing untrusted text literally on one line, shortened in the middle to the width it is
    given (a table cell, a panel), never wrapped or cut at the end.  Measures as its full length, so a table
    gives it the room there is before it shortens."""

    def __init__(self, value: object, style: str = "", *, limit: int = 512, keep_tail: int = 0) -> None:
        self.text = clean(value, limit=limit)
        self.style = style
        self.keep_tail = keep_tail

    def __rich_measure__(self, console, options):  # noqa: ANN001 - rich protocol
        from rich.measure import Measurement

        from rich.cells import cell_len

        return Measurement(min(cell_len(self.text), max(8, self.keep_tail + 2)), cell_len(self.text))

    def __rich_console__(self, console, options):  # noqa: ANN001 - rich protocol
        from rich.text import Text

        yield Text(middle_ellipsis(self.text, options.max_width, keep_tail=self.keep_tail), style=self.style,
                   no_wrap=True)
