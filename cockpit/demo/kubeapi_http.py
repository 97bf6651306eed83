"""The HTTP side of the Kubernetes API emulator: routing, recording, faults, watches.

One ``ThreadingHTTPServer`` with daemon threads, HTTP/1.1 keep-alive (the kubernetes client pools
connections) and chunked transfer for watches.  The server tracks every accepted socket so
``stop()`` can cut them all, like an API server that goes away.

URL layout served (as the real apiserver):
``/api/v1[/namespaces/{ns}]/{plural}[/{name}[/status]]`` and
``/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/status]]``; a plural without a
namespace lists across all namespaces.  An unknown group, version or plural is a 404 ``Status``
without ``details.name``; a missing object is a 404 whose ``details`` name it, which is how a client
tells "CRD not installed" from "object not found".
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cockpit.demo import kubeapi_discovery as discovery
from cockpit.demo.kubeapi_kinds import SSAR, ResourceType
from cockpit.demo.kubeapi_ops import ApiError, bad_request, not_found, status_body
from cockpit.demo.kubeapi_select import SelectorError, make_matcher, parse_field_selector, parse_label_selector
from cockpit.demo.kubeapi_store import END, STOP, Expired, dump

if TYPE_CHECKING:
    from cockpit.demo.kubeapi import KubeEmulator

TRUE_VALUES = ("true", "True", "1")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EMULATOR_USER = "system:serviceaccount:cockpit:emulator"


@dataclass(slots=True)
class RequestRecord:
    """One request as the emulator saw it.  Headers are not kept, so bearer tokens never are.

    ``status`` is 0 when no HTTP answer was sent (fault ``refused``; ``hang`` until released).
    """

    time: float
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes
    status: int
    watch: bool

    @property
    def write(self) -> bool:
        """A mutating request (an access review is a read, despite being a POST)."""
        return self.method in WRITE_METHODS and not self.path.endswith("/selfsubjectaccessreviews")


@dataclass(frozen=True)
class Route:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def path_not_found() -> ApiError:
    """The apiserver's answer for a URL it does not serve (no ``details.name``)."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", details={})


def route(emulator: KubeEmulator, parts: list[str]) -> Route:
    """Map path segments below ``/api/v1`` or ``/apis/g/v`` to a resource, or raise 404."""
    if parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        group, version, rest = parts[1], parts[2], parts[3:]
    namespace: str | None = None
    core_namespace_sub = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
    if len(rest) >= 3 and rest[0] == "namespaces" and not core_namespace_sub:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise path_not_found()
    rt = emulator.registry.by_path(group, version, rest[0])
    if rt is None:
        raise path_not_found()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if namespace is not None and not rt.namespaced:
        raise path_not_found()
    if name is not None and rt.namespaced and namespace is None:
        raise path_not_found()
    if subresource is not None and not (subresource == "status" and rt.status_subresource):
        raise path_not_found()
    return Route(rt, namespace, name, subresource)


@dataclass(frozen=True)
class DenyRule:
    verb: str  # "*" for any
    resource: str  # "rollouts", "rollouts/status", "backups.velero.io", "*"
    namespace: str | None  # None: every namespace

    def matches(self, verb: str, group: str, resource: str, subresource: str, namespace: str | None) -> bool:
        if self.verb not in ("*", verb):
            return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        if self.resource == "*":
            return True
        base, _, sub = self.resource.partition("/")
        plural, _, rule_group = base.partition(".")
        return plural == resource and sub == subresource and (not rule_group or rule_group == group)


def request_verb(method: str, name: str | None, watch: bool) -> str:
    if method == "GET":
        return "watch" if watch else ("get" if name else "list")
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


class _Server(ThreadingHTTPServer):
    """Tracks live connections and handler threads so ``stop()`` can end them all."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], emulator: KubeEmulator) -> None:
        self.emulator = emulator
        self._live: set[socket.socket] = set()
        self._conn_threads: set[threading.Thread] = set()
        self._live_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address), daemon=True, name="kubeapi-conn"
        )
        with self._live_lock:
            self._live.add(request)
            self._conn_threads.add(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.discard(request)
                self._conn_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Dropped connections are normal here (faults, stop()); keep stderr quiet."""

    def cut_connections(self, timeout: float = 2.0) -> None:
        with self._live_lock:
            live, threads = list(self._live), list(self._conn_threads)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():  # stop() called from a callback
                thread.join(max(0.0, deadline - time.monotonic()))


@dataclass
class _Reply:
    code: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    write: tuple[str, dict[str, Any]] | None = None  # (event, object) for on_write callbacks


class Handler(BaseHTTPRequestHandler):
    """One connection; ``handle_one_request`` runs ``_dispatch`` for each request on it."""

    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "kube-apiserver-emulator"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus the client's
        # delayed ACK add ~40 ms to every small answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """No access log: it would go to stderr and could carry request details."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ------------------------------------------------------------------ plumbing

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        self._emulator = emulator
        self._record: RequestRecord | None = None
        split = urlsplit(self.path)
        self._query = dict(parse_qsl(split.query, keep_blank_values=True))
        self._path = unquote(split.path)
        length = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(length) if length > 0 else b""
        self._watch = self._query.get("watch") in TRUE_VALUES
        self._started = time.time()
        fault = self._fault = emulator.faults.lookup(self.path)
        if fault == "refused":
            self._note(0)
            self._drop()
            return
        if fault == "hang":
            self._note(0)
            if not emulator.faults.hold(self.path, emulator._stopped):
                self._drop()
                return
            fault = emulator.faults.lookup(self.path)
        self._fault = fault
        if fault in ("http500", "http401", "http403"):
            self._send(self._fault_reply(int(fault[4:])))
            return
        try:
            reply = self._handle()
        except ApiError as err:
            reply = _Reply(err.code, dump(err.status()))
        except Exception as err:  # a bug in the emulator: answer 500 and keep it for the test to see
            emulator.server_errors.append("".join(traceback.format_exception(err)))
            reply = _Reply(500, dump(status_body(500, "InternalError", f"emulator error: {err}")))
        if reply is not None:
            self._send(reply)

    def _note(self, status: int) -> RequestRecord:
        """Record the request (once; a later call only updates the status)."""
        if self._record is not None:
            self._record.status = status
            return self._record
        self._record = RequestRecord(
            time=self._started,
            method=self.command,
            path=self._path,
            query=self._query,
            content_type=self.headers.get("Content-Type", ""),
            body=self._body,
            status=status,
            watch=self._watch,
        )
        self._emulator._append_request(self._record)
        return self._record

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @staticmethod
    def _fault_reply(code: int) -> _Reply:
        reason, message = {
            401: ("Unauthorized", "Unauthorized"),
            403: ("Forbidden", "forbidden: injected fault"),
            500: ("InternalError", "Internal error occurred: injected fault"),
        }[code]
        return _Reply(code, dump(status_body(code, reason, message, {})))

    def _send(self, reply: _Reply) -> None:
        code, body = reply.code, reply.body
        if self._fault == "malformed":
            code, body = 200, body[: max(1, len(body) // 2)]
        record = self._note(code)
        if reply.write is not None:
            self._emulator._notify_write(reply.write[0], reply.write[1], record)
        try:
            self.send_response(code)
            for name, value in reply.headers:
                self.send_header(name, value)
            if not any(name.lower() == "content-type" for name, _ in reply.headers):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            self.close_connection = True

    # ------------------------------------------------------------------ routing

    def _handle(self) -> _Reply | None:
        emulator = self._emulator
        parts = [p for p in self._path.split("/") if p]
        registry = emulator.registry
        if self.command not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ApiError(405, "MethodNotAllowed", f"{self.command} is not supported")
        if self.command == "GET":
            if parts in (["api"], ["apis"]) and self._wants_aggregated():
                return _Reply(200, dump(discovery.aggregated_group_list(registry, core=parts == ["api"])),
                              [("Content-Type", discovery.AGGREGATED_CONTENT_TYPE)])
            document = self._discovery(parts)
            if document is not None:
                return _Reply(200, dump(document))
        if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "api" and parts[1] != "v1"):
            raise path_not_found()
        if parts[0] == "apis" and registry.group_versions().get(parts[1]) is None:
            raise path_not_found()
        target = route(emulator, parts)
        self._authorize(target)
        if target.rt is SSAR:
            return self._access_review()
        if target.name is None:
            return self._collection(target)
        return self._item(target)

    def _discovery(self, parts: list[str]) -> dict[str, Any] | None:
        registry = self._emulator.registry
        if parts == ["version"]:
            return discovery.SERVER_VERSION
        if parts == ["api"]:
            return discovery.api_versions()
        if parts == ["apis"]:
            return discovery.api_group_list(registry)
        document: dict[str, Any] | None = None
        if parts == ["api", "v1"]:
            document = discovery.api_resource_list(registry, "", "v1")
        elif len(parts) == 2 and parts[0] == "apis":
            document = discovery.api_group(registry, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            document = discovery.api_resource_list(registry, parts[1], parts[2])
        else:
            return None
        if document is None:
            raise path_not_found()
        return document

    def _authorize(self, target: Route) -> None:
        rt = target.rt
        if rt is SSAR:
            return
        verb = request_verb(self.command, target.name, self._watch)
        if not self._emulator._is_denied(verb, rt.group, rt.plural, target.subresource or "", target.namespace):
            return
        resource = rt.plural + (f"/{target.subresource}" if target.subresource else "")
        what = f'{rt.qualified} "{target.name}"' if target.name else rt.qualified
        where = f' in the namespace "{target.namespace}"' if target.namespace else " at the cluster scope"
        raise ApiError(
            403,
            "Forbidden",
            f'{what} is forbidden: User "{EMULATOR_USER}" cannot {verb} resource "{resource}" '
            f'in API group "{rt.group}"{where}',
            details={"name": target.name or "", "group": rt.group, "kind": rt.plural},
        )

    def _json_body(self) -> Any:
        try:
            return json.loads(self._body or b"null")
        except ValueError as err:
            raise bad_request(f"the request body is not valid JSON: {err}") from None

    def _dry_run(self) -> bool:
        value = self._query.get("dryRun")
        if value in (None, ""):
            return False
        if value != "All":
            raise bad_request(f'unsupported dryRun value "{value}" (only "All")')
        return True

    def _field_validation(self) -> str:
        value = self._query.get("fieldValidation") or "Warn"
        if value not in ("Ignore", "Warn", "Strict"):
            raise bad_request(f'invalid fieldValidation "{value}"')
        return value

    @staticmethod
    def _warning_headers(warnings: list[str]) -> list[tuple[str, str]]:
        return [("Warning", '299 - "' + w.replace('"', '\\"') + '"') for w in warnings[:20]]

    def _wants_aggregated(self) -> bool:
        """The client accepts ``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList`` (and the emulator serves it)."""
        if not self._emulator.aggregated_discovery:
            return False
        for part in (self.headers.get("Accept") or "").split(","):
            params = {key.strip(): value.strip() for key, _, value in
                      (item.partition("=") for item in part.split(";")[1:])}
            if params.get("g") == "apidiscovery.k8s.io" and params.get("v") == "v2" and \
                    params.get("as") == "APIGroupDiscoveryList":
                return True
        return False

    def _wants_table(self) -> bool:
        return "as=Table" in self.headers.get("Accept", "")

    # ------------------------------------------------------------------ resources

    def _matcher(self, rt: ResourceType, extra_field: str = "") -> Callable[[dict[str, Any]], bool]:
        try:
            labels = parse_label_selector(self._query.get("labelSelector"))
            fields_text = ",".join(s for s in (self._query.get("fieldSelector"), extra_field) if s)
            fields = parse_field_selector(fields_text, rt.plural)
        except SelectorError as err:
            raise bad_request(str(err)) from None
        return make_matcher(labels, fields)

    def _collection(self, target: Route) -> _Reply | None:
        emulator, rt = self._emulator, target.rt
        if self.command == "GET":
            matcher = self._matcher(rt)
            if self._watch:
                self._serve_watch(rt, target.namespace, matcher)
                return None
            entries, rv = emulator.store.list(rt, target.namespace, matcher)
            if self._wants_table():
                return _Reply(200, dump(discovery.to_table(rt, [e.obj for e in entries], str(rv))))
            head = dump({"apiVersion": rt.api_version, "kind": rt.list_kind,
                         "metadata": {"resourceVersion": str(rv)}})
            body = head[:-1] + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"
            return _Reply(200, body)
        if self.command == "POST":
            if rt.namespaced and target.namespace is None:
                raise ApiError(405, "MethodNotAllowed", f"create {rt.qualified} needs a namespace in the path")
            obj, warnings = emulator.api.create(rt, target.namespace, self._json_body(), dry_run=self._dry_run(),
                                                field_validation=self._field_validation())
            write = None if self._dry_run() else ("ADDED", obj)
            return _Reply(201, dump(obj), self._warning_headers(warnings), write)
        raise ApiError(405, "MethodNotAllowed", f"{self.command} is not supported on a collection")

    def _item(self, target: Route) -> _Reply | None:
        emulator, rt, name = self._emulator, target.rt, target.name
        assert name is not None
        dry_run = self._dry_run() if self.command in WRITE_METHODS else False
        if self.command == "GET":
            if self._watch:
                self._serve_watch(rt, target.namespace, self._matcher(rt, f"metadata.name={name}"))
                return None
            entry = emulator.store.get(rt, target.namespace or "", name)
            if entry is None:
                raise not_found(rt, name)
            if self._wants_table():
                return _Reply(200, dump(discovery.to_table(rt, [entry.obj], str(entry.rv))))
            return _Reply(200, entry.raw)
        if self.command == "PUT":
            event, obj, warnings = emulator.api.replace(
                rt, target.namespace, name, self._json_body(), subresource=target.subresource, dry_run=dry_run,
                field_validation=self._field_validation())
        elif self.command == "PATCH":
            event, obj, warnings = emulator.api.patch(
                rt, target.namespace, name, self.headers.get("Content-Type", ""), self._body,
                subresource=target.subresource, dry_run=dry_run, field_validation=self._field_validation())
        elif self.command == "DELETE" and target.subresource is None:
            options = self._json_body() if self._body else {}
            if isinstance(options, dict) and options.get("dryRun") == ["All"]:
                dry_run = True
            preconditions = options.get("preconditions") if isinstance(options, dict) else None
            event, obj = emulator.api.delete(rt, target.namespace, name, dry_run=dry_run, preconditions=preconditions)
            warnings = []
        else:
            raise ApiError(405, "MethodNotAllowed", f"{self.command} is not supported here")
        return _Reply(200, dump(obj), self._warning_headers(warnings), None if dry_run else (event, obj))

    def _access_review(self) -> _Reply:
        if self.command != "POST":
            raise ApiError(405, "MethodNotAllowed", "selfsubjectaccessreviews only supports create")
        review = self._json_body()
        if not isinstance(review, dict):
            raise bad_request("the body must be a SelfSubjectAccessReview")
        spec = review.get("spec") or {}
        attrs = spec.get("resourceAttributes")
        allowed, reason = True, "allowed by the emulator"
        if isinstance(attrs, dict):
            denied = self._emulator._is_denied(
                str(attrs.get("verb") or ""), str(attrs.get("group") or ""), str(attrs.get("resource") or ""),
                str(attrs.get("subresource") or ""), attrs.get("namespace") or None)
            if denied:
                allowed, reason = False, "denied by the emulator's deny list"
        answer = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                  "metadata": {"creationTimestamp": None}, "spec": spec,
                  "status": {"allowed": allowed, "reason": reason} | ({"denied": True} if not allowed else {})}
        return _Reply(201, dump(answer))

    # ------------------------------------------------------------------ watches

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    @staticmethod
    def _event(kind: str, raw: bytes) -> bytes:
        return b'{"type":"' + kind.encode() + b'","object":' + raw + b"}\n"

    def _start_stream(self) -> None:
        self._note(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def _serve_watch(self, rt: ResourceType, namespace: str | None, matcher: Callable[[dict[str, Any]], bool]) -> None:
        emulator = self._emulator
        self.close_connection = True  # one stream per connection, as the client expects
        try:
            timeout = float(self._query["timeoutSeconds"]) if self._query.get("timeoutSeconds") else None
        except ValueError:
            raise bad_request("timeoutSeconds must be a number") from None
        bookmarks = self._query.get("allowWatchBookmarks") in TRUE_VALUES
        if self._fault == "gone":
            self._send_expired(f"too old resource version: {self._query.get('resourceVersion') or 0} (injected fault)")
            return
        try:
            watcher, initial = emulator.store.watch(rt, namespace, matcher, self._query.get("resourceVersion"))
        except Expired as err:
            self._send_expired(str(err))
            return
        except ValueError:
            raise bad_request(f'invalid resourceVersion "{self._query.get("resourceVersion")}"') from None
        try:
            self._start_stream()
            if self._fault == "cut":
                stub = b'{"kind":"' + rt.kind.encode() + b'"}'
                line = self._event(*initial[0]) if initial else self._event("ADDED", stub)
                self._write_chunk(line[: max(1, len(line) // 2)])
                self._drop()
                return
            if self._fault == "malformed":
                self._write_chunk(b'{"type":"ADDED","object":{"kind":\n')
            for kind, raw in initial:
                self._write_chunk(self._event(kind, raw))
            self._follow(watcher, timeout, bookmarks)
        except OSError:
            self.close_connection = True
        finally:
            emulator.store.unwatch(watcher)

    def _follow(self, watcher: Any, timeout: float | None, bookmarks: bool) -> None:
        emulator = self._emulator
        now = time.monotonic()
        deadline = now + timeout if timeout is not None else None
        last_sent = now
        while not emulator._stopped.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            wait = 0.5
            if deadline is not None:
                wait = min(wait, deadline - now)
            if bookmarks:
                wait = min(wait, max(0.01, last_sent + emulator.bookmark_interval - now))
            try:
                event = watcher.events.get(timeout=max(0.0, wait))
            except queue.Empty:
                event = None
            if event is STOP:
                self._drop()
                return
            if event is END:
                break
            if event is None:
                if bookmarks and time.monotonic() - last_sent >= emulator.bookmark_interval:
                    rv = emulator.store.idle(watcher)
                    if rv is not None:
                        mark = dump({"kind": watcher.rt.kind, "apiVersion": watcher.rt.api_version,
                                     "metadata": {"resourceVersion": str(rv)}})
                        self._write_chunk(self._event("BOOKMARK", mark))
                        last_sent = time.monotonic()
                continue
            seen = watcher.translate(event)
            if seen is not None:
                self._write_chunk(self._event(*seen))
                last_sent = time.monotonic()
        if emulator._stopped.is_set():
            self._drop()
            return
        self.wfile.write(b"0\r\n\r\n")

    def _send_expired(self, message: str) -> None:
        """What the apiserver does for a too-old resourceVersion: 200, one ERROR event, end of stream."""
        self._start_stream()
        self._write_chunk(self._event("ERROR", dump(status_body(410, "Expired", message))))
        self.wfile.write(b"0\r\n\r\n")
