"""Hand events to the recorder off the UI thread: the recorder fsyncs every commit, which is I/O the event loop
must never wait for.  One daemon thread drains a queue in order; ``close()`` flushes what is queued."""

from __future__ import annotations

import queue
import threading
from typing import Any

from cockpit.models import PaneSnapshot

_STOP = object()


class RecordingSink:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.clock: Any = None  # set by the app: the end time comes from the session's clock
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._drain, name="cockpit-recorder", daemon=True)
        self._thread.start()

    @property
    def path(self) -> Any:
        return self.recorder.path

    @property
    def error(self) -> str | None:
        return self.recorder.error

    def snapshot(self, snap: PaneSnapshot, ts: float) -> None:
        self._queue.put(("snapshot", snap, ts))

    def record(self, kind: str, payload: Any, ts: float, *, context: str = "", pane: str = "") -> None:
        self._queue.put(("event", (kind, payload, ts, context, pane), None))

    def update_meta(self, **changes: Any) -> None:
        self._queue.put(("meta", changes, None))

    def flush(self, timeout: float = 5.0) -> None:
        done = threading.Event()
        self._queue.put(("flush", done, None))
        done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                try:
                    self.recorder.close(self.clock.now() if self.clock is not None else None)
                except Exception:  # noqa: BLE001 - the recorder reports its own errors in .error
                    pass
                return
            kind, value, ts = item
            try:
                if kind == "snapshot":
                    self.recorder.record_snapshot(value, ts)
                elif kind == "event":
                    event_kind, payload, at, context, pane = value
                    self.recorder.record(event_kind, payload, at, context=context, pane=pane)
                elif kind == "meta":
                    self.recorder.update_meta(**value)
                elif kind == "flush":
                    value.set()
            except Exception:  # noqa: BLE001 - recording must never take the cockpit down
                continue
