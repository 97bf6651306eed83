"""CloudNativePG point-in-time recovery: a NEW ``Cluster`` bootstrapped from the source's backups (MECHANICS (f)).

PITR never rewinds the running cluster.  It creates a second cluster with ``bootstrap.recovery.source`` naming an
``externalClusters`` entry that points at the source's WAL archive, and ``recoveryTarget.targetTime`` where replay
stops (CNPG docs/src/recovery.md).  The archive is described the way the source writes it:

* in-tree ``spec.backup.barmanObjectStore`` (deprecated since 1.26): the same block under
  ``externalClusters[].barmanObjectStore``, with ``serverName`` pinned to the source's server name;
* the Barman Cloud plugin: ``externalClusters[].plugin`` = ``{name: barman-cloud.cloudnative-pg.io,
  parameters: {barmanObjectName, serverName}}``.

A target before the first recoverability point is refused (there is no base backup to start from), as is one in
the future.  The new cluster gets no ``backup`` section: writing its WAL to the source's path would clash with the
source's archive, so backups of the recovered cluster are configured on purpose, after the cut-over decision.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from datetime import datetime, timezone
from typing import Any

from cockpit.actions.requests import JSON, Action, ActionRefused, Risk, kube_write
from cockpit.sources.cnpg import BARMAN_PLUGIN, object_store_name, parse_cluster
from cockpit.sources.errors import SourceError
from cockpit.sources.kube import CNPG_CLUSTERS, OBJECT_STORES, KubeContext

MAX_NAME = 50  # CNPG keeps cluster names short enough for its derived object names
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def target_time_text(when: datetime) -> str:
    """``recoveryTarget.targetTime`` in the PostgreSQL form CNPG's own samples use (UTC, microseconds)."""
    utc = when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"


def default_name(source: str, target: datetime) -> str:
    stamp = target.astimezone(timezone.utc).strftime("%Y%m%d%H%M")
    suffix = f"-pitr-{stamp}"
    return source[: MAX_NAME - len(suffix)].rstrip("-") + suffix


def recovery_manifest(source: dict[str, Any], target: datetime, name: str, *,
                      object_stores: dict[str, dict[str, Any]] | None = None,
                      instances: int | None = None) -> dict[str, Any]:
    """The recovery ``Cluster`` for ``source`` at ``target``; ActionRefused when the source has no WAL archive."""
    meta, spec = _map(source.get("metadata")), _map(source.get("spec"))
    source_name = str(meta.get("name") or "")
    view = parse_cluster(source, object_stores)
    if view.backup_method == "barmanObjectStore":
        store = copy.deepcopy(_map(_map(spec.get("backup")).get("barmanObjectStore")))
        store["serverName"] = view.server_name or source_name
        external: dict[str, Any] = {"name": source_name, "barmanObjectStore": store}
    elif view.backup_method == "plugin":
        if not view.object_store:
            raise ActionRefused(f"cluster {source_name} uses the Barman Cloud plugin without barmanObjectName")
        external = {
            "name": source_name,
            "plugin": {
                "name": BARMAN_PLUGIN,
                "parameters": {"barmanObjectName": view.object_store, "serverName": view.server_name or source_name},
            },
        }
    else:
        raise ActionRefused(
            f"cluster {source_name} has no WAL archive (neither spec.backup.barmanObjectStore nor the Barman Cloud "
            "plugin): point-in-time recovery needs one"
        )
    new_spec: dict[str, Any] = {"instances": instances or spec.get("instances") or 1}
    for key in ("imageName", "imageCatalogRef", "postgresql", "storage", "walStorage", "resources"):
        if key in spec:
            new_spec[key] = copy.deepcopy(spec[key])
    new_spec["bootstrap"] = {
        "recovery": {"source": source_name, "recoveryTarget": {"targetTime": target_time_text(target)}}
    }
    new_spec["externalClusters"] = [external]
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {
            "name": name,
            "namespace": str(meta.get("namespace") or ""),
            "annotations": {
                "cockpit/recovered-from": source_name,
                "cockpit/recovery-target": target_time_text(target),
            },
        },
        "spec": new_spec,
    }


def _object_stores(ctx: KubeContext, source: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    name = object_store_name(source)
    if not name:
        return None
    namespace = str(_map(source.get("metadata")).get("namespace") or "")
    try:
        store = ctx.get(OBJECT_STORES, namespace, name)
    except SourceError:
        return None
    return {name: store} if store else None


def recover(
    ctx: KubeContext,
    namespace: str,
    source_name: str,
    target: datetime,
    *,
    name: str | None = None,
    instances: int | None = None,
    now: datetime | None = None,
    archiving: Any = None,
) -> Action:
    """Plan the creation of the recovery Cluster (POST, dry-run first); the YAML is in ``Action.preview``.

    ``archiving`` is what the CNPG pane knows of the source's WAL archiving (a ``WalArchiving`` from its archiver
    metrics): with it, a target after the last archived WAL is refused, as the pane's "is T recoverable?" says."""
    import yaml

    if target.tzinfo is None:
        target = target.replace(tzinfo=timezone.utc)  # CNPG: a time without a zone is UTC
    try:
        source = ctx.get(CNPG_CLUSTERS, namespace, source_name)
    except SourceError as err:
        raise ActionRefused(f"cannot read Cluster {source_name} in {namespace}: {err}") from None
    if source is None:
        raise ActionRefused(f"Cluster {source_name} not found in namespace {namespace}")
    stores = _object_stores(ctx, source)
    view = parse_cluster(source, stores)
    if archiving is not None:
        view = dataclasses.replace(view, archiving=archiving)
    ok, why = view.recoverable(target, now or datetime.now(timezone.utc))
    if ok is False:
        raise ActionRefused(f"cannot recover {source_name} to {target.isoformat()}: the target is {why}")
    new_name = name or default_name(source_name, target)
    if len(new_name) > MAX_NAME or not _NAME.match(new_name):
        raise ActionRefused(f"{new_name!r} is not a usable cluster name (lowercase, digits, '-', at most {MAX_NAME})")
    if new_name == source_name:
        raise ActionRefused("the recovered cluster needs a new name: PITR never overwrites the source cluster")
    manifest = recovery_manifest(source, target, new_name, object_stores=stores, instances=instances)
    warnings = [
        f"PITR creates a NEW cluster {new_name}; the application keeps using {source_name} until you repoint it "
        "(the cut-over is a separate, manual step)",
        f"writes to {source_name} after {target_time_text(target)} are not in {new_name}: that gap is the RPO",
        f"{new_name} gets no backup section (it must not archive into {source_name}'s WAL path): add one before "
        "it takes writes",
    ]
    if ok is None:
        warnings.insert(0, f"cannot confirm the target is inside the recovery window: {why}")
    write = kube_write(ctx, CNPG_CLUSTERS, namespace, new_name, method="POST", body=manifest, content_type=JSON)
    return Action(
        name="cnpg.recover", verb="create recovery", kind="Cluster", target=new_name, namespace=namespace,
        context=ctx.name, user=ctx.user, writes=(write,), risk=Risk.DESTRUCTIVE, warnings=tuple(warnings),
        summary=f"recover {source_name} to {target_time_text(target)} as the new cluster {new_name} ({why})",
        preview=yaml.safe_dump(manifest, sort_keys=False),
        follow_up=f"watch Cluster {new_name}: its phase reaches 'Cluster in healthy state' when WAL replay is done",
        current=None,
    )


def recovery_status(ctx: KubeContext, namespace: str, name: str) -> Any:
    """The recovery Cluster as a ``CnpgClusterView`` (phase, ready instances), or None while it does not exist.

    For the executor's wait step (facts ``cnpg.recovered_phase`` / ``cnpg.recovered_ready``); a read, so it is
    allowed in read-only mode.
    """
    obj = ctx.get(CNPG_CLUSTERS, namespace, name)
    return parse_cluster(obj) if obj is not None else None
