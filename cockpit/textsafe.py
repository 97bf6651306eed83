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
