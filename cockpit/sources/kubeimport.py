"""The parts of the official ``kubernetes`` client the cockpit uses, without the ones it never touches.

``import kubernetes`` (or any ``kubernetes.client.*``) runs the package ``__init__`` files, which import every API
class and every one of the ~770 model classes: about 0.3 s and 35 MiB here, on the path to the first request.  The
cockpit uses five modules of it: the ``Configuration``, the ``ApiClient`` (``call_api`` with
``_preload_content=False``: the JSON is decoded by the cockpit, the models are never built), ``rest`` and its
``ApiException``, and the kubeconfig loader with its ``ExecProvider``.

:func:`load` imports exactly those.  The packages ``kubernetes``, ``kubernetes.client`` and
``kubernetes.client.models`` are put in ``sys.modules`` as *deferred* packages first: real package objects (their
``__path__`` is the installed one, so every submodule imports normally), whose own ``__init__`` code runs the first
time something asks them for a name they do not have yet (PEP 562 ``__getattr__``).  So code that later uses the
full client in the same process (``from kubernetes import client; client.CoreV1Api``, a deserialised model) gets
the very same package, completed on first use, with the same classes.  When the real packages were imported
before, :func:`load` just uses them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from types import ModuleType, SimpleNamespace
from typing import Any

_LOADED: SimpleNamespace | None = None
DEFERRED = ("kubernetes", "kubernetes.client", "kubernetes.client.models")


def _deferred_package(name: str) -> ModuleType:
    """The package ``name`` in ``sys.modules`` with its ``__init__`` not run yet (see the module docstring)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        raise ImportError(f"{name} is not an installed package")
    module = importlib.util.module_from_spec(spec)
    locations = list(spec.submodule_search_locations)
    lock = threading.RLock()

    def complete(attr: str) -> Any:
        if any(os.path.exists(os.path.join(where, attr)) or os.path.exists(os.path.join(where, f"{attr}.py"))
               for where in locations):
            raise AttributeError(attr)  # a submodule not imported yet: the import system imports it
        with lock:
            if module.__dict__.get("__getattr__") is complete:
                del module.__dict__["__getattr__"]
                code = spec.loader.get_code(name)  # type: ignore[union-attr]
                exec(code, module.__dict__)  # noqa: S102 - the package's own __init__, as import would run it
        try:
            return module.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

    module.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


def load() -> SimpleNamespace:
    """``Configuration``, ``ApiClient``, ``ApiException``, ``ConfigException``, ``kube_config`` (the loader
    module) and ``ExecProvider``, imported without the client's APIs and models.  Thread-safe; cached."""
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    from cockpit.sources import IMPORT_LOCK

    with IMPORT_LOCK:  # one import of a client library at a time (see there)
        if _LOADED is not None:
            return _LOADED
        placed = []
        try:
            for name in DEFERRED:
                if name not in sys.modules:
                    placed.append(_deferred_package(name))
            from kubernetes.client.configuration import Configuration
            from kubernetes.client.exceptions import ApiException

            client = sys.modules["kubernetes.client"]
            if "Configuration" not in client.__dict__:  # kube_config does `from kubernetes.client import ...`
                client.Configuration = Configuration  # type: ignore[attr-defined]
            from kubernetes.client.api_client import ApiClient

            if "ApiClient" not in client.__dict__:
                client.ApiClient = ApiClient  # type: ignore[attr-defined]
            from kubernetes.config import kube_config
            from kubernetes.config.config_exception import ConfigException
            from kubernetes.config.exec_provider import ExecProvider
        except BaseException:
            for module in placed:  # leave nothing half-made behind: a later import starts afresh
                for name, value in list(sys.modules.items()):
                    if value is module:
                        del sys.modules[name]
            raise
        _LOADED = SimpleNamespace(Configuration=Configuration, ApiClient=ApiClient, ApiException=ApiException,
                                  ConfigException=ConfigException, kube_config=kube_config,
                                  ExecProvider=ExecProvider)
        return _LOADED
