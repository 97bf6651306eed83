"""A real Prometheus server with 40 minutes of backfilled request-duration histograms.

``prometheus_server`` writes OpenMetrics text for ``http_request_duration_seconds`` (services
"catalog" and "search"), turns it into TSDB blocks with ``promtool tsdb create-blocks-from
openmetrics``, starts ``prometheus`` on a free loopback port with a config that scrapes nothing,
and waits for ``/-/ready``.

The data tells the seed's story: catalog's p99 is 0.375 s for the first 20 minutes and 1.2 s
(the page) for the last 20.  The expected numbers are NOT taken from the server: this module
recomputes them from the raw samples with Prometheus's own algorithms (``rate``'s extrapolation,
``histogram_quantile``'s linear interpolation), so a test compares the server's answer with an
independent calculation.  They also equal the designed 1.2 and 0.375 up to float rounding.

Evaluate at ``server.now``: 7 s after the last sample, so no sample sits exactly on the edge of
a 5-minute window (Prometheus 2 includes the left edge, 3 excludes it; the answer is the same
either way).  An instant query more than 5 minutes after the last sample would find nothing.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

QUERY = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="catalog"}[5m])))'
SCRAPE_INTERVAL = 15  # seconds between samples
HISTORY = 40 * 60  # seconds of data
CHANGE_AGO = 20 * 60  # the bad release: catalog's distribution changes this long before the last sample
EVAL_OFFSET = 7  # seconds after the last sample: off the sample grid
RATE_WINDOW = 300  # the query's [5m]
READY_TIMEOUT = 15.0
BOUNDS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf")

# Cumulative bucket increments per scrape interval (2000 requests per 15 s), one per BOUNDS entry.
# Healthy: rank 0.99*2000 = 1980 falls in (0.25, 0.5]: 0.25 + 0.25 * (1980-1960)/(2000-1960) = 0.375 s.
CATALOG_HEALTHY = (600, 1400, 1960, 2000, 2000, 2000, 2000, 2000)
# The page: rank 1980 falls in (1, 2.5]: 1 + 1.5 * (1980-1978)/(1993-1978) = 1.2 s.
CATALOG_PAGE = (200, 800, 1500, 1900, 1978, 1993, 1999, 2000)
# Another service in the same metric, so a query that forgets the matcher gets a different answer.
SEARCH = (1000, 1900, 2000, 2000, 2000, 2000, 2000, 2000)  # p99 = 0.1 + 0.15 * 80/100 = 0.22 s

Samples = list[tuple[float, float]]  # (unix seconds, counter value), ascending


@dataclass(frozen=True)
class PrometheusServer:
    url: str
    now: datetime  # the evaluation time to use (aware UTC)
    query: str  # the seed's p99 query for catalog
    expected_p99: float  # catalog's p99 at ``now``, computed here from the samples
    expected_p99_earlier: float  # the same 30 minutes before ``now`` (before the bad release)
    expected_search_p99: float  # search's p99 at ``now``
    ready_seconds: float  # start of ``prometheus`` until ``/-/ready`` answered 200
    backfill_seconds: float  # time ``promtool`` took

    @property
    def now_ts(self) -> float:
        return self.now.timestamp()


# ---------------------------------------------------------------------- the data


def _bucket_samples(last: int) -> dict[tuple[str, str], Samples]:
    """(service, le) -> cumulative counter samples every 15 s, the last one at ``last``."""
    first = last - HISTORY
    change = last - CHANGE_AGO
    out: dict[tuple[str, str], Samples] = {}
    for service in ("catalog", "search"):
        for index, le in enumerate(BOUNDS):
            value = 0.0
            samples: Samples = []
            for ts in range(first, last + 1, SCRAPE_INTERVAL):
                if ts > first:
                    if service == "search":
                        value += SEARCH[index]
                    else:
                        value += (CATALOG_HEALTHY if ts <= change else CATALOG_PAGE)[index]
                samples.append((float(ts), value))
            out[(service, le)] = samples
    return out


def _openmetrics(buckets: dict[tuple[str, str], Samples]) -> str:
    """The samples as OpenMetrics text: timestamps in seconds, ascending per series, ``# EOF`` last."""
    lines = [
        "# HELP http_request_duration_seconds Duration of HTTP requests.",
        "# TYPE http_request_duration_seconds histogram",
    ]
    for service in ("catalog", "search"):
        for le in BOUNDS:
            name = f'http_request_duration_seconds_bucket{{service="{service}",le="{le}"}}'
            lines.extend(f"{name} {value:.0f} {ts:.0f}" for ts, value in buckets[(service, le)])
        for ts, value in buckets[(service, "+Inf")]:
            lines.append(f'http_request_duration_seconds_count{{service="{service}"}} {value:.0f} {ts:.0f}')
        for ts, value in buckets[(service, "+Inf")]:  # a mean of 0.1 s per request; unused by the query
            lines.append(f'http_request_duration_seconds_sum{{service="{service}"}} {value * 0.1:.1f} {ts:.0f}')
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- Prometheus's algorithms


def extrapolated_rate(samples: Samples, at: float, window: float) -> float | None:
    """``rate(x[window])`` at ``at`` as Prometheus computes it (promql/functions.go, extrapolatedRate).

    The window is (at - window, at]; our evaluation times keep samples off its edges, so Prometheus 2's
    closed left edge and 3's open one select the same samples.
    """
    points = [(t, v) for t, v in samples if at - window < t <= at]
    if len(points) < 2:
        return None
    result = points[-1][1] - points[0][1]
    for (_, prev), (_, cur) in zip(points, points[1:], strict=False):
        if cur < prev:  # counter reset
            result += prev
    duration_to_start = points[0][0] - (at - window)
    duration_to_end = at - points[-1][0]
    sampled = points[-1][0] - points[0][0]
    average = sampled / (len(points) - 1)
    if result > 0 and points[0][1] >= 0:
        duration_to_zero = sampled * (points[0][1] / result)
        duration_to_start = min(duration_to_start, duration_to_zero)
    threshold = average * 1.1
    interval = sampled
    interval += duration_to_start if duration_to_start < threshold else average / 2
    interval += duration_to_end if duration_to_end < threshold else average / 2
    return result * (interval / sampled) / window


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's classic-bucket quantile (promql/quantile.go, bucketQuantile): linear in the bucket."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets)
    if not ordered or not math.isinf(ordered[-1][0]):
        return math.nan
    merged: list[list[float]] = []  # coalesce equal bounds
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    highest = merged[0][1]  # force monotonic counts
    for item in merged[1:]:
        highest = item[1] = max(item[1], highest)
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * (rank / count)


def expected_p99(buckets: dict[tuple[str, str], Samples], service: str, at: float) -> float:
    """``histogram_quantile(0.99, sum by (le) (rate(...{service=S}[5m])))`` at ``at``, from the samples."""
    rates = []
    for le in BOUNDS:
        rate = extrapolated_rate(buckets[(service, le)], at, RATE_WINDOW)
        assert rate is not None, "the test data must cover the window"
        rates.append((float(le), rate))
    return histogram_quantile(0.99, rates)


# ---------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/-/ready", timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A running Prometheus with backfilled data; terminated at the end of the session."""
    promtool, prometheus = shutil.which("promtool"), shutil.which("prometheus")
    if promtool is None or prometheus is None:
        pytest.skip("promtool/prometheus not on PATH: install the Debian package 'prometheus' (`make test` does)")
    root: Path = tmp_path_factory.mktemp("prometheus")
    last = (int(time.time()) - EVAL_OFFSET) // SCRAPE_INTERVAL * SCRAPE_INTERVAL
    buckets = _bucket_samples(last)
    (root / "data.om").write_text(_openmetrics(buckets))
    data_dir = root / "tsdb"
    started = time.monotonic()
    backfill = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(root / "data.om"), str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    backfill_seconds = time.monotonic() - started
    if backfill.returncode != 0:
        pytest.fail(f"promtool backfill failed ({backfill.returncode}): {backfill.stderr.strip()[-2000:]}")
    (root / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n# no scrape targets: only backfilled data\n")

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = root / "prometheus.log"
    with log_path.open("wb") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            [
                prometheus,
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--config.file={root / 'prometheus.yml'}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
            env={**os.environ, "HOME": str(root)},
        )
    try:
        while not _ready(url):
            if process.poll() is not None or time.monotonic() - started > READY_TIMEOUT:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"prometheus did not become ready in {READY_TIMEOUT:.0f}s (exit {process.poll()}):\n{tail}")
            time.sleep(0.05)
        ready_seconds = time.monotonic() - started
        now = last + EVAL_OFFSET
        yield PrometheusServer(
            url=url,
            now=datetime.fromtimestamp(now, UTC),
            query=QUERY,
            expected_p99=expected_p99(buckets, "catalog", now),
            expected_p99_earlier=expected_p99(buckets, "catalog", now - 1800),
            expected_search_p99=expected_p99(buckets, "search", now),
            ready_seconds=ready_seconds,
            backfill_seconds=backfill_seconds,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
