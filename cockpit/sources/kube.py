"""Kubernetes transport: one ApiClient per context, list+watch with resume, 410 relist and capped backoff.

Everything here blocks and runs in worker threads.  The official ``kubernetes`` client is imported lazily and only in
part (:mod:`cockpit.sources.kubeimport`: its configuration, ApiClient and kubeconfig loader, never its ~770 models).

A :class:`ResourceWatch` keeps a local cache of one kind (namespace + selectors) and reports every change through
callbacks.  It never polls: it lists once, then follows a watch from the list's resourceVersion; when the server
says the version is too old (410 Gone) it relists; when the connection breaks it resumes from the last version
seen, after a capped exponential backoff.

Every request is bounded (:mod:`cockpit.sources.limits`): a total deadline (``REQUEST_SECONDS`` for one object,
``LIST_SECONDS`` for a list and all its pages, ``watch_seconds + WATCH_SLACK`` for a watch stream) enforced by
shutting the socket down, whatever the server does; at most ``MAX_OBJECT_BYTES`` per object answer or watch
event, ``MAX_LIST_BYTES``/``MAX_LIST_ITEMS`` per list (read in pages of ``LIST_PAGE_SIZE``), 1 MiB of an error
body.  Objects whose ``kind``/``apiVersion`` is not the resource's are dropped and counted (a list or watch only
ever yields what it asked for).  Exec credential plugins run through :mod:`cockpit.sources.kubeauth`.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.config import ConfigError
from cockpit.sources import limits
from cockpit.sources.errors import ErrorKind, SourceError
from cockpit.sources.limits import Deadline

# Read when used, not when defined, so a test (or a later setting) can shorten them.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
WATCH_SECONDS = 60  # server-side timeoutSeconds: a quiet watch still wakes up this often
BACKOFF_FIRST = 1.0  # first retry delay after a failed list/watch, doubled up to BACKOFF_CAP
BACKOFF_CAP = 20.0
REQUEST_SECONDS = 30.0  # total for one get/patch/create/review: connect + headers + body
LIST_SECONDS = 120.0  # total for one list, all its pages
WATCH_SLACK = 30.0  # a watch stream may last watch_seconds + this, then it is cut and resumed
MAX_ERROR_BODY = 1024 * 1024  # an error answer (a Status) is read up to this much, the rest dropped
POOL_SIZE = 32  # connections kept per context: its watches (one each) plus reads and writes

# A list page's bytes -> (the list's kind, its metadata, its items already transformed, the (kind, apiVersion)
# pairs its items declared), exactly what json.loads and the transform would make of it, or None when it cannot
# vouch for that (the page then takes the general path).  For the one list of thousands (Velero's Backups).
PageDecoder = Callable[[bytes], "tuple[Any, Any, list[dict[str, Any]], set[tuple[Any, Any]]] | None"]


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
VELERO_LOCATIONS = Resource("velero.io", "v1", "backupstoragelocations", "BackupStorageLocation", product="Velero")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False, product="Kubernetes")
SECRETS = Resource("", "v1", "secrets", "Secret", product="Kubernetes")
PODS = Resource("", "v1", "pods", "Pod", product="Kubernetes")
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False, product="Kubernetes")


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

        self.dropped: dict[str, int] = {}  # resource -> objects of another kind dropped from its lists

    @classmethod
    def from_kubeconfig(cls, path: Path, name: str) -> "KubeContext":
        """The context's client.  Exec credential plugins run now (bounded: ``kubeauth.PLUGIN_SECONDS``); one
        that fails or hangs is a ConfigError with its cleaned, redacted stderr."""
        from cockpit.sources import kubeauth, kubeimport
        from cockpit.textsafe import clean

        kubernetes = kubeimport.load()
        ConfigException = kubernetes.ConfigException  # noqa: N806 - the client's class
        data = read_kubeconfig(path)
        cfg = kubernetes.Configuration()
        try:
            kubeauth.load(path, name, cfg)
        except SourceError as err:
            raise ConfigError(f"kubeconfig {path}, context '{name}': {err}") from None
        except ConfigException as err:
            raise ConfigError(f"kubeconfig {path}, context '{name}': {kubeauth.config_words(str(err))}") from None
        except Exception as err:  # malformed certificates, ...
            raise ConfigError(f"kubeconfig {path}, context '{name}': {type(err).__name__}: "
                              f"{kubeauth.config_words(str(err))}") from None
        cfg.retries = False  # a refused connection is an answer: say so at once instead of retrying silently
        # every watch holds a connection for its whole stream (a dozen per context), and requests need more: the
        # client's default (5 per CPU) would discard and reopen connections all the time on a small bastion
        cfg.connection_pool_maxsize = max(int(cfg.connection_pool_maxsize or 0), POOL_SIZE)
        api_client = kubernetes.ApiClient(configuration=cfg)
        bound_pool_manager(api_client.rest_client.pool_manager)
        user, namespace = "", None
        for entry in data.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get("context"), dict):
                user = str(entry["context"].get("user") or "")
                namespace = entry["context"].get("namespace")
        return cls(name, api_client, server=clean(cfg.host, limit=200), user=user, namespace=namespace)

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
        deadline: Deadline | None = None,
        seconds: float | None = None,
        limit: int | None = None,
        accept: str | None = None,
    ) -> Any:
        """Send one request with the context's credentials; return parsed JSON (or the raw response if stream).

        The whole request (connect, headers, body) ends by ``deadline`` if given (the caller closes it; a stream
        needs one), else within ``seconds`` (``REQUEST_SECONDS``) under whatever deadline is current (a caller's
        cancel scope).  The body is read up to ``limit`` bytes (``MAX_OBJECT_BYTES``).  Raises SourceError."""
        if stream and deadline is None:
            raise ValueError("a streamed request needs a deadline the caller closes")
        own = deadline is None
        if deadline is None:
            deadline = Deadline(REQUEST_SECONDS if seconds is None else seconds,
                                f"the Kubernetes API at {self.server} ({method} {path})")
        try:
            with limits.using(deadline):
                raw = self._send(method, path, query=query, body=body, content_type=content_type, timeout=timeout,
                                 stream=stream, deadline=deadline,
                                 limit=limits.MAX_OBJECT_BYTES if limit is None else limit, accept=accept)
        finally:
            if own:
                deadline.close()
        if stream:
            return raw
        try:
            return json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            raise SourceError(ErrorKind.BAD_DATA, f"malformed answer from the Kubernetes API for {path}") from None

    def _send(self, method: str, path: str, *, query: list[tuple[str, Any]] | None, body: Any,
              content_type: str | None, timeout: tuple[float, float] | float | None, stream: bool,
              deadline: Deadline, limit: int, what: str = "", accept: str | None = None) -> Any:
        """The raw body (bytes), or the response if ``stream``; within ``deadline`` (current in this thread)."""
        if timeout is None:
            timeout = (CONNECT_TIMEOUT, READ_TIMEOUT)
        headers = {"Accept": accept or "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        deadline.check()
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
            if deadline.fired:
                raise deadline.error() from None
            raise map_error(err, method=method, path=path, server=self.server) from None
        if stream:
            return response
        return limits.read_body(response, limit=limit, deadline=deadline,
                                what=what or f"answer from the Kubernetes API for {path}")

    def list(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        on_dropped: Callable[[int, str], None] | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        decode_page: PageDecoder | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """Every object of ``resource`` (in pages), and the list's resourceVersion.

        Bounded by ``LIST_SECONDS`` in all, ``MAX_LIST_BYTES`` and ``MAX_LIST_ITEMS``.  Items of another kind are
        dropped; ``on_dropped(count, what they were)`` hears of them (else they are counted in ``dropped``).
        ``transform`` is applied to each kept item page by page (a list of thousands is never all raw at once).
        ``decode_page(raw)``, given with ``transform``, may turn a page's bytes straight into transformed items
        (see :data:`PageDecoder`); a page it answers None for, or whose items declare another kind, takes the
        general path."""
        where = f" in {namespace}" if resource.namespaced and namespace else ""
        what = f"list of {resource.full_name}{where}"
        # the pages, in order: items, or a page being transformed aside (the Future of its items)
        pages: list[list[dict[str, Any]] | Future[list[dict[str, Any]]]] = []
        try:
            return self._list_pages(resource, namespace, what, pages, label_selector, field_selector, on_dropped,
                                    transform, decode_page)
        finally:
            _drop_pages(pages)  # a list that failed leaves no page being transformed aside

    def _list_pages(self, resource: Resource, namespace: str | None, what: str,
                    pages: list[list[dict[str, Any]] | Future[list[dict[str, Any]]]], label_selector: str,
                    field_selector: str, on_dropped: Callable[[int, str], None] | None,
                    transform: Callable[[dict[str, Any]], dict[str, Any]] | None,
                    decode_page: PageDecoder | None) -> tuple[list[dict[str, Any]], str]:
        count = 0  # items in pages
        total = 0
        resource_version = ""
        token = ""
        paged = True
        with Deadline(LIST_SECONDS, f"the Kubernetes API at {self.server} ({what})") as deadline:
            while True:
                query: list[tuple[str, Any]] = []
                if label_selector:
                    query.append(("labelSelector", label_selector))
                if field_selector:
                    query.append(("fieldSelector", field_selector))
                if paged:
                    query.append(("limit", str(limits.LIST_PAGE_SIZE)))
                if token:
                    query.append(("continue", token))
                room = limits.MAX_LIST_BYTES - total
                try:
                    with limits.using(deadline):
                        raw = self._send("GET", resource.collection_path(namespace), query=query, body=None,
                                         content_type=None, timeout=None, stream=False, deadline=deadline,
                                         limit=room, what=what)
                except SourceError as err:
                    if err.kind is ErrorKind.TOO_LARGE:
                        raise limits.too_large(what, limits.MAX_LIST_BYTES) from None
                    if err.kind is ErrorKind.GONE and token:
                        # the continue token expired (the list took longer than etcd keeps its snapshot): as
                        # client-go's pager does, list everything in one answer instead
                        _drop_pages(pages)
                        count, total, token, paged = 0, 0, "", False
                        continue
                    raise describe_list_error(err, resource, namespace) from None
                total += len(raw)
                decoded = decode_page(raw) if decode_page is not None and transform is not None and raw else None
                if decoded is not None and not all(kind_matches({"kind": kind, "apiVersion": version}, resource)
                                                   for kind, version in decoded[3]):
                    decoded = None  # strays: the general path drops and reports them
                if decoded is not None:
                    list_kind, meta, done = decoded[0], decoded[1], decoded[2]
                    kept: list[dict[str, Any]] = []
                else:
                    try:
                        data = json.loads(raw) if raw else None
                    except (ValueError, RecursionError):
                        data = None
                    if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
                        raise SourceError(ErrorKind.BAD_DATA,
                                          f"malformed {resource.kind} list from the Kubernetes API")
                    list_kind, meta, done = data.get("kind"), data.get("metadata"), None
                    page = [item for item in data.get("items") or [] if isinstance(item, dict)]
                    kept = [item for item in page if kind_matches(item, resource)]
                    if len(kept) != len(page):
                        strays = [item for item in page if not kind_matches(item, resource)]
                        self._dropped(resource, strays, on_dropped)
                if isinstance(list_kind, str) and list_kind not in (f"{resource.kind}List", "List"):
                    raise SourceError(ErrorKind.BAD_DATA, f"the Kubernetes API answered a {clean_word(list_kind)} "
                                                          f"when asked for {resource.full_name}")
                meta = meta if isinstance(meta, dict) else {}
                next_token = meta.get("continue") if isinstance(meta.get("continue"), str) else ""
                if done is not None:
                    pages.append(done)
                elif transform is None:
                    pages.append(kept)
                elif next_token and paged:  # more pages: transformed while the server makes the next one
                    pages.append(_transformer().submit(_transform_page, transform, kept))
                else:
                    if any(isinstance(page, Future) for page in pages):  # their failure first, as inline
                        pages[:] = [_gather_pages(pages)]
                    pages.append([transform(item) for item in kept])
                count += len(done if done is not None else kept)
                if count > limits.MAX_LIST_ITEMS:
                    raise SourceError(ErrorKind.TOO_LARGE, f"{what} has more than {limits.MAX_LIST_ITEMS} "
                                                           "objects: not read")
                if not resource_version or not token:
                    resource_version = str(meta.get("resourceVersion") or "")
                token = next_token
                if not token or not paged:
                    return _gather_pages(pages), resource_version

    def _dropped(self, resource: Resource, strays: list[dict[str, Any]],
                 on_dropped: Callable[[int, str], None] | None) -> None:
        if on_dropped is not None:
            on_dropped(len(strays), stray_words(strays[0]))
        else:
            self.dropped[resource.full_name] = self.dropped.get(resource.full_name, 0) + len(strays)

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            data = self.request("GET", resource.object_path(namespace, name))
        except SourceError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        if isinstance(data, dict) and not kind_matches(data, resource):
            raise SourceError(ErrorKind.BAD_DATA, f"the Kubernetes API answered {stray_words(data)} when asked for "
                                                  f"the {resource.kind} {name}")
        return data if isinstance(data, dict) else None


def kind_matches(obj: dict[str, Any], resource: Resource) -> bool:
    """False when the object says it is something else (a kind or apiVersion present and not the resource's)."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind is not None and kind != resource.kind:
        return False
    return api_version is None or api_version == resource.api_version


def clean_word(value: Any) -> str:
    from cockpit.textsafe import clean

    return clean(value, limit=80)


def stray_words(obj: dict[str, Any]) -> str:
    """"a Secret (v1)": what an object of the wrong kind says it is, short and safe to show."""
    kind = clean_word(obj.get("kind") or "object")
    api_version = obj.get("apiVersion")
    return f"a {kind}" + (f" ({clean_word(api_version)})" if api_version is not None else "")


def bound_pool_manager(pool_manager: Any) -> Any:
    """The client's urllib3 pool manager, made to obey deadlines and to read error answers only so far."""
    limits.install(pool_manager, error_body_limit=MAX_ERROR_BODY)
    return pool_manager


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
    from cockpit.sources.kubeimport import load

    if isinstance(err, load().ApiException):
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
        return SourceError(ErrorKind.MISSING, missing_words(resource), status=404)
    if err.kind in (ErrorKind.FORBIDDEN, ErrorKind.AUTH) and err.status in (401, 403):  # not a credential plugin
        verb = "list"
        return SourceError(err.kind, f"{err.message.split(':')[0]}: cannot {verb} {resource.full_name}{where}",
                           status=err.status)
    return err


# --------------------------------------------------------------------------- discovery

# What kubectl (client-go) sends for /apis: aggregated discovery (every group, version and resource in one answer,
# Kubernetes 1.26+), else the legacy APIGroupList, which then needs one request per group-version.
DISCOVERY_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                    "application/json")
DISCOVERY_SECONDS = 15.0  # total for one discovery document
BUILTIN_GROUPS = frozenset({"", "apps"})  # every conformant cluster serves these: never asked about


@dataclass(frozen=True)
class Discovery:
    """Which of the resources asked about the API server serves (client-go's discovery, for a handful of kinds).

    ``served`` and ``missing`` split the resources that could be decided; a resource in neither is unknown (its
    group's document could not be read), and so is everything when ``error`` is set: an unknown resource is
    watched, and its watch finds out.  ``requests`` counts what discovery sent."""

    served: frozenset[Resource] = frozenset()
    missing: frozenset[Resource] = frozenset()
    error: SourceError | None = None
    requests: int = 0
    aggregated: bool = False  # the server answered with aggregated discovery (one request)

    def serves(self, resource: Resource) -> bool | None:
        """True / False, or None when discovery could not tell."""
        if resource in self.served:
            return True
        if resource in self.missing:
            return False
        return None


def missing_words(resource: Resource) -> str:
    """"Velero not installed in this cluster (no backups.velero.io API)": what a pane says about an absent API."""
    return f"{resource.product or resource.group} not installed in this cluster (no {resource.full_name} API)"


def discover(ctx: KubeContext, resources: Any) -> Discovery:
    """Ask the API server which of ``resources`` it serves: ``/apis`` once (aggregated discovery when the server
    has it), else ``/apis/<group>/<version>`` for each group-version asked about that ``/apis`` lists.

    The core group and ``apps`` are always served and never asked about.  Never raises: a failure is
    ``Discovery.error`` (everything then unknown) or leaves that group's resources unknown.  Blocking."""
    wanted = list(dict.fromkeys(resources))
    served = {r for r in wanted if r.group in BUILTIN_GROUPS}
    asked = [r for r in wanted if r.group not in BUILTIN_GROUPS]
    if not asked:
        return Discovery(frozenset(served))
    requests = 1
    try:
        document = ctx.request("GET", "/apis", accept=DISCOVERY_ACCEPT, seconds=DISCOVERY_SECONDS)
    except SourceError as err:
        return Discovery(frozenset(served), error=err, requests=requests)
    if not isinstance(document, dict):
        return Discovery(frozenset(served), requests=requests,
                         error=SourceError(ErrorKind.BAD_DATA, "malformed discovery answer from the Kubernetes API"))
    missing: set[Resource] = set()
    if document.get("kind") == "APIGroupDiscoveryList":
        listed = aggregated_resources(document)
        for resource in asked:
            (served if resource.plural in listed.get((resource.group, resource.version), ()) else missing).add(
                resource)
        return Discovery(frozenset(served), frozenset(missing), requests=requests, aggregated=True)
    if document.get("kind") != "APIGroupList":
        return Discovery(frozenset(served), requests=requests,
                         error=SourceError(ErrorKind.BAD_DATA, "the Kubernetes API answered /apis with "
                                                               f"{clean_word(document.get('kind'))}"))
    versions = legacy_group_versions(document)
    by_version: dict[tuple[str, str], list[Resource]] = {}
    for resource in asked:
        if (resource.group, resource.version) in versions:
            by_version.setdefault((resource.group, resource.version), []).append(resource)
        else:
            missing.add(resource)
    for (group, version), group_resources in by_version.items():
        requests += 1
        try:
            answer = ctx.request("GET", f"/apis/{group}/{version}", seconds=DISCOVERY_SECONDS)
        except SourceError as err:
            if err.kind is ErrorKind.NOT_FOUND:  # the group-version went away between the two requests
                missing.update(group_resources)
            continue  # unknown: the watches will tell
        names = resource_names(answer)
        for resource in group_resources:
            (served if resource.plural in names else missing).add(resource)
    return Discovery(frozenset(served), frozenset(missing), requests=requests)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def aggregated_resources(document: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """``{(group, version): resource names}`` from an ``APIGroupDiscoveryList`` (apidiscovery.k8s.io v2/v2beta1)."""
    out: dict[tuple[str, str], frozenset[str]] = {}
    for group in _dicts(document.get("items")):
        meta = group.get("metadata") if isinstance(group.get("metadata"), dict) else {}
        name = meta.get("name") if isinstance(meta.get("name"), str) else ""
        for version in _dicts(group.get("versions")):
            if not isinstance(version.get("version"), str):
                continue
            names = frozenset(entry["resource"] for entry in _dicts(version.get("resources"))
                              if isinstance(entry.get("resource"), str))
            out[(name, version["version"])] = names
    return out


def legacy_group_versions(document: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """``{(group, version)}`` an ``APIGroupList`` lists."""
    found: set[tuple[str, str]] = set()
    for group in _dicts(document.get("groups")):
        name = group.get("name")
        if not isinstance(name, str):
            continue
        for version in _dicts(group.get("versions")):
            if isinstance(version.get("version"), str):
                found.add((name, version["version"]))
    return frozenset(found)


def resource_names(document: Any) -> frozenset[str]:
    """Resource names (no subresources) of an ``APIResourceList``."""
    if not isinstance(document, dict):
        return frozenset()
    return frozenset(entry["name"] for entry in _dicts(document.get("resources"))
                     if isinstance(entry.get("name"), str) and "/" not in entry["name"])


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


_TRANSFORMER: ThreadPoolExecutor | None = None
_TRANSFORMER_LOCK = threading.Lock()


def _transformer() -> ThreadPoolExecutor:
    """One thread that transforms list pages (a Backup page parsed into rows) while the list's own thread waits
    for the server to make the next page: the two overlap instead of taking turns.  Pages of every list share it,
    in order."""
    global _TRANSFORMER
    with _TRANSFORMER_LOCK:
        if _TRANSFORMER is None:
            _TRANSFORMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cockpit-list-pages")
        return _TRANSFORMER


def _transform_page(transform: Callable[[dict[str, Any]], dict[str, Any]],
                    page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [transform(item) for item in page]


def _gather_pages(pages: list[list[dict[str, Any]] | Future[list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """The items of ``pages`` in order, the pages transformed aside waited for: a transform that raised raises
    here, in the list's thread, as it would have inline (the first failing page's error)."""
    items: list[dict[str, Any]] = []
    try:
        for page in pages:
            items.extend(page.result() if isinstance(page, Future) else page)
    finally:
        _drop_pages(pages)
    return items


def _drop_pages(pages: list[Any]) -> None:
    """Cancel the pages still waiting to be transformed aside (the list failed or starts again)."""
    for page in pages:
        if isinstance(page, Future):
            page.cancel()
    pages.clear()


class Items(dict):  # type: ignore[type-arg]
    """The watch cache as ``on_change`` gets it: a copy (namespace/name -> object), and what changed since the
    copy before it -- ``touched``, the keys an event added, changed or deleted (None after a list: everything), and
    ``serial``/``previous``, numbers unique in the process that chain the copies -- so that a consumer holding
    ten thousand parsed objects redoes the ones that changed instead of walking them all."""

    __slots__ = ("serial", "previous", "touched")

    def __init__(self, cache: dict[str, Any], *, previous: int | None = None,
                 touched: tuple[str, ...] | None = None) -> None:
        super().__init__(cache)
        self.serial = next(_SERIALS)
        self.previous = previous
        self.touched = touched


_SERIALS = itertools.count(1)
TRIM_AFTER_ITEMS = 1000  # a list this long leaves megabytes of decoded pages behind (cockpit/memory.py)


@dataclass(frozen=True)
class WatchState:
    """What a watch is doing, for the pane's freshness line."""

    phase: str  # listing | connected | relisting | retrying | idle | missing | stopped
    error: SourceError | None = None
    retry_in: float = 0.0
    synced: bool = False  # the cache holds a complete list
    note: str = ""  # something the pane should say once it happened, e.g. objects of another kind dropped


class ResourceWatch:
    """Keeps the objects of one kind (namespace + selectors) current by list+watch, in the calling thread.

    ``on_change(items)`` gets the full cache (dicts keyed by namespace/name) after every change, as an
    :class:`Items` that also says which keys the change touched;
    ``on_state(state)`` gets transitions.  Both are called from the watch thread.

    ``transform(obj)``, when given, is what the cache keeps of each object (client-go's informer transform): a
    watch over thousands of objects can keep only what its pane reads.  It must keep ``metadata.name``,
    ``metadata.namespace`` and ``metadata.resourceVersion``.  ``decode_page`` goes with it to the list
    (:meth:`KubeContext.list`).

    Objects the server sends whose ``kind``/``apiVersion`` is not the resource's are dropped and counted in
    ``dropped``; the first one makes ``on_state`` hear a state whose ``note`` says so (and later states keep it).

    An API the server does not serve is never asked again and again: a 404 on the list or the watch (the CRD is
    not installed, or was removed) *parks* the watch -- phase ``missing``, an empty cache, no request -- and tells
    ``on_missing`` (the owner then runs discovery); :meth:`mark_missing` parks it from outside (discovery said
    so), :meth:`mark_present` wakes it to list again.
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
        on_missing: Callable[[SourceError], None] | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        decode_page: PageDecoder | None = None,
    ) -> None:
        self.ctx = ctx
        self.transform = transform
        self.decode_page = decode_page
        self.resource = resource
        self.namespace = namespace
        self._label_selector = label_selector  # None = not known yet: wait
        self.field_selector = field_selector
        self.on_change = on_change
        self._handed: int | None = None  # the serial of the last Items handed to on_change
        self._on_state = on_state
        self.watch_seconds = WATCH_SECONDS if watch_seconds is None else watch_seconds
        self.backoff = backoff or Backoff()
        self.cache: dict[str, dict[str, Any]] = {}
        self.dropped = 0  # objects of another kind the server sent (lists and events)
        self.note = ""
        self._last_state: WatchState | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._response: Any = None
        self._scope: Deadline | None = None  # the running list or stream: cancelled to interrupt it
        self._generation = 0  # bumps when the selector changes: the running stream is abandoned
        self._gone = False  # the last stream ended with a 410 ERROR event
        self._events = 0  # ADDED/MODIFIED/DELETED events on the last stream
        self.last_lines: limits.LineReader | None = None  # the last stream's line reader (its counters)
        self.on_missing = on_missing
        self._missing: SourceError | None = None  # parked: the API is not served (MISSING words)

    def on_state(self, state: WatchState) -> None:
        if self.note and not state.note:
            state = WatchState(state.phase, state.error, state.retry_in, state.synced, self.note)
        self._last_state = state
        self._on_state(state)

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

    @property
    def missing(self) -> SourceError | None:
        """Why the watch is parked (the API is not served), or None."""
        return self._missing

    def mark_missing(self, error: SourceError | None = None) -> None:
        """Park: the API is not served (discovery said so).  No request is sent until :meth:`mark_present`."""
        error = error or SourceError(ErrorKind.MISSING, missing_words(self.resource), status=404)
        with self._lock:
            if self._missing is not None:
                return
            self._missing = error
            self._generation += 1
        self._interrupt()

    def mark_present(self) -> None:
        """The API is served (again): list it and watch."""
        with self._lock:
            if self._missing is None:
                return
            self._missing = None
            self._generation += 1
        self._interrupt()

    def stop(self) -> None:
        self._stopped.set()
        self._interrupt()

    def _interrupt(self) -> None:
        self._wake.set()
        scope = self._scope
        if scope is not None:
            scope.cancel("the watch was stopped or changed")
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

    def _drop(self, count: int, words: str) -> None:
        """Objects of another kind arrived: count them; say so the first time."""
        first = not self.dropped
        self.dropped += count
        self.note = (f"ignored {self.dropped} object{'s' if self.dropped != 1 else ''} of another kind on the "
                     f"{self.resource.full_name} watch (first: {words})")
        if first:
            last = self._last_state or WatchState("connected", synced=bool(self.cache))
            self.on_state(WatchState(last.phase, last.error, last.retry_in, last.synced, self.note))

    # -- the loop --------------------------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def run(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Block until stopped or cancelled, keeping ``cache`` current."""
        resource_version = ""
        synced = False
        gone_after_list = 0  # 410s in a row on watches started from a fresh list
        parked = False
        while not (self._stopped.is_set() or cancelled()):
            with self._lock:
                selector, generation, missing = self._label_selector, self._generation, self._missing
            if missing is not None:
                if not parked:  # say it once; then wait without a request until told the API is back
                    parked, resource_version, synced = True, "", False
                    self.cache = {}
                    self.backoff.reset()
                    self.on_state(WatchState("missing", error=missing))
                self._sleep(5.0)
                continue
            parked = False
            if selector is None:
                self.on_state(WatchState("idle"))
                self._sleep(5.0)
                continue
            fresh = not resource_version
            scope = Deadline(None, f"the {self.resource.full_name} watch", parent=False)
            self._scope = scope
            if self._stopped.is_set() or generation != self._generation:
                scope.cancel("the watch was stopped or changed")
            try:
                with scope:
                    if fresh:
                        self.on_state(WatchState("relisting" if synced else "listing", synced=synced))
                        items, resource_version = self.ctx.list(
                            self.resource, self.namespace, label_selector=selector,
                            field_selector=self.field_selector, on_dropped=self._drop,
                            transform=self.transform, decode_page=self.decode_page,
                        )
                        self.cache = {_key(item): item for item in items}
                        synced = True
                        handed = Items(self.cache)
                        self._handed = handed.serial
                        self.on_change(handed)
                        if len(items) >= TRIM_AFTER_ITEMS:
                            from cockpit import memory

                            del items
                            memory.trim()  # the pages decoded for this list go back to the system
                    # "connected" is said by _follow once the server has answered the watch, not before: a watch
                    # request that hangs must not read as live
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
                if err.kind in (ErrorKind.MISSING, ErrorKind.NOT_FOUND):
                    # the API is not served (a list's 404 is MISSING already; a watch's is a plain 404): park
                    if err.kind is ErrorKind.NOT_FOUND:
                        err = describe_list_error(err, self.resource, self.namespace)
                    with self._lock:
                        self._missing = err
                    if self.on_missing is not None:
                        self.on_missing(err)
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
                if err.kind in (ErrorKind.BAD_DATA, ErrorKind.TOO_LARGE):
                    resource_version = ""  # we may have missed an event: relist
                delay = self.backoff.next()
                self.on_state(WatchState("retrying", error=err, retry_in=delay, synced=synced))
                self._sleep(delay)
            finally:
                self._scope = None
            if generation != self._generation:
                resource_version = ""
                synced = False
        self.on_state(WatchState("stopped", synced=synced))

    def _follow(self, selector: str, resource_version: str, generation: int, cancelled: Callable[[], bool]) -> str:
        """Follow one watch stream; return the resourceVersion to resume from ("" = relist).

        The stream lasts at most ``watch_seconds + WATCH_SLACK`` (a server that ignores ``timeoutSeconds`` is
        cut there and the watch resumed); one event may be at most ``MAX_WATCH_EVENT_BYTES``."""
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
        server = self.ctx.server
        where = f" in {self.namespace}" if self.resource.namespaced and self.namespace else ""
        with Deadline(self.watch_seconds + WATCH_SLACK,
                      f"the {self.resource.full_name}{where} watch on the Kubernetes API at {server}") as deadline:
            response = self.ctx.request(
                "GET",
                self.resource.collection_path(self.namespace),
                query=query,
                timeout=(CONNECT_TIMEOUT, self.watch_seconds + READ_TIMEOUT),
                stream=True,
                deadline=deadline,
            )
            self._response = response
            self.on_state(WatchState("connected", synced=True))
            reader = limits.LineReader(limits.MAX_WATCH_EVENT_BYTES,
                                       f"watch event from the Kubernetes API at {server} ({self.resource.full_name})")
            self.last_lines = reader
            try:
                for line in _lines(response, reader, server=server, deadline=deadline):
                    if self._stopped.is_set() or cancelled() or generation != self._generation:
                        return resource_version
                    try:
                        event = json.loads(line)
                    except (ValueError, RecursionError):
                        raise SourceError(ErrorKind.BAD_DATA, "watch stream sent a malformed event") from None
                    if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
                        raise SourceError(ErrorKind.BAD_DATA, "watch stream sent a malformed event")
                    kind, obj = event.get("type"), event["object"]
                    if kind == "ERROR":
                        code = obj.get("code")
                        if code == 410:
                            self._gone = True
                            return ""
                        message = clean_word(obj.get("message", ""))
                        raise SourceError(ErrorKind.SERVER, f"watch error {clean_word(code)}: {message}")
                    if not kind_matches(obj, self.resource):
                        self._drop(1, stray_words(obj))
                        continue
                    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
                    resource_version = str(meta.get("resourceVersion") or resource_version)
                    if kind == "BOOKMARK":
                        continue
                    key = _key(obj)
                    self._events += 1
                    if kind == "DELETED":
                        self.cache.pop(key, None)
                    elif kind in ("ADDED", "MODIFIED"):
                        self.cache[key] = obj if self.transform is None else self.transform(obj)
                    else:
                        continue
                    handed = Items(self.cache, previous=self._handed, touched=(key,))
                    self._handed = handed.serial
                    self.on_change(handed)
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


def _read_some(response: Any) -> bytes:
    """What the stream has now, at most one read's worth (a watch event is not held back to fill a buffer)."""
    if hasattr(response, "read1"):
        return response.read1(limits.READ_CHUNK, decode_content=False)
    return response.read(limits.READ_CHUNK, decode_content=False)


def _lines(response: Any, reader: limits.LineReader, *, server: str, deadline: Deadline) -> Iterator[str]:
    """Complete lines of a chunked watch response; a cut in the middle of an event is an error, not an event.

    A line longer than the reader's limit ends the stream (TOO_LARGE).  When the deadline ends the stream
    between events, that is the normal end of a watch; in the middle of one it is a TIMEOUT."""
    try:
        while True:
            chunk = _read_some(response)
            if not chunk:
                break
            for line in reader.feed(chunk):
                if line.strip():
                    yield line.decode("utf-8", errors="replace")
    except SourceError:
        raise
    except Exception as err:  # noqa: BLE001
        if deadline.fired:
            stop = deadline.error()
            if stop.kind is ErrorKind.CANCELLED or reader.buffered:
                raise stop from None
            return
        mapped = map_error(err, server=server)
        if reader.buffered and mapped.kind is ErrorKind.UNREACHABLE:
            raise SourceError(ErrorKind.UNREACHABLE, f"watch stream cut in the middle of an event ({mapped})") from None
        raise mapped from None
    if deadline.fired:
        stop = deadline.error()
        if stop.kind is ErrorKind.CANCELLED or reader.buffered:
            raise stop
        return
    if reader.buffered:
        raise SourceError(ErrorKind.UNREACHABLE, "watch stream cut in the middle of an event")
