"""Keeping the cockpit small on the bastion: glibc's allocator told to give memory back.

A cockpit runs for hours and, now and then, holds a large thing for a moment -- a relist of ten thousand Velero
backups decoded page by page, a recording keyframe of that pane -- then lets it go.  glibc keeps what was freed:
after the first large block is freed its ``mmap`` threshold rises to that block's size (so the next ones come from
the heap, where a freed block is trapped behind a live one), each worker thread gets an arena of its own (a dozen
watch threads, up to eight arenas per core), and a heap is trimmed only from its top.  The resident size then
creeps upward in steps of the largest transient allocations, and never comes down.

:func:`tune` (once, after the first frame: it imports ctypes) fixes the thresholds where glibc starts them
(``M_MMAP_THRESHOLD`` 128 KiB -- a large block is mapped and unmapped whole -- and ``M_TRIM_THRESHOLD`` 128 KiB)
and caps the arenas at two; :func:`trim` (``malloc_trim(0)``) hands the free pages inside every arena back to the
system.  It is called after the large transient work (a relist, a keyframe) from the thread that did it, never on
the UI's event loop, and at most once every few seconds.  Elsewhere (macOS, musl) both do nothing.

Python's own collector is the other cost.  A full collection walks every container object the process holds:
Textual, Rich and the clients are several hundred thousand of them, and the first lists add a few hundred thousand
more (ten thousand backups parsed), so each full pass took about 100 ms -- four of them while the panes filled,
and one now and then in the middle of a change to a pane.  The objects made by the imports and the first screen,
and the first lists' data, live as long as the session; :func:`hold` (at the start of the command, before the
imports) keeps the collector off, :func:`settle` moves everything alive into the permanent generation
(``gc.freeze``) and turns it back on.  The session settles once at its first frame and once more when every pane
has its first answer (or after ``SETTLE_AT_MOST`` seconds).  Objects frozen are still freed when nothing refers
to them (reference counting); only a reference cycle among them would outlive its use, and those are the
long-lived screens and clients.  Tests and embedders that never call :func:`hold` are left as they are.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
THRESHOLD = 128 * 1024
ARENAS = 2
TRIM_EVERY = 5.0  # seconds: a burst of relists trims once

SETTLE_AT_MOST = 20.0  # seconds after the first frame: the collector is back on even if a pane never answers

_libc: Any = None
_held = False
_managed = False  # hold() was called: the command manages the collector (settle, settle_after_start)
_settled_after_start = False
_tuned = False
_lock = threading.Lock()
_last_trim = 0.0
trims = 0  # how many trims were done (tests, the bench)


def _glibc() -> Any:
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                libc = ctypes.CDLL("libc.so.6", use_errno=True)
                libc.gnu_get_libc_version  # noqa: B018 - present in glibc only (musl has no such symbol)
                libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                libc.malloc_trim.argtypes = [ctypes.c_size_t]
                _libc = libc
            except (OSError, AttributeError):
                _libc = False
    return _libc or None


def tune() -> bool:
    """Fix glibc's thresholds and cap its arenas (once); True when done (glibc present)."""
    global _tuned
    with _lock:
        if _tuned:
            return True
        libc = _glibc()
        if libc is None:
            return False
        libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, THRESHOLD)
        libc.mallopt(M_ARENA_MAX, ARENAS)
        _tuned = True
        return True


def trim(*, force: bool = False) -> bool:
    """Give the free pages of every arena back to the system (at most once every ``TRIM_EVERY`` seconds unless
    ``force``); True when a trim ran.  Call it off the UI's event loop: it walks the heaps (a few ms)."""
    global _last_trim, trims
    if not _tuned and not force:
        return False
    now = time.monotonic()
    with _lock:
        if not force and now - _last_trim < TRIM_EVERY:
            return False
        _last_trim = now
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    trims += 1
    return True


def hold() -> None:
    """Keep Python's collector off until :func:`settle` (the start of a cockpit command)."""
    global _held, _managed
    _held = True
    _managed = True
    gc.disable()


def held() -> bool:
    return _held


def settle(*, final: bool = True) -> bool:
    """Freeze what is alive now into the permanent generation; with ``final`` turn the collector back on (and
    stop holding).  Nothing unless :func:`hold` was called.  Cheap (``gc.freeze`` moves lists, it walks nothing)."""
    global _held
    if not _held:
        return False
    gc.freeze()
    if final:
        _held = False
        gc.enable()
    return True


def settle_after_start() -> bool:
    """Once, when the start-up's work is done (every pane has answered and its data is drawn and recorded): collect
    what the start-up left behind, then freeze what is alive.  Between the last :func:`settle` and this the
    panes are drawn, the evidence is gathered, the recording writes its first keyframes and the next key's modal
    is built: a few hundred thousand objects the first full collection then walks (30-45 ms here), and it came
    with the allocations of the person's first keystroke -- every launch's first modal waited for it.  Here it
    runs in a quiet moment, in the session's thread, and later full collections walk only what is new.  Nothing
    unless the command manages the collector (:func:`hold`); True when done."""
    global _settled_after_start
    with _lock:
        if not _managed or _held or _settled_after_start:
            return False
        _settled_after_start = True
    gc.collect()
    gc.freeze()
    return True


def release() -> None:
    """The collector back on, nothing frozen (a command that ended without its session settling); the command no
    longer manages it."""
    global _held, _managed, _settled_after_start
    _managed = _settled_after_start = False
    if _held:
        _held = False
        gc.enable()
