"""Velero: restore a namespace from a backup by creating a ``Restore`` object (data-rollback-velero).

``velero restore create NAME --from-backup B --include-namespaces NS --restore-volumes=true`` only creates a
``velero.io/v1 Restore`` in Velero's namespace; the Velero server does the work and reports ``status.phase``
(New → InProgress → Completed | PartiallyFailed | Failed).  The cockpit creates the same object, after a
``dryRun=All`` create, and names it the way the CLI does (``<backup>-<yyyymmddhhmmss>``).

The trap it warns about (ASKS: velero#7848, #4153): restored objects keep Argo CD's tracking label
(``argocd.argoproj.io/instance``) or annotation (``argocd.argoproj.io/tracking-id``), so the Application that
tracks them sees them as its own -- and prunes them when they are not in git, or fights over them.  The backup's
contents cannot be read without Velero's download API, so the check looks at what can be seen: live objects still
in the namespaces, and Argo CD Applications that deploy into them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from cockpit.actions.requests import JSON, Action, ActionRefused, Risk, kube_write
from cockpit.sources.errors import SourceError
from cockpit.sources.kube import APPLICATIONS, VELERO_BACKUPS, VELERO_RESTORES, KubeContext, Resource

TRACKING_LABEL = "argocd.argoproj.io/instance"
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
RESTORABLE_PHASES = ("Completed", "PartiallyFailed")
POLICIES = ("none", "update")
_LOOKED_AT = (
    Resource("apps", "v1", "deployments", "Deployment"),
    Resource("", "v1", "services", "Service"),
    Resource("", "v1", "configmaps", "ConfigMap"),
    Resource("argoproj.io", "v1alpha1", "rollouts", "Rollout"),
)


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def argo_tracked(objects: Iterable[dict[str, Any]]) -> list[str]:
    """``kind/name (how)`` of every object carrying Argo CD's tracking label or annotation."""
    found = []
    for obj in objects:
        meta = _map(_map(obj).get("metadata"))
        label = _map(meta.get("labels")).get(TRACKING_LABEL)
        annotation = _map(meta.get("annotations")).get(TRACKING_ANNOTATION)
        if label or annotation:
            how = f"{TRACKING_ANNOTATION}={annotation}" if annotation else f"{TRACKING_LABEL}={label}"
            found.append(f"{obj.get('kind') or '?'}/{meta.get('name') or '?'} ({how})")
    return found


def _live_objects(ctx: KubeContext, namespaces: Sequence[str]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for namespace in namespaces:
        for resource in _LOOKED_AT:
            try:
                items, _ = ctx.list(resource, namespace)
            except SourceError:
                continue
            for item in items:
                item.setdefault("kind", resource.kind)
                objects.append(item)
    return objects


def _apps_into(ctx: KubeContext, argocd_namespace: str, namespaces: Sequence[str]) -> list[str]:
    try:
        apps, _ = ctx.list(APPLICATIONS, argocd_namespace)
    except SourceError:
        return []
    out = []
    for app in apps:
        spec = _map(app.get("spec"))
        destination = _map(spec.get("destination")).get("namespace")
        if destination in namespaces:
            automated = _map(_map(spec.get("syncPolicy")).get("automated"))
            prune = " with prune on" if automated.get("prune") is True and automated.get("enabled") is not False else ""
            out.append(f"{_map(app.get('metadata')).get('name')} (into {destination}{prune})")
    return out


def restore(
    ctx: KubeContext,
    backup: str,
    *,
    namespaces: Sequence[str] = (),
    restore_pvs: bool = True,
    existing_resource_policy: str | None = None,
    velero_namespace: str = "velero",
    name: str | None = None,
    now: datetime | None = None,
    tracked_objects: Iterable[dict[str, Any]] | None = None,
    argocd_namespace: str = "argocd",
) -> Action:
    """Plan ``velero restore create --from-backup BACKUP`` as a ``Restore`` object (POST, dry-run first).

    ``tracked_objects`` are objects known to be in the backup (from a previous listing); without them the live
    objects of ``namespaces`` are looked at, which is all there is when the namespace still exists.
    """
    if existing_resource_policy not in (None, "", *POLICIES):
        raise ActionRefused(f"existingResourcePolicy must be one of {', '.join(POLICIES)}")
    try:
        backup_obj = ctx.get(VELERO_BACKUPS, velero_namespace, backup)
    except SourceError as err:
        raise ActionRefused(f"cannot read Backup {backup} in {velero_namespace}: {err}") from None
    if backup_obj is None:
        raise ActionRefused(f"Backup {backup} not found in namespace {velero_namespace}")
    status, bspec = _map(backup_obj.get("status")), _map(backup_obj.get("spec"))
    phase = str(status.get("phase") or "")
    if phase not in RESTORABLE_PHASES:
        raise ActionRefused(f"Backup {backup} is {phase or 'without a phase'}: only Completed or PartiallyFailed "
                            "backups can be restored")
    now = now or datetime.now(timezone.utc)
    restore_name = name or f"{backup}-{now.astimezone(timezone.utc):%Y%m%d%H%M%S}"
    spec: dict[str, Any] = {"backupName": backup}
    if namespaces:
        spec["includedNamespaces"] = list(namespaces)
    spec["restorePVs"] = restore_pvs
    if existing_resource_policy:
        spec["existingResourcePolicy"] = existing_resource_policy
    body = {
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {"name": restore_name, "namespace": velero_namespace},
        "spec": spec,
    }
    warnings: list[str] = []
    if phase == "PartiallyFailed":
        warnings.append(f"Backup {backup} is PartiallyFailed ({status.get('errors', '?')} errors): some objects "
                        "or volumes are missing from it")
    included = [ns for ns in bspec.get("includedNamespaces") or [] if isinstance(ns, str)]
    missing = [ns for ns in namespaces if included and "*" not in included and ns not in included]
    if missing:
        warnings.append(f"the backup does not include {', '.join(missing)} (it has {', '.join(included)})")
    objects = list(tracked_objects) if tracked_objects is not None else _live_objects(ctx, list(namespaces))
    tracked = argo_tracked(objects)
    if tracked:
        shown = ", ".join(tracked[:5]) + (f" and {len(tracked) - 5} more" if len(tracked) > 5 else "")
        warnings.append(f"restored objects carry Argo CD tracking -- {shown}: Argo CD treats them as its own and "
                        "prunes those not in git; pause auto-sync/prune of that app first")
    apps = _apps_into(ctx, argocd_namespace, list(namespaces))
    if apps:
        warnings.append("Argo CD apps deploy into these namespaces: " + "; ".join(apps) +
                        " -- restored objects they track but git lacks get pruned")
    if existing_resource_policy == "update":
        warnings.append("existingResourcePolicy=update is best-effort: objects that cannot be patched are reported "
                        "as warnings, not restored")
    if not restore_pvs:
        warnings.append("restorePVs=false: volume data is not restored, only the Kubernetes objects")
    where = ", ".join(namespaces) if namespaces else "every namespace in the backup"
    return Action(
        name="velero.restore", verb="create", kind="Velero Restore", target=restore_name,
        namespace=velero_namespace, context=ctx.name, user=ctx.user,
        writes=(kube_write(ctx, VELERO_RESTORES, velero_namespace, restore_name, method="POST", body=body,
                           content_type=JSON),),
        risk=Risk.DESTRUCTIVE, warnings=tuple(warnings), confirm=backup,
        summary=f"restore {where} from backup {backup} (volumes {'too' if restore_pvs else 'not'}) as Restore "
                f"{restore_name}",
        preview=_yaml(body),
        follow_up=f"watch Restore {restore_name}: New → InProgress → Completed "
                  "(PartiallyFailed: read its warnings)",
    )


def _yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False)


def restore_phase(ctx: KubeContext, name: str, velero_namespace: str = "velero") -> str:
    """``status.phase`` of a Restore ("" before Velero picked it up, or when it does not exist): fact
    ``velero.restore_phase`` for the executor's wait step."""
    obj = ctx.get(VELERO_RESTORES, velero_namespace, name)
    return str(_map(_map(obj).get("status")).get("phase") or "")
