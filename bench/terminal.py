"""Bytes the cockpit writes to its terminal at steady state, read from a pseudo-terminal.

``measure_terminal_bytes(cols, rows, seconds, warmup)`` starts the real cockpit on its embedded demo platform
(``python -m cockpit demo``, recording off or on) in a pty of ``cols``×``rows`` (``TIOCSWINSZ`` set before the
start, so the first frame is already that size), waits for the dashboard's first paint plus ``warmup`` seconds (the
panes fill, the first p99 arrives), then counts every byte read from the pty master over ``seconds``.  Nothing is
pressed: what reaches the terminal in the window is what the cockpit repaints on its own -- the ages ticking, and
whatever the demo's data did meanwhile.  To tell the two apart, the bytes are split at Textual's cursor moves
(``ESC [ row ; col H``) and every screen row written in the window is reported with the text written there.

``python -m bench.terminal`` prints bytes/s at 80×24, 120×40 and 200×50 (``--record`` for recording on,
``--seconds``/``--warmup`` for the window, ``--json`` for everything).  For comparison, ``kubectl argo rollouts get
rollout -w`` clears and reprints its whole tree on every change and every tick: about 2–4 KB/s on a screenful.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SIZES: tuple[tuple[int, int], ...] = ((80, 24), (120, 40), (200, 50))
FIRST_FRAME_TEXT = b"Argo CD history"  # pane 1's title: the dashboard is on the terminal
_ANSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>]")


class TerminalBenchError(RuntimeError):
    """The cockpit could not be measured (it did not start, or died); the message says why."""


_TOKEN = re.compile(r"\x1b\[([0-9;?<>=$]*)([A-Za-z~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.|[\r\n]|[^\x1b\r\n]+")
_AGE_TOKEN = re.compile(r"^(?:\d+[smhd]){1,2}$|^(?:in|ago|now)$")
_WORD = re.compile(r"[^\s│·─╭╮╰╯┃|]+")


class Screen:
    """Just enough of a terminal to tell what a stream of Textual's output changed: absolute cursor moves
    (``CSI row;col H``), CR/LF, erase display/line, text (wide characters take two cells); styles are ignored."""

    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.cells: dict[tuple[int, int], str] = {}
        self.row = self.col = 1

    def feed(self, text: str) -> set[tuple[int, int]]:
        """Apply ``text``; the cells whose character changed."""
        from rich.cells import cell_len

        changed: set[tuple[int, int]] = set()
        for match in _TOKEN.finditer(text):
            token = match.group(0)
            if match.group(2) is not None:
                params, final = match.group(1), match.group(2)
                if final in "Hf":
                    parts = [int(p) if p.isdigit() else 1 for p in params.split(";")] if params else [1, 1]
                    self.row, self.col = parts[0], parts[1] if len(parts) > 1 else 1
                elif final == "J" and params in ("2", "3"):
                    changed.update(key for key, value in self.cells.items() if value.strip())
                    self.cells.clear()
                elif final == "K":
                    for col in range(self.col, self.cols + 1):
                        if self.cells.pop((self.row, col), " ").strip():
                            changed.add((self.row, col))
            elif token == "\r":
                self.col = 1
            elif token == "\n":
                self.row += 1
            elif not token.startswith("\x1b"):
                for char in token:
                    width = cell_len(char)
                    if width == 0:
                        continue
                    key = (self.row, self.col)
                    if self.cells.get(key, " ") != char:
                        changed.add(key)
                    self.cells[key] = char
                    if width == 2:
                        self.cells[(self.row, self.col + 1)] = ""
                    self.col += width
        return changed

    def line(self, row: int) -> str:
        return "".join(self.cells.get((row, col), " ") for col in range(1, self.cols + 1))

    def shows(self, text: str) -> bool:
        """``text`` is on the screen now (within one row).  The cockpit repaints only the cells that changed
        ("1000 backups" becoming "1001 backups" sends "1001"), so a figure that waits for text must look at the
        screen, not for the text in the byte stream."""
        return any(text in self.line(row) for row in range(1, self.rows + 1))


def _pieces(raw: bytes) -> list[tuple[int, bytes]]:
    """``raw`` split before each absolute cursor move: (row, bytes) -- the row a piece is written on."""
    moves = [match.start() for match in re.finditer(rb"\x1b\[\d+;\d+H", raw)]
    bounds = ([0] if not moves or moves[0] else []) + moves + [len(raw)]
    out = []
    for start, end in zip(bounds, bounds[1:]):
        piece = raw[start:end]
        found = re.match(rb"\x1b\[(\d+);\d+H", piece)
        out.append((int(found.group(1)) if found else 0, piece))
    return out


def _only_ages_moved(old: str, new: str) -> bool:
    """Line ``old`` became ``new`` by ages changing (``5s``→``6s``, ``5m9s``→``5m10s``) and nothing else."""
    before, after = _WORD.findall(old), _WORD.findall(new)
    if len(before) != len(after):
        return False
    return all(a == b or (_AGE_TOKEN.match(a) and _AGE_TOKEN.match(b)) for a, b in zip(before, after))


def describe_window(before: bytes, window: bytes, cols: int, rows: int, top: int = 12) -> dict[str, Any]:
    """What the ``window`` bytes did to the screen ``before`` drew: each write (the bytes after a cursor move)
    is an **age** (its line changed only in ages like ``5s``/``5m10s``), **data** (it changed anything else)
    or **same** (it rewrote cells with what they already held); bytes per kind, and per screen row the texts
    that changed."""
    screen = Screen(cols, rows)
    screen.feed(before.decode("utf-8", "replace"))
    kinds = {"age": 0, "data": 0, "same": 0}
    per_row: dict[int, dict[str, Any]] = {}
    for row, piece in _pieces(window):
        lines = {r: screen.line(r) for r in (row, row + 1) if r}
        changed = screen.feed(piece.decode("utf-8", "replace"))
        rows_changed = {r for r, _ in changed}
        if not changed:
            kind = "same"
        elif rows_changed <= set(lines) and all(_only_ages_moved(lines[r], screen.line(r)) for r in rows_changed):
            kind = "age"
        else:
            kind = "data"
        kinds[kind] += len(piece)
        slot = per_row.setdefault(row, {"row": row, "bytes": 0, "writes": 0, "age": 0, "data": 0, "same": 0,
                                        "now": ""})
        slot["bytes"] += len(piece)
        slot["writes"] += 1
        slot[kind] += len(piece)
        slot["now"] = screen.line(row).strip()[:110] if row else ""
    ordered = sorted(per_row.values(), key=lambda slot: -slot["bytes"])
    return {"rows_written": len([row for row in per_row if row]), "bytes_by_kind": kinds, "rows": ordered[:top]}


class _Reader:
    """Drains the pty master on a thread (the child must never block on a full pty), timestamping each read."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.chunks: list[tuple[float, bytes]] = []
        self.first_frame: float | None = None
        self._cond = threading.Condition()
        self._head = bytearray()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-terminal")
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.5)
                if not ready:
                    continue
                data = os.read(self.master, 65536)
            except OSError:
                break
            if not data:
                break
            now = time.monotonic()
            with self._cond:
                self.chunks.append((now, data))
                if self.first_frame is None:
                    self._head += data
                    if FIRST_FRAME_TEXT in _ANSI.sub(b"", bytes(self._head)):
                        self.first_frame = now
                        self._head = bytearray()
                self._cond.notify_all()

    def wait_first_frame(self, timeout: float, process: subprocess.Popen[bytes]) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.first_frame is None:
                left = deadline - time.monotonic()
                if left <= 0 or process.poll() is not None:
                    tail = _ANSI.sub(b"", b"".join(chunk for _, chunk in self.chunks[-20:]))[-800:]
                    raise TerminalBenchError(f"no dashboard on the terminal within {timeout:g}s: {tail!r}")
                self._cond.wait(min(left, 0.2))
            return self.first_frame

    def between(self, start: float, end: float) -> list[tuple[float, bytes]]:
        with self._cond:
            return [(at, data) for at, data in self.chunks if start <= at < end]

    def join(self) -> None:
        self._thread.join(timeout=2)


def _stop(process: subprocess.Popen[bytes], master: int) -> None:
    if process.poll() is None:
        try:
            os.write(master, b"q")
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=8)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def measure_terminal_bytes(cols: int = 120, rows: int = 40, seconds: float = 30.0, warmup: float = 8.0, *,
                           record: bool = False, scenario: str | None = None,
                           args: Sequence[str] = (), start_timeout: float = 60.0,
                           dump: Path | None = None) -> dict[str, Any]:
    """Bytes per second the cockpit writes to a ``cols``×``rows`` terminal at steady state (nothing pressed).

    The cockpit runs ``cockpit demo`` (``--no-record`` unless ``record``; ``scenario`` picks the incident, ``args``
    are extra command-line words) in a scratch HOME.  The window opens ``warmup`` seconds after the first frame and
    lasts ``seconds``.  Returns ``bytes``, ``bytes_per_s``, ``per_second`` (bytes in each second of the window),
    ``first_paint_bytes`` (the bytes up to the first frame plus the warm-up, for scale) and ``window`` -- the rows
    written in the window with the text written there and ``bytes_outside_ages`` (rows whose text is not an age:
    the demo's data changed, or something repainted that should not have).  ``dump``: write the window's raw
    bytes there (to see what was sent).
    """
    import fcntl
    import pty
    import termios

    home = Path(tempfile.mkdtemp(prefix="cockpit-term-"))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("COCKPIT_", "KUBECONFIG"))}
    env.update({"TERM": "xterm-256color", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_STATE_HOME": str(home / ".state"), "XDG_DATA_HOME": str(home / ".data"),
                "XDG_CACHE_HOME": str(home / ".cache"), "TZ": "UTC", "COLUMNS": str(cols), "LINES": str(rows)})
    env.pop("COLORTERM", None)
    env.pop("TEXTUAL", None)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    argv = [sys.executable, "-m", "cockpit", "demo"]
    argv += ["--record", str(home / "session.rec")] if record else ["--no-record"]
    if scenario:
        argv += ["--scenario", scenario]
    argv += list(args)
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=home,
                               start_new_session=True)
    os.close(slave)
    reader = _Reader(master)
    try:
        first = reader.wait_first_frame(start_timeout, process)
        start = first + warmup
        end = start + seconds
        while time.monotonic() < end:
            if process.poll() is not None:
                raise TerminalBenchError(f"the cockpit exited ({process.returncode}) during the window")
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
        window = reader.between(start, end)
        before = reader.between(0.0, start)
    finally:
        _stop(process, master)
        try:
            os.close(master)
        except OSError:
            pass
        reader.join()
        shutil.rmtree(home, ignore_errors=True)
    raw = b"".join(data for _, data in window)
    head = b"".join(data for _, data in before)
    if dump is not None:
        Path(dump).write_bytes(raw)
    per_second = [0] * max(1, int(round(seconds)))
    for at, data in window:
        per_second[min(len(per_second) - 1, int(at - start))] += len(data)
    return {
        "cols": cols, "rows": rows, "seconds": seconds, "warmup": warmup, "record": record,
        "scenario": scenario or "default",
        "bytes": len(raw),
        "bytes_per_s": round(len(raw) / seconds, 1) if seconds else 0.0,
        "per_second": per_second,
        "first_paint_bytes": len(head),
        "window": describe_window(head, raw, cols, rows),
    }


def measure_sizes(sizes: Sequence[tuple[int, int]] = SIZES, *, seconds: float = 30.0, warmup: float = 8.0,
                  record: bool = False, scenario: str | None = None) -> list[dict[str, Any]]:
    """:func:`measure_terminal_bytes` at each size in turn (one cockpit at a time)."""
    return [measure_terminal_bytes(cols, rows, seconds, warmup, record=record, scenario=scenario)
            for cols, rows in sizes]


def _size(text: str) -> tuple[int, int]:
    cols, _, rows = text.lower().partition("x")
    return int(cols), int(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.terminal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", dest="sizes", action="append", type=_size, metavar="COLSxROWS",
                        help="terminal size (repeatable; default 80x24, 120x40, 200x50)")
    parser.add_argument("--seconds", type=float, default=30.0, help="the counting window (default 30)")
    parser.add_argument("--warmup", type=float, default=8.0, help="after the first frame (default 8)")
    parser.add_argument("--record", action="store_true", help="recording on (default: --no-record)")
    parser.add_argument("--scenario", help="the demo scenario (default: the demo's default)")
    parser.add_argument("--json", action="store_true", help="print every result as JSON")
    parser.add_argument("--rows", action="store_true", help="show the rows written in each window")
    parser.add_argument("--dump", metavar="PREFIX", help="write each window's raw bytes to PREFIX-COLSxROWS.bin")
    options = parser.parse_args(argv)
    results = []
    for cols, rows in options.sizes or SIZES:
        result = measure_terminal_bytes(cols, rows, options.seconds, options.warmup, record=options.record,
                                        scenario=options.scenario,
                                        dump=Path(f"{options.dump}-{cols}x{rows}.bin") if options.dump else None)
        results.append(result)
        window = result["window"]
        print(f"{cols}x{rows}: {result['bytes_per_s'] / 1000:.2f} KB/s ({result['bytes']} bytes in "
              f"{options.seconds:g} s, recording {'on' if options.record else 'off'}); "
              f"{window['rows_written']} rows written; bytes by kind {window['bytes_by_kind']}; "
              f"per second {result['per_second']}", flush=True)
        if options.rows:
            for slot in window["rows"]:
                print(f"    row {slot['row']:>3} {slot['bytes']:>6} B {slot['writes']:>3} writes (age {slot['age']}, "
                      f"data {slot['data']}, same {slot['same']}): {slot['now']}", flush=True)
    if options.json:
        print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
