"""Background work for a session, without Textual: supervised threads and debounced jobs.

* ``loop(name, body)`` runs ``body(stopped)`` in a daemon thread; if it raises, ``on_crash(name, err, delay)`` is told
  (the pane says so) and the body starts again after a capped backoff.  Nothing dies silently.
* ``later(key, delay, fn)`` runs ``fn`` once in the pool after ``delay`` seconds; asking again for the same key while
  one is pending does nothing (a burst of changes -> one job).
* ``every(key, seconds, fn)``: ``fn`` re-armed after each completion (a slow call never stacks).

Every thread is a daemon, so a call stuck in a library can never keep the process alive after quit.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("cockpit.session")

Crash = Callable[[str, BaseException, float], None]


class Scheduler:
    def __init__(self, *, workers: int = 4, on_crash: Crash | None = None) -> None:
        self.stopped = threading.Event()
        self._on_crash = on_crash
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cockpit-job")
        self._heap: list[tuple[float, int, str, Callable[[], Any]]] = []
        self._pending: set[str] = set()
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._timer = threading.Thread(target=self._timers, name="cockpit-timers", daemon=True)
        self._timer.start()
        self.threads: dict[str, threading.Thread] = {}

    # -- supervised loops --------------------------------------------------------------------------------------

    def loop(self, name: str, body: Callable[[threading.Event], None], *, restart: bool = True) -> threading.Thread:
        def run() -> None:
            delay = 1.0
            while not self.stopped.is_set():
                started = time.monotonic()
                try:
                    body(self.stopped)
                    return
                except BaseException as err:  # noqa: BLE001 - reported, then restarted
                    if self.stopped.is_set():
                        return
                    log.exception("background task %s crashed", name)
                    if time.monotonic() - started > 60:
                        delay = 1.0  # it ran a good while: not a crash loop
                    self._crashed(name, err, delay if restart else 0.0)
                    if not restart:
                        return
                    self.stopped.wait(delay)
                    delay = min(delay * 2, 30.0)

        thread = threading.Thread(target=run, name=f"cockpit-{name}", daemon=True)
        self.threads[name] = thread
        thread.start()
        return thread

    def _crashed(self, name: str, err: BaseException, delay: float) -> None:
        if self._on_crash is None:
            return
        try:
            self._on_crash(name, err, delay)
        except Exception:  # noqa: BLE001
            log.exception("crash handler failed for %s", name)

    # -- jobs ----------------------------------------------------------------------------------------------------

    def submit(self, name: str, fn: Callable[[], Any]) -> None:
        """Run ``fn`` in the pool now; an exception is reported like a crash (never lost)."""
        if self.stopped.is_set():
            return

        def job() -> None:
            if self.stopped.is_set():
                return
            try:
                fn()
            except BaseException as err:  # noqa: BLE001
                if not self.stopped.is_set():
                    log.exception("job %s failed", name)
                    self._crashed(name, err, 0.0)

        try:
            self._pool.submit(job)
        except RuntimeError:  # the pool is shut down: the session is stopping
            pass

    def later(self, key: str, delay: float, fn: Callable[[], Any]) -> bool:
        """Run ``fn`` after ``delay`` unless a job under ``key`` is already pending.  True when scheduled."""
        with self._cond:
            if key in self._pending or self.stopped.is_set():
                return False
            self._pending.add(key)
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), key, fn))
            self._cond.notify()
        return True

    def pending(self, key: str) -> bool:
        with self._cond:
            return key in self._pending

    def every(self, key: str, seconds: float, fn: Callable[[], Any], *, first: float | None = None) -> None:
        """``fn`` now (or after ``first``) and then ``seconds`` after each completion."""

        def again() -> None:
            try:
                fn()
            finally:
                self.later(key, seconds, again)

        self.later(key, seconds if first is None else first, again)

    def _timers(self) -> None:
        while True:
            with self._cond:
                while not self.stopped.is_set() and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = (self._heap[0][0] - time.monotonic()) if self._heap else None
                    self._cond.wait(timeout)
                if self.stopped.is_set():
                    return
                _, _, key, fn = heapq.heappop(self._heap)
                self._pending.discard(key)
            self.submit(key, fn)

    def stop(self) -> None:
        self.stopped.set()
        with self._cond:
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
