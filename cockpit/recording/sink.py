"""Hand events to the recorder off the UI thread: the recorder fsyncs every commit, which is I/O the event loop
must never wait for.  One daemon thread drains a queue in order; ``close()`` flushes what is queued.

The queue is bounded where it can be without losing evidence: a pane's snapshots **coalesce** -- while one is still
waiting to be written, a newer snapshot of the same (context, pane) replaces it in its place in the queue (the
latest wins; the replay shows the pane as it was when the recorder caught up).  Events (``audit``, ``step``,
``answer``, ``gateway``, ``decision``, ``marker``) are never dropped or merged: they are the person's moves and the
writes, at human speed.  So the queue holds at most one snapshot per pane plus the events of the moment.  When the
recorder falls behind, whatever was queued is written in one commit (one fsync), and the sink says so: a ``note``
marker in the recording ("recorder fell behind: N pane snapshots superseded before they were written") and
:attr:`RecordingSink.warning` for the status bar.

While the panes fill for the first time the writer is **held** (:meth:`RecordingSink.hold`): encoding a pane's
first snapshot (a keyframe of ten thousand backups takes hundreds of milliseconds of the GIL) would compete with
the lists being decoded and the panes being painted, at the moment the person is waiting for them.  Held, the
queue keeps every snapshot in its order, none superseded, each with the time it was taken; the session lets go
(:meth:`RecordingSink.release`) once every pane has its first answer and has been shown, and the hold ends by
itself after ``at_most`` seconds, past ``HOLD_MAX_ITEMS`` queued items, at a ``flush``, at ``close`` and at the
person's first write or answer (``ENDS_HOLD``).  Nothing is lost or reordered: the writing starts a moment later.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from cockpit.models import PaneSnapshot

_STOP = ("stop", None, None)
NOTE_EVERY_S = 60.0  # at most one "fell behind" marker a minute
ENDS_HOLD = frozenset({"audit", "gateway", "step", "answer"})  # events that end a hold: writes, the person's moves
HOLD_MAX_ITEMS = 1000  # a hold ends by itself past this many queued items (each snapshot only refers to its data)


class RecordingSink:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.clock: Any = None  # set by the app: the end time comes from the session's clock
        self._cond = threading.Condition()
        self._items: deque[tuple[str, Any, Any]] = deque()
        self._snapshots: dict[tuple[str, str], tuple[PaneSnapshot, float]] = {}  # waiting, latest per pane
        self._closed = False
        self.coalesced = 0  # snapshots superseded before they were written, since the start
        self._coalesced_noted = 0
        self._noted_at = 0.0
        self.failures = 0  # calls the recorder refused (a bad payload: a caller's bug); the last one in .failure
        self.failure: str | None = None
        self._held_until = 0.0  # time.monotonic() until which the writer waits (hold); 0: not held
        self._thread = threading.Thread(target=self._drain, name="cockpit-recorder", daemon=True)
        self._thread.start()

    @property
    def path(self) -> Any:
        return self.recorder.path

    @property
    def error(self) -> str | None:
        return self.recorder.error

    @property
    def count(self) -> int:
        return int(getattr(self.recorder, "count", 0))

    @property
    def pending(self) -> int:
        """Items waiting to be written (at most one snapshot per pane, plus events)."""
        with self._cond:
            return len(self._items)

    @property
    def warning(self) -> str | None:
        """One line for the status bar when the recording is not everything it could be (None: all is well)."""
        parts = []
        if self.coalesced:
            parts.append(f"recorder fell behind: {self.coalesced} pane snapshots superseded (the latest kept)")
        if self.failures:
            parts.append(f"{self.failures} events refused by the recorder ({self.failure})")
        return "; ".join(parts) or None

    def hold(self, at_most: float) -> None:
        """Keep the writer waiting (at most ``at_most`` seconds) while the panes fill: see the module's text."""
        with self._cond:
            if not self._closed:
                self._held_until = time.monotonic() + max(0.0, at_most)
                self._cond.notify()

    def release(self) -> None:
        """Let the writer write what the hold kept (in order), and everything after as it comes."""
        with self._cond:
            self._held_until = 0.0
            self._cond.notify()

    @property
    def held(self) -> bool:
        with self._cond:
            return self._holding()

    def _holding(self) -> bool:  # under self._cond
        if not self._held_until:
            return False
        if time.monotonic() >= self._held_until or len(self._items) > HOLD_MAX_ITEMS:
            self._held_until = 0.0
            return False
        return True

    def snapshot(self, snap: PaneSnapshot, ts: float) -> None:
        key = (snap.context, snap.pane)
        with self._cond:
            if self._closed:
                return
            if self._holding():  # kept as taken, in order: a hold supersedes nothing
                self._items.append(("held", snap, ts))
                self._cond.notify()
                return
            if key in self._snapshots:
                self.coalesced += 1  # still queued: the newer one takes its place
            else:
                self._items.append(("snapshot", key, None))
            self._snapshots[key] = (snap, ts)
            self._cond.notify()

    def record(self, kind: str, payload: Any, ts: float, *, context: str = "", pane: str = "") -> None:
        if kind in ENDS_HOLD:
            self.release()  # a write or the person's move is written at once, and everything before it
        self._put(("event", (kind, payload, ts, context, pane), None))

    def update_meta(self, **changes: Any) -> None:
        self._put(("meta", changes, None))

    def flush(self, timeout: float = 5.0) -> None:
        """Wait (at most ``timeout`` seconds) until everything queued before this call is written."""
        done = threading.Event()
        if self._put(("flush", done, None)):
            done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, close the recording (at the session clock's time), and stop the thread."""
        with self._cond:
            if not self._closed:
                self._closed = True
                self._held_until = 0.0
                self._items.append(_STOP)
                self._cond.notify()
        self._thread.join(timeout)

    def _put(self, item: tuple[str, Any, Any]) -> bool:
        with self._cond:
            if self._closed:
                return False
            if item[0] == "flush":
                self._held_until = 0.0  # someone waits for the recording to be written: the hold ends
            self._items.append(item)
            self._cond.notify()
            return True

    # ------------------------------------------------------------------ the writer thread

    def _drain(self) -> None:
        while True:
            with self._cond:
                while not self._items or self._holding():
                    self._cond.wait(max(0.01, self._held_until - time.monotonic()) if self._held_until else None)
                items = list(self._items)
                self._items.clear()
                batch = []
                for kind, value, extra in items:
                    if kind == "snapshot":
                        snap, ts = self._snapshots.pop(value)
                        batch.append((kind, snap, ts))
                    elif kind == "held":
                        batch.append(("snapshot", value, extra))
                    else:
                        batch.append((kind, value, extra))
                behind = self.coalesced - self._coalesced_noted
            stop = False
            flushed: list[threading.Event] = []
            last_ts: float | None = None
            try:
                with self._batch(len(batch) > 1):
                    for kind, value, ts in batch:
                        if kind == "stop":
                            stop = True
                            break
                        if kind == "flush":
                            flushed.append(value)
                            continue
                        last_ts = self._write(kind, value, ts) or last_ts
                    if behind and last_ts is not None and (stop or time.monotonic() - self._noted_at >= NOTE_EVERY_S):
                        self._note(behind, last_ts)
            except Exception as err:  # noqa: BLE001 - recording must never take the cockpit down
                self._failed(err)
            for done in flushed:
                done.set()
            if stop:
                try:
                    self.recorder.close(self.clock.now() if self.clock is not None else None)
                except Exception:  # noqa: BLE001 - the recorder reports its own errors in .error
                    pass
                return

    def _batch(self, many: bool) -> Any:
        import contextlib

        batch = getattr(self.recorder, "batch", None)
        return batch() if many and batch is not None else contextlib.nullcontext()

    def _write(self, kind: str, value: Any, ts: Any) -> float | None:
        """One item to the recorder; the time it was recorded at (None for metadata or a refused call)."""
        try:
            if kind == "snapshot":
                self.recorder.record_snapshot(value, ts)
                return float(ts) if isinstance(ts, (int, float)) else None
            if kind == "event":
                event_kind, payload, at, context, pane = value
                self.recorder.record(event_kind, payload, at, context=context, pane=pane)
                return float(at) if isinstance(at, (int, float)) else None
            if kind == "meta":
                self.recorder.update_meta(**value)
        except Exception as err:  # noqa: BLE001 - a bad payload is the caller's bug; keep recording the rest
            self._failed(err)
        return None

    def _note(self, behind: int, ts: float) -> None:
        from cockpit.recording.format import marker_payload

        text = (
            f"recorder fell behind: {behind} pane snapshots superseded before they were written "
            "(the latest of each pane was kept; no event was dropped)"
        )
        self.recorder.record("marker", marker_payload("note", text=text), ts)
        self._coalesced_noted += behind
        self._noted_at = time.monotonic()

    def _failed(self, err: Exception) -> None:
        self.failures += 1
        self.failure = f"{type(err).__name__}: {err}"[:200]
