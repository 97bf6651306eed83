"""A tiny stand-in for Prometheus's HTTP API, for the embedded demo.

The demo has no Prometheus, but the latency pane must talk to it exactly as it talks to a real
one (same client, same URLs, same JSON), so the demo serves the API over loopback HTTP.  It does
not evaluate PromQL: whatever the query, the answer comes from one function, unix time -> p99
seconds (None = no data).  The scenario swaps that function with ``set_series`` to tell its
story, e.g. p99 at 1.2 s while the bad canary serves traffic, falling below 0.5 s a couple of
minutes after the abort.

One exception: an instant query that is a plain vector selector (``name{label="v",other=~"re"}``,
the four matchers) over a metric the demo exports (``metrics``: unix time -> every series with its
labels, e.g. CloudNativePG's ``cnpg_pg_stat_archiver_*`` for the demo clusters) is answered by
selecting those series, as Prometheus would.

Shapes and error texts follow Prometheus 2.x (``/api/v1/query`` answers a one-element vector with
labels ``{}``, ``/api/v1/query_range`` a one-series matrix; bad parameters get HTTP 400
``bad_data``).  Every request is remembered in ``requests`` as (path, query) so tests and the
demo's query budget can count them.

Stdlib only: ``ThreadingHTTPServer`` on 127.0.0.1, port 0 (a free port), daemon threads, one
connection per request (HTTP/1.0), so ``stop()`` leaves no thread behind waiting on a client.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["MAX_POINTS", "PromApi", "SeriesFn", "format_value"]

SeriesFn = Callable[[float], float | None]
"""unix seconds -> p99 in seconds, or None for "no data at that time"."""
MetricsFn = Callable[[float], list[tuple[dict[str, str], float]]]
"""unix seconds -> every exported series at that time: (labels, ``__name__`` included, value)."""

MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series
_MAX_BODY = 1 << 20  # POST bodies larger than this are refused
_DURATION = re.compile(
    r"\A(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?\Z"
)
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
BUILD_INFO: dict[str, str] = {
    "version": "2.42.0",
    "revision": "cockpit-demo",
    "branch": "demo",
    "buildUser": "cockpit",
    "buildDate": "19700101-00:00:00",
    "goVersion": "none (cockpit demo)",
}


class _BadParam(Exception):
    """A query parameter Prometheus would refuse with 400 bad_data."""


_SELECTOR = re.compile(r"\A\s*([A-Za-z_:][A-Za-z0-9_:]*)?\s*(?:\{(.*)\})?\s*\Z", re.S)
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|\Z)', re.S)
Matcher = tuple[str, str, str]  # (label, operator, value)


def parse_selector(query: str) -> list[Matcher] | None:
    """The matchers of a plain vector selector (the metric name as ``__name__ =``), or None for anything else."""
    match = _SELECTOR.match(query)
    if match is None or (match.group(1) is None and match.group(2) is None):
        return None
    matchers: list[Matcher] = [("__name__", "=", match.group(1))] if match.group(1) else []
    body = (match.group(2) or "").strip()
    position = 0
    while position < len(body):
        found = _MATCHER.match(body, position)
        if found is None:
            return None
        try:
            value = json.loads(f'"{found.group(3)}"')
        except ValueError:
            return None
        matchers.append((found.group(1), found.group(2), value))
        position = found.end()
    return matchers or None


def selects(matchers: list[Matcher], labels: dict[str, str]) -> bool:
    """Whether a series' labels satisfy every matcher (regexes fully anchored, as in PromQL)."""
    for label, operator, value in matchers:
        actual = labels.get(label, "")
        if operator == "=" and actual != value or operator == "!=" and actual == value:
            return False
        if operator in ("=~", "!~"):
            try:
                hit = re.fullmatch(value, actual) is not None
            except re.error:
                return False
            if hit != (operator == "=~"):
                return False
    return True


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it (Go's FormatFloat 'f', -1): "0.123", "NaN", "+Inf"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _timestamp(seconds: float) -> float | int:
    """A timestamp as Prometheus writes it: seconds with millisecond precision, integral when whole."""
    millis = round(seconds * 1000)
    return millis // 1000 if millis % 1000 == 0 else millis / 1000


def _parse_time(name: str, raw: str) -> float:
    """Unix seconds or RFC 3339, the two forms Prometheus accepts."""
    seconds: float | None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00")) if "T" in raw else None
        except ValueError:
            parsed = None
        seconds = parsed.timestamp() if parsed is not None and parsed.tzinfo is not None else None
    if seconds is None or not math.isfinite(seconds):
        raise _BadParam(
            f'invalid parameter "{name}": Invalid time value for \'{name}\': cannot parse "{raw}" to a valid timestamp'
        )
    return seconds


def _parse_step(raw: str) -> int:
    """The step in whole milliseconds (Prometheus's resolution); seconds or a duration like "30s"."""
    try:
        step = float(raw)
    except ValueError:
        match = _DURATION.match(raw)
        if not raw or match is None:
            raise _BadParam(f'invalid parameter "step": cannot parse "{raw}" to a valid duration') from None
        step = sum(int(n) * unit for n, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if n)
    step_ms = round(step * 1000) if math.isfinite(step) else 0
    if not step_ms > 0:
        raise _BadParam(
            'invalid parameter "step": zero or negative query resolution step widths are not accepted. '
            "Try a positive integer"
        )
    return step_ms


class PromApi:
    """The demo's Prometheus: ``start()`` returns the URL, ``stop()`` shuts it down.

    ``series`` is called from the server's threads; swap it with ``set_series`` (atomic).
    """

    def __init__(self, series: SeriesFn, *, host: str = "127.0.0.1", port: int = 0,
                 metrics: MetricsFn | None = None) -> None:
        self._series = series
        self._metrics = metrics
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (path, query) of every request, oldest first

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("PromApi is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Bind, serve in a daemon thread, and return the base URL (``http://127.0.0.1:PORT``)."""
        if self._server is not None:
            return self.url
        server = ThreadingHTTPServer((self._host, self._port), _Handler)
        server.daemon_threads = True
        self._port = server.server_address[1]  # a restart (after stop) binds the same port again
        server.api = self  # type: ignore[attr-defined]  # read by _Handler
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="demo-promapi"
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket (in-flight requests finish on their own threads)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> PromApi:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ data

    def set_series(self, series: SeriesFn) -> None:
        """Answer every later query from ``series`` (the scenario's next act)."""
        with self._lock:
            self._series = series

    def set_metrics(self, metrics: MetricsFn | None) -> None:
        """Answer plain selectors from ``metrics`` from now on (None: the p99 function answers everything)."""
        with self._lock:
            self._metrics = metrics

    def selected(self, query: str, when: float) -> list[tuple[dict[str, str], float]] | None:
        """The exported series a plain selector picks at ``when``; None when the query is not one over a metric
        the demo exports (then the p99 function answers)."""
        with self._lock:
            metrics = self._metrics
        if metrics is None:
            return None
        matchers = parse_selector(query)
        if matchers is None:
            return None
        series = metrics(when)
        names = {labels.get("__name__", "") for labels, _ in series}
        if not any(label == "__name__" and (operator != "=" or value in names) for label, operator, value in matchers):
            return None
        return [(labels, value) for labels, value in series if selects(matchers, labels)]

    def series_at(self, when: float) -> float | None:
        with self._lock:
            series = self._series
        return series(when)

    def record(self, path: str, query: str) -> None:
        with self._lock:
            self.requests.append((path, query))

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # ------------------------------------------------------------------ the API

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        """(HTTP status, JSON body) for an API path, or (404, None) for an unknown one."""
        try:
            if path == "/api/v1/query":
                return 200, self._instant(params)
            if path == "/api/v1/query_range":
                return 200, self._range(params)
        except _BadParam as err:
            return 400, {"status": "error", "errorType": "bad_data", "error": str(err)}
        except Exception as err:  # noqa: BLE001 - the scenario's function failed: say so, like a query error
            return 422, {"status": "error", "errorType": "execution", "error": f"demo series failed: {err!r}"}
        if path == "/api/v1/status/buildinfo":
            return 200, {"status": "success", "data": dict(BUILD_INFO)}
        return 404, None

    def _query(self, params: dict[str, str]) -> str:
        query = params.get("query", "")
        if not query.strip():
            raise _BadParam('invalid parameter "query": 1:1: parse error: no expression found in input')
        return query

    def _instant(self, params: dict[str, str]) -> dict[str, Any]:
        query = self._query(params)
        raw = params.get("time", "")
        when = _parse_time("time", raw) if raw else time.time()
        picked = self.selected(query, when)
        if picked is not None:
            vector = [{"metric": dict(labels), "value": [_timestamp(when), format_value(value)]}
                      for labels, value in picked]
            return {"status": "success", "data": {"resultType": "vector", "result": vector}}
        value = self.series_at(when)
        result = [] if value is None else [{"metric": {}, "value": [_timestamp(when), format_value(value)]}]
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    def _range(self, params: dict[str, str]) -> dict[str, Any]:
        self._query(params)
        start = round(_parse_time("start", params.get("start", "")) * 1000)  # milliseconds, like Prometheus
        end = round(_parse_time("end", params.get("end", "")) * 1000)
        if end < start:
            raise _BadParam('invalid parameter "end": end timestamp must not be before start time')
        step = _parse_step(params.get("step", ""))
        if (end - start) // step > MAX_POINTS:
            raise _BadParam(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        values = []
        for millis in range(start, end + 1, step):
            value = self.series_at(millis / 1000)
            if value is not None:
                values.append([_timestamp(millis / 1000), format_value(value)])
        result = [{"metric": {}, "values": values}] if values else []
        return {"status": "success", "data": {"resultType": "matrix", "result": result}}


class _Handler(BaseHTTPRequestHandler):
    """One request: collect GET query and POST form parameters, answer from ``PromApi``."""

    server_version = "cockpit-demo-prometheus"
    timeout = 10  # a client that connects and sends nothing releases its thread after this

    @property
    def api(self) -> PromApi:
        return self.server.api  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle(body=b"")

    def do_POST(self) -> None:  # noqa: N802
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._send(413, "text/plain; charset=utf-8", b"request body too large\n")
            return
        self._handle(body=self.rfile.read(length))

    def _handle(self, body: bytes) -> None:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if body and content_type == "application/x-www-form-urlencoded":
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})  # like Go's FormValue: the body wins
        self.api.record(parts.path, params.get("query", ""))
        if parts.path == "/-/ready":
            self._send(200, "text/plain; charset=utf-8", b"Prometheus Server is Ready.\n")
            return
        if parts.path == "/-/healthy":
            self._send(200, "text/plain; charset=utf-8", b"Prometheus Server is Healthy.\n")
            return
        status, payload = self.api.answer(parts.path, params)
        if payload is None:
            self._send(404, "text/plain; charset=utf-8", b"404 page not found\n")
            return
        self._send(status, "application/json", json.dumps(payload, separators=(",", ":")).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: the demo runs under a full-screen TUI, stderr would garble it."""
