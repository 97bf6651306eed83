"""The p99 latency pane's source: one PromQL query, asked of Prometheus's HTTP API.

Each fetch sends one query: an instant query (the number the page quotes, e.g. "p99 = 1.2s") or,
every ``range_every`` fetches, a range query over the last ``window_seconds`` (the trend that shows
whether an abort is working) whose last point, evaluated at the fetch time, is the value now.
Both are blocking HTTP calls: the caller runs ``fetch`` in a
worker thread (``asyncio.to_thread``), never on the UI loop.

Why the details are what they are:

* ``prometheus_api_client`` (and with it ``requests``) is imported only when the first fetch
  builds the client, because on a bastion every import is start-up time spent before the first
  pane paints.
* ``PrometheusConnect`` defaults to no timeout and 3 retries with back-off, so a hung server
  would block a worker thread (which cannot be killed) for ever.  We pass ``timeout`` and a
  ``Retry`` that retries a refused connection once but never a read: a server that does not
  answer in ``timeout`` seconds will not answer a second time either, and retrying would double
  the wait before the pane says TIMEOUT.
* Query budget: with the default 20 s poll, an instant + range query per fetch would be 6 requests
  a minute.  ``range_every=4`` sends the range query on every 4th fetch only, takes that fetch's
  value from its last point, and reuses the series in between: 3 requests a minute, which leaves
  one a minute for the CNPG pane's WAL archiver metrics (4 a minute in all).  The value is always fresh; the trend may lag by up to ``(range_every - 1) * poll``
  seconds.
* Results: NaN (``histogram_quantile`` over zero traffic) means "no data": the value becomes
  None and NaN points are dropped from the series.  ``+Inf`` (the quantile fell in the ``+Inf``
  bucket, i.e. above the largest finite bucket) is kept: it is a real answer and over any SLO.
  A query that returns several series (a ``by (pod)`` left in the query) is reduced to the
  largest value per timestamp, the pessimistic reading for a latency SLO; ``last_note`` says so.
* Every failure becomes a ``SourceError`` whose message names the server (URL without
  credentials) and the reason.  Request headers (tokens) never appear in a message.
* ``timeout`` bounds each request in total (connect, headers and body: a server dripping one byte
  at a time is cut there, :mod:`cockpit.sources.limits`), and an answer over
  ``limits.MAX_PROMETHEUS_BYTES`` is not read: the session's adapter reads the body itself, bounded,
  before the library parses it.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from cockpit.models import LatencyView
from cockpit.sources import limits
from cockpit.sources.errors import ErrorKind, SourceError

__all__ = ["DEFAULT_PROMQL_TEMPLATE", "PrometheusSource", "default_promql", "promql_string"]

DEFAULT_PROMQL_TEMPLATE = (
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="%(service)s"}[5m])))'
)
"""The p99 of the service's request-duration histogram over 5 minutes (the seed's page query)."""

_T = TypeVar("_T")
DEFAULT_TIMEOUT = 10.0  # seconds per request when the caller gives none (read at construction: tests shorten it)
_MAX_TEXT = 300  # longest piece of server text we put into one error line
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_STATUS_MESSAGE = re.compile(r"\AHTTP Status Code (\d{3}) \((b(?:'.*'|\".*\"))\)\Z", re.S)


def promql_string(value: str) -> str:
    """``value`` escaped for the inside of a double-quoted PromQL string literal.

    PromQL strings use Go's escapes; JSON's escapes (``\\"``, ``\\\\``, ``\\n``, ``\\u0001``) are a
    subset of them, so a JSON dump minus its quotes is a correct, tested escaper.
    """
    return json.dumps(value, ensure_ascii=False)[1:-1]


def default_promql(service: str) -> str:
    """The seed's p99 query for ``service`` (the name escaped, so a quote cannot end the matcher)."""
    return DEFAULT_PROMQL_TEMPLATE % {"service": promql_string(service)}


def display_url(url: str) -> str:
    """``url`` without user:password, query or fragment: safe to show in an error line."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port is not None else host
    except ValueError:
        return "<unparsable URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _clean(text: str) -> str:
    """Server text made into one short line (it is untrusted; the UI renders it without markup)."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _seconds(value: float) -> str:
    """A duration in seconds as Prometheus accepts it ("30", "7.5")."""
    return f"{value:g}" if value != int(value) else str(int(value))


class PrometheusSource:
    """p99 latency from one Prometheus server for one query.

    ``fetch`` is meant to be called by one worker at a time (the pane's exclusive poll worker);
    the range-query counter and cached series are guarded by a lock all the same, because a
    cancelled worker's thread can still be finishing when the next one starts.
    """

    def __init__(
        self,
        url: str,
        query: str,
        *,
        slo_seconds: float,
        window_seconds: int = 1800,
        step_seconds: float = 30,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
        range_every: int = 4,
        disable_ssl: bool = False,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = display_url(url)
            raise SourceError(ErrorKind.CONFIG, f"Prometheus URL must look like http(s)://host:port[/prefix], got {shown!r}")
        if not query.strip():
            raise SourceError(ErrorKind.CONFIG, "the Prometheus query is empty")
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        for name, number in (
            ("slo_seconds", slo_seconds),
            ("window_seconds", window_seconds),
            ("step_seconds", step_seconds),
            ("timeout", timeout),
        ):
            if not (isinstance(number, (int, float)) and math.isfinite(number) and number > 0):
                raise SourceError(ErrorKind.CONFIG, f"Prometheus {name} must be a positive number, got {number!r}")
        if range_every < 1:
            raise SourceError(ErrorKind.CONFIG, f"Prometheus range_every must be 1 or more, got {range_every!r}")
        self.url = url.rstrip("/")  # the client appends "/api/v1/..."
        self.query = query
        self.slo_seconds = float(slo_seconds)
        self.window_seconds = window_seconds
        self.step_seconds = step_seconds
        self.timeout = float(timeout)
        self.range_every = range_every
        self.last_note = ""  # e.g. "3 series in the answer: showing the largest"; "" for one series
        self._headers = dict(headers or {})
        self._disable_ssl = disable_ssl
        self._shown_url = display_url(self.url)
        self._client: Any = None
        self._lock = threading.Lock()
        self._series: tuple[tuple[float, float], ...] | None = None
        self._fetches_since_range = 0

    # ------------------------------------------------------------------ client

    def connect(self) -> Any:
        """Build the ``PrometheusConnect`` client once (imports the library on first use)."""
        with self._lock:
            if self._client is None:
                from cockpit.sources import IMPORT_LOCK

                try:
                    with IMPORT_LOCK:
                        import requests
                        from prometheus_api_client import PrometheusConnect
                        from urllib3.util.retry import Retry
                except ImportError as err:  # pragma: no cover - a broken install
                    raise SourceError(ErrorKind.CONFIG, f"prometheus-api-client is not installed ({err.name})") from err
                retry = Retry(total=1, read=False, backoff_factor=0)
                session = requests.Session()
                session.verify = not self._disable_ssl
                self._client = PrometheusConnect(
                    url=self.url,
                    headers=self._headers or None,
                    disable_ssl=self._disable_ssl,
                    retry=retry,
                    timeout=self.timeout,  # type: ignore[arg-type]  # the library annotates int; requests takes float
                    session=session,
                )
                # replaces the plain adapter the library mounted on the same prefix
                session.mount(self.url, limits.bounded_adapter(
                    limit=limits.MAX_PROMETHEUS_BYTES, what=f"Prometheus at {self._shown_url}",
                    seconds=self.timeout, max_retries=retry))
            return self._client

    def close(self) -> None:
        """Release the HTTP connection pool (the next fetch builds a new client)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # ------------------------------------------------------------------ fetch

    def fetch(self, now: datetime) -> LatencyView:
        """Ask for the value at ``now`` (and, when due, the series over the window ending at ``now``).

        One HTTP request: the instant query, or, when due, the range query whose last point is the value now.
        Raises ``SourceError``.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        client = self.connect()
        server_timeout = _seconds(self.timeout)  # lets Prometheus abandon the query too (float seconds)
        # Unix seconds, not the datetime: requests would send str(now), which Prometheus refuses (400).
        at = f"{now.timestamp():.3f}"
        with self._lock:
            series = self._series
            due = series is None or self._fetches_since_range >= self.range_every
        value: float | None = None
        count = 0
        have_value = False
        if due:
            start = now - timedelta(seconds=self.window_seconds)
            ranged = self._call(
                lambda: client.custom_query_range(
                    self.query,
                    start_time=start,
                    end_time=now,
                    step=_seconds(self.step_seconds),
                    params={"timeout": server_timeout},
                )
            )
            series, count = self._parse(_range_points, ranged)
            # The window is a whole number of steps, so the range's last point is evaluated at ``now`` exactly:
            # it is the instant value, and this fetch needs no second request (3 queries a minute at 20 s).
            # (the client sends whole seconds, so "at now" means within a second of it; otherwise ask for now)
            if series and abs(series[-1][0] - now.timestamp()) <= 1.0:
                value, have_value = series[-1][1], True
        if not have_value:
            instant = self._call(
                lambda: client.custom_query(self.query, params={"time": at, "timeout": server_timeout}))
            value, instant_count = self._parse(_instant_points, instant)
            count = max(count, instant_count)
        with self._lock:
            if due:
                self._series, self._fetches_since_range = series, 1
            else:
                self._fetches_since_range += 1
        self.last_note = f"{count} series in the answer: showing the largest" if count > 1 else ""
        return LatencyView(
            query=self.query,
            slo_seconds=self.slo_seconds,
            value=value,
            series=series or (),
            evaluated_at=now,
        )

    def instant(self, query: str, now: datetime) -> list[Any]:
        """Any other instant query on the same server, bounded the same way (timeout, answer size): the raw
        ``data.result`` list (``[{"metric": {...}, "value": [ts, "v"]}, ...]``).  Raises ``SourceError``.

        The CNPG pane reads CloudNativePG's archiver metrics with it (``cockpit.feeds.ArchivingFeed``)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        client = self.connect()
        params = {"time": f"{now.timestamp():.3f}", "timeout": _seconds(self.timeout)}
        result = self._call(lambda: client.custom_query(query, params=params))
        if not isinstance(result, list):
            raise SourceError(ErrorKind.BAD_DATA, f"Prometheus at {self._shown_url} sent an answer of an "
                                                  "unexpected shape")
        return result

    # ------------------------------------------------------------------ helpers

    def _parse(self, parser: Callable[[Any], _T], result: Any) -> _T:
        try:
            return parser(result)
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise SourceError(
                ErrorKind.BAD_DATA, f"Prometheus at {self._shown_url} sent an answer of an unexpected shape"
            ) from err

    def _call(self, request: Callable[[], _T]) -> _T:
        try:
            return request()
        except Exception as err:  # noqa: BLE001 - every library failure becomes one SourceError
            raise self._error(err) from err

    def _error(self, err: Exception) -> SourceError:
        """The library's exception in words (the URL shown without credentials, no headers)."""
        import requests
        from prometheus_api_client import PrometheusApiClientException

        where = self._shown_url
        if isinstance(err, SourceError):  # a deadline or a size limit (limits.bounded_adapter)
            return err
        if isinstance(err, PrometheusApiClientException):
            return self._http_error(str(err))
        if isinstance(err, requests.exceptions.JSONDecodeError):
            return SourceError(ErrorKind.BAD_DATA, f"Prometheus at {where} sent a malformed answer (not JSON)")
        if isinstance(err, requests.exceptions.Timeout) or _caused_by_timeout(err):
            waited = _seconds(self.timeout)
            return SourceError(ErrorKind.TIMEOUT, f"Prometheus at {where} did not answer within {waited}s")
        if isinstance(err, requests.exceptions.RequestException):
            return SourceError(ErrorKind.UNREACHABLE, f"Prometheus unreachable at {where}: {_connection_reason(err)}")
        if isinstance(err, (KeyError, IndexError, TypeError, ValueError)):
            return SourceError(ErrorKind.BAD_DATA, f"Prometheus at {where} sent a malformed answer (no data.result)")
        return SourceError(ErrorKind.UNREACHABLE, f"Prometheus at {where}: request failed ({type(err).__name__})")

    def _http_error(self, message: str) -> SourceError:
        """Map "HTTP Status Code N (b'body')" (how the library reports non-200 answers) by status."""
        where = self._shown_url
        match = _STATUS_MESSAGE.match(message)
        if match is None:
            return SourceError(ErrorKind.SERVER, f"Prometheus at {where} answered with an error")
        status = int(match.group(1))
        error, error_type = _prometheus_error(match.group(2))
        detail = f": {error}" if error else ""
        if status in (400, 422):
            reason = error or f"HTTP {status}"
            return SourceError(ErrorKind.INVALID, f"Prometheus rejected the query: {reason}", status=status)
        if status == 401:
            return SourceError(
                ErrorKind.AUTH, f"Prometheus at {where}: HTTP 401 unauthorized (check the token)", status=status
            )
        if status == 403:
            return SourceError(ErrorKind.FORBIDDEN, f"Prometheus at {where}: HTTP 403 forbidden{detail}", status=status)
        if status == 404:
            return SourceError(
                ErrorKind.MISSING,
                f"no Prometheus API at {where} (HTTP 404): check the URL and its path prefix",
                status=status,
            )
        kind = f" {error_type}" if error_type else ""
        return SourceError(ErrorKind.SERVER, f"Prometheus at {where}: HTTP {status}{kind}{detail}", status=status)


# ---------------------------------------------------------------------- parsing answers


def _number(raw: Any) -> float:
    """A sample value: Prometheus sends strings ("0.123", "NaN", "+Inf")."""
    if not isinstance(raw, str):
        raise TypeError("sample value is not a string")
    return float(raw)


def _timestamp(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise TypeError("sample timestamp is not a number")
    return float(raw)


def _instant_points(result: Any) -> tuple[float | None, int]:
    """(largest non-NaN value or None, number of series) of a vector or scalar answer."""
    if not isinstance(result, list):
        raise TypeError("result is not a list")
    if len(result) == 2 and not isinstance(result[0], dict):  # scalar: [ts, "value"]
        _timestamp(result[0])
        values = [_number(result[1])]
        count = 1
    else:
        values = []
        for item in result:
            _timestamp(item["value"][0])
            values.append(_number(item["value"][1]))
        count = len(result)
    finite = [v for v in values if not math.isnan(v)]
    return (max(finite) if finite else None), count


def _range_points(result: Any) -> tuple[tuple[tuple[float, float], ...], int]:
    """(ascending (ts, largest value at ts) without NaN, number of series) of a matrix answer."""
    if not isinstance(result, list):
        raise TypeError("result is not a list")
    best: dict[float, float] = {}
    for item in result:
        for ts_raw, value_raw in item["values"]:
            ts, value = _timestamp(ts_raw), _number(value_raw)
            if math.isnan(value):
                continue
            if ts not in best or value > best[ts]:
                best[ts] = value
    return tuple(sorted(best.items())), len(result)


# ---------------------------------------------------------------------- failures in words


def _prometheus_error(body_repr: str) -> tuple[str, str]:
    """(``error``, ``errorType``) from the body the library quoted, or ("", "") if it has none."""
    import ast  # only on failures: keep module import cheap

    try:
        body = ast.literal_eval(body_repr)
        data = json.loads(body)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    error, error_type = data.get("error"), data.get("errorType")
    return (
        _clean(error) if isinstance(error, str) else "",
        _clean(error_type) if isinstance(error_type, str) else "",
    )


def _chain(err: BaseException) -> Iterator[BaseException]:
    """``err`` and what it wraps: urllib3 keeps the cause in ``reason`` and ``args``, not only ``__cause__``."""
    seen: set[int] = set()
    todo: list[BaseException] = [err]
    while todo and len(seen) < 32:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        todo.extend(e for e in inner if isinstance(e, BaseException))


def _caused_by_timeout(err: BaseException) -> bool:
    """A read/connect timeout, even when requests reports it as a ConnectionError (MaxRetryError)."""
    from urllib3.exceptions import NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    # urllib3 2 makes NewConnectionError (refused, unresolved) a ConnectTimeoutError subclass.
    return any(
        isinstance(e, (TimeoutError, Urllib3Timeout)) and not isinstance(e, NewConnectionError) for e in _chain(err)
    )


def _connection_reason(err: BaseException) -> str:
    """Why a connection failed, in a few words (never the exception text: it may carry the URL)."""
    import socket
    import ssl

    import requests
    from urllib3.exceptions import NameResolutionError, ProtocolError
    from urllib3.exceptions import SSLError as Urllib3SSLError

    chain = list(_chain(err))
    checks: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
        ((ConnectionRefusedError,), "connection refused"),
        ((socket.gaierror, NameResolutionError), "host name not resolved"),
        ((ssl.SSLError, Urllib3SSLError, requests.exceptions.SSLError), "TLS handshake failed"),
        ((ConnectionResetError,), "connection reset"),
        ((ProtocolError,), "connection closed without an answer"),
    )
    for types, words in checks:
        if any(isinstance(e, types) for e in chain):
            return words
    # requests' own exceptions are OSErrors too: only a plain socket error counts here.
    if any(isinstance(e, OSError) and not isinstance(e, requests.exceptions.RequestException) for e in chain):
        return "network error"
    return f"request failed ({type(err).__name__})"
