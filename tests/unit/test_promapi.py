"""The demo's Prometheus HTTP API, read through the real prometheus-api-client."""

from __future__ import annotations

import json
import math
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from cockpit.demo.promapi import PromApi, format_value

T0 = 1_779_287_220.0  # 2026-05-20 14:27:00 UTC
QUERY = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="catalog"}[5m])))'


def bad_canary(t: float) -> float | None:
    """1.2 s from T0 on (the page), nothing before T0 - 600 (no data yet)."""
    if t < T0 - 600:
        return None
    return 1.2 if t >= T0 else 0.123


@pytest.fixture
def api() -> Iterator[PromApi]:
    server = PromApi(bad_canary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(api: PromApi) -> Iterator[PrometheusConnect]:
    connect = PrometheusConnect(api.url, timeout=5)  # type: ignore[arg-type]
    try:
        yield connect
    finally:
        connect.close()


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def test_binds_loopback_on_a_free_port(api: PromApi) -> None:
    assert api.url.startswith("http://127.0.0.1:") and not api.url.endswith(":0")


def test_instant_query_is_a_one_element_vector(api: PromApi, client: PrometheusConnect) -> None:
    assert client.custom_query(QUERY, params={"time": T0}) == [{"metric": {}, "value": [1779287220, "1.2"]}]
    assert client.custom_query(QUERY, params={"time": T0 - 1.5}) == [{"metric": {}, "value": [T0 - 1.5, "0.123"]}]
    assert client.custom_query(QUERY, params={"time": "2026-05-20T14:27:00Z"})[0]["value"][1] == "1.2"
    assert client.custom_query(QUERY, params={"time": T0 - 3600}) == []  # no data
    assert api.requests[0] == ("/api/v1/query", QUERY)


def test_instant_query_body_is_prometheus_json(api: PromApi) -> None:
    status, content_type, body = _get(f"{api.url}/api/v1/query?" + urllib.parse.urlencode({"query": "x", "time": T0}))
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1779287220, "1.2"]}]},
    }


def test_range_query_is_a_one_series_matrix(client: PrometheusConnect) -> None:
    result = client.custom_query_range(QUERY, start_time=_at(T0 - 60), end_time=_at(T0 + 30), step="30s")
    assert result == [
        {
            "metric": {},
            "values": [
                [1779287160, "0.123"],
                [1779287190, "0.123"],
                [1779287220, "1.2"],
                [1779287250, "1.2"],
            ],
        }
    ]


def test_range_query_drops_no_data_points_and_accepts_float_steps(client: PrometheusConnect) -> None:
    result = client.custom_query_range(QUERY, start_time=_at(T0 - 660), end_time=_at(T0 - 540), step="30")
    assert [ts for ts, _ in result[0]["values"]] == [T0 - 600, T0 - 570, T0 - 540]
    assert client.custom_query_range(QUERY, start_time=_at(T0 - 7200), end_time=_at(T0 - 3600), step="1m") == []


def test_post_form_is_accepted(api: PromApi) -> None:
    connect = PrometheusConnect(api.url, method="POST", timeout=5)  # type: ignore[arg-type]
    try:
        assert connect.custom_query(QUERY, params={"time": T0})[0]["value"] == [1779287220, "1.2"]
        values = connect.custom_query_range(QUERY, start_time=_at(T0), end_time=_at(T0 + 60), step="60")[0]["values"]
    finally:
        connect.close()
    assert values == [[1779287220, "1.2"], [1779287280, "1.2"]]
    assert api.requests == [("/api/v1/query", QUERY), ("/api/v1/query_range", QUERY)]


def test_set_series_swaps_the_answer(api: PromApi, client: PrometheusConnect) -> None:
    assert client.custom_query(QUERY, params={"time": T0 + 180})[0]["value"][1] == "1.2"
    api.set_series(lambda t: 0.31 if t >= T0 + 120 else 1.2)  # the abort worked
    assert client.custom_query(QUERY, params={"time": T0 + 180})[0]["value"][1] == "0.31"
    values = client.custom_query_range(QUERY, start_time=_at(T0 + 60), end_time=_at(T0 + 180), step="60s")[0]["values"]
    assert [v for _, v in values] == ["1.2", "0.31", "0.31"]


def test_requests_are_counted(api: PromApi, client: PrometheusConnect) -> None:
    client.custom_query("a", params={"time": T0})
    client.custom_query_range("b", start_time=_at(T0), end_time=_at(T0), step="30")
    _get(api.url + "/-/ready")
    assert api.requests == [("/api/v1/query", "a"), ("/api/v1/query_range", "b"), ("/-/ready", "")]
    api.clear_requests()
    assert api.requests == []


@pytest.mark.parametrize(
    ("path", "text"),
    [("/-/ready", b"Prometheus Server is Ready.\n"), ("/-/healthy", b"Prometheus Server is Healthy.\n")],
)
def test_health_endpoints(api: PromApi, path: str, text: bytes) -> None:
    assert _get(api.url + path) == (200, "text/plain; charset=utf-8", text)


def test_buildinfo(api: PromApi) -> None:
    status, _, body = _get(api.url + "/api/v1/status/buildinfo")
    data = json.loads(body)
    assert status == 200 and data["status"] == "success" and data["data"]["version"]


def test_unknown_path_is_404(api: PromApi) -> None:
    assert _get(api.url + "/api/v1/labels")[0] == 404


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"query": "", "time": "1"}, 'invalid parameter "query": 1:1: parse error: no expression found in input'),
        ({"query": "x", "time": "abc"}, "invalid parameter \"time\": Invalid time value for 'time': "
                                        'cannot parse "abc" to a valid timestamp'),
        ({"query": "x", "start": "100", "end": "10", "step": "1"},
         'invalid parameter "end": end timestamp must not be before start time'),
        ({"query": "x", "start": "100", "end": "1000", "step": "0"},
         'invalid parameter "step": zero or negative query resolution step widths are not accepted. '
         "Try a positive integer"),
        ({"query": "x", "start": "100", "end": "1000"},
         'invalid parameter "step": cannot parse "" to a valid duration'),
        ({"query": "x", "start": "100", "end": "16000000", "step": "1"},
         "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
    ],
)  # fmt: skip
def test_bad_parameters_are_400_bad_data_like_prometheus(api: PromApi, params: dict[str, str], error: str) -> None:
    path = "/api/v1/query_range" if "start" in params else "/api/v1/query"
    status, _, body = _get(f"{api.url}{path}?" + urllib.parse.urlencode(params))
    assert status == 400
    assert json.loads(body) == {"status": "error", "errorType": "bad_data", "error": error}


def test_bad_parameters_reach_the_client_as_its_exception(client: PrometheusConnect) -> None:
    with pytest.raises(PrometheusApiClientException, match="HTTP Status Code 400"):
        client.custom_query_range(QUERY, start_time=_at(T0), end_time=_at(T0 + 60), step="-5")


def test_a_failing_series_function_is_an_execution_error(api: PromApi, client: PrometheusConnect) -> None:
    api.set_series(lambda t: 1 / 0)
    with pytest.raises(PrometheusApiClientException, match="HTTP Status Code 422"):
        client.custom_query(QUERY, params={"time": T0})


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.2, "1.2"), (0.123, "0.123"), (100.0, "100"), (1e-05, "0.00001"), (2.5e20, "250000000000000000000"),
     (math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (0.0, "0")],
)  # fmt: skip
def test_values_are_formatted_like_go(value: float, text: str) -> None:
    assert format_value(value) == text


def test_nan_is_sent_as_prometheus_does(api: PromApi, client: PrometheusConnect) -> None:
    api.set_series(lambda t: math.nan)
    assert client.custom_query(QUERY, params={"time": T0}) == [{"metric": {}, "value": [1779287220, "NaN"]}]


def test_concurrent_clients(api: PromApi) -> None:
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            answer = requests.get(f"{api.url}/api/v1/query", params={"query": "x", "time": T0}, timeout=5)
            assert answer.json()["data"]["result"][0]["value"][1] == "1.2"
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == [] and len(api.requests) == 8


def test_stop_closes_the_port() -> None:
    server = PromApi(bad_canary)
    url = server.start()
    assert server.start() == url  # idempotent
    server.stop()
    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/-/ready", timeout=2)
    with pytest.raises(RuntimeError):
        _ = server.url
