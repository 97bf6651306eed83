"""PrometheusSource against a real Prometheus (backfilled), the demo API, and misbehaving servers."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cockpit.demo.promapi import PromApi
from cockpit.sources.errors import ErrorKind, SourceError
from cockpit.sources.prometheus import DEFAULT_PROMQL_TEMPLATE, PrometheusSource, default_promql
from tests.plugins.prom import PrometheusServer

SECRET = "Bearer s3cr3t-token-do-not-show"


def _source(url: str, query: str, **kwargs: object) -> PrometheusSource:
    kwargs.setdefault("slo_seconds", 0.5)
    kwargs.setdefault("timeout", 5.0)
    return PrometheusSource(url, query, **kwargs)  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------- the real server


def test_p99_matches_an_independent_histogram_quantile(prometheus_server: PrometheusServer) -> None:
    source = _source(prometheus_server.url, default_promql("catalog"), timeout=2.5)  # "timeout=2.5" to the server too
    try:
        view = source.fetch(prometheus_server.now)
    finally:
        source.close()

    assert prometheus_server.expected_p99 == pytest.approx(1.2, rel=1e-12)  # the data is what we designed
    assert prometheus_server.expected_p99_earlier == pytest.approx(0.375, rel=1e-12)
    assert view.value == pytest.approx(prometheus_server.expected_p99, rel=1e-9)
    assert view.over_slo is True
    assert view.query == prometheus_server.query == default_promql("catalog")
    assert view.evaluated_at == prometheus_server.now
    assert source.last_note == ""

    times = [ts for ts, _ in view.series]
    assert len(times) == 61  # 30 minutes every 30 s, both ends included
    assert times == sorted(times) and len(set(times)) == len(times)
    now = prometheus_server.now_ts
    assert view.series[0] == (now - 1800, pytest.approx(prometheus_server.expected_p99_earlier, rel=1e-9))
    assert view.series[-1] == (now, pytest.approx(prometheus_server.expected_p99, rel=1e-9))


def test_several_series_are_reduced_to_the_largest(prometheus_server: PrometheusServer) -> None:
    query = "histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket[5m])))"
    source = _source(prometheus_server.url, query)
    view = source.fetch(prometheus_server.now)
    source.close()

    assert prometheus_server.expected_search_p99 == pytest.approx(0.22, rel=1e-12)
    assert view.value == pytest.approx(prometheus_server.expected_p99, rel=1e-9)  # catalog beats search
    assert source.last_note == "2 series in the answer: showing the largest"
    assert view.series[-1][1] == pytest.approx(prometheus_server.expected_p99, rel=1e-9)


@pytest.mark.parametrize("query", ["vector(0) / 0", "0 / 0"], ids=["vector", "scalar"])
def test_nan_is_no_data(prometheus_server: PrometheusServer, query: str) -> None:
    source = _source(prometheus_server.url, query)
    view = source.fetch(prometheus_server.now)
    source.close()
    assert view.value is None and view.over_slo is None
    assert view.series == ()


def test_unknown_service_is_no_data_and_its_name_is_escaped(prometheus_server: PrometheusServer) -> None:
    source = _source(prometheus_server.url, default_promql('no"such\\service}'))
    view = source.fetch(prometheus_server.now)
    source.close()
    assert view.value is None and view.series == ()


def test_bad_promql_is_invalid_with_the_servers_words(prometheus_server: PrometheusServer) -> None:
    source = _source(prometheus_server.url, "histogram_quantile(0.99, sum by (le) (rate(x[5m]))")
    with pytest.raises(SourceError) as caught:
        source.fetch(prometheus_server.now)
    source.close()
    assert caught.value.kind is ErrorKind.INVALID and caught.value.status == 400
    assert str(caught.value).startswith("Prometheus rejected the query: ")
    assert "parse error" in str(caught.value)


def test_default_template_is_the_seed_query() -> None:
    assert DEFAULT_PROMQL_TEMPLATE % {"service": "catalog"} == (
        'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="catalog"}[5m])))'
    )
    assert 'service="a\\"b\\\\c\\n"' in default_promql('a"b\\c\n')


# ---------------------------------------------------------------------- query budget (demo API)


def test_range_query_only_every_nth_fetch() -> None:
    with PromApi(lambda t: 0.8) as api:
        source = _source(api.url, "p99", range_every=4)
        start = datetime(2026, 5, 20, 14, 27, tzinfo=UTC)
        views = [source.fetch(start + timedelta(seconds=15 * i)) for i in range(9)]
        source.close()
    paths = [path for path, _ in api.requests]
    # one request a fetch: the range query (its last point is the value now) every 4th, the instant one between
    assert paths == [
        "/api/v1/query_range", "/api/v1/query", "/api/v1/query", "/api/v1/query",
        "/api/v1/query_range", "/api/v1/query", "/api/v1/query", "/api/v1/query",
        "/api/v1/query_range",
    ]  # fmt: skip
    assert all(view.value == 0.8 for view in views)
    assert views[1].series is views[0].series  # reused in between
    assert views[4].series[-1][0] == (start + timedelta(seconds=60)).timestamp()


def test_range_every_one_sends_one_request_per_fetch() -> None:
    with PromApi(lambda t: 0.3) as api:
        source = _source(api.url, "p99", range_every=1, window_seconds=600, step_seconds=60)
        view = source.fetch(datetime(2026, 5, 20, 14, 27, tzinfo=UTC))
        source.fetch(datetime(2026, 5, 20, 14, 28, tzinfo=UTC))
        source.close()
    assert [path for path, _ in api.requests] == ["/api/v1/query_range"] * 2
    assert len(view.series) == 11 and view.value == 0.3


def test_a_failed_range_query_is_retried_on_the_next_fetch() -> None:
    calls = {"n": 0}

    def series(t: float) -> float:
        calls["n"] += 1
        if calls["n"] == 2:  # the first range query's first point
            raise RuntimeError("scenario hiccup")
        return 0.4

    with PromApi(series) as api:
        source = _source(api.url, "p99", range_every=4, window_seconds=60, step_seconds=30)
        now = datetime(2026, 5, 20, 14, 27, tzinfo=UTC)
        with pytest.raises(SourceError) as caught:
            source.fetch(now)
        view = source.fetch(now + timedelta(seconds=15))
        source.close()
    assert caught.value.kind is ErrorKind.INVALID and "scenario hiccup" in str(caught.value)
    assert [p for p, _ in api.requests].count("/api/v1/query_range") == 2
    assert len(view.series) == 3


# ---------------------------------------------------------------------- failures


def test_closed_port_is_unreachable() -> None:
    port = _closed_port()
    source = _source(f"http://user:hunter2@127.0.0.1:{port}/prom/", "up", headers={"Authorization": SECRET})
    with pytest.raises(SourceError) as caught:
        source.fetch(datetime.now(UTC))
    assert caught.value.kind is ErrorKind.UNREACHABLE
    assert str(caught.value) == f"Prometheus unreachable at http://127.0.0.1:{port}/prom: connection refused"
    assert "hunter2" not in str(caught.value) and "s3cr3t" not in str(caught.value)


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def test_hanging_server_times_out_in_time(hanging_url: str) -> None:
    source = _source(hanging_url, "up", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        source.fetch(datetime.now(UTC))
    elapsed = time.monotonic() - started
    source.close()
    assert caught.value.kind is ErrorKind.TIMEOUT
    # the total deadline (connect + headers + body) usually ends it before the per-read timeout does
    assert str(caught.value) in (f"Prometheus at {hanging_url} did not answer within 1s",
                                 f"no complete answer from Prometheus at {hanging_url} within 1s")
    assert 0.9 <= elapsed < 2.0


# A stub that answers each path with a canned (status, content type, body).
CANNED: dict[str, tuple[int, str, bytes]] = {
    "/unauth": (401, "text/plain", b"Unauthorized\n"),
    "/forbid": (403, "application/json", b'{"status":"error","errorType":"forbidden","error":"tenant acme-books"}'),
    "/down": (503, "application/json", b'{"status":"error","errorType":"unavailable","error":"TSDB not ready"}'),
    "/boom": (500, "text/html", b"<html>\x1b[31mupstream\n went away</html>"),
    "/html": (200, "text/html", b"<html>login</html>"),
    "/shape": (200, "application/json", b'{"status":"success","data":{"resultType":"vector"}}'),
    "/value": (200, "application/json",
               b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"fast"]}]}}'),
}  # fmt: skip


class _Canned(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        prefix = "/" + self.path.split("/")[1]
        status, content_type, body = CANNED.get(prefix, (404, "text/plain", b"404 page not found\n"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def canned_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("path", "kind", "status", "message"),
    [
        ("/unauth", ErrorKind.AUTH, 401, "Prometheus at {url}: HTTP 401 unauthorized (check the token)"),
        ("/forbid", ErrorKind.FORBIDDEN, 403, "Prometheus at {url}: HTTP 403 forbidden: tenant acme-books"),
        ("/down", ErrorKind.SERVER, 503, "Prometheus at {url}: HTTP 503 unavailable: TSDB not ready"),
        ("/boom", ErrorKind.SERVER, 500, "Prometheus at {url}: HTTP 500"),
        ("/nothing", ErrorKind.MISSING, 404,
         "no Prometheus API at {url} (HTTP 404): check the URL and its path prefix"),
        ("/html", ErrorKind.BAD_DATA, None, "Prometheus at {url} sent a malformed answer (not JSON)"),
        ("/shape", ErrorKind.BAD_DATA, None, "Prometheus at {url} sent a malformed answer (no data.result)"),
        ("/value", ErrorKind.BAD_DATA, None, "Prometheus at {url} sent an answer of an unexpected shape"),
    ],
)
def test_http_failures_in_words(
    canned_url: str, path: str, kind: ErrorKind, status: int | None, message: str
) -> None:
    url = canned_url + path
    source = _source(url, "up", headers={"Authorization": SECRET})
    with pytest.raises(SourceError) as caught:
        source.fetch(datetime.now(UTC))
    source.close()
    assert (caught.value.kind, caught.value.status) == (kind, status)
    assert str(caught.value) == message.format(url=url)
    assert "s3cr3t" not in str(caught.value) and "\n" not in str(caught.value)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(SourceError) as caught:
        PrometheusSource("ftp://token:x@prom:9090", "up", slo_seconds=0.5)
    assert caught.value.kind is ErrorKind.CONFIG and "token" not in str(caught.value)
    with pytest.raises(SourceError):
        PrometheusSource("http://prom:9090", "up", slo_seconds=0)
    with pytest.raises(SourceError):
        PrometheusSource("http://prom:9090", "up", slo_seconds=0.5, range_every=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        PrometheusSource("http://prom:9090", "up", slo_seconds=0.5).fetch(datetime(2026, 5, 20))


# ---------------------------------------------------------------------- start-up cost


def test_import_does_not_load_the_client_library() -> None:
    code = (
        "import sys, json; import cockpit.sources.prometheus; "
        "print(json.dumps([m for m in ('prometheus_api_client', 'requests', 'urllib3') if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(done.stdout) == []


def test_values_are_floats_not_strings() -> None:
    with PromApi(lambda t: math.inf if t > 0 else None) as api:
        source = _source(api.url, "p99", window_seconds=60)
        view = source.fetch(datetime(2026, 5, 20, 14, 27, tzinfo=UTC))
        source.close()
    assert view.value == math.inf and view.over_slo is True  # p99 in the +Inf bucket is kept, not "no data"
    assert all(isinstance(v, float) for _, v in view.series)
