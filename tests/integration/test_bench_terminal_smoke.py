"""``bench.terminal.measure_terminal_bytes`` runs the real cockpit (``cockpit demo``) in a pty of the asked size and
reads what it writes.  The figure is not judged here (it is the benchmark's); the measurement must work."""

from __future__ import annotations

from bench.terminal import measure_terminal_bytes


def test_the_terminal_bytes_are_read_from_a_pty():
    result = measure_terminal_bytes(80, 24, seconds=2.0, warmup=2.0)
    assert (result["cols"], result["rows"], result["record"]) == (80, 24, False)
    assert result["first_paint_bytes"] > 1000  # the dashboard was drawn before the window
    assert result["bytes"] == sum(result["per_second"]) >= 0
    window = result["window"]
    assert sum(window["bytes_by_kind"].values()) == result["bytes"]
    assert all(0 <= slot["row"] <= 24 for slot in window["rows"])
