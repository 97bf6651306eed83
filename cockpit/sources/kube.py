"""Kubernetes transport: one ApiClient per context, list+watch with resume, 410 relist and capped backoff.

Everything here blocks and runs in worker threads.  The official ``kubernetes`` client is imported lazily: it costs
≈0.17 s, which we keep off the path to the first frame.

A :class:`ResourceWatch` keeps a local cache of one kind (namespace + selectors) and reports every change through
callbacks.  It never polls: it lists once, then follows a watch from the list's resourceVersion; when the server
says the version is too old (410 Gone) it relists; when the connection breaks it resumes from the last version
seen, after a capped exponential backoff.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.config import ConfigError
from cockpit.sources.errors import ErrorKind, SourceError

# Read when used, not when defined, so a test (or a later setting) can shorten them.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
WATCH_SECONDS = 60  # server-side timeoutSeconds: a quiet watch still wakes up this often
BACKOFF_FIRST = 1.0  # first retry delay after a failed list/watch, doubled up to BACKOFF_CAP
BACKOFF_CAP = 20.0


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core API
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    product: str = ""  # what a person calls the thing that installs it ("Argo Rollouts")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def full_name(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def collection_path(self, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"


APPLICATIONS = Resource("argoproj.io", "v1alpha1", "applications", "Application", product="Argo CD")
ROLLOUTS = Resource("argoproj.io", "v1alpha1", "rollouts", "Rollout", product="Argo Rollouts")
ANALYSIS_RUNS = Resource("argoproj.io", "v1alpha1", "analysisruns", "AnalysisRun", product="Argo Rollouts")
REPLICA_SETS = Resource("apps", "v1", "replicasets", "ReplicaSet", product="Kubernetes")
CNPG_CLUSTERS = Resource("postgresql.cnpg.io", "v1", "clusters", "Cluster", product="CloudNativePG")
OBJECT_STORES = Resource("barmancloud.cnpg.io", "v1", "objectstores", "ObjectStore", product="the Barman Cloud plugin")
VELERO_BACKUPS = Resource("velero.io", "v1", "backups", "Backup", product="Velero")
VELERO_SCHEDULES = Resource("velero.io", "v1", "schedules", "Schedule", product="Velero")
VELERO_RESTORES = Resource("velero.io", "v1", "restores", "Restore", product="Velero")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False, product="Kubernetes")
SECRETS = Resource("", "v1", "secrets", "Secret", product="Kubernetes")


# --------------------------------------------------------------------------- kubeconfig


def kubeconfig_path(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("KUBECONFIG", "")
    for part in env.split(os.pathsep):
        if part:
            return Path(part).expanduser()
    return Path.home() / ".kube" / "config"


def read_kubeconfig(path: Path) -> dict[str, Any]:
    """The kubeconfig as a dict, or ConfigError with one line a person can act on."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no kubeconfig at {path} (use --kubeconfig PATH, or try 'cockpit demo')") from None
    except OSError as err:
        raise ConfigError(f"cannot read kubeconfig {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"kubeconfig {path} is not UTF-8 text (is it the right file?)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"kubeconfig {path} has no configuration in it")
    return data


def resolve_contexts(path: Path, wanted: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """[(context name, its default namespace)] for the contexts asked for (or the current one)."""
    data = read_kubeconfig(path)
    entries = data.get("contexts") or []
    known: dict[str, str | None] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            ctx = entry.get("context") if isinstance(entry.get("context"), dict) else {}
            known[entry["name"]] = ctx.get("namespace") if isinstance(ctx.get("namespace"), str) else None
    if not known:
        raise ConfigError(f"kubeconfig {path} defines no contexts")
    names = list(wanted)
    if not names:
        current = data.get("current-context")
        if not isinstance(current, str) or not current:
            raise ConfigError(f"kubeconfig {path} has no current-context; pick one with --context")
        names = [current]
    out = []
    for name in names:
        if name not in known:
            raise ConfigError(
                f"context '{name}' not found in {path} (known: {', '.join(sorted(known))})"
            )
        out.append((name, known[name]))
    return out


class KubeContext:
    """One kube context: its ApiClient (shared by every watch and action on it) and who we are there."""

    def __init__(self, name: str, api_client: Any, *, server: str, user: str, namespace: str | None) -> None:
        self.name = name
        self.api_client = api_client
        self.server = server
        self.user = user
        self.namespace = namespace

    @classmethod
    def from_kubeconfig(cls, path: Path, name: str) -> "KubeContext":
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        data = read_kubeconfig(path)
        cfg = client.Configuration()
        try:
            config.load_kube_config(config_file=str(path), context=name, client_configuration=cfg,
                                    persist_config=False)
        except ConfigException as err:
            raise ConfigError(f"kubeconfig {path}, context '{name}': {err}") from None
        except Exception as err:  # malformed certificates, exec plugins that fail, ...
            raise ConfigError(f"kubeconfig {path}, context '{name}': {type(err).__name__}: {err}") from None
        cfg.retries = False  # a refused connection is an answer: say so at once instead of retrying silently
        api_client = client.ApiClient(configuration=cfg)
        user, namespace = "", None
        for entry in data.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get("context"), dict):
                user = str(entry["context"].get("user") or "")
                namespace = entry["context"].get("namespace")
        return cls(name, api_client, server=cfg.host, user=user, namespace=namespace)

    # -- raw requests through the official client ------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: tuple[float, float] | float | None = None,
        stream: bool = False,
    ) -> Any:
        """Send one request with the context's credentials; return parsed JSON (or the raw response if stream)."""
        if timeout is None:
            timeout = (CONNECT_TIMEOUT, READ_TIMEOUT)
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self.api_client.call_api(
                path,
                method,
                query_params=query or [],
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
                _return_http_data_only=True,
            )
        except Exception as err:  # noqa: BLE001 - mapped to words right here
            raise map_error(err, method=method, path=path, server=self.server) from None
        if stream:
            return response
        raw = response.data
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise SourceError(ErrorKind.BAD_DATA, f"malformed answer from the Kubernetes API for {path}") from None

    def list(
        self, resource: Resource, namespace: str | None, *, label_selector: str = "", field_selector: str = ""
    ) -> tuple[list[dict[str, Any]], str]:
        query: list[tuple[str, Any]] = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        try:
            data = self.request("GET", resource.collection_path(namespace), query=query)
        except SourceError as err:
            raise describe_list_error(err, resource, namespace) from None
        if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
            raise SourceError(ErrorKind.BAD_DATA, f"malformed {resource.kind} list from the Kubernetes API")
        items = [item for item in data.get("items") or [] if isinstance(item, dict)]
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        return items, str(meta.get("resourceVersion") or "")

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            data = self.request("GET", resource.object_path(namespace, name))
        except SourceError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        return data if isinstance(data, dict) else None


def _status_message(body: Any) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return ""


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            410: "Gone", 422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def map_error(err: Exception, *, method: str = "GET", path: str = "", server: str = "") -> SourceError:
    """A library exception as a SourceError with the reason in words (no tokens, no tracebacks)."""
    if isinstance(err, SourceError):
        return err
    from kubernetes.client.exceptions import ApiException

    if isinstance(err, ApiException):
        status = int(err.status or 0)
        detail = _status_message(err.body)
        reason = _REASONS.get(status, err.reason or "error")
        text = f"{status} {reason}" + (f": {detail}" if detail else "")
        kind = {
            401: ErrorKind.AUTH, 403: ErrorKind.FORBIDDEN, 404: ErrorKind.NOT_FOUND, 409: ErrorKind.CONFLICT,
            410: ErrorKind.GONE, 422: ErrorKind.INVALID, 400: ErrorKind.INVALID,
        }.get(status, ErrorKind.SERVER if status >= 500 else ErrorKind.BAD_DATA)
        return SourceError(kind, text, status=status)
    reason = getattr(err, "reason", None)  # urllib3 MaxRetryError wraps the real cause
    if isinstance(reason, Exception):
        err = reason
    name = type(err).__name__
    text = str(err)
    lowered = text.lower()
    if name in ("ProtocolError", "IncompleteRead", "RemoteDisconnected", "ConnectionResetError"):
        return SourceError(ErrorKind.UNREACHABLE, f"Kubernetes API at {server}: connection lost")
    if name in ("NewConnectionError", "ConnectionRefusedError"):
        if "refused" in lowered or name == "ConnectionRefusedError":
            return SourceError(ErrorKind.UNREACHABLE, f"Kubernetes API unreachable at {server}: connection refused")
    if "timed out" in lowered or "timeout" in name.lower():
        return SourceError(ErrorKind.TIMEOUT, f"Kubernetes API at {server} did not answer in time")
    if "refused" in lowered:
        return SourceError(ErrorKind.UNREACHABLE, f"Kubernetes API unreachable at {server}: connection refused")
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return SourceError(ErrorKind.UNREACHABLE, f"Kubernetes API unreachable at {server}: unknown host")
    if any(word in lowered for word in ("reset", "aborted", "closed", "broken pipe", "protocol", "incomplete")):
        return SourceError(ErrorKind.UNREACHABLE, f"Kubernetes API at {server}: connection lost")
    if "ssl" in lowered or "certificate" in lowered:
        return SourceError(ErrorKind.UNREACHABLE, f"Kubernetes API at {server}: TLS failed ({name})")
    return SourceError(ErrorKind.UNREACHABLE, f"Kubernetes API at {server}: {name}")


def describe_list_error(err: SourceError, resource: Resource, namespace: str | None) -> SourceError:
    where = f" in {namespace}" if resource.namespaced and namespace else ""
    if err.kind is ErrorKind.NOT_FOUND:
        return SourceError(
            ErrorKind.MISSING,
            f"{resource.product or resource.group} not installed in this cluster (no {resource.full_name} API)",
            status=404,
        )
    if err.kind in (ErrorKind.FORBIDDEN, ErrorKind.AUTH):
        verb = "list"
        return SourceError(err.kind, f"{err.message.split(':')[0]}: cannot {verb} {resource.full_name}{where}",
                           status=err.status)
    return err


# --------------------------------------------------------------------------- list + watch


class Backoff:
    """Capped exponential backoff: 1, 2, 4, 8, 16, 20, 20 ... seconds (``BACKOFF_FIRST`` .. ``BACKOFF_CAP``)."""

    def __init__(self, first: float | None = None, cap: float | None = None) -> None:
        first = BACKOFF_FIRST if first is None else first
        cap = BACKOFF_CAP if cap is None else cap
        self.first, self.cap, self._next = first, cap, first

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.first


@dataclass(frozen=True)
class WatchState:
    """What a watch is doing, for the pane's freshness line."""

    phase: str  # listing | connected | relisting | retrying | idle | stopped
    error: SourceError | None = None
    retry_in: float = 0.0
    synced: bool = False  # the cache holds a complete list


class ResourceWatch:
    """Keeps the objects of one kind (namespace + selectors) current by list+watch, in the calling thread.

    ``on_change(items)`` gets the full cache (dicts keyed by namespace/name) after every change;
    ``on_state(state)`` gets transitions.  Both are called from the watch thread.
    """

    def __init__(
        self,
        ctx: KubeContext,
        resource: Resource,
        namespace: str | None,
        *,
        label_selector: str | None = "",
        field_selector: str = "",
        on_change: Callable[[dict[str, dict[str, Any]]], None],
        on_state: Callable[[WatchState], None] = lambda state: None,
        watch_seconds: int | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.ctx = ctx
        self.resource = resource
        self.namespace = namespace
        self._label_selector = label_selector  # None = not known yet: wait
        self.field_selector = field_selector
        self.on_change = on_change
        self.on_state = on_state
        self.watch_seconds = WATCH_SECONDS if watch_seconds is None else watch_seconds
        self.backoff = backoff or Backoff()
        self.cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._response: Any = None
        self._generation = 0  # bumps when the selector changes: the running stream is abandoned
        self._gone = False  # the last stream ended with a 410 ERROR event
        self._events = 0  # ADDED/MODIFIED/DELETED events on the last stream

    # -- control from other threads ------------------------------------------------------------------------

    @property
    def label_selector(self) -> str | None:
        return self._label_selector

    def set_label_selector(self, selector: str | None) -> None:
        with self._lock:
            if selector == self._label_selector:
                return
            self._label_selector = selector
            self._generation += 1
        self._interrupt()

    def stop(self) -> None:
        self._stopped.set()
        self._interrupt()

    def _interrupt(self) -> None:
        self._wake.set()
        response = self._response
        if response is not None:
            try:
                response.shutdown() if hasattr(response, "shutdown") else None
            except Exception:  # noqa: BLE001
                pass
            try:
                response.close()
            except Exception:  # noqa: BLE001
                pass

    # -- the loop --------------------------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def run(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Block until stopped or cancelled, keeping ``cache`` current."""
        resource_version = ""
        synced = False
        gone_after_list = 0  # 410s in a row on watches started from a fresh list
        while not (self._stopped.is_set() or cancelled()):
            with self._lock:
                selector, generation = self._label_selector, self._generation
            if selector is None:
                self.on_state(WatchState("idle"))
                self._sleep(5.0)
                continue
            fresh = not resource_version
            try:
                if fresh:
                    self.on_state(WatchState("relisting" if synced else "listing", synced=synced))
                    items, resource_version = self.ctx.list(
                        self.resource, self.namespace, label_selector=selector, field_selector=self.field_selector
                    )
                    self.cache = {_key(item): item for item in items}
                    synced = True
                    self.on_change(dict(self.cache))
                self.on_state(WatchState("connected", synced=True))
                resource_version = self._follow(selector, resource_version, generation, cancelled)
                if self._gone:
                    raise SourceError(ErrorKind.GONE, "410 Gone: resourceVersion too old", status=410)
                gone_after_list = 0
                self.backoff.reset()
            except SourceError as err:
                if self._stopped.is_set() or cancelled():
                    break
                if generation != self._generation:
                    resource_version = ""
                    continue
                if err.kind is ErrorKind.GONE:
                    resource_version = ""  # too old: relist at once (the watch history moved on)
                    # ... unless the watch expired from a version the server itself had just listed, with no
                    # event in between: then relisting is not helping (a lagging watch cache, a proxy that
                    # answers 410).  One more immediate relist, then the capped backoff: a confused API server
                    # is not hammered with full lists, and the pane says why it is not live.
                    gone_after_list = gone_after_list + 1 if fresh and not self._events else 0
                    if gone_after_list < 2:
                        continue
                    err = SourceError(ErrorKind.GONE, "410 Gone: the watch expires even right after a fresh "
                                                      "list; relisting with backoff", status=410)
                if err.kind is ErrorKind.BAD_DATA:
                    resource_version = ""  # we may have missed an event: relist
                delay = self.backoff.next()
                self.on_state(WatchState("retrying", error=err, retry_in=delay, synced=synced))
                self._sleep(delay)
            if generation != self._generation:
                resource_version = ""
                synced = False
        self.on_state(WatchState("stopped", synced=synced))

    def _follow(self, selector: str, resource_version: str, generation: int, cancelled: Callable[[], bool]) -> str:
        """Follow one watch stream; return the resourceVersion to resume from ("" = relist)."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(self.watch_seconds)),
        ]
        if selector:
            query.append(("labelSelector", selector))
        if self.field_selector:
            query.append(("fieldSelector", self.field_selector))
        self._gone, self._events = False, 0
        response = self.ctx.request(
            "GET",
            self.resource.collection_path(self.namespace),
            query=query,
            timeout=(CONNECT_TIMEOUT, self.watch_seconds + READ_TIMEOUT),
            stream=True,
        )
        self._response = response
        try:
            for line in _lines(response, server=self.ctx.server):
                if self._stopped.is_set() or cancelled() or generation != self._generation:
                    return resource_version
                try:
                    event = json.loads(line)
                except ValueError:
                    raise SourceError(ErrorKind.BAD_DATA, "watch stream sent a malformed event") from None
                if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
                    raise SourceError(ErrorKind.BAD_DATA, "watch stream sent a malformed event")
                kind, obj = event.get("type"), event["object"]
                if kind == "ERROR":
                    code = obj.get("code")
                    if code == 410:
                        self._gone = True
                        return ""
                    raise SourceError(ErrorKind.SERVER, f"watch error {code}: {obj.get('message', '')}")
                meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
                resource_version = str(meta.get("resourceVersion") or resource_version)
                if kind == "BOOKMARK":
                    continue
                key = _key(obj)
                self._events += 1
                if kind == "DELETED":
                    self.cache.pop(key, None)
                elif kind in ("ADDED", "MODIFIED"):
                    self.cache[key] = obj
                else:
                    continue
                self.on_change(dict(self.cache))
        finally:
            self._response = None
            try:
                response.release_conn()
            except Exception:  # noqa: BLE001
                pass
        return resource_version


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def _lines(response: Any, *, server: str) -> Iterator[str]:
    """Complete lines of a chunked watch response; a cut in the middle of an event is an error, not an event."""
    buffer = b""
    try:
        for chunk in response.stream(amt=None, decode_content=False):
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    yield line.decode("utf-8", errors="replace")
    except SourceError:
        raise
    except Exception as err:  # noqa: BLE001
        mapped = map_error(err, server=server)
        if buffer.strip() and mapped.kind is ErrorKind.UNREACHABLE:
            raise SourceError(ErrorKind.UNREACHABLE, f"watch stream cut in the middle of an event ({mapped})") from None
        raise mapped from None
    if buffer.strip():
        raise SourceError(ErrorKind.UNREACHABLE, "watch stream cut in the middle of an event")
