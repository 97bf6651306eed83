"""Untrusted strings render literally: no markup, no escape sequences reach the terminal."""

from __future__ import annotations

import pytest

from cockpit.textsafe import clean, safe_text


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("[bold]x[/bold]", "[bold]x[/bold]"),
        ("[@click=quit]boom[/]", "[@click=quit]boom[/]"),
        ("[/", "[/"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("bell\x07", "bell\\x07"),
        ("c1\x9b31m", "c1\\x9b31m"),
        ("rtl\u202egnp.exe", "rtl\\u202egnp.exe"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("two\nlines", "two lines"),
    ],
)
def test_clean(raw, shown):
    assert clean(raw) == shown


def test_long_is_bounded():
    assert len(clean("x" * 10_000, limit=100)) == 100


def test_bytes_with_invalid_utf8():
    assert clean(b"key-\xff\xfe") == "key-\\xff\\xfe"


def test_safe_text_is_not_markup():
    text = safe_text("[@click=quit]x[/]")
    assert text.plain == "[@click=quit]x[/]"
    assert not text.spans
