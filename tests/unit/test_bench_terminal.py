"""``bench.terminal``'s reading of a terminal stream: which writes were ages, data or rewrites of the same cells.
(The bytes per second themselves are measured by ``python -m bench.terminal`` on a pty, not asserted here.)"""

from __future__ import annotations

from bench.terminal import Screen, describe_window


def frame(*rows: str) -> bytes:
    return b"\x1b[2J" + b"".join(f"\x1b[{row};1H\x1b[1m{text}\x1b[0m".encode() for row, text in enumerate(rows, 1))


def test_a_screen_applies_moves_text_and_wide_characters():
    screen = Screen(20, 3)
    changed = screen.feed("\x1b[2;3Hab\x1b[38;5;2m全\x1b[0mc\r\nxy")
    assert screen.line(2).rstrip() == "  ab全c" and screen.line(3).startswith("xy")
    assert (2, 3) in changed and (2, 5) in changed and (2, 7) in changed  # the wide one takes two cells
    assert screen.feed("\x1b[2;3Hab") == set()  # the same characters again: nothing changed
    screen.feed("\x1b[1;1H1000 backups\x1b[1;1H1001")  # a partial repaint: only the changed cells are sent
    assert screen.shows("1001 backups") and not screen.shows("1000 backups")


def test_writes_are_told_apart():
    before = frame("1 #42 5m9s | 2 Paused", "| p99 1.20 s |", "╰── updated 5s ago ─╯")
    window = (b"\x1b[3;1H\x1b[2m\xe2\x95\xb0\xe2\x94\x80\xe2\x94\x80 updated 6"  # an age, cut after its digit
              b"\x1b[1;1H1 #42 5m10s | 2 Paused"  # an age one cell longer: the rest shifts
              b"\x1b[2;1H| p99 1.20 s |"  # the same cells rewritten
              b"\x1b[2;1H| p99 1.31 s |")  # data
    seen = describe_window(before, window, 30, 3)
    kinds = seen["bytes_by_kind"]
    assert kinds["age"] and kinds["same"] and kinds["data"]
    rows = {slot["row"]: slot for slot in seen["rows"]}
    assert rows[3]["age"] == rows[3]["bytes"] and rows[1]["age"] == rows[1]["bytes"]
    assert rows[2]["same"] and rows[2]["data"] and rows[2]["now"] == "| p99 1.31 s |"
