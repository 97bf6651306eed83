"""Bounds on every answer: how long a request may take in total, how large an answer may be.

A socket timeout bounds one read, not a request: a server that sends one byte every five seconds never trips a
ten-second read timeout and holds its caller for ever.  So every request here runs under a :class:`Deadline`, a
total budget (connect + headers + body) enforced by one watchdog thread that shuts the request's socket down (or
kills its process) when the budget is spent.  The blocked read then returns at once and the caller raises
``SourceError(TIMEOUT, "no complete answer from … within Ns")``.

A deadline is also the cancellation hook: ``deadline.cancel()`` from any thread ends the requests made under it
the same way, and they raise ``SourceError(CANCELLED, "stopped waiting for …")``.  Deadlines nest through a
context variable: a request made inside ``with Deadline(None, "planning the rollback") as plan:`` is a child of
``plan``, ends when ``plan`` is cancelled, and ``plan.waiting_for()`` says what it is waiting for right now.
:func:`abandon_all` ends every request in flight (quitting must never wait for a server or a plugin).

The sizes are chosen far above what a real cluster or server sends, and far below what would hurt a bastion:

* ``MAX_OBJECT_BYTES`` 16 MiB: one Kubernetes object, a watch event, an answer to get/patch/review.  etcd refuses
  objects over 1.5 MiB (``--max-request-bytes``); the JSON of the largest one is a few MiB.
* ``MAX_LIST_BYTES`` 256 MiB and ``MAX_LIST_ITEMS`` 200 000 for one list, all its pages together (pages of
  ``LIST_PAGE_SIZE`` objects, as client-go's pager asks).  10 000 Velero backups are about 30 MB, 3 000 Argo CD
  Applications with their resource trees about 100 MB.
* ``MAX_PROMETHEUS_BYTES`` 16 MiB: the p99 range (61 points) of even 1 000 series is about 3 MB.
* ``MAX_S3_PAGE_BYTES`` 16 MiB: a ListObjectVersions page holds at most 1 000 entries of at most 1 KiB keys;
  ``MAX_S3_PAGES`` 400 pages.
* Credential plugin: 1 MiB of stdout (an ExecCredential, certificates included, is a few KiB), the first 64 KiB
  of stderr kept for the message.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import heapq
import itertools
import os
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cockpit.sources.errors import ErrorKind, SourceError

MiB = 1024 * 1024
MAX_OBJECT_BYTES = 16 * MiB
MAX_WATCH_EVENT_BYTES = MAX_OBJECT_BYTES
MAX_LIST_BYTES = 256 * MiB
MAX_LIST_ITEMS = 200_000
LIST_PAGE_SIZE = 500
MAX_PROMETHEUS_BYTES = 16 * MiB
MAX_FLAG_BYTES = 4 * MiB
MAX_S3_PAGE_BYTES = 16 * MiB
MAX_S3_PAGES = 400
MAX_PLUGIN_STDOUT = 1 * MiB
MAX_PLUGIN_STDERR = 64 * 1024

READ_CHUNK = 64 * 1024
BODY_CHUNK = 1 * MiB  # a body is read in few large reads: each read takes the GIL back, and waits for it while
# the panes are painted and other lists decoded (7 MB of Backups in 64 KiB reads took twice as long there)


def size_words(count: int) -> str:
    """A byte count as a person reads it: "16 MiB", "64 KiB", "900 bytes"."""
    if count >= MiB and count % MiB == 0:
        return f"{count // MiB} MiB"
    if count >= MiB:
        return f"{count / MiB:.1f} MiB"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024} KiB"
    return f"{count} bytes"


def seconds_words(seconds: float) -> str:
    """"1.5s", "0.05s", "30s": a duration as the messages say it (two significant digits below ten seconds)."""
    return f"{float(f'{seconds:.2g}'):g}s" if seconds < 10 else f"{round(seconds)}s"


def too_large(what: str, limit: int) -> SourceError:
    return SourceError(ErrorKind.TOO_LARGE, f"{what} larger than {size_words(limit)}: not read")


# --------------------------------------------------------------------------- deadlines

_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("cockpit_deadline", default=None)
_LIVE: weakref.WeakSet[Deadline] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()
_REFUSING: list[str] = []  # set by abandon_all(refuse_new=True): every new deadline is born cancelled


class Deadline:
    """A total time budget for one request (or a group of them), and the way to abandon it early.

    ``seconds=None`` is no time limit (a cancel scope).  Use it as a context manager: inside, it is the current
    deadline of the thread (and of ``asyncio.to_thread`` calls, which copy the context); requests made inside
    register their sockets and processes with it.  A deadline created while another is current is its child:
    it ends no later than its parent and ends when the parent ends.

    Thread-safe.  ``cancel`` may be called from any thread (the UI's Cancel button).
    """

    def __init__(self, seconds: float | None, what: str, *, parent: Deadline | None | bool = True) -> None:
        self.what = what
        self.seconds = seconds
        self.started = time.monotonic()
        own = self.started + seconds if seconds is not None else float("inf")
        if parent is True:
            parent = _CURRENT.get()
        self.parent: Deadline | None = parent or None
        self.at = min(own, self.parent.at) if self.parent is not None else own
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._error: SourceError | None = None
        self._closed = False
        self._token: contextvars.Token[Deadline | None] | None = None
        self._parent_hook: int | None = None
        self._children: weakref.WeakSet[Deadline] = weakref.WeakSet()
        with _LIVE_LOCK:
            _LIVE.add(self)
            refusing = _REFUSING[0] if _REFUSING else ""
        if refusing:
            self._fire(SourceError(ErrorKind.CANCELLED, f"stopped waiting for {what}: {refusing}"))
        elif self.parent is not None:
            self.parent._children.add(self)
            self._parent_hook = self.parent.on_fire(self._parent_fired)
        if self.at != float("inf") and self._error is None:
            _watchdog().add(self)

    # -- state ---------------------------------------------------------------------------------------------

    def remaining(self) -> float:
        """Seconds left (0 when spent or cancelled; ``inf`` without a limit)."""
        if self._error is not None:
            return 0.0
        return max(0.0, self.at - time.monotonic())

    @property
    def fired(self) -> bool:
        """True once the time is up or it was cancelled: requests under it are being ended."""
        return self._error is not None or time.monotonic() >= self.at

    def error(self) -> SourceError:
        """Why it ended, in words (a TIMEOUT or CANCELLED SourceError)."""
        if self._error is None and time.monotonic() >= self.at:
            self._fire(self._timeout_error())
        return self._error or SourceError(ErrorKind.TIMEOUT, f"no complete answer from {self.what}")

    def check(self) -> None:
        """Raise :meth:`error` if the deadline has fired."""
        if self.fired:
            raise self.error()

    def waiting_for(self) -> list[str]:
        """What the requests under this deadline are waiting for now (innermost first), for "still waiting for X"."""
        out: list[str] = []
        for child in list(self._children):
            if not child._closed:
                out.extend(child.waiting_for() or [child.what])
        return out

    # -- control -------------------------------------------------------------------------------------------

    def cancel(self, reason: str = "cancelled") -> None:
        """End every request under this deadline now (from any thread)."""
        self._fire(SourceError(ErrorKind.CANCELLED, f"stopped waiting for {self.what}: {reason}"))

    def on_fire(self, callback: Callable[[], None]) -> int:
        """Call ``callback`` (from the watchdog or the cancelling thread) when the deadline fires; at once if it
        has fired already.  Returns a handle for :meth:`discard`.  Callbacks must be quick and not raise."""
        with self._lock:
            handle = next(self._ids)
            if self._error is None:
                self._callbacks[handle] = callback
                return handle
        _call_quietly(callback)
        return handle

    def discard(self, handle: int) -> None:
        with self._lock:
            self._callbacks.pop(handle, None)

    def close(self) -> None:
        """The work is done: drop every registration (sockets, processes) and the link to the parent."""
        with self._lock:
            self._closed = True
            self._callbacks.clear()
        if self.parent is not None and self._parent_hook is not None:
            self.parent.discard(self._parent_hook)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def __enter__(self) -> Deadline:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None
        self.close()

    # -- internals -----------------------------------------------------------------------------------------

    def _timeout_error(self) -> SourceError:
        parent = self.parent
        if parent is not None and parent.at < self.started + (self.seconds or float("inf")):
            if parent.what == self.what:  # the same thing, bounded twice (a request and its redirects)
                return parent._timeout_error()
            waited = max(0.0, parent.at - self.started)
            return SourceError(ErrorKind.TIMEOUT, f"no complete answer from {self.what} within "
                                                  f"{seconds_words(waited)} ({parent.what} ran out of time)")
        return SourceError(ErrorKind.TIMEOUT, f"no complete answer from {self.what} within "
                                              f"{seconds_words(self.seconds or 0.0)}")

    def _parent_fired(self) -> None:
        parent = self.parent
        cause = parent._error if parent is not None else None
        if cause is not None and cause.kind is ErrorKind.CANCELLED:
            reason = cause.message.split(": ", 1)[-1]
            self._fire(SourceError(ErrorKind.CANCELLED, f"stopped waiting for {self.what}: {reason}"))
        else:
            self._fire(self._timeout_error())

    def _expire(self) -> None:
        if not self._closed and time.monotonic() >= self.at:
            self._fire(self._timeout_error())

    def _fire(self, error: SourceError) -> None:
        with self._lock:
            if self._error is not None:
                return
            self._error = error
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        for callback in callbacks:
            _call_quietly(callback)


def _call_quietly(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # noqa: BLE001 - a socket already closed, a process already gone
        pass


@contextlib.contextmanager
def using(deadline: Deadline) -> Iterator[Deadline]:
    """Make ``deadline`` current here without closing it on the way out (its owner closes it)."""
    token = _CURRENT.set(deadline)
    try:
        yield deadline
    finally:
        _CURRENT.reset(token)


def current() -> Deadline | None:
    """The deadline requests made here run under (None: only the request's own)."""
    return _CURRENT.get()


def abandon_all(reason: str = "the cockpit is quitting", *, refuse_new: bool = False) -> int:
    """End every request in flight, in every thread (sockets shut down, plugins killed); returns how many.

    Call it when quitting, before waiting for worker threads.  ``refuse_new`` makes every later deadline start
    cancelled too (used at interpreter exit)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
        if refuse_new and not _REFUSING:
            _REFUSING.append(reason)
    for deadline in live:
        if not deadline._closed:
            deadline.cancel(reason)
    return len(live)


class _Watchdog:
    """One daemon thread firing deadlines when their time is up."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, weakref.ref[Deadline]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="cockpit-deadlines", daemon=True)
        self._thread.start()

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.at, next(self._seq), weakref.ref(deadline)))
            if self._heap[0][2]() is deadline:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        _, _, ref = heapq.heappop(self._heap)
                        break
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
            deadline = ref()
            if deadline is not None:
                deadline._expire()


_WATCHDOG: _Watchdog | None = None
_WATCHDOG_LOCK = threading.Lock()


def _watchdog() -> _Watchdog:
    global _WATCHDOG
    with _WATCHDOG_LOCK:
        if _WATCHDOG is None:
            _WATCHDOG = _Watchdog()
            # Interpreter exit waits for non-daemon threads (asyncio.to_thread's among them): end their requests
            # first.  Registered after concurrent.futures' own hook, so it runs before it.
            register = getattr(threading, "_register_atexit", None)
            if register is not None:
                try:
                    register(abandon_all, "the cockpit is quitting", refuse_new=True)
                except RuntimeError:  # already shutting down
                    pass
        return _WATCHDOG


def _shutdown_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def watch_socket(sock: Any, deadline: Deadline | None = None) -> None:
    """Shut ``sock`` down when ``deadline`` (default: the current one) fires; no-op without a deadline."""
    deadline = deadline or _CURRENT.get()
    if deadline is not None and sock is not None and hasattr(sock, "shutdown"):
        deadline.on_fire(lambda: _shutdown_socket(sock))


# --------------------------------------------------------------------------- urllib3 connections under deadlines


class _DeadlineConnectionMixin:
    """Registers the connection's socket with the current deadline when it connects and for every request."""

    def _new_conn(self) -> Any:
        current_deadline = _CURRENT.get()
        if current_deadline is not None:
            current_deadline.check()
        sock = super()._new_conn()  # type: ignore[misc]
        watch_socket(sock, current_deadline)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        current_deadline = _CURRENT.get()
        if current_deadline is not None:
            current_deadline.check()
            watch_socket(getattr(self, "sock", None), current_deadline)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _BoundedErrorsMixin:
    """Reads the body of a non-2xx answer (which a client reads whole to make its exception) only up to
    ``_cockpit_error_limit`` bytes; a longer one is cut there and its connection closed."""

    _cockpit_error_limit = 0

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        response = super().urlopen(method, url, *args, **kwargs)  # type: ignore[misc]
        status = getattr(response, "status", 200)
        if 200 <= status < 300 or kwargs.get("preload_content", True):
            return response
        from urllib3 import HTTPResponse

        limit = self._cockpit_error_limit
        try:
            data = response.read(limit + 1)
        except Exception:
            _abort(response)
            deadline = _CURRENT.get()
            if deadline is not None and deadline.fired:
                raise deadline.error() from None
            raise
        if len(data) > limit:
            _abort(response)
            data = data[:limit]
        else:
            response.release_conn()
        return HTTPResponse(body=io.BytesIO(data), headers=response.headers, status=status,
                            version=getattr(response, "version", 11), reason=response.reason,
                            preload_content=False, decode_content=False, request_method=method, request_url=url)


_POOL_CLASSES: dict[tuple[type, int], type] = {}
_POOL_LOCK = threading.Lock()


def _deadline_pool(pool_cls: type, error_body_limit: int) -> type:
    with _POOL_LOCK:
        base = getattr(pool_cls, "_cockpit_base", pool_cls)
        key = (base, error_body_limit)
        if key not in _POOL_CLASSES:
            conn_cls = base.ConnectionCls
            wrapped_conn = type(f"Deadline{conn_cls.__name__}", (_DeadlineConnectionMixin, conn_cls), {})
            bases = (_BoundedErrorsMixin, base) if error_body_limit else (base,)
            _POOL_CLASSES[key] = type(f"Deadline{base.__name__}", bases, {
                "ConnectionCls": wrapped_conn, "_cockpit_base": base, "_cockpit_error_limit": error_body_limit})
        return _POOL_CLASSES[key]


def deadline_pool_classes(classes: Mapping[str, type], *, error_body_limit: int = 0) -> dict[str, type]:
    """``{"http": pool class, "https": ...}`` with connections that obey the current deadline (and, with
    ``error_body_limit``, error answers read only so far)."""
    return {scheme: _deadline_pool(cls, error_body_limit) for scheme, cls in classes.items()}


def install(pool_manager: Any, *, error_body_limit: int = 0) -> Any:
    """Make an urllib3 PoolManager (or ProxyManager) obey the current deadline; returns it.  Pools it has
    created already are cleared, so every later request uses the new connection classes."""
    pool_manager.pool_classes_by_scheme = deadline_pool_classes(pool_manager.pool_classes_by_scheme,
                                                                error_body_limit=error_body_limit)
    try:
        pool_manager.clear()
    except Exception:  # noqa: BLE001
        pass
    return pool_manager


def read_body(response: Any, *, limit: int, what: str, deadline: Deadline | None = None,
              decode_content: bool = True) -> bytes:
    """The body of an urllib3 response, at most ``limit`` bytes (decoded), within the deadline.

    Raises ``SourceError(TOO_LARGE)`` past the limit (the connection is closed, not drained) and the deadline's
    error if it fires while reading."""
    deadline = deadline or _CURRENT.get()
    length = response.headers.get("Content-Length") if getattr(response, "headers", None) is not None else None
    encoded = bool(response.headers.get("Content-Encoding")) if getattr(response, "headers", None) else False
    if length and not encoded and length.strip().isdigit() and int(length) > limit:
        _abort(response)
        raise too_large(what, limit)
    parts: list[bytes] = []
    total = 0
    try:
        for chunk in response.stream(BODY_CHUNK, decode_content=decode_content):
            total += len(chunk)
            if total > limit:
                raise too_large(what, limit)
            parts.append(chunk)
            if deadline is not None:
                deadline.check()
    except SourceError:
        _abort(response)
        raise
    except Exception:
        _abort(response)
        if deadline is not None and deadline.fired:
            raise deadline.error() from None
        raise
    if deadline is not None and deadline.fired:
        _abort(response)
        raise deadline.error()
    return b"".join(parts)


def _abort(response: Any) -> None:
    """Close a response whose body we will not read to the end (its connection is not reused)."""
    for name in ("close", "release_conn"):
        try:
            getattr(response, name)()
        except Exception:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------- watch lines


class LineReader:
    """Complete newline-terminated lines from a stream of chunks, each at most ``limit`` bytes.

    Only each new chunk is searched for newlines (no rescans: linear in the bytes received) and the pending
    partial line is kept as a list of pieces (no quadratic concatenation); a line over the limit raises
    ``SourceError(TOO_LARGE)`` as soon as the limit is passed, so at most ``limit`` + one chunk is buffered.
    """

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.scanned = 0  # bytes searched for newlines (== bytes fed)
        self.peak_buffered = 0  # the most bytes ever held waiting for a newline

    @property
    def buffered(self) -> int:
        return self._pending_size

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        start = 0
        self.scanned += len(chunk)
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            piece = chunk[start:end]
            if self._pending_size + len(piece) > self.limit:
                self._too_large()
            if self._pending:
                self._pending.append(piece)
                line = b"".join(self._pending)
                self._pending, self._pending_size = [], 0
            else:
                line = piece
            yield line
            start = end + 1
        rest = chunk[start:]
        if rest:
            self._pending.append(rest)
            self._pending_size += len(rest)
            self.peak_buffered = max(self.peak_buffered, self._pending_size)
            if self._pending_size > self.limit:
                self._too_large()

    def _too_large(self) -> None:
        self._pending, self._pending_size = [], 0
        raise SourceError(ErrorKind.TOO_LARGE, f"{self.what} larger than {size_words(self.limit)}: "
                                               "connection dropped")


# --------------------------------------------------------------------------- requests (Prometheus, flags)


def bounded_adapter(*, limit: int, what: str, seconds: float | None, **kwargs: Any) -> Any:
    """A ``requests`` HTTPAdapter whose requests have a total deadline and a body limit (imports requests)."""
    from requests.adapters import HTTPAdapter

    class BoundedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kw: Any) -> None:
            super().init_poolmanager(*args, **kw)
            install(self.poolmanager)

        def proxy_manager_for(self, proxy: Any, **kw: Any) -> Any:
            fresh = proxy not in self.proxy_manager
            manager = super().proxy_manager_for(proxy, **kw)
            if fresh:
                install(manager)
            return manager

        def send(self, request: Any, stream: bool = False, **kw: Any) -> Any:  # type: ignore[override]
            with Deadline(seconds, what) as deadline:
                try:
                    response = super().send(request, stream=True, **kw)
                except Exception:
                    if deadline.fired:
                        raise deadline.error() from None
                    raise
                if not stream:
                    response._content = read_body(response.raw, limit=limit, what=f"answer from {what}",
                                                  deadline=deadline)
                    response._content_consumed = True
                    response.close()
            return response

    return BoundedAdapter(**kwargs)


# --------------------------------------------------------------------------- subprocesses


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stdout: bytes
    stderr: bytes  # at most MAX_PLUGIN_STDERR, the start of what it wrote
    stderr_cut: bool


def run_process(
    argv: Sequence[str],
    *,
    what: str,
    seconds: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    max_stdout: int = MAX_PLUGIN_STDOUT,
    max_stderr: int = MAX_PLUGIN_STDERR,
) -> ProcessResult:
    """Run ``argv`` detached from the terminal, bounded in time and output.

    stdin is /dev/null, stdout and stderr are pipes, and the process leads a new session: it has no controlling
    terminal, so it can neither read keystrokes nor write over the screen (opening /dev/tty fails).  It is
    killed, with everything it started, when ``seconds`` pass or the current deadline fires (cancel, quit).
    Raises ``SourceError``: CONFIG when it cannot be started, TOO_LARGE, TIMEOUT or CANCELLED.
    """
    try:
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=cwd or None, env=dict(env) if env is not None else None, start_new_session=True, close_fds=True,
        )
    except FileNotFoundError:
        raise SourceError(ErrorKind.CONFIG, f"{what}: {argv[0]} not found") from None
    except PermissionError:
        raise SourceError(ErrorKind.CONFIG, f"{what}: {argv[0]} is not executable") from None
    except OSError as err:
        raise SourceError(ErrorKind.CONFIG, f"{what}: cannot start {argv[0]} ({err.strerror or err})") from None

    def kill() -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            try:
                process.kill()
            except OSError:
                pass

    with Deadline(seconds, what) as deadline:
        try:
            return _communicate(process, deadline, kill, max_stdout=max_stdout, max_stderr=max_stderr, what=what)
        except SourceError as err:
            parent = deadline.parent
            if err.kind is ErrorKind.TIMEOUT and (parent is None or parent.at > deadline.at):  # "did not answer" says more than "no complete answer" about a program
                raise SourceError(ErrorKind.TIMEOUT, f"{what} did not answer within {seconds_words(seconds)}") \
                    from None
            raise


def _communicate(process: subprocess.Popen[bytes], deadline: Deadline, kill: Callable[[], None], *,
                 max_stdout: int, max_stderr: int, what: str) -> ProcessResult:
    import selectors

    deadline.on_fire(kill)
    out, err = bytearray(), bytearray()
    cut = False
    selector = selectors.DefaultSelector()
    assert process.stdout is not None and process.stderr is not None
    for stream in (process.stdout, process.stderr):
        os.set_blocking(stream.fileno(), False)
        selector.register(stream, selectors.EVENT_READ)
    try:
        while selector.get_map():
            for key, _ in selector.select(timeout=max(0.0, min(deadline.remaining(), 1.0))):
                try:
                    data = os.read(key.fd, READ_CHUNK)
                except BlockingIOError:
                    continue
                if not data:
                    selector.unregister(key.fileobj)
                    continue
                if key.fileobj is process.stdout:
                    out += data
                    if len(out) > max_stdout:
                        kill()
                        raise too_large(f"output of {what}", max_stdout)
                else:
                    room = max_stderr - len(err)
                    if len(data) > room:
                        cut = True
                    err += data[: max(0, room)]
            if deadline.fired:
                kill()
                raise deadline.error()
        while process.poll() is None and not deadline.fired:  # pipes closed; the process may be finishing
            time.sleep(0.01)
        if deadline.fired:
            kill()
            raise deadline.error()
    finally:
        selector.close()
        if process.poll() is None:
            kill()
        for stream in (process.stdout, process.stderr):
            stream.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    return ProcessResult(process.returncode, bytes(out), bytes(err), cut)
