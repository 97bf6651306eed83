"""Nothing escapes: hostile servers on 127.0.0.1 against every reader, each answer bounded in size and in time.

* an endless watch line (no newline, ever) is dropped at ``MAX_WATCH_EVENT_BYTES`` with memory bounded, then the
  watch relists;
* a 64 MB list, Prometheus answer, S3 page or error body is refused at its limit, not read whole;
* a slow drip (one byte every few tenths of a second: under every per-read timeout) fails each request at its
  total deadline, in the headers or in the body: Kubernetes get / SelfSubjectAccessReview / dry-run patch / watch,
  Prometheus, the flag provider, S3;
* a caller can cancel (the "planning… Cancel" button) and see what it is waiting for;
* objects of another kind on a list or a watch are dropped and counted;
* exec credential plugins: a valid one (cached token, refreshed when expired), one that writes escapes and a
  token to stderr, one that hangs (killed; cancellable), one that reads stdin, one that wants a terminal.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import ConfigError
from cockpit.sources import kube as kube_source
from cockpit.sources import kubeauth, limits
from cockpit.sources.errors import ErrorKind, SourceError
from cockpit.sources.kube import ROLLOUTS, Backoff, KubeContext, ResourceWatch, WatchState
from cockpit.sources.limits import MiB, Deadline
from tests.integration.hostile import HostileServer, Request, Wire, endless

ROLLOUT_PATH = "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts"


def rollout(name: str, rv: str = "5", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": name, "namespace": "shop", "resourceVersion": rv}, **extra}


def rollout_list(items: list[dict[str, Any]], rv: str = "7", cont: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    return {"kind": "RolloutList", "apiVersion": "argoproj.io/v1alpha1", "metadata": meta, "items": items}


SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
          "metadata": {"name": "db-password", "namespace": "shop", "resourceVersion": "9"},
          "data": {"password": "aHVudGVyMg=="}}


def write_kubeconfig(tmp_path: Path, server: str, user: str = "{token: t0k3n}") -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(f"apiVersion: v1\nkind: Config\ncurrent-context: hostile\nclusters:\n- name: c\n"
                    f"  cluster: {{server: \"{server}\"}}\nusers:\n- name: u\n  user: {user}\ncontexts:\n"
                    f"- name: hostile\n  context: {{cluster: c, user: u, namespace: shop}}\n")
    return path


def context(tmp_path: Path, server: HostileServer, user: str = "{token: t0k3n}") -> KubeContext:
    return KubeContext.from_kubeconfig(write_kubeconfig(tmp_path, server.url, user), "hostile")


@pytest.fixture
def short(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-read timeouts of 1 s and total deadlines of 1.5 s: a drip of one byte every 0.3 s beats the first,
    never the second."""
    monkeypatch.setattr(kube_source, "READ_TIMEOUT", 1.0)
    monkeypatch.setattr(kube_source, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(kube_source, "REQUEST_SECONDS", 1.5)
    monkeypatch.setattr(kube_source, "LIST_SECONDS", 1.5)


def run_watch(watch: ResourceWatch, *, until: int = 2) -> list[WatchState]:
    """Run the watch in this thread until it has been ``retrying`` ``until`` times; the states it reported."""
    states: list[WatchState] = []
    original = watch._on_state

    def on_state(state: WatchState) -> None:
        states.append(state)
        original(state)
        if sum(s.phase == "retrying" for s in states) >= until:
            watch.stop()

    watch._on_state = on_state
    timer = threading.Timer(60, watch.stop)  # a watch that never fails must not hang the suite
    timer.start()
    try:
        watch.run()
    finally:
        timer.cancel()
    return states


# --------------------------------------------------------------------------- sizes


def test_an_endless_watch_line_is_dropped_with_memory_bounded_then_relisted(tmp_path: Path) -> None:
    def route(request: Request, wire: Wire) -> None:
        if request.query.get("watch") == "true":
            wire.head()
            endless(wire, b"x" * MiB, cap=64 * MiB)  # 64 MB of one event, no newline
        else:
            wire.json(rollout_list([rollout("checkout")]))

    with HostileServer(route) as server:
        ctx = context(tmp_path, server)
        watch = ResourceWatch(ctx, ROLLOUTS, "shop", on_change=lambda items: None, backoff=Backoff(0.01, 0.01))
        tracemalloc.start()
        try:
            states = run_watch(watch)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        lists = [r for r in server.requests if r.query.get("watch") != "true"]
        watches = [w for r, w in zip(server.requests, server.wires) if r.query.get("watch") == "true"]
    errors = [s.error for s in states if s.phase == "retrying"]
    assert errors[0] is not None and errors[0].kind is ErrorKind.TOO_LARGE
    assert str(errors[0]) == (f"watch event from the Kubernetes API at {server.url} (rollouts.argoproj.io) larger "
                              "than 16 MiB: connection dropped")
    assert watch.last_lines is not None
    assert watch.last_lines.peak_buffered <= limits.MAX_WATCH_EVENT_BYTES + limits.READ_CHUNK
    assert peak < limits.MAX_WATCH_EVENT_BYTES + 12 * MiB, f"{peak / MiB:.0f} MiB held for one line"
    assert watches[0].sent < 48 * MiB, "the connection was not dropped at the limit"
    assert len(lists) >= 2, "the watch did not relist after dropping the stream"


def big_json(wire: Wire, head: bytes, item: bytes, tail: bytes, *, size: int) -> None:
    """A valid JSON document of about ``size`` bytes, chunked: head, item, item, ..., tail."""
    wire.head()
    if not wire.chunk(head):
        return
    piece = b",".join([item] * 256)
    sent = 0
    while sent < size:
        if not wire.chunk((b"," if sent else b"") + piece):
            return
        sent += len(piece)
    wire.chunk(tail)
    wire.end()


def test_a_64_mb_list_is_refused_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_LIST_BYTES", 8 * MiB)
    head = json.dumps(rollout_list([]))[:-2].encode()  # ... "items": [
    item = json.dumps(rollout("r", spec={"pad": "p" * 900})).encode()

    with HostileServer(lambda r, w: big_json(w, head, item, b"]}", size=64 * MiB)) as server:
        ctx = context(tmp_path, server)
        tracemalloc.start()
        try:
            with pytest.raises(SourceError) as caught:
                ctx.list(ROLLOUTS, "shop")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        sent = server.wires[0].sent
    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert str(caught.value) == "list of rollouts.argoproj.io in shop larger than 8 MiB: not read"
    assert server.requests[0].query.get("limit") == str(limits.LIST_PAGE_SIZE)  # asked in pages
    assert peak < 20 * MiB and sent < 48 * MiB


def test_a_64_mb_prometheus_answer_is_refused_at_the_limit() -> None:
    from cockpit.sources.prometheus import PrometheusSource

    def route(request: Request, wire: Wire) -> None:
        item = b'{"metric":{"pod":"p"},"values":[[1700000000,"0.5"]]}'
        big_json(wire, b'{"status":"success","data":{"resultType":"matrix","result":[', item, b"]}}",
                 size=64 * MiB)

    with HostileServer(route) as server:
        source = PrometheusSource(server.url, "up", slo_seconds=1.0, timeout=30)
        try:
            with pytest.raises(SourceError) as caught:
                source.fetch(datetime.now(UTC))
        finally:
            source.close()
        sent = server.wires[0].sent
    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert str(caught.value) == f"answer from Prometheus at {server.url} larger than 16 MiB: not read"
    assert sent < 48 * MiB


def test_an_s3_page_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.sources.s3 import S3Source

    monkeypatch.setattr(limits, "MAX_S3_PAGE_BYTES", 1 * MiB)
    head = (b'<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/'
            b'2006-03-01/"><Name>uploads</Name><IsTruncated>false</IsTruncated>')
    entry = (b"<Version><Key>k</Key><VersionId>v</VersionId><IsLatest>true</IsLatest>"
             b"<LastModified>2026-01-01T00:00:00.000Z</LastModified><Size>4</Size></Version>")

    def route(request: Request, wire: Wire) -> None:
        wire.head(headers={"Content-Type": "application/xml"})
        wire.chunk(head)
        while wire.sent < 8 * MiB:
            if not wire.chunk(entry * 512):
                return
        wire.chunk(b"</ListVersionsResult>")
        wire.end()

    with HostileServer(route) as server:
        source = S3Source(endpoint_url=server.url, read_timeout=5, max_attempts=1)
        with pytest.raises(SourceError) as caught:
            source.delete_markers("uploads", "", datetime.now(UTC) - timedelta(hours=1))
    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert str(caught.value) == f"a page from S3 at {server.url} larger than 1 MiB: not read"


def test_a_64_mb_error_body_is_read_only_so_far(tmp_path: Path) -> None:
    def route(request: Request, wire: Wire) -> None:
        wire.head(500)
        wire.chunk(b'{"kind":"Status","message":"')
        endless(wire, b"e" * MiB, cap=64 * MiB)

    with HostileServer(route) as server:
        ctx = context(tmp_path, server)
        tracemalloc.start()
        try:
            with pytest.raises(SourceError) as caught:
                ctx.get(ROLLOUTS, "shop", "checkout")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert caught.value.kind is ErrorKind.SERVER and str(caught.value) == "500 Internal Server Error"
    assert peak < 12 * MiB


# --------------------------------------------------------------------------- time


def kube_answer(request: Request) -> bytes:
    if request.method == "POST":
        return json.dumps({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                           "status": {"allowed": True}}).encode()
    return json.dumps(rollout("checkout")).encode()


def dripping(phase: str):
    def route(request: Request, wire: Wire) -> None:
        body = kube_answer(request)
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n").encode()
        if phase == "headers":
            wire.drip(head + body, 0.3)
        else:
            wire.write(head)
            wire.drip(body, 0.3)

    return route


KUBE_CALLS = {
    "get": ("GET", f"{ROLLOUT_PATH}/checkout", {}),
    "access-review": ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                      {"body": {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                                "spec": {"resourceAttributes": {"verb": "patch", "resource": "rollouts"}}},
                       "content_type": "application/json"}),
    "dry-run-patch": ("PATCH", f"{ROLLOUT_PATH}/checkout",
                      {"query": [("dryRun", "All")], "body": {"spec": {"paused": True}},
                       "content_type": "application/merge-patch+json"}),
}


@pytest.mark.parametrize("phase", ["headers", "body"])
@pytest.mark.parametrize("call", list(KUBE_CALLS))
def test_a_slow_drip_fails_a_kubernetes_request_at_its_deadline(tmp_path: Path, short: None, call: str,
                                                                 phase: str) -> None:
    method, path, kwargs = KUBE_CALLS[call]
    with HostileServer(dripping(phase)) as server:
        ctx = context(tmp_path, server)
        started = time.monotonic()
        with pytest.raises(SourceError) as caught:
            ctx.request(method, path, **kwargs)
        waited = time.monotonic() - started
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert str(caught.value) == (f"no complete answer from the Kubernetes API at {server.url} ({method} {path}) "
                                 "within 1.5s")
    assert waited < 10, "the deadline did not end the request"


def test_a_dripped_watch_event_fails_the_stream_at_its_deadline(tmp_path: Path, short: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube_source, "WATCH_SLACK", 0.5)

    def route(request: Request, wire: Wire) -> None:
        if request.query.get("watch") == "true":
            wire.head()
            wire.drip(json.dumps({"type": "ADDED", "object": rollout("late")}).encode() + b"\n", 0.3, chunked=True)
            wire.end()
        else:
            wire.json(rollout_list([]))

    with HostileServer(route) as server:
        ctx = context(tmp_path, server)
        watch = ResourceWatch(ctx, ROLLOUTS, "shop", on_change=lambda items: None, watch_seconds=1,
                              backoff=Backoff(0.01, 0.01))
        states = run_watch(watch, until=1)
    error = next(s.error for s in states if s.phase == "retrying")
    assert error is not None and error.kind is ErrorKind.TIMEOUT
    assert str(error) == (f"no complete answer from the rollouts.argoproj.io in shop watch on the Kubernetes API at "
                          f"{server.url} within 1.5s")
    assert "shop/late" not in watch.cache


def test_a_quiet_watch_that_outlives_its_deadline_is_resumed_without_an_error(tmp_path: Path, short: None,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that ignores timeoutSeconds is cut at watch_seconds + WATCH_SLACK and the watch resumes."""
    monkeypatch.setattr(kube_source, "WATCH_SLACK", 0.3)

    def route(request: Request, wire: Wire) -> None:
        if request.query.get("watch") == "true":
            wire.head()
            wire.chunk(json.dumps({"type": "ADDED", "object": rollout("a", rv="8")}).encode() + b"\n")
            wire.stop.wait(30)  # never ends the stream
        else:
            wire.json(rollout_list([]))

    with HostileServer(route) as server:
        ctx = context(tmp_path, server)
        watch = ResourceWatch(ctx, ROLLOUTS, "shop", on_change=lambda items: None, watch_seconds=1)

        def stop_after_resume() -> None:
            while sum(r.query.get("watch") == "true" for r in server.requests) < 2:
                time.sleep(0.05)
            watch.stop()

        threading.Thread(target=stop_after_resume, daemon=True).start()
        states = run_watch(watch, until=1)
        resumed = [r for r in server.requests if r.query.get("watch") == "true"][1]
    assert not [s for s in states if s.phase == "retrying"]
    assert resumed.query["resourceVersion"] == "8"
    assert len([r for r in server.requests if r.query.get("watch") != "true"]) == 1  # no relist


def test_a_slow_drip_fails_prometheus_at_its_deadline() -> None:
    from cockpit.sources.prometheus import PrometheusSource

    def route(request: Request, wire: Wire) -> None:
        body = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'
        wire.head(length=len(body))
        wire.drip(body, 0.3)

    with HostileServer(route) as server:
        source = PrometheusSource(server.url, "up", slo_seconds=1.0, timeout=1.0)
        try:
            with pytest.raises(SourceError) as caught:
                source.fetch(datetime.now(UTC))
        finally:
            source.close()
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert str(caught.value) == f"no complete answer from Prometheus at {server.url} within 1s"


def test_a_slow_drip_fails_the_flag_provider_at_its_deadline() -> None:
    from cockpit.sources.flags import fetch_flag

    def route(request: Request, wire: Wire) -> None:
        body = b'{"name":"f","enabled":true}'
        wire.head(length=len(body))
        wire.drip(body, 0.3)

    with HostileServer(route) as server:
        with pytest.raises(SourceError) as caught:
            fetch_flag(server.url + "/flags/f", "f", timeout=1.0)
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert str(caught.value) == f"no complete answer from the flag provider at {server.url}/flags/f within 1s"


def test_a_slow_drip_fails_an_s3_page_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.sources import s3
    from cockpit.sources.s3 import S3Source

    monkeypatch.setattr(s3, "REQUEST_SECONDS", 1.5)
    body = (b'<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/'
            b'2006-03-01/"><Name>uploads</Name><IsTruncated>false</IsTruncated></ListVersionsResult>')

    def route(request: Request, wire: Wire) -> None:
        wire.head(headers={"Content-Type": "application/xml"}, length=len(body))
        wire.drip(body, 0.3)

    with HostileServer(route) as server:
        source = S3Source(endpoint_url=server.url, read_timeout=1, max_attempts=1)
        with pytest.raises(SourceError) as caught:
            source.delete_markers("uploads", "", datetime.now(UTC) - timedelta(hours=1))
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert str(caught.value) == (f"no complete answer from S3 at {server.url} (a ListObjectVersions page) "
                                 "within 1.5s")


def test_botocore_still_has_the_session_attributes_the_deadline_uses() -> None:
    from cockpit.sources.s3 import S3Source

    source = S3Source(endpoint_url="http://127.0.0.1:9", max_attempts=1)
    session = source.client._endpoint.http_session
    assert all(getattr(cls, "_cockpit_base", None) for cls in session._pool_classes_by_scheme.values())
    assert all(getattr(cls, "_cockpit_base", None) for cls in session._manager.pool_classes_by_scheme.values())


# --------------------------------------------------------------------------- cancel


def test_a_caller_can_see_what_it_waits_for_and_cancel_it(tmp_path: Path) -> None:
    """What the UI's "planning… still waiting for X [Cancel]" does: a scope around the work, cancelled from
    another thread; the request ends at once, in words."""
    with HostileServer(dripping("body")) as server:
        ctx = context(tmp_path, server)
        plan = Deadline(None, "planning the abort", parent=False)
        outcome: list[BaseException] = []

        def work() -> None:
            with plan:
                try:
                    ctx.get(ROLLOUTS, "shop", "checkout")
                except SourceError as err:
                    outcome.append(err)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        assert server.seen.wait(10)
        waiting: list[str] = []
        for _ in range(100):
            waiting = plan.waiting_for()
            if waiting:
                break
            time.sleep(0.02)
        assert waiting == [f"the Kubernetes API at {server.url} (GET {ROLLOUT_PATH}/checkout)"]
        plan.cancel()
        thread.join(5)
        assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], SourceError)
    assert outcome[0].kind is ErrorKind.CANCELLED
    assert str(outcome[0]) == (f"stopped waiting for the Kubernetes API at {server.url} "
                               f"(GET {ROLLOUT_PATH}/checkout): cancelled")


# --------------------------------------------------------------------------- kinds


def test_a_secret_on_the_rollouts_watch_is_dropped_and_said_once(tmp_path: Path) -> None:
    def route(request: Request, wire: Wire) -> None:
        if request.query.get("watch") == "true":
            wire.head()
            other = dict(SECRET, metadata={"name": "b", "namespace": "shop"})
            for obj in (SECRET, rollout("checkout", rv="10"), other):
                wire.chunk(json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n")
            wire.chunk(json.dumps({"type": "ADDED", "object": {"kind": "Rollout", "apiVersion": "argoproj.io/v2",
                                                               "metadata": {"name": "v2"}}}).encode() + b"\n")
            wire.end()
        else:
            wire.json(rollout_list([rollout("canary"), SECRET]))

    with HostileServer(route) as server:
        ctx = context(tmp_path, server)
        changes: list[dict[str, Any]] = []
        watch = ResourceWatch(ctx, ROLLOUTS, "shop", on_change=changes.append, watch_seconds=1)

        def stop_when_resumed() -> None:
            while sum(r.query.get("watch") == "true" for r in server.requests) < 2:
                time.sleep(0.02)
            watch.stop()

        threading.Thread(target=stop_when_resumed, daemon=True).start()
        states = run_watch(watch, until=1)
    assert set(watch.cache) == {"shop/canary", "shop/checkout"}
    assert all(obj.get("kind") == "Rollout" for items in changes for obj in items.values())
    # the listed Secret, then per stream 2 Secrets and a Rollout of another version (a second stream may be cut
    # short by the stop)
    assert watch.dropped >= 4
    noted = [s.note for s in states if s.note]
    assert noted and noted[0] == ("ignored 1 object of another kind on the rollouts.argoproj.io watch "
                                  "(first: a Secret (v1))")
    assert "password" not in " ".join(noted) and "aHVudGVy" not in " ".join(noted)


def test_a_list_drops_and_counts_objects_of_another_kind(tmp_path: Path) -> None:
    with HostileServer(lambda r, w: w.json(rollout_list([rollout("a"), SECRET, {"metadata": {"name": "bare"}}]))) \
            as server:
        ctx = context(tmp_path, server)
        items, rv = ctx.list(ROLLOUTS, "shop")
    assert [i["metadata"]["name"] for i in items] == ["a", "bare"]  # no kind at all: kept (built-in list items)
    assert rv == "7" and ctx.dropped == {"rollouts.argoproj.io": 1}


def test_a_list_answer_of_another_kind_is_refused(tmp_path: Path) -> None:
    answer = {"kind": "SecretList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": [SECRET]}
    with HostileServer(lambda r, w: w.json(answer)) as server:
        ctx = context(tmp_path, server)
        with pytest.raises(SourceError) as caught:
            ctx.list(ROLLOUTS, "shop")
    assert caught.value.kind is ErrorKind.BAD_DATA
    assert str(caught.value) == "the Kubernetes API answered a SecretList when asked for rollouts.argoproj.io"


def test_a_get_answered_with_another_kind_is_refused(tmp_path: Path) -> None:
    with HostileServer(lambda r, w: w.json(SECRET)) as server:
        ctx = context(tmp_path, server)
        with pytest.raises(SourceError) as caught:
            ctx.get(ROLLOUTS, "shop", "checkout")
    assert caught.value.kind is ErrorKind.BAD_DATA and "a Secret (v1)" in str(caught.value)


# --------------------------------------------------------------------------- pages


def test_a_list_is_read_in_pages_and_falls_back_when_the_continue_token_expires(tmp_path: Path) -> None:
    def route(request: Request, wire: Wire) -> None:
        token = request.query.get("continue", "")
        if "limit" not in request.query:
            wire.json(rollout_list([rollout("a"), rollout("b"), rollout("c"), rollout("d")], rv="20"))
        elif not token:
            wire.json(rollout_list([rollout("a")], rv="11", cont="p2"))
        elif token == "p2":
            wire.json(rollout_list([rollout("b")], rv="11", cont="p3"))
        elif token == "p3" and len(server.requests) < 4:
            wire.json(rollout_list([rollout("c")], rv="11"))
        else:
            wire.json({"kind": "Status", "code": 410, "reason": "Expired", "message": "continue too old"}, status=410)

    def mark(obj: dict) -> dict:  # a transform (the Backup watch's): pages but the last are done aside
        return {"metadata": obj["metadata"], "seen": obj["metadata"]["name"].upper()}

    with HostileServer(route) as server:
        ctx = context(tmp_path, server)
        items, rv = ctx.list(ROLLOUTS, "shop", transform=mark)
        assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"] and rv == "11"
        assert [i["seen"] for i in items] == ["A", "B", "C"]  # every page transformed, in its place
        items, rv = ctx.list(ROLLOUTS, "shop", transform=mark)  # the third page's token expired: one full list
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c", "d"] and rv == "20"
    assert [i["seen"] for i in items] == ["A", "B", "C", "D"]


def test_a_transform_that_fails_on_a_page_done_aside_fails_the_list(tmp_path: Path) -> None:
    def route(request: Request, wire: Wire) -> None:
        token = request.query.get("continue", "")
        wire.json(rollout_list([rollout("a")], rv="11", cont="p2") if not token else
                  rollout_list([rollout("b")], rv="11"))

    def broken(obj: dict) -> dict:
        raise ValueError(f"cannot transform {obj['metadata']['name']}")

    with HostileServer(route) as server:
        ctx = context(tmp_path, server)
        with pytest.raises(ValueError, match="cannot transform a"):
            ctx.list(ROLLOUTS, "shop", transform=broken)


def test_backup_pages_decoded_fast_slow_and_with_strays_keep_their_order(tmp_path: Path) -> None:
    """The Backup watch's page decoder: a plain page is decoded straight into rows, a page with an odd value in a
    field the rows read (an integer phase) takes the general path aside, a page holding another kind takes the
    general path, which drops and reports the stray; the rows come out in the server's order either way, the
    same as the general path's."""
    from cockpit.feeds import PARSED, compact_backup, decode_backup_page
    from cockpit.sources.kube import VELERO_BACKUPS

    def backup(name: str, phase: Any = "Completed") -> dict:
        return {"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": name, "namespace": "velero",
                "resourceVersion": "5"}, "status": {"phase": phase, "startTimestamp": "2026-05-20T14:00:00Z"}}

    stray = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "velero"}}
    pages = {"": ([backup("a"), backup("b")], "p2"), "p2": ([backup("c", phase=3)], "p3"),
             "p3": ([backup("d"), stray], "p4"), "p4": ([backup("e")], "")}

    def route(request: Request, wire: Wire) -> None:
        objects, cont = pages[request.query.get("continue", "")]
        wire.json({"kind": "BackupList", "apiVersion": "velero.io/v1",
                   "metadata": {"resourceVersion": "9", **({"continue": cont} if cont else {})}, "items": objects})

    fast: list[bool] = []

    def decoder(raw: bytes) -> Any:
        decoded = decode_backup_page(raw)
        fast.append(decoded is not None)
        return decoded

    dropped: list[tuple[int, str]] = []
    with HostileServer(route) as server:
        ctx = context(tmp_path, server)
        items, rv = ctx.list(VELERO_BACKUPS, "velero", transform=compact_backup, decode_page=decoder,
                             on_dropped=lambda count, what: dropped.append((count, what)))
        plain, _ = ctx.list(VELERO_BACKUPS, "velero", transform=compact_backup,
                            on_dropped=lambda count, what: None)
    assert fast == [True, False, True, True]  # page 3 is answered fast, then refused by the list for its stray
    assert rv == "9" and [item["metadata"]["name"] for item in items] == ["a", "b", "c", "d", "e"]
    assert [item[PARSED].phase for item in items] == ["Completed", "Completed", "", "Completed", "Completed"]
    assert items == plain
    assert dropped == [(1, dropped[0][1])] and "Secret" in dropped[0][1]


# --------------------------------------------------------------------------- exec credential plugins


def plugin(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys, time\nfrom datetime import datetime, timedelta, "
                    f"timezone\n{body}\n")
    path.chmod(0o755)
    return path


def exec_user(command: Path, mode: str = "IfAvailable", api: str = "client.authentication.k8s.io/v1") -> str:
    return (f"{{exec: {{apiVersion: {api}, command: {command}, args: [--cluster, prod], "
            f"env: [{{name: PLUGIN_ENV, value: from-kubeconfig}}], interactiveMode: {mode}}}}}")


CREDENTIAL = """
def credential(token, minutes):
    expiry = (datetime.now(timezone.utc) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                      "status": {"token": token, "expirationTimestamp": expiry}}))
"""


def authenticated(tokens: set[str]):
    def route(request: Request, wire: Wire) -> None:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in tokens:
            wire.json({"kind": "Status", "code": 401, "message": "Unauthorized"}, status=401)
        else:
            wire.json(rollout_list([rollout("checkout")]))

    return route


def test_a_valid_plugin_runs_off_the_terminal_and_its_token_is_cached(tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    command = plugin(tmp_path, "good.py", CREDENTIAL + f"""
try:
    os.open("/dev/tty", os.O_RDWR)
    tty = "opened"
except OSError:
    tty = "refused"
record = {{"stdin": sys.stdin.read(), "tty": tty, "argv": sys.argv[1:], "env": os.environ.get("PLUGIN_ENV"),
          "info": json.loads(os.environ["KUBERNETES_EXEC_INFO"])}}
open({str(seen)!r}, "a").write(json.dumps(record) + "\\n")
credential("tok-1", 60)
""")
    with HostileServer(authenticated({"tok-1"})) as server:
        ctx = context(tmp_path, server, exec_user(command))
        for _ in range(3):
            items, _ = ctx.list(ROLLOUTS, "shop")
            assert [i["metadata"]["name"] for i in items] == ["checkout"]
    runs = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len(runs) == 1, "the token was not cached until its expirationTimestamp"
    assert runs[0]["stdin"] == "" and runs[0]["tty"] == "refused"  # stdin is /dev/null; no terminal to open
    assert runs[0]["argv"] == ["--cluster", "prod"] and runs[0]["env"] == "from-kubeconfig"
    assert runs[0]["info"] == {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                               "spec": {"interactive": False}}


OSC52_AND_TOKEN = (
    'sys.stderr.write("\\x1b]52;c;c2VjcmV0LWNsaXBib2FyZA==\\x07\\x1b[2J\\x1b[31mlogin failed for '
    'Bearer abc.def.ghi and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXh5eg\\x9b31m\\n")\n'
    "sys.exit(1)"
)


def test_a_failing_plugin_says_why_with_escapes_removed_and_secrets_redacted(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    command = plugin(tmp_path, "fail.py", OSC52_AND_TOKEN)
    with HostileServer(authenticated({"tok-1"})) as server:
        with pytest.raises(ConfigError) as caught:
            context(tmp_path, server, exec_user(command))
    words = str(caught.value)
    assert "credential plugin fail.py failed (exit 1): login failed for Bearer [REDACTED] and [REDACTED]" in words
    assert words.endswith("(run without a terminal: interactiveMode IfAvailable is treated as Never)")
    for leak in ("\x1b", "\x9b", "\x07", "52;", "c2VjcmV0", "abc.def", "eyJhbGci"):
        assert leak not in words
    out = capfd.readouterr()
    assert "login failed" not in out.err + out.out, "the plugin's stderr reached the terminal"


def test_an_expired_token_is_refreshed_and_a_failing_refresh_is_the_request_error(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    command = plugin(tmp_path, "expiring.py", CREDENTIAL + f"""
count = len(open({str(runs)!r}).read()) if os.path.exists({str(runs)!r}) else 0
open({str(runs)!r}, "a").write("x")
if count >= 2:
    {OSC52_AND_TOKEN.replace(chr(10), chr(10) + "    ")}
credential(f"tok-{{count + 1}}", 1)  # expires within the client's 5-minute skew: expired at once
""")
    with HostileServer(authenticated({"tok-1", "tok-2"})) as server:
        ctx = context(tmp_path, server, exec_user(command))
        ctx.list(ROLLOUTS, "shop")  # refreshes: the token from the load is already "expired"
        assert server.requests[-1].headers["authorization"] == "Bearer tok-2"
        with pytest.raises(SourceError) as caught:
            ctx.list(ROLLOUTS, "shop")
    assert caught.value.kind is ErrorKind.AUTH
    assert str(caught.value).startswith("credential plugin expiring.py failed (exit 1): login failed for Bearer [REDACTED]")
    assert "\x1b" not in str(caught.value)


def test_a_hanging_plugin_is_an_error_and_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(kubeauth, "PLUGIN_SECONDS", 1.0)
    pid_file = tmp_path / "pid"
    command = plugin(tmp_path, "hang.py", f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)")
    with HostileServer(authenticated({"tok-1"})) as server:
        with pytest.raises(ConfigError) as caught:
            context(tmp_path, server, exec_user(command))
    assert str(caught.value).endswith("credential plugin hang.py did not answer within 1s")
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


@pytest.mark.parametrize("how", ["cancel", "quit"])
def test_a_hanging_plugin_never_holds_quitting(tmp_path: Path, how: str) -> None:
    """The plugin waits 30 s; the caller gives up (its Cancel) or the cockpit quits (``abandon_all``): the
    connecting thread returns at once with the reason and the plugin is gone."""
    pid_file = tmp_path / "pid"
    command = plugin(tmp_path, "hang.py", f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)")
    outcome: list[BaseException] = []
    scope = Deadline(None, "connecting to hostile", parent=False)
    with HostileServer(authenticated({"tok-1"})) as server:
        path = write_kubeconfig(tmp_path, server.url, exec_user(command))

        def connect() -> None:
            try:
                if how == "cancel":
                    with scope:
                        KubeContext.from_kubeconfig(path, "hostile")
                else:
                    KubeContext.from_kubeconfig(path, "hostile")
            except ConfigError as err:
                outcome.append(err)

        thread = threading.Thread(target=connect, daemon=True)
        thread.start()
        for _ in range(500):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.02)
        if how == "cancel":
            scope.cancel("the person pressed Cancel")
        else:
            limits.abandon_all()
        thread.join(5)
        assert not thread.is_alive(), "the thread is still waiting for the plugin"
    reason = "the person pressed Cancel" if how == "cancel" else "the cockpit is quitting"
    assert outcome and str(outcome[0]).endswith(f"stopped waiting for credential plugin hang.py: {reason}")
    import os as os_module

    with pytest.raises(ProcessLookupError):
        os_module.kill(int(pid_file.read_text()), 0)


def test_a_plugin_that_needs_a_terminal_is_refused_before_it_runs(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    command = plugin(tmp_path, "interactive.py", f"open({str(ran)!r}, 'w').write('x')")
    with HostileServer(authenticated({"tok-1"})) as server:
        with pytest.raises(ConfigError) as caught:
            context(tmp_path, server, exec_user(command, mode="Always"))
    assert "credential plugin interactive.py needs a terminal (interactiveMode: Always)" in str(caught.value)
    assert not ran.exists()


def test_a_plugin_answering_another_api_version_is_refused(tmp_path: Path) -> None:
    command = plugin(tmp_path, "old.py", CREDENTIAL + "credential('tok-1', 60)")
    with HostileServer(authenticated({"tok-1"})) as server:
        with pytest.raises(ConfigError) as caught:
            context(tmp_path, server, exec_user(command, api="client.authentication.k8s.io/v1beta1"))
    assert ("credential plugin old.py answered apiVersion client.authentication.k8s.io/v1, the kubeconfig asks for "
            "client.authentication.k8s.io/v1beta1") in str(caught.value)


def test_abandon_all_is_registered_for_interpreter_exit() -> None:
    """A worker thread stuck in a request would otherwise hold the interpreter's exit (asyncio.to_thread's
    threads are joined): the watchdog registers abandon_all(refuse_new=True) to run first."""
    import subprocess

    code = ("import threading, time\n"
            "from cockpit.sources import limits\n"
            "def stuck():\n"
            "    with limits.Deadline(600, 'a server that never answers') as d:\n"
            "        d.on_fire(lambda: print('abandoned', flush=True))\n"
            "        while not d.fired: time.sleep(0.01)\n"
            "threading.Thread(target=stuck).start()\n"  # not a daemon: exit waits for it
            "time.sleep(0.2)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == "abandoned"


@pytest.fixture(autouse=True)
def _no_refusing() -> Iterator[None]:
    yield
    assert not limits._REFUSING


# --------------------------------------------------------------------------- in the running app


@pytest.mark.parametrize("kind", ["hangs", "fails"])
async def test_a_bad_plugin_is_the_panes_error_not_loading_for_ever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    kind: str) -> None:
    from cockpit.config import build_settings
    from cockpit.session import connect
    from tests.ui.harness import build_app
    from cockpit.models import FeedState
    from tests.ui.harness import wait_for

    monkeypatch.setattr(kubeauth, "PLUGIN_SECONDS", 1.0)
    body = "time.sleep(600)" if kind == "hangs" else OSC52_AND_TOKEN
    command = plugin(tmp_path, "helper.py", body)
    with HostileServer(authenticated({"tok-1"})) as server:
        path = write_kubeconfig(tmp_path, server.url, exec_user(command))
        settings = build_settings({"kubeconfig": str(path), "app": "a", "rollout": "r"})
        app = build_app(settings, connect(settings), tick=False)
        async with app.run_test(size=(160, 40)) as pilot:
            pane = app.dashboard.active().pane("rollout")
            await wait_for(pilot, lambda: pane.snapshot is not None and pane.snapshot.status.state is FeedState.ERROR,
                           timeout=10, what="the Rollout pane to say why")
            error = pane.snapshot.status.error
            screen = app.export_screenshot()
            assert app.is_running
    expected = "did not answer within 1s" if kind == "hangs" else "failed (exit 1): login failed for Bearer [REDACTED]"
    assert f"credential plugin helper.py {expected}" in error
    assert "\x1b" not in screen and "c2VjcmV0" not in screen and "eyJhbGci" not in screen
