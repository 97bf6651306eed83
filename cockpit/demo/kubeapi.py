"""A Kubernetes API server emulator on loopback HTTP, for the demo and every integration test.

It serves the kinds cockpit reads and writes (every CRD in ``cockpit/demo/crds`` plus a few core
kinds) with the apiserver behaviour the real clients depend on: resourceVersions, list/watch with
selectors and 410 on expired history, create/replace/patch/delete with conflicts, the status
subresource, ``dryRun=All``, schema validation, discovery for ``kubectl get``, access reviews.
It also misbehaves on request (:class:`~cockpit.demo.kubeapi_faults.Faults`) and records every
request, so tests can prove what the cockpit sent and how it copes when the API server does not.

Standard library only (``http.server``), started in a few milliseconds::

    with KubeEmulator() as kube:
        kube.seed(rollout_dict)
        kube.write_kubeconfig(tmp_path / "kubeconfig")
        ...  # point the official kubernetes client at it
        assert kube.count(write=True) == 0

APIs can be absent: ``KubeEmulator(absent=("schedules.velero.io",))`` or ``uninstall``/``install`` later, with
discovery, CustomResourceDefinition objects and 404s following, as on a cluster without that CRD.

What it does not do: authentication (any bearer token, or none, is accepted), server-side apply
(415), CEL validation rules, admission webhooks, pagination (``limit``/``continue`` are ignored),
scale subresources, namespace lifecycle (objects may live in namespaces that do not exist).
"""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from cockpit.demo.kubeapi_faults import FAULT_KINDS, Faults
from cockpit.demo.kubeapi_http import DenyRule, RequestRecord, _Server
from cockpit.demo.kubeapi_kinds import (
    BUILTIN_KINDS,
    CRD_KIND,
    DEFAULT_CRD_DIR,
    KindRegistry,
    ResourceType,
    crd_object,
    scan_crd_dir,
)
from cockpit.demo.kubeapi_ops import Api, ApiError, jsonable, utc_now
from cockpit.demo.kubeapi_store import Entry, Store

__all__ = ["FAULT_KINDS", "ApiError", "Faults", "KubeEmulator", "RequestRecord", "WriteCallback"]

WriteCallback = Callable[[str, dict[str, Any], RequestRecord], None]


def _fresh(entry: Entry) -> dict[str, Any]:
    """A private copy of a stored object (parsing its JSON is faster than ``deepcopy``)."""
    return json.loads(entry.raw)


class KubeEmulator:
    """One emulated API server.  ``start()`` binds; ``stop()`` takes it down; ``start()`` again
    comes back on the same port with the same objects (an API server restart)."""

    def __init__(
        self,
        *,
        crd_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        history_limit: int = 1000,
        clock: Callable[[], datetime] = utc_now,
        absent: Iterable[str] = (),
    ) -> None:
        self.crd_dir = Path(crd_dir) if crd_dir is not None else DEFAULT_CRD_DIR
        self.host = host
        self.registry = KindRegistry([*BUILTIN_KINDS, *scan_crd_dir(self.crd_dir)])
        self.store = Store(history_limit)
        self.api = Api(self.store, clock=clock)
        self.aggregated_discovery = True  # answer /apis with an APIGroupDiscoveryList when asked (Kubernetes 1.26+)
        self._uninstalled: dict[str, ResourceType] = {}
        for rt in self.registry.types:
            if rt.crd_path is not None:
                self.api.seed(CRD_KIND, crd_object(rt), validate=False)
        for name in absent:
            self.uninstall(name)
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self.bookmark_interval = 1.0  # seconds of watch idleness before a BOOKMARK (if asked for)
        self.server_errors: list[str] = []  # tracebacks of emulator bugs answered as 500
        self.callback_errors: list[BaseException] = []  # exceptions raised by on_write callbacks
        self._port = port
        self._requests_lock = threading.Lock()
        self._callbacks: list[WriteCallback] = []
        self._deny: list[DenyRule] = []
        self._deny_lock = threading.Lock()
        self._stopped = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> KubeEmulator:
        if self._server is not None:
            return self
        self._stopped.clear()
        server = _Server((self.host, self._port), self)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True, name=f"kubeapi-{self._port}"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and every open connection (watches included): the API server is down."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopped.set()
        self.faults.wake()
        self.store.stop_watchers()
        # shutdown() waits for serve_forever to notice, which sleeps in select() for up to
        # poll_interval; one loopback connection wakes it at once (stop takes ~1 ms, not 500).
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()
        try:
            socket.create_connection((self.host, self._port), timeout=0.5).close()
        except OSError:
            pass
        stopper.join(2.0)
        server.server_close()
        server.cut_connections()
        if self._thread is not None:
            self._thread.join(2.0)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the emulator has not been started yet, so it has no port")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ kubeconfig

    def add_context(
        self,
        path: str | Path,
        *,
        context: str = "emulator",
        namespace: str = "default",
        token: str = "emulator-token",
        current: bool = False,
    ) -> Path:
        """Add (or replace) a context for this emulator in a kubeconfig file, creating it if needed.

        Call it on several emulators with one file to get a multi-cluster kubeconfig.
        """
        path = Path(path)
        config: dict[str, Any] = {}
        if path.exists():
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        config.setdefault("apiVersion", "v1")
        config.setdefault("kind", "Config")
        config.setdefault("preferences", {})
        user = f"{context}-user"
        entries = {
            "clusters": {"name": context, "cluster": {"server": self.url}},
            "users": {"name": user, "user": {"token": token}},
            "contexts": {"name": context, "context": {"cluster": context, "user": user, "namespace": namespace}},
        }
        for section, entry in entries.items():
            kept = [item for item in config.get(section) or [] if item.get("name") != entry["name"]]
            config[section] = [*kept, entry]
        if current or not config.get("current-context"):
            config["current-context"] = context
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    def write_kubeconfig(
        self, path: str | Path, *, context: str = "emulator", namespace: str = "default", token: str = "emulator-token"
    ) -> Path:
        """A fresh kubeconfig (overwriting *path*) whose current context is this emulator."""
        path = Path(path)
        path.unlink(missing_ok=True)
        return self.add_context(path, context=context, namespace=namespace, token=token, current=True)

    # ------------------------------------------------------------------ scenario API (no HTTP)

    def resource_type(self, api_version: str, kind_or_plural: str) -> ResourceType:
        return self.registry.resolve(api_version, kind_or_plural)

    def seed(self, obj: dict[str, Any], *, validate: bool = True) -> dict[str, Any]:
        """Create or replace *obj* including ``.status`` (no status-subresource rules), validated
        against the CRD schema (``ApiError`` 422 if invalid).  Watchers see the change; on_write
        callbacks do not run.  Given ``uid``/``creationTimestamp``/``generation`` are kept; the
        resourceVersion is always assigned.  ``validate=False`` skips pruning and validation for
        bulk loads of known-good objects."""
        obj = jsonable(obj)
        if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
            raise ValueError("seed() needs an object with apiVersion and kind")
        rt = self.registry.by_kind(obj["apiVersion"], obj["kind"])
        if rt is None:
            raise KeyError(f"the emulator serves no {obj['kind']} in {obj['apiVersion']}")
        return _fresh(self.api.seed(rt, obj, validate=validate))

    def get_object(
        self, api_version: str, kind_or_plural: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        rt = self.resource_type(api_version, kind_or_plural)
        entry = self.store.get(rt, (namespace or "") if rt.namespaced else "", name)
        return _fresh(entry) if entry else None

    def list_objects(self, api_version: str, kind_or_plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        rt = self.resource_type(api_version, kind_or_plural)
        entries, _ = self.store.list(rt, namespace if rt.namespaced else None, lambda obj: True)
        return [_fresh(e) for e in entries]

    def delete_object(
        self, api_version: str, kind_or_plural: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        """Delete at once (finalizers ignored); returns the final object, or None if absent."""
        rt = self.resource_type(api_version, kind_or_plural)
        removed = self.api.remove(rt, namespace if rt.namespaced else None, name)
        return _fresh(removed) if removed else None

    def patch_status(
        self, api_version: str, kind_or_plural: str, namespace: str | None, name: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge *status* into the object's ``.status`` (a controller's status write)."""
        return self.patch_object(api_version, kind_or_plural, namespace, name, {"status": status})

    def patch_object(
        self, api_version: str, kind_or_plural: str, namespace: str | None, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge-patch the stored object (spec, status or metadata), validated; a controller's write."""
        rt = self.resource_type(api_version, kind_or_plural)
        return _fresh(self.api.merge_into(rt, namespace if rt.namespaced else None, name, patch))

    @property
    def resource_version(self) -> str:
        return str(self.store.resource_version)

    def expire_history(self) -> None:
        """Forget watch history: any watch resuming from an older resourceVersion gets 410 Expired."""
        self.store.expire_history()

    # ------------------------------------------------------------------ CRDs

    def _crd_type(self, name: str) -> ResourceType | None:
        plural, _, group = name.partition(".")
        return next((rt for rt in self.registry.types
                     if rt.crd_path is not None and rt.plural == plural and rt.group == group), None)

    def uninstall(self, name: str) -> None:
        """Remove a CRD-served API (``"schedules.velero.io"``), as ``kubectl delete crd`` does: its objects are
        deleted (watchers see DELETED), open watches on it end, the CRD object goes, and from then on discovery
        does not list it and every request for it is a 404.  KeyError if no such CRD is served."""
        rt = self._crd_type(name)
        if rt is None:
            raise KeyError(f"the emulator serves no CRD {name!r}")
        self._uninstalled[name] = rt
        self.registry.remove(rt)
        entries, _ = self.store.list(rt, None, lambda obj: True)
        for entry in entries:
            meta = entry.obj["metadata"]
            self.api.remove(rt, meta.get("namespace") or None, meta["name"])
        self.store.end_watchers(rt)
        self.api.remove(CRD_KIND, None, name)

    @property
    def uninstalled(self) -> dict[str, ResourceType]:
        """The CRD-served APIs not served now (by CRD name)."""
        return dict(self._uninstalled)

    def install(self, name: str) -> None:
        """Serve an API removed by :meth:`uninstall` (or ``absent``) again: the CRD object is created (watchers of
        CRDs see ADDED) and discovery lists it."""
        rt = self._uninstalled.pop(name)
        self.registry.add(rt)
        self.api.seed(CRD_KIND, crd_object(rt), validate=False)

    # ------------------------------------------------------------------ RBAC

    def deny(self, verb: str, resource: str, namespace: str | None = None) -> None:
        """Forbid *verb* on *resource* (``"rollouts"``, ``"rollouts/status"``, ``"backups.velero.io"``,
        ``"*"``; verb ``"*"`` for all) in *namespace* (None: everywhere).  Access reviews then answer
        ``allowed: false`` and the real request gets 403.  As in RBAC, ``rollouts`` does not cover
        ``rollouts/status``."""
        with self._deny_lock:
            self._deny.append(DenyRule(verb, resource, namespace))

    def allow_all(self) -> None:
        with self._deny_lock:
            self._deny.clear()

    def _is_denied(self, verb: str, group: str, resource: str, subresource: str, namespace: str | None) -> bool:
        with self._deny_lock:
            return any(rule.matches(verb, group, resource, subresource, namespace) for rule in self._deny)

    # ------------------------------------------------------------------ requests and callbacks

    def _append_request(self, record: RequestRecord) -> None:
        with self._requests_lock:
            self.requests.append(record)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()

    def count(self, *, method: str | None = None, watch: bool | None = None, write: bool | None = None) -> int:
        """How many recorded requests match; ``write`` means POST/PUT/PATCH/DELETE except access reviews."""
        with self._requests_lock:
            records = list(self.requests)
        return sum(
            1
            for r in records
            if (method is None or r.method == method.upper())
            and (watch is None or r.watch == watch)
            and (write is None or r.write == write)
        )

    def on_write(self, callback: WriteCallback) -> None:
        """Call ``callback(event, obj, request)`` after every stored client write (not dry-run, not
        seed).  It runs in the serving thread before the response is sent, so when the client has
        its answer the callback's effects are visible.  Exceptions go to ``callback_errors``."""
        self._callbacks.append(callback)

    def _notify_write(self, event: str, obj: dict[str, Any], record: RequestRecord) -> None:
        for callback in list(self._callbacks):
            try:
                callback(event, copy.deepcopy(obj), record)
            except Exception as err:  # a scenario bug must not break the API response
                self.callback_errors.append(err)
