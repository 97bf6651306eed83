"""CloudNativePG ``Cluster`` (+ Barman Cloud ``ObjectStore``) raw dicts -> :class:`CnpgClusterView`.

Pure functions, no I/O, never raise; strings are kept as received.  The PITR question ("can we
recover to 13:43?") needs the first recoverability point, which lives in one of two places
(MECHANICS (f)):

* **in-tree** ``spec.backup.barmanObjectStore`` (deprecated since CNPG 1.26) or volume snapshots:
  ``Cluster.status.firstRecoverabilityPoint`` / ``lastSuccessfulBackup`` / ``lastFailedBackup``
  and their ``...ByMethod`` maps;
* the **Barman Cloud plugin** (``spec.plugins[name=barman-cloud.cloudnative-pg.io]``): those
  Cluster fields are never set; the window is in the ``ObjectStore`` named by the plugin's
  ``barmanObjectName`` parameter, under ``status.serverRecoveryWindow[<serverName>]``, where
  ``serverName`` defaults to the cluster name.

``window_source`` says in words which of these the window came from, so the pane can explain
an empty window instead of showing a bare dash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cockpit.models import CnpgClusterView
from cockpit.timefmt import parse_time
from cockpit.sources.raw import as_map as _map, as_text as _text, as_items as _items

BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plugin(cluster: dict[str, Any]) -> dict[str, Any] | None:
    """The enabled Barman Cloud plugin entry of ``spec.plugins``, if any."""
    for plugin in _items(_map(cluster.get("spec")).get("plugins")):
        if plugin.get("name") == BARMAN_PLUGIN and plugin.get("enabled") is not False:
            return plugin
    return None


def object_store_name(cluster_obj: Any) -> str:
    """The ``ObjectStore`` the cluster's Barman Cloud plugin writes to; "" without the plugin."""
    plugin = _plugin(_map(cluster_obj))
    if plugin is None:
        return ""
    return _text(_map(plugin.get("parameters")).get("barmanObjectName"))


def parse_cluster(obj: Any, object_stores: dict[str, dict[str, Any]] | None = None) -> CnpgClusterView:
    """A :class:`CnpgClusterView` with the PITR window read from wherever it lives.

    ``object_stores`` maps ObjectStore name (or ``namespace/name``) to the raw ObjectStore; it
    is only consulted for clusters using the Barman Cloud plugin.  The deprecated Cluster status
    fields are *not* used for plugin clusters: they would be stale leftovers of the in-tree era.
    """
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    name = _text(meta.get("name"))
    namespace = _text(meta.get("namespace"))
    backup = _map(spec.get("backup"))
    plugin = _plugin(obj)

    if plugin is not None:
        parameters = _map(plugin.get("parameters"))
        store = _text(parameters.get("barmanObjectName"))
        server_name = _text(parameters.get("serverName")) or name
        method = "plugin"
        first, last_ok, last_failed, source = _plugin_window(store, server_name, namespace, object_stores)
    else:
        store = ""
        barman = backup.get("barmanObjectStore")
        if isinstance(barman, dict):
            method = "barmanObjectStore"
            server_name = _text(barman.get("serverName")) or name
        else:
            method = "volumeSnapshot" if isinstance(backup.get("volumeSnapshot"), dict) else ""
            server_name = ""
        first, last_ok, last_failed, source = _status_window(status, method)

    instances = _count(status.get("instances"))
    return CnpgClusterView(
        name=name,
        namespace=namespace,
        phase=_text(status.get("phase")),
        instances=instances if instances is not None else _count(spec.get("instances")) or 0,
        ready_instances=_count(status.get("readyInstances")) or 0,
        current_primary=_text(status.get("currentPrimary")),
        backup_method=method,
        object_store=store,
        server_name=server_name,
        first_recoverability_point=first,
        last_successful_backup=last_ok,
        last_failed_backup=last_failed,
        window_source=source,
        has_status=bool(status),
    )


Window = tuple[datetime | None, datetime | None, datetime | None, str]


def _status_window(status: dict[str, Any], method: str) -> Window:
    """The in-tree window from the (deprecated) Cluster status fields."""
    by_method = _map(status.get("firstRecoverabilityPointByMethod"))
    first = parse_time(status.get("firstRecoverabilityPoint"))
    if first is None:
        # WAL archive (barmanObjectStore) allows PITR; prefer it, else the earliest method.
        first = parse_time(by_method.get("barmanObjectStore")) or _earliest(by_method.values())
    last_ok = parse_time(status.get("lastSuccessfulBackup")) or _latest(
        _map(status.get("lastSuccessfulBackupByMethod")).values()
    )
    last_failed = parse_time(status.get("lastFailedBackup"))
    if method == "barmanObjectStore":
        source = "Cluster status (in-tree barmanObjectStore)"
    elif method == "volumeSnapshot":
        source = "Cluster status (volumeSnapshot)"
    elif first or last_ok or last_failed:
        source = "Cluster status"
    else:
        source = "no backups configured"
    return first, last_ok, last_failed, source


def _plugin_window(
    store: str, server_name: str, namespace: str, object_stores: dict[str, dict[str, Any]] | None
) -> Window:
    """The plugin window from ``ObjectStore.status.serverRecoveryWindow[serverName]``."""
    if not store:
        return None, None, None, "plugin configured without barmanObjectName"
    stores = object_stores if isinstance(object_stores, dict) else {}
    raw = stores.get(store)
    if not isinstance(raw, dict) and namespace:
        raw = stores.get(f"{namespace}/{store}")
    if not isinstance(raw, dict):
        return None, None, None, f"plugin configured but ObjectStore {store} not found"
    windows = _map(_map(raw.get("status")).get("serverRecoveryWindow"))
    window = windows.get(server_name)
    if not isinstance(window, dict):
        return None, None, None, f"ObjectStore {store} has no recovery window for server {server_name}"
    return (
        parse_time(window.get("firstRecoverabilityPoint")),
        parse_time(window.get("lastSuccessfulBackupTime")),
        parse_time(window.get("lastFailedBackupTime")),
        f"ObjectStore {store}",
    )


def _earliest(values: Any) -> datetime | None:
    times = [time for time in (parse_time(value) for value in values) if time is not None]
    return min(times) if times else None


def _latest(values: Any) -> datetime | None:
    times = [time for time in (parse_time(value) for value in values) if time is not None]
    return max(times) if times else None
