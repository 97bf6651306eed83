"""The fault matrix: four backends x seven faults, each cell a real server misbehaving on purpose.

For every cell the cockpit must stay up, say what is wrong in words, keep its last good data marked stale, keep
the other panes (or evidence sources) updating, and recover by itself once the fault clears.  The 28 results are
printed as a table at the end of the test run (a terminal-summary section).

Where each backend is exercised, and why there:

* **Kubernetes API**: the real app (Pilot) against the demo platform's API emulator, faults injected by the
  emulator itself (``KubeEmulator.faults``) on the Rollout resource only, so the other panes must stay live.
  "Connection refused" is the API server going away (``stop()``: the port closes, watches are cut) and coming back
  on the same port.
* **Prometheus**: the real app against the demo's Prometheus API behind :class:`FaultProxy`, a small HTTP proxy on
  127.0.0.1 written here; the p99 pane is the one that must degrade.
* **S3**: the cockpit reads S3 only for the decision tree's evidence (``cockpit.evidence.gather``: delete markers
  in a versioned bucket), never for a pane, so the cells drive the gatherer against moto (server mode) behind the
  proxy; the "other pane" is the feature-flag evidence gathered in the same call.
* **git remote**: the dashboard never contacts a git remote (the evidence gatherer diffs a local clone).  The one
  remote read is the config rollback's plan (``cockpit.actions.gitops.revert``: ``git fetch``), so the cells serve
  the GitOps repository with ``git http-backend`` (git's own smart-HTTP server) behind the proxy and plan a revert;
  the "other pane" is the gatherer's diff of the local clone.

"Watch answered with 410 Gone" only exists for the Kubernetes API.  Prometheus, S3 and git are plain
request/response HTTP with nothing to resume, so their cells test the closest wire equivalent, an HTTP 410 from an
intermediary, and say so in the table.

Timeouts and backoffs are shortened through the modules' settings (``cockpit.sources.kube``'s ``READ_TIMEOUT``,
``WATCH_SECONDS``, ``BACKOFF_*``; ``cockpit.sources.prometheus.DEFAULT_TIMEOUT``; ``cockpit.evidence.S3_CLIENT``;
the gitops timeout), never by sleeping.
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from rich.console import Console

from cockpit.session import connect
from tests.ui.harness import build_app
from cockpit.clock import FixedClock
from cockpit.config import build_settings
from cockpit.demo import scenario
from cockpit.demo.flags import FlagServer
from cockpit.demo.platform import DemoPlatform, demo_settings
from cockpit.models import FeedState
from cockpit.sources import kube as kube_source
from cockpit.sources import prometheus as prom_source
from tests.plugins.git import GIT_ENV, GitopsRepo, run_git
from tests.ui.harness import T0, all_populated, wait_for

FAULTS: tuple[tuple[str, str], ...] = (
    ("refused", "connection refused"),
    ("hang", "hang (no answer)"),
    ("http500", "HTTP 500"),
    ("auth", "HTTP 401 / 403"),
    ("malformed", "malformed body"),
    ("gone", "watch 410 Gone"),
    ("cut", "stream cut mid-event"),
)
BACKENDS = ("Kubernetes API", "Prometheus", "S3", "git remote")


# --------------------------------------------------------------------------- the table


@dataclass
class Cell:
    ok: bool
    shown: str  # the words the person sees
    detail: str = ""  # what else was checked, or why it failed


@dataclass
class Matrix:
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def lines(self) -> list[str]:
        width = max(len(label) for _, label in FAULTS)
        out = [f"{'backend':<15} {'fault':<{width}}  result  what the cockpit said / checked"]
        for backend in BACKENDS:
            for key, label in FAULTS:
                cell = self.cells.get((backend, key))
                if cell is None:
                    out.append(f"{backend:<15} {label:<{width}}  (not run)")
                    continue
                verdict = "pass" if cell.ok else "FAIL"
                shown = " ".join(cell.shown.split())
                shown = shown if len(shown) <= 70 else shown[:69] + "…"
                out.append(f"{backend:<15} {label:<{width}}  {verdict:<6}  \"{shown}\"; {cell.detail}")
        passed = sum(1 for cell in self.cells.values() if cell.ok)
        out.append(f"{passed} of {len(BACKENDS) * len(FAULTS)} cells pass")
        return out


MATRIX = Matrix()


class _MatrixReport:
    """Prints the matrix in the terminal summary of the run that executed it (``make test`` shows it)."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if MATRIX.cells:
            terminalreporter.section("fault matrix: 4 backends x 7 faults")
            for line in MATRIX.lines():
                terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def _matrix_table(request: pytest.FixtureRequest) -> Iterator[None]:
    manager = request.config.pluginmanager
    if not manager.has_plugin("cockpit-fault-matrix"):
        manager.register(_MatrixReport(), "cockpit-fault-matrix")
    yield


class Cells:
    """Runs one backend's cells in order; a failing cell is recorded and the next one still runs."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.failures: list[str] = []

    def record(self, fault: str, shown: list[str], detail: str, ok: bool = True) -> None:
        shown = " | ".join(" ".join(words.split()) for words in shown)
        MATRIX.cells[(self.backend, fault)] = Cell(ok, shown, detail)
        if not ok:
            self.failures.append(f"{self.backend} / {fault}: {detail} (shown: {shown!r})")

    def check(self) -> None:
        assert not self.failures, "\n".join(self.failures)


def back(seconds: list[float], words: str = "recovered") -> str:
    return f"{words} in " + ", ".join(f"{value:.1f}s" for value in seconds)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise CellFailed(what)


class CellFailed(AssertionError):
    pass


# --------------------------------------------------------------------------- a fault-injecting HTTP proxy


HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "content-length", "host"}


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of one upstream server, misbehaving on request.

    ``set(kind)``: ``refused`` closes the listening port (and ``clear()`` opens the same port again); ``hang``
    holds every request unanswered until cleared; ``http500``/``http401``/``http403``/``http410`` answer with that
    status and the backend's own error body; ``malformed`` forwards and then sends half the body as a complete
    answer; ``cut`` forwards, promises the whole body and closes the connection halfway through it.
    One request per connection (``Connection: close``), request bodies de-chunked, so any HTTP client works.
    """

    def __init__(self, upstream: str, error_body: Callable[[int], tuple[str, bytes, list[tuple[str, str]]]]) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.error_body = error_body
        self.kind: str | None = None
        self.port = 0
        self.requests = 0
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                proxy._handle(self)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients hanging up on a faulty answer is the point

        server = Server(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="fault-proxy").start()
        return self

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def set(self, kind: str) -> None:
        with self._cond:
            self.kind = kind
            self._cond.notify_all()
        if kind == "refused":
            self._close_listener()

    def clear(self) -> None:
        with self._cond:
            was, self.kind = self.kind, None
            self._cond.notify_all()
        if was == "refused":
            self.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()
        self._close_listener()

    # -- one request ---------------------------------------------------------------------------------------

    @staticmethod
    def _body(handler: BaseHTTPRequestHandler) -> bytes:
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    handler.rfile.readline()
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        self.requests += 1
        body = self._body(handler)
        kind = self.kind
        if kind == "hang":
            with self._cond:
                while self.kind == "hang" and not self._stopped.is_set():
                    self._cond.wait(0.5)
            return  # the client gave up long ago: close without a word
        if kind and kind.startswith("http"):
            status = int(kind[4:])
            content_type, payload, extra = self.error_body(status)
            self._answer(handler, status, [("Content-Type", content_type), *extra], payload)
            return
        try:
            upstream = http.client.HTTPConnection(*self.upstream, timeout=10)
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            status = answer.status
            answer_headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            upstream.close()
        except OSError:
            self._answer(handler, 502, [("Content-Type", "text/plain")], b"bad gateway\n")
            return
        if kind == "malformed":
            self._answer(handler, status, answer_headers, payload[: len(payload) // 2])
        elif kind == "cut":
            handler.send_response(status)
            for name, value in answer_headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(payload[: max(1, len(payload) // 2)])
            handler.wfile.flush()
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        else:
            self._answer(handler, status, answer_headers, payload)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        try:
            handler.send_response(status)
            for name, value in headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(payload)
        except OSError:
            pass


def _proxy_fault(fault: str) -> list[str]:
    """The proxy kinds one matrix column needs (401 and 403 both count for the auth cell)."""
    return {"auth": ["http401", "http403"], "gone": ["http410"]}.get(fault, [fault])


# --------------------------------------------------------------------------- Kubernetes API (the real app)


@pytest.fixture
def fast_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short timeouts and backoffs: every fault shows within a couple of seconds and recovery is quick."""
    monkeypatch.setattr(kube_source, "WATCH_SECONDS", 1)
    monkeypatch.setattr(kube_source, "READ_TIMEOUT", 1.0)
    monkeypatch.setattr(kube_source, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(kube_source, "BACKOFF_FIRST", 0.1)
    monkeypatch.setattr(kube_source, "BACKOFF_CAP", 0.5)
    monkeypatch.setattr(prom_source, "DEFAULT_TIMEOUT", 1.0)


@pytest.fixture
def platform() -> Iterator[DemoPlatform]:
    demo = DemoPlatform(now=T0).start()
    try:
        yield demo
    finally:
        demo.stop()


def rendered(pane: Any, now: datetime) -> str:
    """What the pane shows, as plain text (body and freshness line)."""
    with open(os.devnull, "w") as sink:
        console = Console(width=200, record=True, file=sink, color_system=None)
        console.print(pane.render_state(pane.entry, now))
        console.print(pane.freshness(now))
    return console.export_text()


def new_backup(name: str) -> dict[str, Any]:
    backup = next(obj for obj in scenario.velero_objects(T0) if obj["kind"] == "Backup")
    backup = {**backup, "metadata": {**backup["metadata"], "name": name}}
    return backup


async def other_pane_updates(pilot: Any, platform: DemoPlatform, name: str) -> None:
    """A change to the Velero backups reaches the Velero pane (the Rollout resource is the one at fault)."""
    platform.kube.seed(new_backup(name))
    velero = pilot.app.dashboard.active().pane("velero")
    await wait_for(pilot, lambda: velero.snapshot is not None and velero.snapshot.data is not None and any(
        b.name == name for b in velero.snapshot.data.backups), timeout=5, what="the Velero pane to update")


async def latency_updates(pilot: Any, context: str) -> None:
    """The p99 pane polls again and gets an answer (the Kubernetes API is the one at fault)."""
    feed = pilot.app.session.contexts[context].latency
    before = feed.snapshot
    await wait_for(pilot, lambda: feed.snapshot is not before and feed.snapshot.status.state is FeedState.OK,
                   timeout=5, what="the p99 pane to update")


KUBE_WORDS = {
    "refused": ("connection refused",),
    "hang": ("did not answer in time",),
    "http500": ("500 Internal Server Error",),
    "http401": ("401 Unauthorized",),
    "http403": ("403 Forbidden",),
    "malformed": ("malformed",),
    "gone": ("410 Gone",),
    "cut": ("cut in the middle of an event",),
}


async def test_kubernetes_api_faults(platform: DemoPlatform, fast_sources: None) -> None:
    cells = Cells("Kubernetes API")
    settings = demo_settings(build_settings({"prometheus_interval": 0.3}), platform)
    app = build_app(settings, connect(settings), clock=FixedClock(platform.now), tick=False)
    kube = platform.kube
    ns, name = scenario.APP_NAMESPACE, scenario.ROLLOUT
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: all_populated(app), what="all six panes")
        pane = app.dashboard.active().pane("rollout")
        context = app.targets[0].name
        for number, (fault, _label) in enumerate(FAULTS):
            shown, details, recovered = [], [], []
            try:
                kinds = ["http401", "http403"] if fault == "auth" else [fault]
                for kind in kinds:
                    marker = 10 + number * 2 + kinds.index(kind)
                    started = time.monotonic()
                    lists_before = kube.count(method="GET", watch=False)
                    if kind == "refused":
                        kube.stop()  # the API server goes away: the port closes, every watch is cut
                    else:
                        kube.faults.set(kind, match="/rollouts")
                    await wait_for(pilot, lambda: pane.snapshot.status.state is FeedState.ERROR and any(
                        w in pane.snapshot.status.error for w in KUBE_WORDS[kind]), timeout=8,
                        what=f"the Rollout pane to say {KUBE_WORDS[kind][0]!r}")
                    shown.append(pane.snapshot.status.error)
                    screen = rendered(pane, app.clock.now())
                    expect(pane.has_class("-stale") and pane.entry.last_good is not None, "last good data not kept/marked")
                    expect("STALE" in screen and scenario.ROLLOUT in screen, "the pane does not show STALE + data")
                    # a change the cockpit must pick up once the fault clears
                    kube.patch_status("argoproj.io/v1alpha1", "rollouts", ns, name, {"availableReplicas": marker})
                    if kind == "refused":
                        await latency_updates(pilot, context)
                        details.append("p99 pane kept polling")
                    else:
                        await other_pane_updates(pilot, platform, f"fault-probe-{marker}")
                        details.append("Velero pane kept updating")
                    if kind == "gone":
                        lists = kube.count(method="GET", watch=False) - lists_before
                        elapsed = time.monotonic() - started
                        expect(lists < 12 * max(1.0, elapsed), f"{lists} lists in {elapsed:.1f}s: hammering")
                        details.append(f"{lists} relists in {elapsed:.1f}s (backoff)")
                    cleared = time.monotonic()
                    if kind == "refused":
                        kube.start()
                    else:
                        kube.faults.clear()
                    await wait_for(pilot, lambda: pane.snapshot.status.state is FeedState.OK and not pane.has_class(
                        "-stale") and pane.snapshot.data.available_replicas == marker, timeout=10,
                        what="the Rollout pane to recover with the change made during the fault")
                    recovered.append(time.monotonic() - cleared)
                    await wait_for(pilot, lambda: all_populated(app), what="every pane back")
                expect(app.is_running, "the app stopped")
                cells.record(fault, shown, "; ".join(["stale data kept", *dict.fromkeys(details), back(recovered)]))
            except (AssertionError, CellFailed) as err:
                cells.record(fault, shown, str(err).splitlines()[0], ok=False)
                kube.faults.clear()
                kube.start()
                await wait_for(pilot, lambda: all_populated(app), timeout=20, what="every pane back after a failure")
    cells.check()


# --------------------------------------------------------------------------- Prometheus (the real app, via the proxy)


def prometheus_error(status: int) -> tuple[str, bytes, list[tuple[str, str]]]:
    if status == 500:
        return "application/json", b'{"status":"error","errorType":"internal","error":"injected fault"}', []
    if status == 401:
        return "text/plain", b"Unauthorized\n", [("WWW-Authenticate", 'Bearer realm="prometheus"')]
    if status == 403:
        return "text/plain", b"Forbidden\n", []
    return "text/plain", b"Gone\n", []


PROM_WORDS = {
    "refused": ("connection refused",),
    "hang": ("did not answer within 1s",),
    "http500": ("HTTP 500",),
    "http401": ("HTTP 401",),
    "http403": ("HTTP 403",),
    "malformed": ("malformed", "unexpected shape"),
    "http410": ("HTTP 410",),
    "cut": ("connection closed", "connection reset", "malformed", "request failed"),
}


async def test_prometheus_faults(platform: DemoPlatform, fast_sources: None) -> None:
    cells = Cells("Prometheus")
    proxy = FaultProxy(platform.prometheus_url, prometheus_error).start()
    try:
        settings = dataclasses.replace(demo_settings(build_settings({"prometheus_interval": 0.3}), platform),
                                       prometheus_url=proxy.url)
        app = build_app(settings, connect(settings), clock=FixedClock(platform.now), tick=False)
        async with app.run_test(size=(200, 50)) as pilot:
            await wait_for(pilot, lambda: all_populated(app), what="all six panes")
            pane = app.dashboard.active().pane("latency")
            for number, (fault, _label) in enumerate(FAULTS):
                shown, details, recovered = [], [], []
                try:
                    for kind in _proxy_fault(fault):
                        value = round(0.3 + number / 100 + (0.005 if kind == "http403" else 0), 3)
                        proxy.set(kind)
                        await wait_for(pilot, lambda: pane.snapshot.status.state is FeedState.ERROR and any(
                            w in pane.snapshot.status.error for w in PROM_WORDS[kind]), timeout=8,
                            what=f"the p99 pane to say {PROM_WORDS[kind][0]!r}")
                        shown.append(pane.snapshot.status.error)
                        screen = rendered(pane, app.clock.now())
                        expect(pane.has_class("-stale") and pane.entry.last_good is not None, "last good data not kept")
                        expect("STALE" in screen and "p99" in screen, "the pane does not show STALE + the p99")
                        platform.prom.set_series(lambda t, v=value: v)  # the answer after recovery
                        await other_pane_updates(pilot, platform, f"prom-probe-{number}-{kind}")
                        details.append("Velero pane kept updating")
                        cleared = time.monotonic()
                        proxy.clear()
                        await wait_for(pilot, lambda: pane.snapshot.status.state is FeedState.OK and not pane.has_class(
                            "-stale") and pane.snapshot.data.value == value, timeout=8,
                            what="the p99 pane to recover with the new value")
                        recovered.append(time.monotonic() - cleared)
                    expect(app.is_running, "the app stopped")
                    note = ["no watch here: HTTP 410 from a proxy instead"] if fault == "gone" else []
                    cells.record(fault, shown, "; ".join([*note, "stale p99 kept", *dict.fromkeys(details),
                                                         back(recovered)]))
                except (AssertionError, CellFailed) as err:
                    cells.record(fault, shown, str(err).splitlines()[0], ok=False)
                    proxy.clear()
    finally:
        proxy.stop()
    cells.check()


# --------------------------------------------------------------------------- S3 (the evidence gatherer, via the proxy)


def s3_error(status: int) -> tuple[str, bytes, list[tuple[str, str]]]:
    code, message = {500: ("InternalError", "We encountered an internal error. Please try again."),
                     401: ("Unauthorized", "injected fault"), 403: ("AccessDenied", "Access Denied"),
                     410: ("Gone", "injected fault")}[status]
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>fault</RequestId></Error>").encode()
    return "application/xml", body, []


S3_WORDS = {
    "refused": ("unreachable",),
    "hang": ("did not answer in time",),
    "http500": ("InternalError",),
    "http401": ("refused the credentials",),
    "http403": ("not allowed to list versions",),
    # botocore retries an S3 answer it cannot parse as a synthetic "500 Internal Server Error"; the words say 500
    "malformed": ("500 Internal Server Error",),
    "http410": ("Gone",),
    "cut": ("500 Internal Server Error", "unreachable"),
}
S3_NOTES = {"malformed": "botocore reports the unreadable 200 as a synthetic HTTP 500",
            "cut": "botocore reports the cut-off 200 as a synthetic HTTP 500",
            "gone": "no watch here: HTTP 410 from a proxy instead"}


def test_s3_faults(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit import evidence

    monkeypatch.setattr(evidence, "S3_CLIENT", {"connect_timeout": 0.5, "read_timeout": 1, "max_attempts": 1})
    cells = Cells("S3")
    bucket = "acme-books-uploads"
    seed = s3_server.make_versioned_bucket(bucket)
    for key in ("covers/1.jpg", "covers/2.jpg", "covers/3.jpg"):
        seed.put_object(Bucket=bucket, Key=key, Body=b"jpeg")
    seed.delete_object(Bucket=bucket, Key="covers/1.jpg")  # one object reads as deleted
    flags = FlagServer({scenario.FLAG: (True, "meilisearch_v1")}).start()
    proxy = FaultProxy(s3_server.endpoint_url, s3_error).start()
    try:
        settings = build_settings({"s3_endpoint": proxy.url, "s3_bucket": bucket, "flag_url": flags.url,
                                   "flag_key": scenario.FLAG})

        def gather() -> Any:
            return evidence.gather(settings, context="s3-matrix", contexts=("s3-matrix",), app=None, rollout=None,
                                   kube=None, now=datetime.now(timezone.utc))

        first = gather()
        assert first.problems == () and len(first.decision.s3.missing) == 1
        deleted = 1
        for number, (fault, _label) in enumerate(FAULTS):
            shown, details, recovered = [], [], []
            try:
                for kind in _proxy_fault(fault):
                    proxy.set(kind)
                    flag_value = f"engine-{number}-{kind}"
                    flags.set(scenario.FLAG, True, flag_value)
                    during = gather()  # must not raise: the app's worker would only log it
                    problem = next((p for p in during.problems if p.startswith("S3:")), "")
                    shown.append(problem)
                    expect(any(w in problem for w in S3_WORDS[kind]), f"no words for {kind}: {during.problems}")
                    expect("last good read" in problem and f"{deleted} objects read as deleted" in problem
                           and "stale" in problem, "the last good answer is not quoted as stale")
                    expect(during.decision.s3 is None, "a stale listing must not answer the tree")
                    expect(during.decision.flag is not None and during.decision.flag.value == flag_value,
                           "the flag evidence stopped updating")
                    details.append("flag evidence kept updating")
                    key = f"covers/new-{number}-{kind}.jpg"  # deleted during the fault, straight at moto
                    seed.put_object(Bucket=bucket, Key=key, Body=b"jpeg")
                    seed.delete_object(Bucket=bucket, Key=key)
                    deleted += 1
                    proxy.clear()
                    cleared = time.monotonic()
                    after = gather()
                    expect(not any(p.startswith("S3:") for p in after.problems), f"not recovered: {after.problems}")
                    expect(after.decision.s3 is not None and len(after.decision.s3.missing) == deleted,
                           "the recovered listing misses the delete made during the fault")
                    recovered.append(time.monotonic() - cleared)
                note = [S3_NOTES[fault]] if fault in S3_NOTES else []
                cells.record(fault, shown, "; ".join([*note, "last good quoted as stale", *dict.fromkeys(details),
                                                     back(recovered, "next gather recovered")]))
            except (AssertionError, CellFailed) as err:
                cells.record(fault, shown, str(err).splitlines()[0], ok=False)
                proxy.clear()
    finally:
        proxy.stop()
        flags.stop()
    cells.check()


# --------------------------------------------------------------------------- git remote (the revert plan, via a proxy)


class GitHttp:
    """``git http-backend`` (git's smart-HTTP server, as CGI) for the repositories under ``root``, on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GitHttp:
        root = self.root

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                env = {
                    **GIT_ENV, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root),
                    "GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": unquote(path),
                    "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_ADDR": "127.0.0.1",
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                }
                done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=30,
                                      check=False)
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                status, headers = 200, []
                for line in head.split(b"\r\n"):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="git-http").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def git_error(status: int) -> tuple[str, bytes, list[tuple[str, str]]]:
    extra = [("WWW-Authenticate", 'Basic realm="git"')] if status == 401 else []
    return "text/plain", f"injected fault {status}\n".encode(), extra


GIT_WORDS = {
    "refused": ("Connection refused", "Failed to connect"),
    "hang": ("took longer than",),
    "http500": ("500",),
    "http401": ("could not read Username", "401", "Authentication failed"),
    "http403": ("403",),
    "malformed": ("not valid", "protocol error", "invalid", "bad line length", "expected flush", "fatal"),
    "http410": ("410",),
    "cut": ("transfer closed", "early EOF", "RPC failed", "fatal", "unexpected disconnect"),
}


def test_git_remote_faults(gitops_repo: GitopsRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.actions import gitops
    from cockpit.sources.gitrepo import change_report

    monkeypatch.setattr(gitops, "_git", functools.partial(gitops._git, timeout=2.0))
    cells = Cells("git remote")
    served = GitHttp(gitops_repo.origin.parent).start()
    proxy = FaultProxy(served.url, git_error).start()
    pusher = tmp_path / "pusher"  # another engineer's clone, pushing straight to the origin
    run_git(tmp_path, "clone", "--quiet", str(gitops_repo.origin), str(pusher))
    work = str(gitops_repo.work)
    run_git(gitops_repo.work, "remote", "set-url", "origin", f"{proxy.url}/{gitops_repo.origin.name}")
    bad = gitops_repo.shas["values_change"]
    try:
        baseline = gitops.revert(work, bad)
        assert not any("could not fetch" in w for w in baseline.warnings)
        for number, (fault, _label) in enumerate(FAULTS):
            shown, details, recovered = [], [], []
            try:
                for kind in _proxy_fault(fault):
                    proxy.set(kind)
                    (pusher / "NOTES.md").write_text(f"change {number} {kind}\n", encoding="utf-8")
                    run_git(pusher, "add", "--all")
                    run_git(pusher, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet",
                            "--no-gpg-sign", "-m", f"during {kind}")
                    run_git(pusher, "push", "--quiet", "origin", "HEAD:main")
                    pushed = run_git(pusher, "rev-parse", "HEAD").strip()
                    during = gitops.revert(work, bad)  # must plan, from what was fetched before
                    warning = next((w for w in during.warnings if w.startswith("could not fetch")), "")
                    shown.append(warning)
                    expect(any(w in warning for w in GIT_WORDS[kind]), f"no words for {kind}: {during.warnings}")
                    expect("planning from the last fetched state" in warning, "not marked as the last fetched state")
                    expect(during.writes[0].base != pushed, "the plan cannot know the commit pushed meanwhile")
                    report = change_report(work, gitops_repo.shas["image_bump"], gitops_repo.shas["values_change"])
                    expect(report.files, "the evidence gatherer's diff of the local clone stopped answering")
                    details.append("local-clone diff kept answering")
                    proxy.clear()
                    cleared = time.monotonic()
                    after = gitops.revert(work, bad)
                    expect(not any("could not fetch" in w for w in after.warnings), f"not recovered: {after.warnings}")
                    expect(after.writes[0].base == pushed, "the plan after recovery misses the pushed commit")
                    recovered.append(time.monotonic() - cleared)
                note = ["no watch here: HTTP 410 from a proxy instead"] if fault == "gone" else []
                cells.record(fault, shown, "; ".join([*note, "plan kept from last fetch", *dict.fromkeys(details),
                                                     back(recovered, "next plan fetched it")]))
            except (AssertionError, CellFailed) as err:
                cells.record(fault, shown, str(err).splitlines()[0], ok=False)
                proxy.clear()
    finally:
        proxy.stop()
        served.stop()
    cells.check()
